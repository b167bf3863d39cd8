//! Image normalisation: decode, crop, convert to RGB (compositing alpha on a fixed background),
//! resize, encode as PNG. Deterministic: the same input gives the same bytes.

use std::io::Cursor;

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::imageops::FilterType as ResizeFilter;
use image::{DynamicImage, ImageEncoder, ImageReader, RgbImage};
use serde::{Deserialize, Serialize};

/// How images are stored in the shards.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageConfig {
    /// Side of the stored square image in pixels; `None` keeps the source size.
    #[serde(default)]
    pub size: Option<u32>,
    /// Background that transparent pixels are composited on (RGB).
    #[serde(default = "default_background")]
    pub background: [u8; 3],
}

fn default_background() -> [u8; 3] {
    [0, 0, 0]
}

impl Default for ImageConfig {
    fn default() -> Self {
        Self { size: None, background: default_background() }
    }
}

/// A normalised image and the affine map from source to stored pixel coordinates
/// (`stored = (source - offset) * scale`).
#[derive(Clone, Debug)]
pub struct Normalized {
    /// PNG bytes (RGB, 8-bit).
    pub png: Vec<u8>,
    /// Stored width.
    pub width: u32,
    /// Stored height.
    pub height: u32,
    /// Source-pixel offset (the crop's top-left corner).
    pub offset: [f32; 2],
    /// Scale from source to stored pixels, per axis.
    pub scale: [f32; 2],
}

impl Normalized {
    /// Maps a source-pixel point to stored-image pixels.
    pub fn map_point(&self, p: [f32; 2]) -> [f32; 2] {
        [(p[0] - self.offset[0]) * self.scale[0], (p[1] - self.offset[1]) * self.scale[1]]
    }
}

/// Why an image could not be normalised.
#[derive(Debug, thiserror::Error)]
pub enum NormalizeError {
    /// Decoding failed.
    #[error("undecodable image: {0}")]
    Decode(String),
    /// The crop box lies outside the image or is empty.
    #[error("crop box {0:?} outside a {1}x{2} image")]
    BadCrop([u32; 4], u32, u32),
}

/// Decodes encoded image bytes, guessing the format from the content (not the file name).
pub fn decode(bytes: &[u8]) -> Result<DynamicImage, NormalizeError> {
    ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| NormalizeError::Decode(e.to_string()))?
        .decode()
        .map_err(|e| NormalizeError::Decode(e.to_string()))
}

/// Converts to RGB, compositing any alpha channel over `background`.
pub fn to_rgb(img: DynamicImage, background: [u8; 3]) -> RgbImage {
    if !img.color().has_alpha() {
        return img.into_rgb8();
    }
    let rgba = img.into_rgba8();
    let (w, h) = rgba.dimensions();
    let mut out = RgbImage::new(w, h);
    for (dst, src) in out.pixels_mut().zip(rgba.pixels()) {
        let a = u32::from(src[3]);
        for c in 0..3 {
            let v = u32::from(src[c]) * a + u32::from(background[c]) * (255 - a);
            dst[c] = ((v + 127) / 255) as u8;
        }
    }
    out
}

/// Normalises a decoded image: optional crop `[left, top, width, height]`, RGB, resize, PNG.
pub fn normalize(
    img: DynamicImage,
    crop: Option<[u32; 4]>,
    cfg: &ImageConfig,
) -> Result<Normalized, NormalizeError> {
    let (w, h) = (img.width(), img.height());
    let (img, offset) = match crop {
        Some(b @ [l, t, cw, ch]) => {
            let inside = cw > 0
                && ch > 0
                && l.checked_add(cw).is_some_and(|r| r <= w)
                && t.checked_add(ch).is_some_and(|b| b <= h);
            if !inside {
                return Err(NormalizeError::BadCrop(b, w, h));
            }
            (img.crop_imm(l, t, cw, ch), [l as f32, t as f32])
        }
        None => (img, [0.0, 0.0]),
    };
    let mut rgb = to_rgb(img, cfg.background);
    let (sw, sh) = rgb.dimensions();
    if let Some(size) = cfg.size
        && (sw, sh) != (size, size)
    {
        rgb = image::imageops::resize(&rgb, size, size, ResizeFilter::Triangle);
    }
    let (width, height) = rgb.dimensions();
    let mut png = Vec::with_capacity((width * height) as usize);
    PngEncoder::new_with_quality(&mut png, CompressionType::Fast, FilterType::Adaptive)
        .write_image(rgb.as_raw(), width, height, image::ExtendedColorType::Rgb8)
        .map_err(|e| NormalizeError::Decode(format!("encoding failed: {e}")))?;
    Ok(Normalized {
        png,
        width,
        height,
        offset,
        scale: [width as f32 / sw as f32, height as f32 / sh as f32],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgba, RgbaImage};

    #[test]
    fn alpha_is_composited_and_resized() {
        let mut img = RgbaImage::from_pixel(8, 4, Rgba([200, 100, 0, 0]));
        img.put_pixel(0, 0, Rgba([200, 100, 0, 255]));
        img.put_pixel(1, 0, Rgba([200, 100, 0, 128]));
        let rgb = to_rgb(DynamicImage::ImageRgba8(img.clone()), [10, 20, 30]);
        assert_eq!(rgb.get_pixel(0, 0).0, [200, 100, 0]);
        assert_eq!(rgb.get_pixel(2, 0).0, [10, 20, 30]);
        assert_eq!(rgb.get_pixel(1, 0).0, [105, 60, 15]);
        let cfg = ImageConfig { size: Some(16), background: [10, 20, 30] };
        let n = normalize(DynamicImage::ImageRgba8(img.clone()), None, &cfg).expect("normalize");
        assert_eq!((n.width, n.height), (16, 16));
        assert_eq!(n.scale, [2.0, 4.0]);
        let back = decode(&n.png).expect("decode");
        assert_eq!(back.color(), image::ColorType::Rgb8);
        let again = normalize(DynamicImage::ImageRgba8(img), None, &cfg).expect("normalize");
        assert_eq!(again.png, n.png, "deterministic");
    }

    #[test]
    fn crop_maps_points() {
        let img = DynamicImage::ImageRgb8(RgbImage::new(20, 10));
        let cfg = ImageConfig { size: Some(5), ..ImageConfig::default() };
        let n = normalize(img.clone(), Some([10, 0, 10, 10]), &cfg).expect("crop");
        assert_eq!(n.map_point([12.0, 4.0]), [1.0, 2.0]);
        assert!(matches!(
            normalize(img.clone(), Some([15, 0, 10, 10]), &cfg),
            Err(NormalizeError::BadCrop(..))
        ));
        assert!(matches!(normalize(img, Some([0, 0, 0, 10]), &cfg), Err(NormalizeError::BadCrop(..))));
        assert!(matches!(decode(b"not an image"), Err(NormalizeError::Decode(_))));
        assert!(matches!(
            decode(&[0x89, b'P', b'N', b'G', 13, 10, 26, 10, 0]),
            Err(NormalizeError::Decode(_))
        ));
    }
}
