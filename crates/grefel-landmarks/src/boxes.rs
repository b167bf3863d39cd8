//! Face boxes for pre-cropped datasets, in the order the landmark stage tries them:
//!
//! 1. the dataset's own box (the sample's `bbox`), where there is one;
//! 2. rustface (SeetaFace, pure Rust; its model ships inside the crate) on the image upscaled
//!    (bilinear, integer factor) until its shorter side is at least 96 px; the best-scoring face
//!    is mapped to a dlib-HOG-like box by the measured mapping (width ×0.945, centre shifted by
//!    (−0.027, +0.060) × width) and scaled back;
//! 3. the fixed inset box: side / 1.25, centred.
//!
//! Every box is returned as a dlib [`Rect`] together with the [`BoxSource`] that produced it.

use std::path::Path;

use grefel_schema::landmarks_table::BoxSource;
use image::GrayImage;
use image::imageops::{FilterType, resize};
use serde::{Deserialize, Serialize};

use crate::LandmarkError;
use crate::predict::Rect;

/// Settings of the box finder (all part of the landmark stage's configuration hash).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoxConfig {
    /// Upscale crops until the shorter side is at least this many pixels before detection.
    pub detect_min_side: u32,
    /// rustface: smallest face searched, in pixels of the upscaled image (at least 20).
    pub min_face_size: u32,
    /// rustface: score threshold.
    pub score_thresh: f64,
    /// rustface: factor between pyramid levels.
    pub pyramid_scale: f64,
    /// rustface: sliding-window step in pixels.
    pub window_step: u32,
    /// Mapping of a rustface box to a HOG-like box: width factor.
    pub map_scale: f64,
    /// Mapping: centre shift `(dx, dy)` in units of the rustface box width.
    pub map_shift: [f64; 2],
    /// The inset box's side is the image side divided by this.
    pub inset_ratio: f64,
}

impl Default for BoxConfig {
    fn default() -> Self {
        BoxConfig {
            detect_min_side: 96,
            min_face_size: 20,
            score_thresh: 2.0,
            pyramid_scale: 0.8,
            window_step: 4,
            map_scale: 0.945,
            map_shift: [-0.027, 0.060],
            inset_ratio: 1.25,
        }
    }
}

impl BoxConfig {
    /// Checks the values rustface would otherwise panic on.
    pub fn validate(&self) -> Result<(), LandmarkError> {
        let bad = |field, reason: &str| Err(LandmarkError::InvalidConfig { field, reason: reason.into() });
        if self.min_face_size < 20 {
            return bad("boxes.min_face_size", "must be at least 20");
        }
        if self.score_thresh.is_nan() || self.score_thresh <= 0.0 {
            return bad("boxes.score_thresh", "must be above 0");
        }
        if !(0.01..=0.99).contains(&self.pyramid_scale) {
            return bad("boxes.pyramid_scale", "must be in 0.01..=0.99");
        }
        if self.window_step == 0 {
            return bad("boxes.window_step", "must be at least 1");
        }
        let finite = self.inset_ratio.is_finite()
            && self.map_scale.is_finite()
            && self.map_shift.iter().all(|v| v.is_finite());
        if !finite || self.inset_ratio < 1.0 || self.map_scale <= 0.0 || self.detect_min_side > 4096 {
            return bad("boxes", "finite values, inset_ratio >= 1, map_scale > 0, detect_min_side <= 4096");
        }
        Ok(())
    }
}

/// The fixed inset box of a `width × height` image: side / `ratio`, centred (pixel convention
/// `[W/2 − W/(2·ratio), …]`, converted to a dlib rectangle).
pub fn inset_box(width: u32, height: u32, ratio: f64) -> Rect {
    let (w, h) = (f64::from(width), f64::from(height));
    let (hw, hh) = (w / (2.0 * ratio), h / (2.0 * ratio));
    let b = [w / 2.0 - hw, h / 2.0 - hh, w / 2.0 + hw, h / 2.0 + hh];
    Rect::from_pixel_box(b.map(|v| v as f32))
}

/// Maps a rustface box `(x, y, w, h)` found on an image upscaled by `factor` to a dlib-HOG-like
/// rectangle in the original image.
pub fn map_rustface_box(x: i32, y: i32, w: u32, h: u32, factor: u32, cfg: &BoxConfig) -> Rect {
    let (x, y, w, h) = (f64::from(x), f64::from(y), f64::from(w), f64::from(h));
    let cx = x + w / 2.0 + cfg.map_shift[0] * w;
    let cy = y + h / 2.0 + cfg.map_shift[1] * w;
    let half = cfg.map_scale * w / 2.0;
    let k = f64::from(factor);
    let b = [(cx - half) / k, (cy - half) / k, (cx + half) / k, (cy + half) / k];
    Rect::from_pixel_box(b.map(|v| v as f32))
}

/// The integer upscale factor that brings the shorter side to at least `min_side`.
pub fn upscale_factor(width: u32, height: u32, min_side: u32) -> u32 {
    let short = width.min(height).max(1);
    min_side.div_ceil(short).max(1)
}

/// The loaded rustface model, shared by every thread (each makes its own [`Detector`]).
#[derive(Clone)]
pub struct FaceModel {
    model: rustface::Model,
}

impl FaceModel {
    /// Loads rustface's `seeta_fd_frontal_v1.0.bin`.
    pub fn load(path: &Path) -> Result<Self, LandmarkError> {
        let bytes = std::fs::read(path).map_err(LandmarkError::io("read", path))?;
        let model = rustface::read_model(std::io::Cursor::new(bytes)).map_err(|e| {
            LandmarkError::WrongModel { path: path.into(), detail: format!("not a rustface model: {e}") }
        })?;
        Ok(FaceModel { model })
    }

    /// A detector for one thread.
    pub fn detector(&self, cfg: &BoxConfig) -> Detector {
        let mut d = rustface::create_detector_with_model(self.model.clone());
        d.set_min_face_size(cfg.min_face_size.max(20));
        d.set_score_thresh(cfg.score_thresh);
        d.set_pyramid_scale_factor(cfg.pyramid_scale.clamp(0.01, 0.99) as f32);
        d.set_slide_window_step(cfg.window_step.max(1), cfg.window_step.max(1));
        Detector { inner: d, cfg: cfg.clone() }
    }
}

/// One face found by [`Detector::detect_all`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Detection {
    /// The HOG-like face rectangle in the searched image's pixels.
    pub rect: Rect,
    /// rustface's score.
    pub score: f64,
}

/// One thread's rustface detector with the box settings.
pub struct Detector {
    inner: Box<dyn rustface::Detector>,
    cfg: BoxConfig,
}

impl Detector {
    /// The best-scoring face on `img` (upscaled first, see the module docs), mapped to a
    /// HOG-like rectangle in `img`'s coordinates; `None` when nothing is found.
    pub fn detect(&mut self, img: &GrayImage) -> Option<Rect> {
        self.detect_all(img).into_iter().next().map(|d| d.rect)
    }

    /// Every face rustface finds on `img`, mapped like [`Detector::detect`], best score first
    /// (ties in rustface's order).
    pub fn detect_all(&mut self, img: &GrayImage) -> Vec<Detection> {
        let (w, h) = img.dimensions();
        if w == 0 || h == 0 {
            return Vec::new();
        }
        let k = upscale_factor(w, h, self.cfg.detect_min_side);
        let scaled;
        let input = if k > 1 {
            scaled = resize(img, w * k, h * k, FilterType::Triangle);
            &scaled
        } else {
            img
        };
        if input.width() < 20 || input.height() < 20 {
            return Vec::new();
        }
        let data = rustface::ImageData::new(input.as_raw(), input.width(), input.height());
        // rustface asserts on inputs it does not expect; a panic there means "no face".
        let inner = &mut self.inner;
        let Ok(faces) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.detect(&data))) else {
            return Vec::new();
        };
        let mut found: Vec<Detection> = faces
            .iter()
            .map(|f| {
                let b = f.bbox();
                Detection {
                    rect: map_rustface_box(b.x(), b.y(), b.width(), b.height(), k, &self.cfg),
                    score: f.score(),
                }
            })
            .collect();
        // Stable: equal scores keep rustface's order (the first of them is the best, as before).
        found.sort_by(|a, b| b.score.total_cmp(&a.score));
        found
    }

    /// The box for a sample: the dataset's box where given, else rustface, else the inset box.
    pub fn face_box(&mut self, img: &GrayImage, dataset_box: Option<[f32; 4]>) -> (Rect, BoxSource) {
        if let Some(b) = dataset_box {
            return (Rect::from_pixel_box(b), BoxSource::Dataset);
        }
        match self.detect(img) {
            Some(r) => (r, BoxSource::Rustface),
            None => (inset_box(img.width(), img.height(), self.cfg.inset_ratio), BoxSource::Inset),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry() {
        let cfg = BoxConfig::default();
        cfg.validate().expect("default is valid");
        assert_eq!(inset_box(100, 100, 1.25), Rect::new(10, 10, 90, 90));
        assert_eq!(inset_box(48, 48, 1.25), Rect::new(4, 4, 43, 43));
        assert_eq!(upscale_factor(48, 48, 96), 2);
        assert_eq!(upscale_factor(100, 100, 96), 1);
        assert_eq!(upscale_factor(25, 40, 96), 4);
        // A 100-px rustface box at (0, 0) on a 2× upscale: width 94.5, centre (47.3, 56) → /2.
        let r = map_rustface_box(0, 0, 100, 100, 2, &cfg);
        assert_eq!(r, Rect::new(0, 4, 47, 51));
        let bad = BoxConfig { min_face_size: 10, ..BoxConfig::default() };
        assert!(bad.validate().is_err());
    }
}
