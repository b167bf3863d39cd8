//! Inference exactly as dlib's `shape_predictor::operator()(img, rect)` computes it:
//!
//! 1. intensity: see [`crate::intensity`];
//! 2. box transform: normalised `(u, v)` → image `(l + (r−l)·u, t + (b−t)·v)` in f64, with dlib's
//!    inclusive rectangle corners (width `r − l`, not `r − l + 1`);
//! 3. per cascade: the similarity (rotation and scale, no translation) taking the initial shape
//!    to the current one, by the least-squares closed form in f64, cast to f32; the feature
//!    pixels `M·delta + current[anchor]` in f32, mapped to the image and rounded half up to the
//!    nearest pixel, pixels outside the image reading 0; then every tree in order, going left
//!    when `f[idx1] − f[idx2] > thresh` (f32, strict), adding its leaf to the shape in f32;
//! 4. output: the shape mapped to the image in f64 ([`Shape::points`]); dlib's integer parts are
//!    those values rounded half up ([`Shape::dlib_points`]).

use crate::error::DatError;
use crate::intensity::Intensity;
use crate::model::ShapePredictor;

/// A dlib `rectangle`: inclusive integer corners.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Rect {
    /// Left column.
    pub left: i64,
    /// Top row.
    pub top: i64,
    /// Right column (inclusive).
    pub right: i64,
    /// Bottom row (inclusive).
    pub bottom: i64,
}

impl Rect {
    /// A rectangle from its corners `(l, t, r, b)`.
    pub fn new(left: i64, top: i64, right: i64, bottom: i64) -> Self {
        Rect { left, top, right, bottom }
    }

    /// The corners as `[l, t, r, b]`.
    pub fn corners(&self) -> [i64; 4] {
        [self.left, self.top, self.right, self.bottom]
    }

    /// The rectangle in the `samples` pixel convention (pixel `i` covers `[i, i+1)`): the centres
    /// of its corner pixels, `[l+0.5, t+0.5, r+0.5, b+0.5]`.
    pub fn to_pixel_box(&self) -> [f32; 4] {
        self.corners().map(|v| v as f32 + 0.5)
    }

    /// The inverse of [`Rect::to_pixel_box`] for any box: each coordinate `c` becomes
    /// `floor(c)`, the pixel whose centre is nearest (halves rounding up, as dlib rounds).
    pub fn from_pixel_box(b: [f32; 4]) -> Self {
        let [l, t, r, bt] = b.map(|v| f64::from(v).floor() as i64);
        Rect::new(l, t, r, bt)
    }

    /// dlib builds this map from the corners converted to `float` (exact below 2^24), then
    /// solves in double; converting the same way also keeps huge corners from overflowing.
    fn transform(&self) -> BoxTransform {
        let [l, t, r, b] = self.corners().map(|v| f64::from(v as f32));
        BoxTransform { sx: r - l, sy: b - t, l, t }
    }
}

/// dlib's `unnormalizing_tform(rect)`.
#[derive(Clone, Copy)]
struct BoxTransform {
    sx: f64,
    sy: f64,
    l: f64,
    t: f64,
}

impl BoxTransform {
    #[inline]
    fn apply(&self, u: f32, v: f32) -> [f64; 2] {
        [self.sx * f64::from(u) + self.l, self.sy * f64::from(v) + self.t]
    }
}

/// dlib's float → integer point conversion: round half up.
#[inline]
pub fn round_half_up(v: f64) -> f64 {
    (v + 0.5).floor()
}

/// A predicted shape.
#[derive(Clone, Debug, PartialEq)]
pub struct Shape {
    /// The rectangle it was predicted in.
    pub rect: Rect,
    /// The points `(x, y)` in dlib's image coordinates (pixel `i` is centred on `i`), in f64,
    /// before dlib's rounding.
    pub points: Vec<[f64; 2]>,
}

impl Shape {
    /// dlib's integer points (what `shape.part(i)` returns): each coordinate rounded half up.
    pub fn dlib_points(&self) -> Vec<[i64; 2]> {
        self.points.iter().map(|p| p.map(|v| round_half_up(v) as i64)).collect()
    }

    /// The points in the `samples` pixel convention (pixel `i` covers `[i, i+1)`): dlib's float
    /// output plus 0.5, as f32.
    pub fn pixel_points(&self) -> Vec<[f32; 2]> {
        self.points.iter().map(|p| p.map(|v| (v + 0.5) as f32)).collect()
    }
}

/// A validated model ready for inference, with the initial shape's centred points precomputed.
#[derive(Clone, Debug)]
pub struct Predictor {
    model: ShapePredictor,
    /// Initial shape minus its mean, in f64.
    from: Vec<[f64; 2]>,
    /// `Σ |from|²`.
    from_norm: f64,
}

impl Predictor {
    /// Validates `model` (see [`ShapePredictor::validate`]) and prepares it for inference.
    pub fn new(model: ShapePredictor) -> Result<Self, DatError> {
        model.validate()?;
        let pts: Vec<[f64; 2]> =
            model.initial_shape.chunks_exact(2).map(|p| [f64::from(p[0]), f64::from(p[1])]).collect();
        let mean = mean(&pts);
        let from: Vec<[f64; 2]> = pts.iter().map(|p| [p[0] - mean[0], p[1] - mean[1]]).collect();
        let from_norm = from.iter().map(|f| f[0] * f[0] + f[1] * f[1]).sum();
        Ok(Predictor { model, from, from_norm })
    }

    /// The model.
    pub fn model(&self) -> &ShapePredictor {
        &self.model
    }

    /// Number of landmarks.
    pub fn num_parts(&self) -> usize {
        self.model.num_parts()
    }

    /// Predicts the shape of the face in `rect` of `img`.
    pub fn predict(&self, img: Intensity<'_>, rect: Rect) -> Shape {
        let tform = rect.transform();
        let shape_len = self.model.initial_shape.len();
        let mut current = self.model.initial_shape.clone();
        let mut features: Vec<f32> = Vec::new();
        for cascade in &self.model.cascades {
            let [m00, m01, m10, m11] = self.similarity(&current);
            features.clear();
            features.extend(cascade.anchors.iter().zip(&cascade.deltas).map(|(&a, &[dx, dy])| {
                let a = a as usize;
                let qx = m00 * dx + m01 * dy + current[2 * a];
                let qy = m10 * dx + m11 * dy + current[2 * a + 1];
                let [x, y] = tform.apply(qx, qy);
                img.at(round_half_up(x), round_half_up(y))
            }));
            for tree in &cascade.trees {
                let splits = &tree.splits;
                let mut node = 0;
                while node < splits.len() {
                    let s = &splits[node];
                    node = if features[s.idx1 as usize] - features[s.idx2 as usize] > s.thresh {
                        2 * node + 1
                    } else {
                        2 * node + 2
                    };
                }
                let leaf = tree.leaf(node - splits.len(), shape_len);
                for (c, d) in current.iter_mut().zip(leaf) {
                    *c += d;
                }
            }
        }
        let points = current.chunks_exact(2).map(|p| tform.apply(p[0], p[1])).collect();
        Shape { rect, points }
    }

    /// The 2×2 part `[m00, m01, m10, m11]` of the least-squares similarity taking the initial
    /// shape to `current`: `[[a, −b], [b, a]]` (identity for a single point or a degenerate
    /// initial shape, as dlib).
    fn similarity(&self, current: &[f32]) -> [f32; 4] {
        if self.from.len() < 2 || self.from_norm == 0.0 {
            return [1.0, 0.0, 0.0, 1.0];
        }
        let to: Vec<[f64; 2]> = current.chunks_exact(2).map(|p| [f64::from(p[0]), f64::from(p[1])]).collect();
        let mt = mean(&to);
        let (mut dot, mut cross) = (0.0, 0.0);
        for (f, t) in self.from.iter().zip(&to) {
            let (tx, ty) = (t[0] - mt[0], t[1] - mt[1]);
            dot += f[0] * tx + f[1] * ty;
            cross += f[0] * ty - f[1] * tx;
        }
        let a = (dot / self.from_norm) as f32;
        let b = (cross / self.from_norm) as f32;
        [a, -b, b, a]
    }
}

fn mean(points: &[[f64; 2]]) -> [f64; 2] {
    let n = points.len().max(1) as f64;
    let (sx, sy) = points.iter().fold((0.0, 0.0), |(x, y), p| (x + p[0], y + p[1]));
    [sx / n, sy / n]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Cascade, RegressionTree, SplitFeature};
    use image::GrayImage;

    fn two_point_model() -> ShapePredictor {
        // One tree: if the pixel at the first point's anchor is brighter than the other's by
        // more than 10, move both points right by 0.25; else move them down by 0.25.
        let tree = RegressionTree {
            splits: vec![SplitFeature { idx1: 0, idx2: 1, thresh: 10.0 }],
            leaf_values: vec![0.25, 0.0, 0.25, 0.0, 0.0, 0.25, 0.0, 0.25],
        };
        ShapePredictor {
            initial_shape: vec![0.0, 0.0, 1.0, 1.0],
            cascades: vec![Cascade { trees: vec![tree], anchors: vec![0, 1], deltas: vec![[0.0; 2]; 2] }],
        }
    }

    #[test]
    fn tiny_model_by_hand() {
        let p = Predictor::new(two_point_model()).expect("valid");
        let mut img = GrayImage::new(20, 20);
        img.put_pixel(2, 2, image::Luma([200]));
        let rect = Rect::new(2, 2, 10, 10);
        // Feature 0 reads (2, 2) = 200, feature 1 reads (10, 10) = 0: left leaf, x += 0.25.
        let s = p.predict(Intensity::of(&img), rect);
        assert_eq!(s.points, vec![[4.0, 2.0], [12.0, 10.0]]);
        assert_eq!(s.dlib_points(), vec![[4, 2], [12, 10]]);
        assert_eq!(s.pixel_points(), vec![[4.5, 2.5], [12.5, 10.5]]);
        // Shifted so that feature 0 falls outside the image (reads 0): right leaf, y += 0.25.
        let s = p.predict(Intensity::of(&img), Rect::new(-3, 2, 5, 10));
        assert_eq!(s.dlib_points(), vec![[-3, 4], [5, 12]]);
    }

    #[test]
    fn similarity_closed_form() {
        let p = Predictor::new(two_point_model()).expect("valid");
        // Rotated by 90° and scaled by 2 about the centre: a = 0, b = 2.
        let m = p.similarity(&[1.5, -0.5, -0.5, 1.5]);
        assert_eq!(m, [0.0, -2.0, 2.0, 0.0]);
        assert_eq!(p.similarity(&[0.0, 0.0, 1.0, 1.0]), [1.0, -0.0, 0.0, 1.0]);
    }

    #[test]
    fn rounding_and_boxes() {
        assert_eq!(round_half_up(2.5), 3.0);
        assert_eq!(round_half_up(-2.5), -2.0);
        assert_eq!(round_half_up(-2.6), -3.0);
        let r = Rect::new(-37, 171, 260, 439);
        assert_eq!(Rect::from_pixel_box(r.to_pixel_box()), r);
        assert_eq!(Rect::from_pixel_box([4.8, 4.8, 43.2, 43.2]), Rect::new(4, 4, 43, 43));
        // Extreme corners neither overflow nor panic.
        let p = Predictor::new(two_point_model()).expect("valid");
        let img = GrayImage::new(4, 4);
        let s = p.predict(Intensity::of(&img), Rect::new(i64::MIN, i64::MIN, i64::MAX, i64::MAX));
        assert_eq!(s.dlib_points().len(), 2);
    }
}
