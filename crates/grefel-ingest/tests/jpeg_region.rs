//! The region-limited JPEG road of `normalize_encoded` (a per-thread buffer, decoding stopped
//! below the crop box, blocks away from it not transformed; vendor/zune-jpeg/PATCHES.md) stores
//! exactly the bytes of the general road (`decode`, then `normalize`), for every crop box, chroma
//! sampling, restart interval and scan layout tried here.

use grefel_ingest::normalize::{ImageConfig, NormalizeError, decode, normalize, normalize_encoded};
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

/// A picture with edges, gradients and noise in every channel, so that a block decoded in the
/// wrong place, a missed DC prediction or a wrong chroma neighbour changes the stored bytes.
fn picture(w: u16, h: u16, seed: u32, channels: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9) | 1;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state % 41) as i32 - 20
    };
    let mut out = Vec::with_capacity(usize::from(w) * usize::from(h) * channels);
    for y in 0..i32::from(h) {
        for x in 0..i32::from(w) {
            let edge = if (x / 11 + y / 7) % 3 == 0 { 90 } else { 0 };
            for c in 0..channels as i32 {
                let v = 40 + (x * (3 + c)) % 130 + (y * (5 - c)) % 70 + edge + noise();
                out.push(v.clamp(0, 255) as u8);
            }
        }
    }
    out
}

/// How the test JPEG is laid out.
#[derive(Clone, Copy, Debug)]
struct Layout {
    sampling: SamplingFactor,
    progressive: bool,
    restart: u16,
    grey: bool,
}

fn jpeg(w: u16, h: u16, layout: Layout, seed: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = Encoder::new(&mut bytes, 88);
    encoder.set_sampling_factor(layout.sampling);
    encoder.set_progressive(layout.progressive);
    if layout.restart > 0 {
        encoder.set_restart_interval(layout.restart);
    }
    let (channels, colour) = if layout.grey { (1, ColorType::Luma) } else { (3, ColorType::Rgb) };
    encoder.encode(&picture(w, h, seed, channels), w, h, colour).expect("encode test JPEG");
    bytes
}

/// Boxes at the corners, edges, MCU boundaries and inside, plus pseudo-random ones.
fn boxes(w: u32, h: u32, seed: u32) -> Vec<[u32; 4]> {
    let mut out = vec![
        [0, 0, w, h],
        [0, 0, 1, 1],
        [w - 1, h - 1, 1, 1],
        [0, h / 2, w, h - h / 2],
        [w / 3, 0, (w / 3).max(1), h],
        [(w - 1).min(16), (h - 1).min(16), (w - (w - 1).min(16)).min(32), (h - (h - 1).min(16)).min(32)],
        [w / 4, h / 4, (w / 2).max(1), (h / 2).max(1)],
        [w - (w / 5).max(1), h - (h / 5).max(1), (w / 5).max(1), (h / 5).max(1)],
    ];
    let mut state = seed | 1;
    for _ in 0..8 {
        let mut next = |n: u32| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (state >> 8) % n
        };
        let (bw, bh) = (1 + next(w), 1 + next(h));
        out.push([next(w - bw + 1), next(h - bh + 1), bw, bh]);
    }
    out
}

#[test]
fn every_box_stores_the_bytes_of_a_full_decode() {
    let layouts = [
        (SamplingFactor::R_4_4_4, false, 0),
        (SamplingFactor::R_4_2_0, false, 0),
        (SamplingFactor::R_4_2_2, false, 0),
        (SamplingFactor::R_4_4_0, false, 0),
        (SamplingFactor::R_4_1_1, false, 0),
        (SamplingFactor::R_4_4_4, false, 3),
        (SamplingFactor::R_4_2_0, false, 5),
        (SamplingFactor::R_4_2_0, true, 0),
    ]
    .map(|(sampling, progressive, restart)| Layout { sampling, progressive, restart, grey: false });
    let grey = Layout { sampling: SamplingFactor::R_4_4_4, progressive: false, restart: 0, grey: true };
    let mut compared = 0;
    for (i, (w, h)) in [(400u16, 400u16), (203, 157), (64, 9), (17, 250)].into_iter().enumerate() {
        for (j, layout) in layouts.iter().chain([&grey]).enumerate() {
            let seed = (i * 16 + j) as u32;
            let bytes = jpeg(w, h, *layout, seed);
            let whole = decode(&bytes).expect("decode test JPEG");
            for crop in boxes(u32::from(w), u32::from(h), seed) {
                for size in [None, Some(24)] {
                    let cfg = ImageConfig { size, ..ImageConfig::default() };
                    let fast = normalize_encoded(&bytes, Some(crop), &cfg).expect("region road");
                    let full = normalize(whole.clone(), Some(crop), &cfg).expect("general road");
                    let at = format!("{w}x{h} {layout:?} box {crop:?} size {size:?}");
                    assert_eq!((fast.width, fast.height), (full.width, full.height), "{at}");
                    assert_eq!((fast.offset, fast.scale), (full.offset, full.scale), "{at}");
                    assert!(fast.png == full.png, "stored bytes differ: {at}");
                    compared += 1;
                }
            }
            let no_crop = ImageConfig::default();
            let fast = normalize_encoded(&bytes, None, &no_crop).expect("region road, no box");
            let full = normalize(whole, None, &no_crop).expect("general road, no box");
            assert!(fast.png == full.png, "{w}x{h} {layout:?}, no box");
        }
    }
    assert_eq!(compared, 4 * 9 * 16 * 2);
}

#[test]
fn bad_boxes_and_bad_bytes_fail_as_on_the_general_road() {
    let layout = Layout { sampling: SamplingFactor::R_4_2_0, progressive: false, restart: 0, grey: false };
    let bytes = jpeg(40, 30, layout, 7);
    let cfg = ImageConfig { size: Some(8), ..ImageConfig::default() };
    for crop in [[30, 0, 11, 5], [0, 25, 5, 6], [0, 0, 0, 4], [u32::MAX, 0, 2, 2]] {
        assert!(
            matches!(normalize_encoded(&bytes, Some(crop), &cfg), Err(NormalizeError::BadCrop(b, 40, 30)) if b == crop),
            "{crop:?}"
        );
    }
    // Headers cut short: neither road can decode it.
    assert!(matches!(
        normalize_encoded(&bytes[..40], Some([0, 0, 4, 4]), &cfg),
        Err(NormalizeError::Decode(_))
    ));
    assert!(matches!(
        normalize_encoded(b"\xFF\xD8\xFFnot a jpeg", None, &cfg),
        Err(NormalizeError::Decode(_))
    ));
}

/// The vendored decoder's Huffman loops (`vendor/zune-jpeg/PATCHES.md`, part 3) decode what an
/// independent decoder (`jpeg-decoder`) decodes: the two differ in their inverse transforms and
/// chroma upsampling by a level or two, where a bit read wrongly would shift every block after it.
#[test]
fn decoded_pixels_agree_with_an_independent_decoder() {
    let layouts = [
        (SamplingFactor::R_4_4_4, false, 0, false),
        (SamplingFactor::R_4_2_0, false, 0, false),
        (SamplingFactor::R_4_2_2, false, 0, false),
        (SamplingFactor::R_4_4_0, false, 0, false),
        (SamplingFactor::R_4_4_4, false, 3, false),
        (SamplingFactor::R_4_2_0, false, 5, false),
        (SamplingFactor::R_4_2_0, true, 0, false),
        (SamplingFactor::R_4_4_4, false, 0, true),
    ]
    .map(|(sampling, progressive, restart, grey)| Layout { sampling, progressive, restart, grey });
    let mut compared = 0;
    for (i, (w, h)) in [(400u16, 400u16), (203, 157), (64, 9), (17, 250)].into_iter().enumerate() {
        for (j, layout) in layouts.iter().enumerate() {
            let bytes = jpeg(w, h, *layout, (i * 16 + j) as u32 + 100);
            let ours = decode(&bytes).expect("zune-jpeg");
            let ours = if layout.grey { ours.into_luma8().into_raw() } else { ours.into_rgb8().into_raw() };
            let theirs = jpeg_decoder::Decoder::new(&bytes[..]).decode().expect("jpeg-decoder");
            assert_eq!(ours.len(), theirs.len(), "{w}x{h} {layout:?}");
            let diffs: Vec<u32> = ours.iter().zip(&theirs).map(|(&a, &b)| u32::from(a.abs_diff(b))).collect();
            let max = diffs.iter().copied().max().unwrap_or(0);
            let mean = f64::from(diffs.iter().sum::<u32>()) / diffs.len() as f64;
            // Measured: at most 13 (a chroma edge column of a 17-pixel-wide 4:2:0 image), mean at
            // most 0.38; a desynchronised bit reader gives tens of levels on average.
            assert!(max <= 16 && mean <= 0.5, "{w}x{h} {layout:?}: max difference {max}, mean {mean:.3}");
            compared += 1;
        }
    }
    assert_eq!(compared, 4 * 8);
}
