//! One face, from pixels to the model's view of it: the 68 points on an image (the landmark
//! stage's own rule, [`locate`]), and the crop a dataset's framing cuts around a face found in a
//! photo ([`frame_face`]). `predict` runs a photo's faces through both, so a face reaches the
//! model as the faces of the run's training data did.

use grefel_schema::FaceFraming;
use grefel_schema::landmarks_table::{BoxSource, Quality};
use grefel_schema::table::NUM_LANDMARKS;
use image::{GrayImage, Rgb, RgbImage};

use crate::boxes::{Detector, inset_box};
use crate::intensity::Intensity;
use crate::predict::{Predictor, Rect};
use crate::sample::quality;

/// 68 points on an image and where their box came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Located {
    /// The points, in pixels of the image.
    pub points: Box<[[f32; 2]; NUM_LANDMARKS]>,
    /// The face rectangle the predictor started from.
    pub rect: Rect,
    /// Where that rectangle came from.
    pub box_source: BoxSource,
    /// The quality flag of the points.
    pub quality: Quality,
}

/// The landmark stage's rule for one image: the dataset's box where given, else rustface's best
/// face (with a detector), else the inset box of side / `inset_ratio`; then the 68 points.
pub fn locate(
    predictor: &Predictor,
    detector: Option<&mut Detector>,
    gray: &GrayImage,
    dataset_box: Option<[f32; 4]>,
    inset_ratio: f64,
) -> Located {
    let (rect, box_source) = match (dataset_box, detector) {
        (Some(b), _) => (Rect::from_pixel_box(b), BoxSource::Dataset),
        (None, Some(d)) => d.face_box(gray, None),
        (None, None) => (inset_box(gray.width(), gray.height(), inset_ratio), BoxSource::Inset),
    };
    let shape = predictor.predict(Intensity::of(gray), rect);
    let mut points = Box::new([[0f32; 2]; NUM_LANDMARKS]);
    for (p, q) in points.iter_mut().zip(shape.pixel_points()) {
        *p = q;
    }
    let quality = quality(&points[..], gray.dimensions(), box_source);
    Located { points, rect, box_source, quality }
}

/// Indices of the left and right eye contours in the 68-point scheme (iBUG 300-W).
const LEFT_EYE: std::ops::Range<usize> = 36..42;
const RIGHT_EYE: std::ops::Range<usize> = 42..48;

/// The centre of points `range`.
fn mean_point(points: &[[f32; 2]], range: std::ops::Range<usize>) -> [f64; 2] {
    let n = range.len() as f64;
    let (sx, sy) =
        points[range].iter().fold((0.0, 0.0), |(x, y), p| (x + f64::from(p[0]), y + f64::from(p[1])));
    [sx / n, sy / n]
}

/// Where a framed crop sits in its source image: the source pixel of crop pixel `(u, v)` is
/// `centre + R(angle) · ((u + 0.5) · scale − side / 2, (v + 0.5) · scale − side / 2) − 0.5`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CropGeometry {
    /// Centre of the crop in source pixels (continuous coordinates).
    pub centre: [f64; 2],
    /// Side of the crop in source pixels.
    pub side: f64,
    /// Rotation in radians (the angle of the eye line in the source).
    pub angle: f64,
    /// Side of the crop in its own pixels.
    pub pixels: u32,
}

impl CropGeometry {
    /// The crop `framing` cuts around a face with box `rect` and 68 `points` (source pixels):
    /// centred on the box, `box_scale` times its side, rotated by the eye line when the framing
    /// levels the eyes, at the source's resolution (the crop's pixel side is its source side,
    /// at least 1 and at most `max_pixels`).
    pub fn of(rect: Rect, points: &[[f32; 2]], framing: FaceFraming, max_pixels: u32) -> Self {
        let [l, t, r, b] = rect.to_pixel_box().map(f64::from);
        let centre = [(l + r) / 2.0, (t + b) / 2.0];
        let box_side = (r - l).max(b - t).max(1.0);
        let side = box_side * framing.box_scale.max(1.0);
        let angle = if framing.level_eyes && points.len() >= RIGHT_EYE.end {
            let [lx, ly] = mean_point(points, LEFT_EYE);
            let [rx, ry] = mean_point(points, RIGHT_EYE);
            (ry - ly).atan2(rx - lx)
        } else {
            0.0
        };
        let pixels = (side.round() as u32).clamp(1, max_pixels.max(1));
        CropGeometry { centre, side, angle, pixels }
    }

    /// The source position of crop pixel centre `(u, v)` (pixel-centre convention: pixel `i`
    /// covers `[i, i + 1)`, so the returned value is the continuous coordinate minus 0.5).
    pub fn source(&self, u: f64, v: f64) -> [f64; 2] {
        let k = self.side / f64::from(self.pixels);
        let (dx, dy) = ((u + 0.5) * k - self.side / 2.0, (v + 0.5) * k - self.side / 2.0);
        let (sin, cos) = self.angle.sin_cos();
        [self.centre[0] + cos * dx - sin * dy - 0.5, self.centre[1] + sin * dx + cos * dy - 0.5]
    }
}

/// Cuts the crop of `geometry` out of `image` by bilinear sampling; pixels outside the image
/// are `background` (the colour ingest composites transparency on).
pub fn frame_face(image: &RgbImage, geometry: &CropGeometry, background: [u8; 3]) -> RgbImage {
    let (w, h) = (i64::from(image.width()), i64::from(image.height()));
    let n = geometry.pixels;
    let texel = |x: i64, y: i64| -> [f64; 3] {
        if x < 0 || y < 0 || x >= w || y >= h {
            return background.map(f64::from);
        }
        image.get_pixel(x as u32, y as u32).0.map(f64::from)
    };
    RgbImage::from_fn(n, n, |u, v| {
        let [x, y] = geometry.source(f64::from(u), f64::from(v));
        let (x0, y0) = (x.floor(), y.floor());
        let (fx, fy) = (x - x0, y - y0);
        let (x0, y0) = (x0 as i64, y0 as i64);
        let [a, b, c, d] = [texel(x0, y0), texel(x0 + 1, y0), texel(x0, y0 + 1), texel(x0 + 1, y0 + 1)];
        let px: [u8; 3] = std::array::from_fn(|k| {
            let top = a[k] * (1.0 - fx) + b[k] * fx;
            let bottom = c[k] * (1.0 - fx) + d[k] * fx;
            (top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8
        });
        Rgb(px)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eyes(left: [f32; 2], right: [f32; 2]) -> Vec<[f32; 2]> {
        let mut p = vec![[0.0; 2]; NUM_LANDMARKS];
        for i in LEFT_EYE {
            p[i] = left;
        }
        for i in RIGHT_EYE {
            p[i] = right;
        }
        p
    }

    #[test]
    fn an_unrotated_crop_of_scale_one_resamples_the_box() {
        // A linear gradient (R = 3x, G = 3y, pixel centres at integers): bilinear sampling gives
        // the gradient's value at the sampled position, so every crop pixel is checkable.
        let img = RgbImage::from_fn(64, 64, |x, y| Rgb([x as u8 * 3, y as u8 * 3, 7]));
        let rect = Rect::from_pixel_box([10.0, 20.0, 30.0, 40.0]);
        let g = CropGeometry::of(rect, &eyes([0.0, 0.0], [1.0, 0.0]), FaceFraming::FACE_BOX, 4096);
        let [l, t, r, _] = rect.to_pixel_box().map(f64::from);
        assert_eq!(g.pixels, (r - l) as u32);
        let crop = frame_face(&img, &g, [0, 0, 0]);
        for (u, v, p) in crop.enumerate_pixels() {
            // Crop pixel u samples pixel position `l + u` (l: the box edge, a pixel centre + 0.5).
            let (x, y) = (l + f64::from(u), t + f64::from(v));
            assert!((f64::from(p[0]) - 3.0 * x).abs() <= 0.5, "R at ({u}, {v}): {p:?}");
            assert!((f64::from(p[1]) - 3.0 * y).abs() <= 0.5, "G at ({u}, {v}): {p:?}");
            assert_eq!(p[2], 7);
        }
    }

    #[test]
    fn levelling_the_eyes_undoes_a_rotation() {
        // Eyes on a line at +30°: the crop is rotated by +30° (sampling along the eye line), so a
        // point on that line right of the centre lands on the crop's centre row.
        let (cx, cy) = (50.0f64, 50.0f64);
        let a = 30f64.to_radians();
        let left = [(cx - 10.0 * a.cos()) as f32, (cy - 10.0 * a.sin()) as f32];
        let right = [(cx + 10.0 * a.cos()) as f32, (cy + 10.0 * a.sin()) as f32];
        let rect = Rect::from_pixel_box([30.0, 30.0, 70.0, 70.0]);
        let g = CropGeometry::of(rect, &eyes(left, right), FaceFraming::ALIGNED, 4096);
        assert!((g.angle - a).abs() < 1e-6, "angle {}", g.angle);
        let n = f64::from(g.pixels);
        // The crop's centre row, right half, maps onto the eye line.
        let [x, y] = g.source(n * 0.75 - 0.5, n / 2.0 - 0.5);
        let (x, y) = (x + 0.5 - g.centre[0], y + 0.5 - g.centre[1]);
        assert!((y - x * a.tan()).abs() < 1e-4, "({x}, {y}) off the eye line");
        assert!(x > 0.0);
        // Scale: the crop is 1.25 box sides.
        let [l, _, r, _] = rect.to_pixel_box();
        assert!((g.side - 1.25 * f64::from(r - l)).abs() < 1e-9);
    }

    #[test]
    fn outside_the_image_is_background() {
        let img = RgbImage::from_pixel(8, 8, Rgb([200, 200, 200]));
        let rect = Rect::from_pixel_box([0.0, 0.0, 8.0, 8.0]);
        let g = CropGeometry::of(
            rect,
            &eyes([0.0, 0.0], [1.0, 0.0]),
            FaceFraming { box_scale: 3.0, level_eyes: false },
            4096,
        );
        let crop = frame_face(&img, &g, [1, 2, 3]);
        assert_eq!(crop.get_pixel(0, 0), &Rgb([1, 2, 3]));
        let mid = g.pixels / 2;
        assert_eq!(crop.get_pixel(mid, mid), &Rgb([200, 200, 200]));
    }
}
