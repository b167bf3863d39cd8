//! Bilinear resizing of RGB8 pixels: Pillow's `BILINEAR` (a triangle kernel widened by the scale
//! factor when shrinking), separable, in fixed point, giving the bytes of `fast_image_resize` 6.1
//! (`ResizeAlg::Convolution(FilterType::Bilinear)`, U8x3), which the stored images were made with
//! before this module existed (`tests` below compare the two on every road).
//!
//! The arithmetic is integer: output = clamp((2^(p-1) + Σ pixel × weight) >> p, 0, 255) with
//! 16-bit weights of precision `p` chosen per axis. Integer sums do not depend on the order of
//! their terms, so any evaluation order gives the same bytes; that is what lets this module differ
//! from `fast_image_resize` in speed only:
//! - the weights of each (input size, output size) pair are computed once per thread and kept
//!   ([`Axis`]), where `fast_image_resize` recomputes them (in `f64`) for every image;
//! - the horizontal pass on x86-64 computes eight output pixels at once with AVX2 gathers, where
//!   `fast_image_resize` computes one pixel of four rows at a time; other CPUs run the scalar
//!   loop, which gives the same bytes.
//!
//! Like `fast_image_resize` (and Pillow) for 8-bit images, the vertical pass runs first, and its
//! rounded 8-bit output is the horizontal pass's input.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// Pixels of one output image row or column as weighted sums of `taps` consecutive input pixels.
#[derive(Debug, PartialEq, Eq)]
struct Axis {
    /// Fixed-point precision of the weights (bits after the point).
    precision: u32,
    /// Input pixels per output pixel (the widest kernel; narrower ones are padded with zeros).
    taps: usize,
    /// First input pixel of each output pixel; `start + taps <= input size`.
    starts: Vec<usize>,
    /// `taps` weights per output pixel.
    weights: Vec<i32>,
    /// The same weights laid out for the AVX2 horizontal pass.
    #[cfg(target_arch = "x86_64")]
    lanes: Lanes,
}

/// Output pixels the AVX2 horizontal pass computes at once.
const LANES: usize = 8;

impl Axis {
    /// The weights `fast_image_resize` 6.1 computes for a bilinear convolution from `input` to
    /// `output` pixels (`precompute_coefficients` with support 1 and an adaptive kernel, then
    /// `Normalizer16`), re-based so that every output pixel reads `taps` pixels.
    fn bilinear(input: u32, output: u32) -> Self {
        let scale = f64::from(input) / f64::from(output);
        let filter_scale = scale.max(1.0);
        let radius = filter_scale; // the triangle's support (1) times the scale
        let window = radius.ceil() as usize * 2 + 1;
        let recip = 1.0 / filter_scale;
        let triangle = |x: f64| {
            let x = x.abs();
            if x < 1.0 { 1.0 - x } else { 0.0 }
        };
        let mut values: Vec<f64> = Vec::with_capacity(window * output as usize);
        let mut bounds = Vec::with_capacity(output as usize);
        for out in 0..output {
            let in_center = (f64::from(out) + 0.5) * scale;
            let min = (in_center - radius).floor().max(0.0) as u32;
            let max = (in_center + radius).ceil().min(f64::from(input)) as u32;
            let first = values.len();
            let center = in_center - 0.5;
            let (mut start, mut end) = (min, max);
            let mut sum = 0.0;
            for x in min..max {
                let w = triangle((f64::from(x) - center) * recip);
                if x == start && w == 0.0 {
                    start += 1;
                } else {
                    values.push(w);
                    sum += w;
                }
            }
            for &w in values[first..].iter().rev() {
                if end <= start || w != 0.0 {
                    break;
                }
                end -= 1;
            }
            if sum != 0.0 {
                values[first..].iter_mut().for_each(|w| *w /= sum);
            }
            values.resize(first + window, 0.0);
            bounds.push((start as usize, (end - start) as usize));
        }
        // The precision: the largest (below 22) at which the heaviest weight still fits in 15 bits.
        let heaviest = values.iter().copied().fold(0.0, f64::max);
        let mut precision = 0;
        for p in 0..22 {
            precision = p;
            if (heaviest * f64::from(1u32 << (p + 1))).round() as i32 >= 1 << 15 {
                break;
            }
        }
        let one = f64::from(1u32 << precision);
        let taps = bounds.iter().map(|&(_, size)| size).max().unwrap_or(0).max(1);
        let mut starts = Vec::with_capacity(bounds.len());
        let mut weights = vec![0; taps * bounds.len()];
        for (i, (&(start, size), chunk)) in bounds.iter().zip(values.chunks_exact(window)).enumerate() {
            // Near the far edge the kernel starts earlier, so that all `taps` pixels exist; the
            // weights move along with it.
            let based = start.min(input as usize - taps);
            starts.push(based);
            for (k, &v) in chunk[..size].iter().enumerate() {
                weights[i * taps + start - based + k] = i32::from((v * one).round() as i16);
            }
        }
        #[cfg(target_arch = "x86_64")]
        let lanes = Lanes::new(taps, &starts, &weights);
        Self {
            precision,
            taps,
            starts,
            weights,
            #[cfg(target_arch = "x86_64")]
            lanes,
        }
    }

    /// `2^(precision - 1)`: the rounding term every sum starts from.
    fn half(&self) -> i32 {
        (1 << self.precision) >> 1
    }
}

/// 8-bit result of a fixed-point sum.
///
/// The sums cannot overflow (at most 255 × 2^15 per tap, and the weights sum to about 2^22), so
/// the passes use wrapping arithmetic: the same results without the overflow checks of dev
/// builds, which would keep the compiler from vectorising the loops.
#[inline(always)]
fn clamp(sum: i32, precision: u32) -> u8 {
    sum.wrapping_shr(precision).clamp(0, 255) as u8
}

/// Borrowed RGB8 pixels: `height` rows of `width` pixels, row `y` at byte `origin + y * stride`.
#[derive(Clone, Copy)]
pub(crate) struct Plane<'a> {
    /// The pixel bytes (whole rows of a larger image, possibly).
    pub data: &'a [u8],
    /// Bytes from one row to the next.
    pub stride: usize,
    /// Byte offset of the first pixel.
    pub origin: usize,
    /// Pixels per row.
    pub width: usize,
    /// Rows.
    pub height: usize,
}

impl<'a> Plane<'a> {
    /// The `[left, top, width, height]` region of an image of `image_width` pixels per row,
    /// stored row after row in `data`.
    pub fn region(data: &'a [u8], image_width: u32, [l, t, w, h]: [u32; 4]) -> Self {
        let stride = image_width as usize * 3;
        Plane {
            data,
            stride,
            origin: t as usize * stride + l as usize * 3,
            width: w as usize,
            height: h as usize,
        }
    }

    /// The pixels as one slice when their rows follow each other without gaps.
    pub fn contiguous(&self) -> Option<&'a [u8]> {
        let len = self.width * self.height * 3;
        (self.stride == self.width * 3 || self.height <= 1).then(|| &self.data[self.origin..][..len])
    }

    fn row(&self, y: usize) -> &[u8] {
        &self.data[self.origin + y * self.stride..][..self.width * 3]
    }
}

/// Per-thread weights, scratch rows and the intermediate image.
#[derive(Default)]
struct Scratch {
    axes: HashMap<(u32, u32), Rc<Axis>>,
    sums: Vec<i32>,
    between: Vec<u8>,
}

/// Distinct (input, output) size pairs kept per thread; beyond it the cache starts afresh.
const MAX_AXES: usize = 1024;

impl Scratch {
    fn axis(&mut self, input: u32, output: u32) -> Rc<Axis> {
        if self.axes.len() >= MAX_AXES && !self.axes.contains_key(&(input, output)) {
            self.axes.clear();
        }
        Rc::clone(self.axes.entry((input, output)).or_insert_with(|| Rc::new(Axis::bilinear(input, output))))
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Which implementation of the horizontal pass runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Road {
    /// The best the CPU offers.
    Best,
    /// The portable loop.
    #[cfg(test)]
    Scalar,
}

/// Resizes `src` to `width`×`height` RGB8 pixels (rows of `width * 3` bytes, no padding).
///
/// # Panics
/// If a size is zero or `src` lies outside its data; callers check both.
pub(crate) fn resize(src: Plane<'_>, width: u32, height: u32) -> Vec<u8> {
    resize_on(src, width, height, Road::Best)
}

fn resize_on(src: Plane<'_>, width: u32, height: u32, road: Road) -> Vec<u8> {
    let (w, h) = (width as usize, height as usize);
    let mut out = vec![0u8; w * h * 3];
    SCRATCH.with_borrow_mut(|s| {
        let (sw, sh) = (src.width as u32, src.height as u32);
        match (sw != width, sh != height) {
            (true, true) => {
                let (across, down) = (s.axis(sw, width), s.axis(sh, height));
                let mut between = std::mem::take(&mut s.between);
                between.clear();
                between.resize(src.width * 3 * h, 0);
                vertical(src, &down, &mut s.sums, &mut between, road);
                let mid =
                    Plane { data: &between, stride: src.width * 3, origin: 0, width: src.width, height: h };
                horizontal(mid, &across, &mut out, road);
                s.between = between;
            }
            (true, false) => horizontal(src, &s.axis(sw, width), &mut out, road),
            (false, true) => vertical(src, &s.axis(sh, height), &mut s.sums, &mut out, road),
            (false, false) => {
                for (y, row) in out.chunks_exact_mut(w * 3).enumerate() {
                    row.copy_from_slice(src.row(y));
                }
            }
        }
    });
    out
}

/// The vertical pass: `dst` gets `axis.starts.len()` rows of `src.width` pixels.
fn vertical(src: Plane<'_>, axis: &Axis, sums: &mut Vec<i32>, dst: &mut [u8], road: Road) {
    #[cfg(target_arch = "x86_64")]
    if road == Road::Best && std::arch::is_x86_feature_detected!("avx2") {
        let row_len = src.width * 3;
        let wide = row_len - row_len % 32;
        for (y, out) in dst.chunks_exact_mut(row_len).enumerate() {
            // SAFETY: the CPU has AVX2.
            unsafe { vertical_row_avx2(src, axis, y, &mut out[..wide]) };
            vertical_row(src, axis, y, wide, sums, out);
        }
        return;
    }
    let _ = road;
    for (y, out) in dst.chunks_exact_mut(src.width * 3).enumerate() {
        vertical_row(src, axis, y, 0, sums, out);
    }
}

/// Bytes `from..` of output row `y`, one at a time (the compiler vectorises what it can).
fn vertical_row(src: Plane<'_>, axis: &Axis, y: usize, from: usize, sums: &mut Vec<i32>, out: &mut [u8]) {
    let out = &mut out[from..];
    sums.clear();
    sums.resize(out.len(), axis.half());
    let (start, weights) = (axis.starts[y], &axis.weights[y * axis.taps..][..axis.taps]);
    for (k, &weight) in weights.iter().enumerate() {
        if weight != 0 {
            for (sum, &v) in sums.iter_mut().zip(&src.row(start + k)[from..]) {
                *sum = sum.wrapping_add(i32::from(v).wrapping_mul(weight));
            }
        }
    }
    for (o, &sum) in out.iter_mut().zip(sums.iter()) {
        *o = clamp(sum, axis.precision);
    }
}

/// Output row `y` in blocks of 32 bytes, two input rows at a time through 16-bit multiply-adds;
/// `out.len()` is a multiple of 32.
///
/// # Safety
/// The CPU has AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn vertical_row_avx2(src: Plane<'_>, axis: &Axis, y: usize, out: &mut [u8]) {
    use std::arch::x86_64::*;
    let (start, weights) = (axis.starts[y], &axis.weights[y * axis.taps..][..axis.taps]);
    let half = _mm256_set1_epi32(axis.half());
    let shift = _mm_cvtsi32_si128(axis.precision as i32);
    let zero = _mm256_setzero_si256();
    for (block, o) in out.chunks_exact_mut(32).enumerate() {
        let x = block * 32;
        // Per 128-bit half: sums of bytes 0-3, 4-7, 8-11 and 12-15 (the unpacks work per half).
        let mut sums = [half; 4];
        for k in (0..axis.taps).step_by(2) {
            // An odd last tap pairs with itself at weight zero.
            let (k2, w2) = if k + 1 < axis.taps { (k + 1, weights[k + 1]) } else { (k, 0) };
            let pair = _mm256_set1_epi32((weights[k] & 0xFFFF) | (w2 << 16));
            let (row_a, row_b) = (&src.row(start + k)[x..x + 32], &src.row(start + k2)[x..x + 32]);
            // SAFETY: both slices hold 32 bytes.
            let (a, b) = unsafe {
                (_mm256_loadu_si256(row_a.as_ptr().cast()), _mm256_loadu_si256(row_b.as_ptr().cast()))
            };
            let (lo, hi) = (_mm256_unpacklo_epi8(a, b), _mm256_unpackhi_epi8(a, b));
            let parts = [
                _mm256_unpacklo_epi8(lo, zero),
                _mm256_unpackhi_epi8(lo, zero),
                _mm256_unpacklo_epi8(hi, zero),
                _mm256_unpackhi_epi8(hi, zero),
            ];
            for (sum, part) in sums.iter_mut().zip(parts) {
                *sum = _mm256_add_epi32(*sum, _mm256_madd_epi16(part, pair));
            }
        }
        let [s0, s1, s2, s3] = sums.map(|s| _mm256_sra_epi32(s, shift));
        // The packs undo the unpacks' order; their saturation is the clamp to 0..=255.
        let bytes = _mm256_packus_epi16(_mm256_packs_epi32(s0, s1), _mm256_packs_epi32(s2, s3));
        // SAFETY: `o` holds 32 bytes.
        unsafe { _mm256_storeu_si256(o.as_mut_ptr().cast(), bytes) };
    }
}

/// The horizontal pass: each of `src.height` rows becomes `axis.starts.len()` pixels in `dst`.
fn horizontal(src: Plane<'_>, axis: &Axis, dst: &mut [u8], road: Road) {
    let out_len = axis.starts.len() * 3;
    #[cfg(target_arch = "x86_64")]
    if road == Road::Best && std::arch::is_x86_feature_detected!("avx2") {
        for (y, out) in dst.chunks_exact_mut(out_len).enumerate() {
            let at = src.origin + y * src.stride;
            // A gather reads four bytes from a pixel's first: one past the row's last pixel.
            if at + src.width * 3 < src.data.len() {
                // SAFETY: the CPU has AVX2; every gather reads at most `src.width * 3 + 1` bytes
                // from `at`, which lie in `src.data` (checked just above).
                let done = unsafe { horizontal_row_avx2(&src.data[at..], axis, out) };
                horizontal_pixels(src.row(y), axis, done, out);
            } else {
                horizontal_pixels(src.row(y), axis, 0, out);
            }
        }
        return;
    }
    let _ = road;
    for (y, out) in dst.chunks_exact_mut(out_len).enumerate() {
        horizontal_pixels(src.row(y), axis, 0, out);
    }
}

/// Output pixels `from..` of one row, one at a time.
fn horizontal_pixels(row: &[u8], axis: &Axis, from: usize, out: &mut [u8]) {
    let (half, precision, taps) = (axis.half(), axis.precision, axis.taps);
    for (i, px) in out.chunks_exact_mut(3).enumerate().skip(from) {
        let weights = &axis.weights[i * taps..][..taps];
        let source = &row[axis.starts[i] * 3..][..taps * 3];
        let mut sums = [half; 3];
        for (&weight, pixel) in weights.iter().zip(source.chunks_exact(3)) {
            for (sum, &v) in sums.iter_mut().zip(pixel) {
                *sum = sum.wrapping_add(i32::from(v).wrapping_mul(weight));
            }
        }
        for (o, sum) in px.iter_mut().zip(sums) {
            *o = clamp(sum, precision);
        }
    }
}

/// The horizontal weights laid out for [`horizontal_row_avx2`]: per group of [`LANES`] output
/// pixels and per tap, the byte offsets of the input pixels and their weights.
#[cfg(target_arch = "x86_64")]
#[derive(Debug, PartialEq, Eq)]
struct Lanes {
    offsets: Vec<[i32; LANES]>,
    weights: Vec<[i32; LANES]>,
}

#[cfg(target_arch = "x86_64")]
impl Lanes {
    fn new(taps: usize, starts: &[usize], weights: &[i32]) -> Self {
        let groups = starts.len() / LANES;
        let mut offsets = Vec::with_capacity(groups * taps);
        let mut lane_weights = Vec::with_capacity(groups * taps);
        for g in 0..groups {
            for k in 0..taps {
                let pixel = |lane: usize| g * LANES + lane;
                offsets.push(std::array::from_fn(|l| ((starts[pixel(l)] + k) * 3) as i32));
                lane_weights.push(std::array::from_fn(|l| weights[pixel(l) * taps + k]));
            }
        }
        Self { offsets, weights: lane_weights }
    }
}

/// Output pixels of one row in groups of eight; returns how many it computed.
///
/// # Safety
/// The CPU has AVX2, and `row` extends at least one byte past the row's last input pixel (a
/// gather reads four bytes from a pixel's first).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn horizontal_row_avx2(row: &[u8], axis: &Axis, out: &mut [u8]) -> usize {
    use std::arch::x86_64::*;
    let lanes = &axis.lanes;
    let groups = axis.starts.len() / LANES;
    let half = _mm256_set1_epi32(axis.half());
    let shift = _mm_cvtsi32_si128(axis.precision as i32);
    let byte = _mm256_set1_epi32(0xFF);
    let (zero, top) = (_mm256_setzero_si256(), _mm256_set1_epi32(255));
    // Per 128-bit half: the three low bytes of each 32-bit lane, packed into its first 12 bytes.
    let pack = _mm256_setr_epi8(
        0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1, //
        0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1,
    );
    // Then the upper half's three packed lanes next to the lower half's.
    let join = _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 3, 7);
    let base = row.as_ptr().cast::<i32>();
    let mut pixels = [0u8; 32];
    for g in 0..groups {
        let (mut r, mut gr, mut b) = (half, half, half);
        for k in 0..axis.taps {
            let at = g * axis.taps + k;
            // SAFETY: `lanes.offsets` and `lanes.weights` hold `groups * taps` entries.
            let (offsets, weights) =
                unsafe { (lanes.offsets.get_unchecked(at), lanes.weights.get_unchecked(at)) };
            let offsets = unsafe { _mm256_loadu_si256(offsets.as_ptr().cast()) };
            let weights = unsafe { _mm256_loadu_si256(weights.as_ptr().cast()) };
            // SAFETY: every offset is `3 * pixel` with `pixel < width`, and four bytes from there
            // lie in `row` (the caller's promise).
            let v = unsafe { _mm256_i32gather_epi32::<1>(base, offsets) };
            r = _mm256_add_epi32(r, _mm256_mullo_epi32(_mm256_and_si256(v, byte), weights));
            let v8 = _mm256_and_si256(_mm256_srli_epi32::<8>(v), byte);
            gr = _mm256_add_epi32(gr, _mm256_mullo_epi32(v8, weights));
            let v16 = _mm256_and_si256(_mm256_srli_epi32::<16>(v), byte);
            b = _mm256_add_epi32(b, _mm256_mullo_epi32(v16, weights));
        }
        let fit = |s: __m256i| _mm256_min_epi32(_mm256_max_epi32(_mm256_sra_epi32(s, shift), zero), top);
        let rgb = _mm256_or_si256(
            fit(r),
            _mm256_or_si256(_mm256_slli_epi32::<8>(fit(gr)), _mm256_slli_epi32::<16>(fit(b))),
        );
        let packed = _mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(rgb, pack), join);
        // SAFETY: `pixels` holds 32 bytes.
        unsafe { _mm256_storeu_si256(pixels.as_mut_ptr().cast(), packed) };
        out[g * LANES * 3..][..LANES * 3].copy_from_slice(&pixels[..LANES * 3]);
    }
    groups * LANES
}

#[cfg(test)]
mod tests {
    use super::*;
    use fast_image_resize::images::{CroppedImage, Image, ImageRef};
    use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
    use grefel_schema::rng::SeedRng;

    /// What `normalize` stored before this module: `fast_image_resize` on a cropped view.
    fn reference(img: &[u8], iw: u32, ih: u32, region: [u32; 4], w: u32, h: u32) -> Vec<u8> {
        let full = ImageRef::new(iw, ih, img, PixelType::U8x3).expect("image");
        let [l, t, cw, ch] = region;
        let view = CroppedImage::new(&full, l, t, cw, ch).expect("crop");
        let mut dst = Image::new(w, h, PixelType::U8x3);
        let options =
            ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear)).use_alpha(false);
        Resizer::new().resize(&view, &mut dst, &options).expect("resize");
        dst.into_vec()
    }

    fn plane(img: &[u8], iw: u32, region: [u32; 4]) -> Plane<'_> {
        let [l, t, cw, ch] = region.map(|v| v as usize);
        let stride = iw as usize * 3;
        Plane { data: img, stride, origin: t * stride + l * 3, width: cw, height: ch }
    }

    /// Noise, extremes and smooth runs: sums that clamp at 0 and 255, and every rounding case.
    fn picture(rng: &mut SeedRng, iw: u32, ih: u32) -> Vec<u8> {
        (0..iw * ih * 3)
            .map(|i| match rng.below(4) {
                0 => 0,
                1 => 255,
                2 => (i % 251) as u8,
                _ => rng.below(256) as u8,
            })
            .collect()
    }

    /// Equal bytes, or a panic naming the case and the first differing byte.
    fn same(got: &[u8], want: &[u8], case: &str) {
        assert_eq!(got.len(), want.len(), "{case}: length");
        if let Some(i) = got.iter().zip(want).position(|(a, b)| a != b) {
            panic!("{case}: byte {i} (pixel {}) is {}, fast_image_resize gives {}", i / 3, got[i], want[i]);
        }
    }

    #[test]
    fn same_bytes_as_fast_image_resize_on_every_road() {
        let mut rng = SeedRng::new(7);
        let mut cases = 0;
        // Shrinking, enlarging, both, one axis only, 1-pixel sides, the ingest sizes.
        let sizes: &[(u32, u32, u32, u32)] = &[
            (100, 100, 112, 112),
            (400, 400, 112, 112),
            (299, 241, 112, 112),
            (240, 240, 112, 112),
            (112, 300, 112, 112),
            (300, 112, 112, 112),
            (37, 53, 112, 112),
            (1, 1, 9, 9),
            (1, 40, 7, 3),
            (40, 1, 3, 7),
            (17, 9, 1, 1),
            (64, 48, 64, 20),
            (64, 48, 20, 48),
            (5, 5, 5, 5),
            (23, 31, 61, 13),
            (1000, 30, 112, 112),
            (97, 97, 24, 24),
        ];
        for &(iw, ih, w, h) in sizes {
            // The whole image and, inside a larger one, a region away from every border.
            for margin in [[0, 0, 0, 0], [3, 2, 5, 1]] {
                let [ml, mt, mr, mb] = margin;
                let (fw, fh) = (iw + ml + mr, ih + mt + mb);
                let img = picture(&mut rng, fw, fh);
                let region = [ml, mt, iw, ih];
                let want = reference(&img, fw, fh, region, w, h);
                for road in [Road::Best, Road::Scalar] {
                    let got = resize_on(plane(&img, fw, region), w, h, road);
                    same(&got, &want, &format!("{iw}x{ih} -> {w}x{h}, region {region:?}, {road:?}"));
                    cases += 1;
                }
            }
        }
        // Random sizes and regions.
        for _ in 0..150 {
            let (fw, fh) = (1 + rng.below(160) as u32, 1 + rng.below(160) as u32);
            let (cw, ch) = (1 + rng.below(fw as u64) as u32, 1 + rng.below(fh as u64) as u32);
            let (l, t) = (rng.below((fw - cw + 1) as u64) as u32, rng.below((fh - ch + 1) as u64) as u32);
            let (w, h) = (1 + rng.below(130) as u32, 1 + rng.below(130) as u32);
            let img = picture(&mut rng, fw, fh);
            let want = reference(&img, fw, fh, [l, t, cw, ch], w, h);
            for road in [Road::Best, Road::Scalar] {
                let got = resize_on(plane(&img, fw, [l, t, cw, ch]), w, h, road);
                same(&got, &want, &format!("{fw}x{fh} region {:?} -> {w}x{h}, {road:?}", [l, t, cw, ch]));
                cases += 1;
            }
        }
        assert_eq!(cases, 2 * 2 * 17 + 2 * 150);
    }

    #[test]
    fn weights_are_kept_per_thread_and_sum_to_one() {
        let a = SCRATCH.with_borrow_mut(|s| s.axis(100, 112));
        let b = SCRATCH.with_borrow_mut(|s| s.axis(100, 112));
        assert!(Rc::ptr_eq(&a, &b), "the second call reuses the first one's weights");
        for axis in [a, SCRATCH.with_borrow_mut(|s| s.axis(299, 112))] {
            assert!(axis.starts.iter().all(|&s| s + axis.taps <= 299));
            for w in axis.weights.chunks_exact(axis.taps) {
                let total: i32 = w.iter().sum();
                assert!((total - (1 << axis.precision)).abs() <= axis.taps as i32, "{total}");
            }
        }
        // Enlarging by a little reads two pixels per output pixel; shrinking by 2.67 reads up to 6.
        assert_eq!(Axis::bilinear(100, 112).taps, 2);
        assert_eq!(Axis::bilinear(299, 112).taps, 6);
    }
}
