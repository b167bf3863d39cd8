//! Geometric nuisances: the map from face units to image pixels.
//!
//! Pixel `(i, j)` covers `[i, i + 1) × [j, j + 1)`, so its centre is `(i + 0.5, j + 0.5)`; the
//! image centre is `(size / 2, size / 2)`.

use grefel_schema::SeedRng;

use crate::config::Nuisance;
use crate::face::{Face, N_LANDMARKS, P, depth};

/// Image pixels per face unit at scale 1, as a fraction of the image size.
const BASE_SCALE: f64 = 0.31;

/// The face point (in face units) placed at the image centre before translation.
const FACE_CENTRE: P = [0.0, 0.2];

/// Yaw, in-plane rotation, scale and translation of one sample.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pose {
    /// Horizontal compression of one half of the face (positive: the image-right half).
    yaw: f64,
    cos: f64,
    sin: f64,
    /// Image pixels per face unit.
    scale: f64,
    /// Where [`FACE_CENTRE`] lands, in pixels.
    centre: P,
}

impl Pose {
    /// A pose drawn from `r` within the strengths of `n`, for an image of `size` pixels.
    pub fn sample(n: &Nuisance, size: u32, r: &mut SeedRng) -> Pose {
        let size = f64::from(size);
        let sym = |r: &mut SeedRng, a: f64| if a > 0.0 { r.uniform(-a, a) } else { 0.0 };
        let angle = sym(r, n.rotation_deg).to_radians();
        let scale = BASE_SCALE * size * (1.0 + sym(r, n.scale_jitter));
        let tx = sym(r, n.translate) * size;
        let ty = sym(r, n.translate) * size;
        let yaw = sym(r, n.yaw);
        Pose { yaw, cos: angle.cos(), sin: angle.sin(), scale, centre: [size / 2.0 + tx, size / 2.0 + ty] }
    }

    /// Image pixels per face unit.
    pub fn pixels_per_unit(&self) -> f64 {
        self.scale
    }

    /// The image position of the face point `p` that protrudes by `z` towards the viewer.
    pub fn map(&self, p: P, z: f64) -> P {
        let mut x = p[0] - FACE_CENTRE[0];
        let y = p[1] - FACE_CENTRE[1];
        if self.yaw * x > 0.0 {
            x *= 1.0 - self.yaw.abs();
        }
        x += self.yaw * z;
        [
            self.centre[0] + self.scale * (self.cos * x - self.sin * y),
            self.centre[1] + self.scale * (self.sin * x + self.cos * y),
        ]
    }

    /// The image positions of a polygon lying flat on the face.
    pub fn map_all(&self, pts: &[P]) -> Vec<P> {
        pts.iter().map(|&p| self.map(p, 0.0)).collect()
    }

    /// The whole face mapped into the image.
    pub fn apply(&self, f: &Face) -> Face {
        let mut landmarks = [[0.0; 2]; N_LANDMARKS];
        for (i, (dst, &src)) in landmarks.iter_mut().zip(&f.landmarks).enumerate() {
            *dst = self.map(src, depth(i));
        }
        Face {
            landmarks,
            skull: self.map_all(&f.skull),
            hair_cap: self.map_all(&f.hair_cap),
            hair_back: f.hair_back.as_deref().map(|h| self.map_all(h)),
            ears: [self.map_all(&f.ears[0]), self.map_all(&f.ears[1])],
            neck: self.map_all(&f.neck),
            shirt: self.map_all(&f.shirt),
        }
    }
}
