//! Pillow's `Image.resize(size, Image.BILINEAR)` on RGB8 pixels, to the byte: what torchvision's
//! `transforms.Resize` does to a PIL image, and so what POSTER++'s test transform feeds its
//! network. ([`crate::resize`] gives `fast_image_resize`'s bytes, which stored images are made
//! with; the two differ in the order of the passes and the fixed-point precision, by one level
//! here and there.)
//!
//! The algorithm (Pillow's `Resample.c`): per axis, each output pixel is a normalised triangle
//! kernel, widened by the scale factor when shrinking, over the input pixels whose centres it
//! covers; the weights are rounded to 22 fractional bits. The horizontal pass runs first over the
//! rows the vertical pass will read, its output rounded to 8 bits; then the vertical pass. Each
//! sum starts at one half (rounding) and is clamped to 0..=255. An axis whose size does not
//! change is not resampled at all; an image whose size does not change is copied.
//!
//! Pillow 13 runs the vertical pass first for some shapes (seen where one axis grows and the
//! other shrinks); there a byte can differ by one level (`tests/pillow.rs` checks both).

/// Fractional bits of the fixed-point weights (Pillow: `32 - 8 - 2`).
const PRECISION_BITS: u32 = 22;

/// The kernel of one axis: for each output pixel the first input pixel, the count, and the
/// weights (`taps` per output pixel, zero-padded).
struct Kernel {
    taps: usize,
    bounds: Vec<(usize, usize)>,
    weights: Vec<i32>,
}

impl Kernel {
    fn bilinear(input: usize, output: usize) -> Kernel {
        let scale = input as f64 / output as f64;
        let filter_scale = scale.max(1.0);
        let support = filter_scale;
        let taps = support.ceil() as usize * 2 + 1;
        let mut bounds = Vec::with_capacity(output);
        let mut weights = vec![0i32; output * taps];
        let mut w = vec![0f64; taps];
        let reciprocal = 1.0 / filter_scale;
        for (o, row) in weights.chunks_exact_mut(taps).enumerate() {
            let center = (o as f64 + 0.5) * scale;
            // C's `(int)` truncates toward zero; a negative start is clamped to 0 anyway.
            let min = ((center - support + 0.5) as i64).max(0) as usize;
            let max = ((center + support + 0.5) as i64).clamp(0, input as i64) as usize;
            let count = max.saturating_sub(min).min(taps);
            let mut total = 0.0;
            for (x, wx) in w.iter_mut().enumerate().take(count) {
                let d = ((x + min) as f64 - center + 0.5) * reciprocal;
                *wx = (1.0 - d.abs()).max(0.0);
                total += *wx;
            }
            for (x, k) in row.iter_mut().enumerate().take(count) {
                let v = if total != 0.0 { w[x] / total } else { w[x] };
                let fixed = v * f64::from(1u32 << PRECISION_BITS);
                *k = if v < 0.0 { (fixed - 0.5) as i32 } else { (fixed + 0.5) as i32 };
            }
            bounds.push((min, count));
        }
        Kernel { taps, bounds, weights }
    }
}

fn clip8(sum: i32) -> u8 {
    (sum >> PRECISION_BITS).clamp(0, 255) as u8
}

/// `rgb` (`width × height`, interleaved) resized to `out_width × out_height` as Pillow's
/// bilinear filter does it.
pub fn pillow_bilinear(
    rgb: &[u8],
    width: usize,
    height: usize,
    out_width: usize,
    out_height: usize,
) -> Vec<u8> {
    debug_assert_eq!(rgb.len(), width * height * 3);
    if width == out_width && height == out_height {
        return rgb.to_vec();
    }
    let half = 1i32 << (PRECISION_BITS - 1);
    let vertical = (height != out_height).then(|| Kernel::bilinear(height, out_height));
    // The rows the vertical pass reads.
    let (first, last) = match &vertical {
        Some(k) => {
            let (start, _) = k.bounds[0];
            let (s, n) = k.bounds[out_height - 1];
            (start, s + n)
        }
        None => (0, height),
    };
    let (mut src, mut src_width, src_rows, row_offset) = (rgb.to_vec(), width, last - first, first);
    if width != out_width {
        let k = Kernel::bilinear(width, out_width);
        let mut out = vec![0u8; src_rows * out_width * 3];
        for (y, out_row) in out.chunks_exact_mut(out_width * 3).enumerate() {
            let row = &rgb[(y + row_offset) * width * 3..(y + row_offset + 1) * width * 3];
            for (x, px) in out_row.chunks_exact_mut(3).enumerate() {
                let (start, count) = k.bounds[x];
                let weights = &k.weights[x * k.taps..x * k.taps + count];
                let mut sums = [half; 3];
                for (i, &wgt) in weights.iter().enumerate() {
                    let p = &row[(start + i) * 3..(start + i) * 3 + 3];
                    for c in 0..3 {
                        sums[c] += i32::from(p[c]) * wgt;
                    }
                }
                for c in 0..3 {
                    px[c] = clip8(sums[c]);
                }
            }
        }
        src = out;
        src_width = out_width;
    } else if row_offset != 0 || src_rows != height {
        src = rgb[row_offset * width * 3..(row_offset + src_rows) * width * 3].to_vec();
    }
    let Some(k) = vertical else { return src };
    let stride = src_width * 3;
    let mut out = vec![0u8; out_height * stride];
    for (y, out_row) in out.chunks_exact_mut(stride).enumerate() {
        let (start, count) = k.bounds[y];
        let start = start - row_offset;
        let weights = &k.weights[y * k.taps..y * k.taps + count];
        for (i, v) in out_row.iter_mut().enumerate() {
            let mut sum = half;
            for (r, &wgt) in weights.iter().enumerate() {
                sum += i32::from(src[(start + r) * stride + i]) * wgt;
            }
            *v = clip8(sum);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_size_is_a_copy_and_a_flat_image_stays_flat() {
        let img: Vec<u8> = (0..5 * 4 * 3).map(|i| (i * 7 % 256) as u8).collect();
        assert_eq!(pillow_bilinear(&img, 5, 4, 5, 4), img);
        let flat = vec![77u8; 13 * 9 * 3];
        for (w, h) in [(224, 224), (6, 4), (13, 30), (1, 1)] {
            let out = pillow_bilinear(&flat, 13, 9, w, h);
            assert_eq!(out.len(), w * h * 3);
            assert!(out.iter().all(|&v| v == 77), "{w}x{h}");
        }
    }

    #[test]
    fn doubling_interpolates_between_centres() {
        // One row 0, 100: at twice the size the centres fall at 1/4 and 3/4 between pixels.
        let img = [0u8, 0, 0, 100, 100, 100];
        let out = pillow_bilinear(&img, 2, 1, 4, 1);
        let firsts: Vec<u8> = out.chunks(3).map(|p| p[0]).collect();
        assert_eq!(firsts, vec![0, 25, 75, 100]);
    }
}
