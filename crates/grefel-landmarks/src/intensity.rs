//! The 8-bit intensity image the predictor reads, made by dlib's rule (`assign_pixel` gray ←
//! colour): grey as is, RGB as `(R + G + B) / 3` with integer division, RGBA with its alpha
//! ignored (dlib forces it to 255 first). Other pixel types go through `image`'s conversion to
//! 8-bit RGB first.

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, GrayImage, ImageReader};

use crate::LandmarkError;

/// A borrowed 8-bit intensity image, row-major.
#[derive(Clone, Copy, Debug)]
pub struct Intensity<'a> {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width · height` values.
    pub pixels: &'a [u8],
}

impl<'a> Intensity<'a> {
    /// A view of a grey image.
    pub fn of(img: &'a GrayImage) -> Self {
        Intensity { width: img.width() as usize, height: img.height() as usize, pixels: img.as_raw() }
    }

    /// The value at `(x, y)`, or 0 outside the image (dlib reads out-of-image feature pixels
    /// as black, without clamping).
    #[inline]
    pub fn at(&self, x: f64, y: f64) -> f32 {
        if x >= 0.0 && y >= 0.0 && x < self.width as f64 && y < self.height as f64 {
            f32::from(self.pixels[y as usize * self.width + x as usize])
        } else {
            0.0
        }
    }
}

/// dlib's intensity of an RGB pixel.
#[inline]
pub fn rgb_intensity(r: u8, g: u8, b: u8) -> u8 {
    // At most 765 / 3 = 255.
    ((u16::from(r) + u16::from(g) + u16::from(b)) / 3) as u8
}

/// The intensity image of a decoded image, by dlib's rule.
pub fn to_intensity(img: &DynamicImage) -> GrayImage {
    match img {
        DynamicImage::ImageLuma8(g) => g.clone(),
        DynamicImage::ImageLumaA8(_) | DynamicImage::ImageLuma16(_) | DynamicImage::ImageLumaA16(_) => {
            img.to_luma8()
        }
        DynamicImage::ImageRgb8(rgb) => rgb_to_intensity(rgb.width(), rgb.height(), rgb.as_raw(), 3),
        DynamicImage::ImageRgba8(rgba) => rgb_to_intensity(rgba.width(), rgba.height(), rgba.as_raw(), 4),
        other => {
            let rgb = other.to_rgb8();
            rgb_to_intensity(rgb.width(), rgb.height(), rgb.as_raw(), 3)
        }
    }
}

fn rgb_to_intensity(width: u32, height: u32, raw: &[u8], channels: usize) -> GrayImage {
    let pixels = raw.chunks_exact(channels).map(|p| rgb_intensity(p[0], p[1], p[2])).collect();
    // The buffer has exactly width · height values, so this cannot fail.
    GrayImage::from_raw(width, height, pixels).unwrap_or_else(|| GrayImage::new(width, height))
}

/// Decodes encoded image bytes (format guessed from the content); `name` labels errors.
pub fn decode(bytes: &[u8], name: &str) -> Result<DynamicImage, LandmarkError> {
    let image_err = |detail: String| LandmarkError::Image { path: name.to_string(), detail };
    ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| image_err(e.to_string()))?
        .decode()
        .map_err(|e| image_err(e.to_string()))
}

/// Reads and decodes an image file into its intensity image.
pub fn load_intensity(path: &Path) -> Result<GrayImage, LandmarkError> {
    let bytes = std::fs::read(path).map_err(LandmarkError::io("read", path))?;
    Ok(to_intensity(&decode(&bytes, &path.display().to_string())?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage, Rgba, RgbaImage};

    #[test]
    fn dlib_rule() {
        assert_eq!(rgb_intensity(255, 255, 255), 255);
        assert_eq!(rgb_intensity(1, 1, 0), 0);
        assert_eq!(rgb_intensity(10, 20, 31), 20);
        let rgb = RgbImage::from_pixel(2, 1, Rgb([10, 20, 31]));
        let g = to_intensity(&DynamicImage::ImageRgb8(rgb));
        assert_eq!(g.as_raw(), &[20, 20]);
        let rgba = RgbaImage::from_pixel(1, 1, Rgba([10, 20, 31, 0]));
        assert_eq!(to_intensity(&DynamicImage::ImageRgba8(rgba)).as_raw(), &[20]);
        let view = Intensity::of(&g);
        assert_eq!(view.at(1.0, 0.0), 20.0);
        assert_eq!(view.at(2.0, 0.0), 0.0);
        assert_eq!(view.at(-1.0, 0.0), 0.0);
        assert!(decode(b"not an image", "x").is_err());
    }
}
