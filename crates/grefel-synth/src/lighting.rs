//! Photometric nuisances: brightness, contrast, a left-right illumination gradient and additive
//! (near-)Gaussian noise, applied to the painted canvas before quantisation to 8 bits.

use grefel_schema::SeedRng;
use image::RgbImage;

use crate::config::Nuisance;
use crate::render::Canvas;

/// The photometric state of one sample.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Lighting {
    /// Multiplicative brightness.
    brightness: f64,
    /// Contrast factor around mid-grey.
    contrast: f64,
    /// Relative brightness change from the left edge to the right edge of the image.
    gradient: f64,
    /// Standard deviation of the additive noise (full scale = 1).
    noise_std: f64,
}

impl Lighting {
    /// Lighting drawn from `r` within the strengths of `n`.
    pub fn sample(n: &Nuisance, r: &mut SeedRng) -> Lighting {
        let sym = |r: &mut SeedRng, a: f64| if a > 0.0 { r.uniform(-a, a) } else { 0.0 };
        Lighting {
            brightness: 1.0 + sym(r, n.brightness),
            contrast: 1.0 + sym(r, n.contrast),
            gradient: sym(r, n.brightness),
            noise_std: n.noise_std,
        }
    }

    /// Applies the lighting and noise to `canvas` (noise drawn from `r`, pixel by pixel, row-major,
    /// R then G then B) and quantises to an 8-bit RGB image.
    pub fn finish(&self, mut canvas: Canvas, r: &mut SeedRng) -> RgbImage {
        let size = canvas.size();
        let (b, c, g, sd) = (self.brightness, self.contrast, self.gradient, self.noise_std);
        let mut bytes = Vec::with_capacity(size * size * 3);
        for (k, px) in canvas.pixels_mut().iter_mut().enumerate() {
            let x = ((k % size) as f64 + 0.5) / size as f64;
            let gain = b * (1.0 + g * (x - 0.5));
            for &v in px.iter() {
                let mut v = ((f64::from(v) - 0.5) * c + 0.5) * gain;
                if sd > 0.0 {
                    v += sd * standard_normal(r);
                }
                bytes.push((v * 255.0).round().clamp(0.0, 255.0) as u8);
            }
        }
        let side = size as u32;
        RgbImage::from_raw(side, side, bytes).unwrap_or_else(|| RgbImage::new(side, side))
    }
}

/// A standard normal draw, approximated by the Irwin–Hall sum of four uniforms taken from the
/// four 16-bit quarters of one 64-bit draw: mean 0, variance 1, support ±2√3 (a close and cheap
/// stand-in for a Gaussian at the small noise levels used here).
fn standard_normal(r: &mut SeedRng) -> f64 {
    let bits = r.next_u64();
    let sum: u64 = (0..4).map(|k| (bits >> (16 * k)) & 0xFFFF).sum();
    // (quarter + 0.5) / 2^16 is uniform on (0, 1); four of them sum to mean 2, variance 1/3.
    let u = (sum as f64 + 2.0) / 65536.0;
    (u - 2.0) * 3f64.sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_is_standardised() {
        let mut r = SeedRng::new(3);
        let n = 50_000;
        let draws: Vec<f64> = (0..n).map(|_| standard_normal(&mut r)).collect();
        let mean = draws.iter().sum::<f64>() / n as f64;
        let var = draws.iter().map(|d| (d - mean) * (d - mean)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.02 && (var - 1.0).abs() < 0.03, "{mean} {var}");
        let within_one = draws.iter().filter(|d| d.abs() < 1.0).count() as f64 / n as f64;
        assert!((within_one - 0.683).abs() < 0.02, "{within_one}");
    }
}
