//! Input pipeline of one sample: crop, resize, flip, ImageNet normalisation and random erasing
//! (training), or resize and normalisation only (evaluation). Landmarks follow every geometric
//! step and come out as `(x, y)` in `[0, 1]` of the model input, the model's convention.
//!
//! Every random draw comes from a [`SeedRng`] derived from `(seed, epoch, sample index)` by
//! [`sample_rng`], so the bytes depend neither on thread order nor on a dependency's generator.

use grefel_schema::rng::{SeedRng, derive_seed};
use grefel_schema::table::NUM_LANDMARKS;
use serde::{Deserialize, Serialize};

use crate::TrainError;

/// ImageNet channel means (docs/method.md §2.1).
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// ImageNet channel standard deviations (docs/method.md §2.1).
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// iBUG-68 left/right permutation: point `i` of a mirrored face is point `FLIP_68[i]` of the
/// original (jaw, brows, nose wings, eyes, outer and inner lips swap sides; the nose bridge,
/// the lip middles and the chin stay).
pub const FLIP_68: [usize; NUM_LANDMARKS] = flip_permutation();

const fn flip_permutation() -> [usize; NUM_LANDMARKS] {
    let mut p = [0usize; NUM_LANDMARKS];
    let mut i = 0;
    while i < NUM_LANDMARKS {
        p[i] = match i {
            0..=16 => 16 - i,
            17..=26 => 43 - i,
            27..=30 => i,
            31..=35 => 66 - i,
            36..=39 => 81 - i,
            40 | 41 => 87 - i,
            42..=45 => 81 - i,
            46 | 47 => 87 - i,
            48..=54 => 102 - i,
            55..=59 => 114 - i,
            60..=64 => 124 - i,
            _ => 132 - i,
        };
        i += 1;
    }
    p
}

/// Training augmentation (defaults: POSTER++/ARBEx, docs/method.md §4.1–§4.2).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AugmentConfig {
    /// Probability of a horizontal flip.
    pub flip: f64,
    /// Range of the crop side as a fraction of the image side (ARBEx: 224/246 ≈ 0.91).
    pub crop_scale: [f64; 2],
    /// Probability of random erasing (applied after normalisation, fill 0).
    pub erase_prob: f64,
    /// Range of the erased area as a fraction of the image.
    pub erase_area: [f64; 2],
    /// Range of the erased rectangle's aspect ratio (drawn log-uniformly).
    pub erase_ratio: [f64; 2],
}

impl Default for AugmentConfig {
    fn default() -> Self {
        Self {
            flip: 0.5,
            crop_scale: [0.9, 1.0],
            erase_prob: 0.5,
            erase_area: [0.02, 0.1],
            erase_ratio: [0.3, 3.3],
        }
    }
}

impl AugmentConfig {
    /// No augmentation at all (evaluation).
    pub fn none() -> Self {
        Self { flip: 0.0, crop_scale: [1.0, 1.0], erase_prob: 0.0, ..Self::default() }
    }

    /// Checks the ranges.
    pub fn validate(&self) -> Result<(), TrainError> {
        let unit = |p: f64| (0.0..=1.0).contains(&p);
        let range = |r: [f64; 2], lo: f64, hi: f64| r[0] > lo && r[0] <= r[1] && r[1] <= hi;
        if !unit(self.flip) || !unit(self.erase_prob) {
            return Err(TrainError::config("augment", "probabilities must lie in [0, 1]"));
        }
        if !range(self.crop_scale, 0.0, 1.0) {
            return Err(TrainError::config("augment.crop_scale", "needs 0 < lo ≤ hi ≤ 1"));
        }
        if !range(self.erase_area, 0.0, 1.0) || !range(self.erase_ratio, 0.0, f64::MAX) {
            return Err(TrainError::config("augment.erase_*", "needs 0 < lo ≤ hi (area ≤ 1)"));
        }
        Ok(())
    }
}

/// The generator of one sample's draws in one epoch.
pub fn sample_rng(seed: u64, epoch: usize, index: usize) -> SeedRng {
    SeedRng::new(derive_seed(seed, &format!("augment/{epoch}/{index}")))
}

/// A decoded RGB image (interleaved, row-major).
#[derive(Clone, Copy, Debug)]
pub struct RgbView<'a> {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width·height·3` bytes.
    pub pixels: &'a [u8],
}

/// The geometric draw of one sample: crop window (source pixels) and flip.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Window {
    x0: f64,
    y0: f64,
    w: f64,
    h: f64,
    flip: bool,
}

/// Writes the model input of `image` into `out` (`3·S·S`, CHW, normalised) and, when given, its
/// landmarks (pixels of `image`) into `landmarks_out` (`68·2`, `[0, 1]` of the input).
/// `rng = None` is evaluation: full image, no flip, no erasing.
pub fn render(
    image: RgbView<'_>,
    landmarks: Option<&[[f32; 2]; NUM_LANDMARKS]>,
    size: usize,
    cfg: &AugmentConfig,
    rng: Option<&mut SeedRng>,
    out: &mut [f32],
    landmarks_out: Option<&mut [f32]>,
) {
    let (w, h) = (image.width as f64, image.height as f64);
    let full = Window { x0: 0.0, y0: 0.0, w, h, flip: false };
    let (window, rng) = match rng {
        None => (full, None),
        Some(rng) => {
            let frac = rng.uniform(cfg.crop_scale[0], cfg.crop_scale[1].max(cfg.crop_scale[0]));
            let (cw, ch) = (w * frac, h * frac);
            let x0 = rng.unit() * (w - cw);
            let y0 = rng.unit() * (h - ch);
            let flip = rng.unit() < cfg.flip;
            (Window { x0, y0, w: cw, h: ch, flip }, Some(rng))
        }
    };
    resample(image, window, size, out);
    if let (Some(lm), Some(dst)) = (landmarks, landmarks_out) {
        for (i, pair) in dst.chunks_exact_mut(2).enumerate().take(NUM_LANDMARKS) {
            let src = if window.flip { lm[FLIP_68[i]] } else { lm[i] };
            let u = (f64::from(src[0]) - window.x0) / window.w;
            let v = (f64::from(src[1]) - window.y0) / window.h;
            pair[0] = if window.flip { 1.0 - u } else { u } as f32;
            pair[1] = v as f32;
        }
    }
    if let Some(rng) = rng
        && rng.unit() < cfg.erase_prob
    {
        erase(out, size, cfg, rng);
    }
}

/// Bilinear resampling of the window to `size × size` (pixel centres, edge clamp), normalised.
fn resample(image: RgbView<'_>, win: Window, size: usize, out: &mut [f32]) {
    let (iw, ih) = (image.width, image.height);
    let plane = size * size;
    let taps = |pos: f64, max: usize| -> (usize, usize, f32) {
        let p = pos.clamp(0.0, (max - 1) as f64);
        let lo = p.floor() as usize;
        let hi = (lo + 1).min(max - 1);
        (lo, hi, (p - lo as f64) as f32)
    };
    let cols: Vec<(usize, usize, f32)> = (0..size)
        .map(|j| {
            let jj = if win.flip { size - 1 - j } else { j };
            taps(win.x0 + (jj as f64 + 0.5) * win.w / size as f64 - 0.5, iw)
        })
        .collect();
    let scale: [f32; 3] = std::array::from_fn(|c| 1.0 / (255.0 * IMAGENET_STD[c]));
    let shift: [f32; 3] = std::array::from_fn(|c| IMAGENET_MEAN[c] / IMAGENET_STD[c]);
    for i in 0..size {
        let (r0, r1, fy) = taps(win.y0 + (i as f64 + 0.5) * win.h / size as f64 - 0.5, ih);
        let row0 = &image.pixels[r0 * iw * 3..(r0 + 1) * iw * 3];
        let row1 = &image.pixels[r1 * iw * 3..(r1 + 1) * iw * 3];
        for (j, &(c0, c1, fx)) in cols.iter().enumerate() {
            for c in 0..3 {
                let px = |row: &[u8], col: usize| f32::from(row[col * 3 + c]);
                let top = px(row0, c0) * (1.0 - fx) + px(row0, c1) * fx;
                let bottom = px(row1, c0) * (1.0 - fx) + px(row1, c1) * fx;
                let v = top * (1.0 - fy) + bottom * fy;
                out[c * plane + i * size + j] = v * scale[c] - shift[c];
            }
        }
    }
}

/// Random erasing (torchvision's rule: up to 10 tries for a rectangle that fits; fill 0).
fn erase(out: &mut [f32], size: usize, cfg: &AugmentConfig, rng: &mut SeedRng) {
    let area = (size * size) as f64;
    let (lr0, lr1) = (cfg.erase_ratio[0].ln(), cfg.erase_ratio[1].ln());
    for _ in 0..10 {
        let target = area * rng.uniform(cfg.erase_area[0], cfg.erase_area[1]);
        let ratio = rng.uniform(lr0, lr1).exp();
        let eh = (target * ratio).sqrt().round() as usize;
        let ew = (target / ratio).sqrt().round() as usize;
        if eh == 0 || ew == 0 || eh >= size || ew >= size {
            continue;
        }
        let y = rng.below((size - eh + 1) as u64) as usize;
        let x = rng.below((size - ew + 1) as u64) as usize;
        for c in 0..3 {
            for row in y..y + eh {
                let start = c * size * size + row * size + x;
                out[start..start + ew].fill(0.0);
            }
        }
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(w: usize, h: usize) -> Vec<u8> {
        (0..w * h * 3).map(|i| ((i * 37) % 251) as u8).collect()
    }

    fn landmarks() -> [[f32; 2]; NUM_LANDMARKS] {
        std::array::from_fn(|i| [10.0 + i as f32 * 0.5, 5.0 + (i % 17) as f32 * 2.0])
    }

    #[test]
    fn same_seed_epoch_index_gives_same_bytes() {
        let px = image(40, 32);
        let view = RgbView { width: 40, height: 32, pixels: &px };
        let lm = landmarks();
        let cfg = AugmentConfig { erase_prob: 1.0, ..AugmentConfig::default() };
        let run = |epoch, index| {
            let mut out = vec![0f32; 3 * 24 * 24];
            let mut lo = vec![0f32; 136];
            render(
                view,
                Some(&lm),
                24,
                &cfg,
                Some(&mut sample_rng(5, epoch, index)),
                &mut out,
                Some(&mut lo),
            );
            (out.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), lo)
        };
        assert_eq!(run(1, 7), run(1, 7), "same (seed, epoch, index) must give the same bytes");
        assert_ne!(run(1, 7).0, run(2, 7).0, "another epoch draws another augmentation");
        assert_ne!(run(1, 7).0, run(1, 8).0, "another sample draws another augmentation");
        let erased = run(1, 7).0.iter().filter(|&&b| b == 0).count();
        assert!(erased >= (0.02 * 576.0) as usize * 3, "erasing zeroed {erased} values");
    }

    #[test]
    fn flip_permutation_is_an_involution_that_swaps_sides() {
        for i in 0..NUM_LANDMARKS {
            assert_eq!(FLIP_68[FLIP_68[i]], i, "point {i}");
        }
        let fixed: Vec<usize> = (0..NUM_LANDMARKS).filter(|&i| FLIP_68[i] == i).collect();
        assert_eq!(fixed, vec![8, 27, 28, 29, 30, 33, 51, 57, 62, 66], "midline points stay");
        // Spot checks: jaw ends, outer eye corners, mouth corners.
        assert_eq!((FLIP_68[0], FLIP_68[36], FLIP_68[39], FLIP_68[48], FLIP_68[60]), (16, 45, 42, 54, 64));
        assert_eq!((FLIP_68[40], FLIP_68[41], FLIP_68[17]), (47, 46, 26));
    }

    #[test]
    fn flip_mirrors_pixels_and_landmarks() {
        let px = image(16, 16);
        let view = RgbView { width: 16, height: 16, pixels: &px };
        let lm = landmarks();
        let cfg = AugmentConfig { flip: 1.0, crop_scale: [1.0, 1.0], erase_prob: 0.0, ..Default::default() };
        let (mut plain, mut flipped) = (vec![0f32; 3 * 256], vec![0f32; 3 * 256]);
        let (mut lp, mut lf) = (vec![0f32; 136], vec![0f32; 136]);
        render(view, Some(&lm), 16, &AugmentConfig::none(), None, &mut plain, Some(&mut lp));
        render(view, Some(&lm), 16, &cfg, Some(&mut sample_rng(0, 0, 0)), &mut flipped, Some(&mut lf));
        for c in 0..3 {
            for i in 0..16 {
                for j in 0..16 {
                    let a = plain[c * 256 + i * 16 + j];
                    let b = flipped[c * 256 + i * 16 + 15 - j];
                    assert!((a - b).abs() < 1e-5, "pixel ({c}, {i}, {j})");
                }
            }
        }
        for i in 0..NUM_LANDMARKS {
            let k = FLIP_68[i];
            assert!((lf[2 * i] - (1.0 - lp[2 * k])).abs() < 1e-6, "x of point {i}");
            assert!((lf[2 * i + 1] - lp[2 * k + 1]).abs() < 1e-6, "y of point {i}");
        }
        // Evaluation is an identity resize here: the first pixel is the normalised source value.
        let want = (f32::from(px[0]) / 255.0 - IMAGENET_MEAN[0]) / IMAGENET_STD[0];
        assert!((plain[0] - want).abs() < 1e-5);
        assert!((lp[0] - lm[0][0] / 16.0).abs() < 1e-6 && (lp[1] - lm[0][1] / 16.0).abs() < 1e-6);
    }

    #[test]
    fn crop_moves_landmarks_with_the_window() {
        // A 1-pixel white dot at pixel (20, 12) of a black 32×32 image: after any crop the
        // brightest output pixel sits where the landmark on that dot lands.
        let mut px = vec![0u8; 32 * 32 * 3];
        px[(12 * 32 + 20) * 3..(12 * 32 + 20) * 3 + 3].fill(255);
        let view = RgbView { width: 32, height: 32, pixels: &px };
        let mut lm = [[0f32; 2]; NUM_LANDMARKS];
        lm[30] = [20.5, 12.5];
        let cfg = AugmentConfig { flip: 0.5, crop_scale: [0.6, 0.8], erase_prob: 0.0, ..Default::default() };
        for index in 0..20 {
            let mut out = vec![0f32; 3 * 32 * 32];
            let mut lo = vec![0f32; 136];
            render(view, Some(&lm), 32, &cfg, Some(&mut sample_rng(1, 0, index)), &mut out, Some(&mut lo));
            let (u, v) = (lo[60], lo[61]);
            if !(0.05..0.95).contains(&u) || !(0.05..0.95).contains(&v) {
                continue;
            }
            let best = (0..32 * 32).max_by(|&a, &b| out[a].total_cmp(&out[b])).unwrap_or(0);
            let (bi, bj) = ((best / 32) as f32 + 0.5, (best % 32) as f32 + 0.5);
            assert!((bj / 32.0 - u).abs() < 2.0 / 32.0 && (bi / 32.0 - v).abs() < 2.0 / 32.0, "{index}");
        }
    }
}
