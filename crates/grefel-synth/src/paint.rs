//! Paints a face from its image-space landmarks.
//!
//! Every facial feature is drawn from the transformed landmarks, so the landmarks are exact by
//! construction: the head is the jaw curve through 0–16 closed by the skull arc, the brows are
//! tapered strokes through 17–21 and 22–26, the eyes are the regions bounded by curves through
//! the lid landmarks with an iris and pupil between the corners, the nose is drawn through 27–35,
//! and the lips fill the outer contour 48–59 with the inner contour 60–67 dark when open.

use crate::face::{Face, P};
use crate::identity::{Identity, Rgb};
use crate::render::Canvas;
use crate::shapes::{add, ellipse, lerp, norm, spline, stroke, sub};

const SCLERA: Rgb = [0.95, 0.94, 0.90];
const PUPIL: Rgb = [0.03, 0.03, 0.03];
const LASH: Rgb = [0.10, 0.08, 0.07];
const MOUTH_INSIDE: Rgb = [0.22, 0.05, 0.06];

/// Samples per landmark interval of the smooth curves.
const CURVE: usize = 5;

/// `c` scaled by `k`.
fn tone(c: Rgb, k: f32) -> Rgb {
    c.map(|v| (v * k).min(1.0))
}

/// `a` mixed with `b` by `t` (0 = `a`).
fn mix(a: Rgb, b: Rgb, t: f32) -> Rgb {
    [0, 1, 2].map(|i| a[i] + (b[i] - a[i]) * t)
}

/// The landmarks `idx` of `l`, in order.
fn pick(l: &[P], idx: &[usize]) -> Vec<P> {
    idx.iter().map(|&i| l[i]).collect()
}

/// A closed contour made of two smooth curves that share their end points.
fn contour(l: &[P], upper: &[usize], lower: &[usize]) -> Vec<P> {
    let mut poly = spline(&pick(l, upper), CURVE);
    poly.extend(spline(&pick(l, lower), CURVE));
    poly
}

/// The painter: identity colours and the pixel size of one face unit.
pub(crate) struct Painter<'a> {
    /// The person being drawn.
    pub id: &'a Identity,
    /// Image pixels per face unit.
    pub ppu: f64,
    /// Gaze offset of both irises, as fractions of the eye width (along, across the eye axis).
    pub gaze: P,
}

impl Painter<'_> {
    /// A line width of `units` face units in pixels (never thinner than 0.6 px).
    fn w(&self, units: f64) -> f64 {
        (units * self.ppu).max(0.6)
    }

    /// Paints `f` (already mapped into image pixels) onto `canvas`.
    pub fn paint(&self, canvas: &mut Canvas, f: &Face) {
        let id = self.id;
        let l = &f.landmarks;
        let skin = id.skin;
        let line = tone(skin, 0.55);
        if let Some(back) = &f.hair_back {
            canvas.fill(back, tone(id.hair, 0.85), 1.0);
        }
        canvas.fill(&f.neck, tone(skin, 0.82), 1.0);
        canvas.fill(&f.shirt, id.shirt, 1.0);
        for ear in &f.ears {
            canvas.fill(ear, tone(skin, 0.92), 1.0);
        }
        let mut head = spline(&l[..17], CURVE);
        head.extend(f.skull.iter().copied());
        canvas.fill(&head, skin, 1.0);
        canvas.fill(&f.hair_cap, id.hair, 1.0);

        // Nasolabial folds: from beside the nose wings to beyond the mouth corners.
        for (wing, tip, corner) in [(31, 33, 48), (35, 33, 54)] {
            let start = add(l[wing], sub(l[wing], l[tip]), 0.5);
            let end = add(l[corner], sub(l[corner], l[tip]), 0.12);
            let bulge = add(lerp(start, end, 0.5), sub(l[wing], l[tip]), 0.35);
            let fold = spline(&[start, bulge, end], CURVE);
            canvas.fill(&stroke(&fold, |_| self.w(0.02)), tone(skin, 0.78), 0.45);
        }

        self.brows(canvas, l);
        self.eye(canvas, l, [36, 37, 38, 39], [39, 40, 41, 36]);
        self.eye(canvas, l, [42, 43, 44, 45], [45, 46, 47, 42]);
        self.nose(canvas, l, line);
        self.mouth(canvas, l);
    }

    /// Tapered strokes through 17–21 and 22–26, thickest at the inner ends.
    fn brows(&self, canvas: &mut Canvas, l: &[P]) {
        let colour = mix(tone(self.id.hair, 0.5), LASH, 0.6);
        let thick = self.id.brow_thick;
        let profile = |inner: f64| self.w(thick * (0.35 + 0.65 * inner.powf(0.6)));
        let right = spline(&l[17..22], CURVE);
        canvas.fill(&stroke(&right, profile), colour, 1.0);
        let left = spline(&l[22..27], CURVE);
        canvas.fill(&stroke(&left, |t| profile(1.0 - t)), colour, 1.0);
    }

    /// One eye: sclera bounded by the lid curves, iris and pupil clipped to it, lash line.
    fn eye(&self, canvas: &mut Canvas, l: &[P], upper: [usize; 4], lower: [usize; 4]) {
        let outline = contour(l, &upper, &lower);
        let eye = canvas.coverage(&outline);
        canvas.paint(&eye, SCLERA, 1.0);
        let (a, b) = (l[upper[0]], l[upper[3]]);
        let width = norm(sub(b, a));
        let axis = if width > 1e-9 { [(b[0] - a[0]) / width, (b[1] - a[1]) / width] } else { [1.0, 0.0] };
        // Both outlines start at the image-left corner, so `axis` points to the image right.
        let mid = add(lerp(a, b, 0.5), axis, self.gaze[0] * width);
        let centre = add(mid, [-axis[1], axis[0]], self.gaze[1] * width);
        let radius = self.id.iris * width;
        for (r, colour) in [(radius, self.id.iris_colour), (radius * 0.55, PUPIL)] {
            let mut disc = canvas.coverage(&ellipse(centre, r, r, axis, 20));
            disc.intersect(&eye);
            canvas.paint(&disc, colour, 1.0);
        }
        let upper_lid = spline(&pick(l, &upper), CURVE);
        let lash = self.w(0.03);
        canvas.fill(&stroke(&upper_lid, |t| lash * (0.6 + 0.4 * (1.0 - (2.0 * t - 1.0).powi(2)))), LASH, 1.0);
        let lower_lid = spline(&pick(l, &lower), CURVE);
        canvas.fill(&stroke(&lower_lid, |_| self.w(0.012)), tone(self.id.skin, 0.6), 0.5);
    }

    /// Bridge 27–30, nostril base 31–35, wings and nostrils.
    fn nose(&self, canvas: &mut Canvas, l: &[P], line: Rgb) {
        let bridge = spline(&l[28..31], CURVE);
        canvas.fill(&stroke(&bridge, |t| self.w(0.02 * (0.5 + t))), line, 0.3);
        let base = spline(&l[31..36], CURVE);
        canvas.fill(&stroke(&base, |_| self.w(0.022)), line, 0.8);
        let up = sub(l[29], l[30]);
        let across = sub(l[35], l[31]);
        let axis = [across[0] / norm(across).max(1e-9), across[1] / norm(across).max(1e-9)];
        for (wing, inner) in [(31, 32), (35, 34)] {
            let out = sub(l[wing], l[33]);
            let top = add(lerp(l[30], l[wing], 0.75), up, 0.9);
            let bulge = add(add(l[wing], out, 0.15), up, 0.35);
            let curve = spline(&[top, bulge, l[wing], l[inner]], CURVE);
            canvas.fill(&stroke(&curve, |t| self.w(0.02 * (0.3 + 0.7 * t))), line, 0.6);
            let nostril = add(lerp(l[inner], l[wing], 0.3), up, 0.12);
            let r = 0.022 * self.ppu;
            canvas.fill(&ellipse(nostril, r * 1.3, r, axis, 12), tone(line, 0.6), 0.8);
        }
    }

    /// Outer lips 48–59, the dark inside of an open mouth 60–67, and the lip line.
    fn mouth(&self, canvas: &mut Canvas, l: &[P]) {
        let lips = mix(tone(self.id.skin, 0.75), [0.70, 0.18, 0.20], 0.45);
        let outer = contour(l, &[48, 49, 50, 51, 52, 53, 54], &[54, 55, 56, 57, 58, 59, 48]);
        canvas.fill(&outer, lips, 1.0);
        let inner = contour(l, &[60, 61, 62, 63, 64], &[64, 65, 66, 67, 60]);
        canvas.fill(&inner, MOUTH_INSIDE, 1.0);
        let seam = spline(&pick(l, &[48, 60, 61, 62, 63, 64, 54]), CURVE);
        canvas.fill(&stroke(&seam, |_| self.w(0.018)), tone(lips, 0.5), 0.9);
    }
}
