//! Geometric helpers that turn landmark sequences into drawable polygons: smooth curves through
//! points, stroked outlines of polylines, and circles.

use std::f64::consts::TAU;

use crate::face::P;

/// `a + (b - a) t`.
pub(crate) fn lerp(a: P, b: P, t: f64) -> P {
    [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t]
}

/// `a + k v`.
pub(crate) fn add(a: P, v: P, k: f64) -> P {
    [a[0] + v[0] * k, a[1] + v[1] * k]
}

/// `a - b`.
pub(crate) fn sub(a: P, b: P) -> P {
    [a[0] - b[0], a[1] - b[1]]
}

/// Euclidean length of `v`.
pub(crate) fn norm(v: P) -> f64 {
    v[0].hypot(v[1])
}

/// A Catmull–Rom curve through every point of `pts` (in order, passing exactly through each),
/// sampled `per_segment` times between consecutive points; the ends are not extrapolated.
pub(crate) fn spline(pts: &[P], per_segment: usize) -> Vec<P> {
    let n = pts.len();
    if n < 3 || per_segment < 2 {
        return pts.to_vec();
    }
    let mut out = Vec::with_capacity((n - 1) * per_segment + 1);
    for i in 0..n - 1 {
        let p0 = pts[i.saturating_sub(1)];
        let (p1, p2) = (pts[i], pts[i + 1]);
        let p3 = pts[(i + 2).min(n - 1)];
        for k in 0..per_segment {
            let t = k as f64 / per_segment as f64;
            let (t2, t3) = (t * t, t * t * t);
            let c = |a: usize| {
                0.5 * (2.0 * p1[a]
                    + (p2[a] - p0[a]) * t
                    + (2.0 * p0[a] - 5.0 * p1[a] + 4.0 * p2[a] - p3[a]) * t2
                    + (3.0 * p1[a] - p0[a] - 3.0 * p2[a] + p3[a]) * t3)
            };
            out.push([c(0), c(1)]);
        }
    }
    out.push(pts[n - 1]);
    out
}

/// The closed outline of the polyline `pts` drawn with a width that varies along it:
/// `width(t)` for `t` from 0 at the first point to 1 at the last.
pub(crate) fn stroke(pts: &[P], width: impl Fn(f64) -> f64) -> Vec<P> {
    let n = pts.len();
    if n < 2 {
        return Vec::new();
    }
    let unit_normal = |a: P, b: P| {
        let d = sub(b, a);
        let l = norm(d).max(1e-9);
        [-d[1] / l, d[0] / l]
    };
    let mut left = Vec::with_capacity(n);
    let mut right = Vec::with_capacity(n);
    for i in 0..n {
        let before = (i > 0).then(|| unit_normal(pts[i - 1], pts[i]));
        let after = (i + 1 < n).then(|| unit_normal(pts[i], pts[i + 1]));
        let normal = match (before, after) {
            (Some(a), Some(b)) => {
                let m = [a[0] + b[0], a[1] + b[1]];
                let l = norm(m);
                // Miter: scale so the offset edges stay parallel, limited at sharp turns.
                let cos_half = (l / 2.0).max(0.5);
                if l < 1e-9 { a } else { [m[0] / l / cos_half, m[1] / l / cos_half] }
            }
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => [0.0, 0.0],
        };
        let half = width(i as f64 / (n - 1) as f64) / 2.0;
        left.push(add(pts[i], normal, half));
        right.push(add(pts[i], normal, -half));
    }
    left.extend(right.into_iter().rev());
    left
}

/// An ellipse centred at `c` with radii `rx`, `ry` along the unit axis `axis` and its normal, as
/// a polygon of `n` vertices.
pub(crate) fn ellipse(c: P, rx: f64, ry: f64, axis: P, n: usize) -> Vec<P> {
    let normal = [-axis[1], axis[0]];
    (0..n)
        .map(|k| {
            let a = TAU * k as f64 / n as f64;
            add(add(c, axis, rx * a.cos()), normal, ry * a.sin())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spline_passes_through_points() {
        let pts = [[0.0, 0.0], [1.0, 2.0], [3.0, 1.0], [4.0, 4.0]];
        let s = spline(&pts, 5);
        assert_eq!(s.len(), 16);
        for (k, p) in pts.iter().enumerate() {
            let q = s[k * 5];
            assert!((q[0] - p[0]).abs() < 1e-12 && (q[1] - p[1]).abs() < 1e-12);
        }
    }

    #[test]
    fn stroke_of_a_segment_is_a_rectangle() {
        let poly = stroke(&[[0.0, 0.0], [4.0, 0.0]], |_| 2.0);
        assert_eq!(poly, vec![[0.0, 1.0], [4.0, 1.0], [4.0, -1.0], [0.0, -1.0]]);
    }
}
