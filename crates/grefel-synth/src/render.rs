//! An anti-aliased polygon rasteriser.
//!
//! Coverage is exact horizontally and supersampled vertically: every pixel row is cut by
//! [`SUBROWS`] horizontal scanlines, each scanline's inside spans (non-zero winding rule) are
//! intersected analytically with the pixel columns, and the row's coverage is their mean.
//! Pixel `(i, j)` covers `[i, i + 1) × [j, j + 1)`.

use crate::face::P;
use crate::identity::Rgb;

/// Scanlines per pixel row.
const SUBROWS: usize = 4;

/// Fractional coverage of a shape over a rectangular window of the image.
#[derive(Clone, Debug, Default)]
pub(crate) struct Coverage {
    x0: usize,
    y0: usize,
    w: usize,
    h: usize,
    data: Vec<f32>,
}

impl Coverage {
    /// The coverage of pixel `(x, y)`: 0 outside the window.
    fn at(&self, x: usize, y: usize) -> f32 {
        if x < self.x0 || y < self.y0 || x >= self.x0 + self.w || y >= self.y0 + self.h {
            return 0.0;
        }
        self.data[(y - self.y0) * self.w + (x - self.x0)]
    }

    /// Multiplies this coverage by `other`'s, pixel by pixel (an approximate intersection).
    pub fn intersect(&mut self, other: &Coverage) {
        for j in 0..self.h {
            for i in 0..self.w {
                self.data[j * self.w + i] *= other.at(self.x0 + i, self.y0 + j);
            }
        }
    }
}

/// The coverage of the polygon `poly` (implicitly closed) on a `size`×`size` image.
pub(crate) fn coverage(poly: &[P], size: usize) -> Coverage {
    if poly.len() < 3 || poly.iter().flatten().any(|v| !v.is_finite()) {
        return Coverage::default();
    }
    let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
    for p in poly {
        for a in 0..2 {
            lo[a] = lo[a].min(p[a]);
            hi[a] = hi[a].max(p[a]);
        }
    }
    let clamp = |v: f64| v.clamp(0.0, size as f64) as usize;
    let (x0, x1) = (clamp(lo[0].floor()), clamp(hi[0].ceil()));
    let (y0, y1) = (clamp(lo[1].floor()), clamp(hi[1].ceil()));
    if x1 <= x0 || y1 <= y0 {
        return Coverage::default();
    }
    let (w, h) = (x1 - x0, y1 - y0);
    let mut data = vec![0.0f32; w * h];
    // Non-horizontal edges as (top, bottom, winding direction), sorted by their top.
    let mut edges: Vec<(P, P, i32)> = (0..poly.len())
        .filter_map(|k| {
            let (a, b) = (poly[k], poly[(k + 1) % poly.len()]);
            match a[1].total_cmp(&b[1]) {
                std::cmp::Ordering::Less => Some((a, b, 1)),
                std::cmp::Ordering::Greater => Some((b, a, -1)),
                std::cmp::Ordering::Equal => None,
            }
        })
        .collect();
    edges.sort_by(|p, q| p.0[1].total_cmp(&q.0[1]));
    let mut next = 0;
    let mut active: Vec<(P, P, i32)> = Vec::with_capacity(16);
    let mut crossings: Vec<(f64, i32)> = Vec::with_capacity(16);
    let weight = 1.0 / SUBROWS as f64;
    for (j, row) in data.chunks_exact_mut(w).enumerate() {
        let (top, bottom) = ((y0 + j) as f64, (y0 + j + 1) as f64);
        while next < edges.len() && edges[next].0[1] < bottom {
            active.push(edges[next]);
            next += 1;
        }
        active.retain(|e| e.1[1] > top);
        for s in 0..SUBROWS {
            let ys = top + (s as f64 + 0.5) * weight;
            crossings.clear();
            for &(a, b, dir) in &active {
                // Half-open in y: an edge covers top <= ys < bottom.
                if a[1] <= ys && ys < b[1] {
                    crossings.push((a[0] + (ys - a[1]) * (b[0] - a[0]) / (b[1] - a[1]), dir));
                }
            }
            crossings.sort_by(|p, q| p.0.total_cmp(&q.0));
            let mut winding = 0;
            let mut start = 0.0;
            for &(x, dir) in &crossings {
                let was_inside = winding != 0;
                winding += dir;
                match (was_inside, winding != 0) {
                    (false, true) => start = x,
                    (true, false) => add_span(row, x0, start, x, weight),
                    _ => {}
                }
            }
        }
    }
    for v in &mut data {
        *v = v.min(1.0);
    }
    Coverage { x0, y0, w, h, data }
}

/// Adds `weight` × the overlap of `[xa, xb)` with each pixel column of `row` (which starts at
/// column `x0`).
fn add_span(row: &mut [f32], x0: usize, xa: f64, xb: f64, weight: f64) {
    let xa = xa.max(x0 as f64);
    let xb = xb.min((x0 + row.len()) as f64);
    if xb <= xa {
        return;
    }
    let ia = xa.floor() as usize;
    let ib = (xb.ceil() as usize).max(ia + 1);
    for i in ia..ib {
        let overlap = xb.min((i + 1) as f64) - xa.max(i as f64);
        if overlap > 0.0 {
            row[i - x0] += (overlap * weight) as f32;
        }
    }
}

/// A floating-point RGB image being painted.
#[derive(Clone, Debug)]
pub(crate) struct Canvas {
    size: usize,
    px: Vec<Rgb>,
}

impl Canvas {
    /// A `size`×`size` canvas filled with `background`.
    pub fn new(size: usize, background: Rgb) -> Canvas {
        Canvas { size, px: vec![background; size * size] }
    }

    /// Side length in pixels.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Mutable access to every pixel, row-major.
    pub fn pixels_mut(&mut self) -> &mut [Rgb] {
        &mut self.px
    }

    /// The coverage of `poly` on this canvas.
    pub fn coverage(&self, poly: &[P]) -> Coverage {
        coverage(poly, self.size)
    }

    /// Paints `colour` over `poly` with the given opacity.
    pub fn fill(&mut self, poly: &[P], colour: Rgb, opacity: f32) {
        let cov = self.coverage(poly);
        self.paint(&cov, colour, opacity);
    }

    /// Paints `colour` with opacity `opacity` × coverage.
    pub fn paint(&mut self, cov: &Coverage, colour: Rgb, opacity: f32) {
        for j in 0..cov.h {
            let row = (cov.y0 + j) * self.size + cov.x0;
            for (i, &c) in cov.data[j * cov.w..(j + 1) * cov.w].iter().enumerate() {
                let a = c * opacity;
                if a > 0.0 {
                    let p = &mut self.px[row + i];
                    for ch in 0..3 {
                        p[ch] += (colour[ch] - p[ch]) * a;
                    }
                }
            }
        }
    }
}
