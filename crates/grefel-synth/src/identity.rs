//! Per-identity shape and colour parameters of a synthetic person.
//!
//! Lengths are in face units: the face is about two units wide, `x` grows to the image right and
//! `y` downwards, the origin lies between the eyes' level and the nose.

use grefel_schema::rng::{SeedRng, derive_seed};

/// An RGB colour with channels in `[0, 1]`.
pub(crate) type Rgb = [f32; 3];

/// The fixed traits of one synthetic person.
#[derive(Clone, Debug)]
pub(crate) struct Identity {
    /// Horizontal scale of the whole face.
    pub face_w: f64,
    /// Vertical scale of the whole face.
    pub face_h: f64,
    /// Superellipse exponent of the jaw (2 = round, 3 = square).
    pub jaw_exp: f64,
    /// Height of the skull above the ear line.
    pub forehead: f64,
    /// Horizontal distance of each eye centre from the midline.
    pub eye_x: f64,
    /// Vertical position of the eye centres.
    pub eye_y: f64,
    /// Half width of an eye.
    pub eye_hw: f64,
    /// Height of the upper lid above the eye centre at rest.
    pub eye_hu: f64,
    /// Depth of the lower lid below the eye centre at rest.
    pub eye_hl: f64,
    /// Iris radius as a fraction of the eye width.
    pub iris: f64,
    /// Height of the brow centre above the eye centre.
    pub brow_gap: f64,
    /// Length of a brow.
    pub brow_len: f64,
    /// Brow thickness at its inner end.
    pub brow_thick: f64,
    /// Vertical position of the nose tip (landmark 30).
    pub nose_tip: f64,
    /// Half width of the nose wings.
    pub nose_w: f64,
    /// Vertical position of the lips' meeting line.
    pub mouth_y: f64,
    /// Half width of the mouth.
    pub mouth_w: f64,
    /// Upper lip thickness.
    pub lip_upper: f64,
    /// Lower lip thickness.
    pub lip_lower: f64,
    /// Whether long hair falls behind the head.
    pub long_hair: bool,
    /// Skin colour.
    pub skin: Rgb,
    /// Hair colour.
    pub hair: Rgb,
    /// Iris colour.
    pub iris_colour: Rgb,
    /// Background colour.
    pub background: Rgb,
    /// Clothing colour.
    pub shirt: Rgb,
}

const SKIN: [Rgb; 5] =
    [[0.95, 0.82, 0.71], [0.91, 0.72, 0.58], [0.77, 0.55, 0.40], [0.56, 0.38, 0.26], [0.38, 0.25, 0.17]];

const HAIR: [Rgb; 6] = [
    [0.07, 0.06, 0.05],
    [0.22, 0.14, 0.09],
    [0.42, 0.28, 0.16],
    [0.82, 0.68, 0.42],
    [0.58, 0.24, 0.11],
    [0.62, 0.62, 0.62],
];

const IRIS: [Rgb; 4] = [[0.30, 0.18, 0.10], [0.18, 0.11, 0.07], [0.22, 0.40, 0.62], [0.28, 0.45, 0.30]];

impl Identity {
    /// The person `index` of the dataset seeded with `seed`.
    pub fn new(seed: u64, index: usize) -> Identity {
        let mut r = SeedRng::new(derive_seed(seed, &format!("identity/{index}")));
        let face_w = r.uniform(0.90, 1.06);
        let face_h = r.uniform(0.92, 1.08);
        let jaw_exp = r.uniform(2.0, 3.0);
        let forehead = r.uniform(0.88, 1.0);
        let eye_x = r.uniform(0.36, 0.43);
        let eye_y = r.uniform(-0.25, -0.19);
        let eye_hw = r.uniform(0.15, 0.185);
        let eye_hu = r.uniform(0.075, 0.095);
        let eye_hl = eye_hu * r.uniform(0.72, 0.88);
        let iris = r.uniform(0.21, 0.25);
        let brow_gap = r.uniform(0.17, 0.22);
        let brow_len = r.uniform(0.32, 0.40);
        let brow_thick = r.uniform(0.050, 0.080);
        let nose_tip = r.uniform(0.12, 0.20);
        let nose_w = r.uniform(0.12, 0.17);
        let mouth_y = nose_tip + 0.07 + r.uniform(0.18, 0.23);
        let mouth_w = r.uniform(0.27, 0.35);
        let lip_upper = r.uniform(0.040, 0.060);
        let lip_lower = r.uniform(0.050, 0.075);
        let long_hair = r.unit() < 0.4;
        let skin = palette(&SKIN, r.unit());
        let hair = HAIR[r.below(HAIR.len() as u64) as usize];
        let hair = jitter(&mut r, hair, 0.05);
        let iris_colour = IRIS[r.below(IRIS.len() as u64) as usize];
        let iris_colour = jitter(&mut r, iris_colour, 0.04);
        let background = grey_towards([r.uniform(0.2, 0.9), r.uniform(0.2, 0.9), r.uniform(0.2, 0.9)], 0.4);
        let shirt = [r.uniform(0.1, 0.8), r.uniform(0.1, 0.8), r.uniform(0.1, 0.8)].map(|v| v as f32);
        Identity {
            face_w,
            face_h,
            jaw_exp,
            forehead,
            eye_x,
            eye_y,
            eye_hw,
            eye_hu,
            eye_hl,
            iris,
            brow_gap,
            brow_len,
            brow_thick,
            nose_tip,
            nose_w,
            mouth_y,
            mouth_w,
            lip_upper,
            lip_lower,
            long_hair,
            skin,
            hair,
            iris_colour,
            background,
            shirt,
        }
    }
}

/// A colour on the piecewise-linear ramp through `anchors` at position `t` in `[0, 1]`.
fn palette(anchors: &[Rgb], t: f64) -> Rgb {
    let pos = t.clamp(0.0, 1.0) * (anchors.len() - 1) as f64;
    let i = (pos.floor() as usize).min(anchors.len() - 2);
    let f = (pos - i as f64) as f32;
    let (a, b) = (anchors[i], anchors[i + 1]);
    [0, 1, 2].map(|c| a[c] + (b[c] - a[c]) * f)
}

/// `c` with every channel moved by up to `amount`.
fn jitter(r: &mut SeedRng, c: Rgb, amount: f64) -> Rgb {
    c.map(|v| (f64::from(v) + r.uniform(-amount, amount)).clamp(0.0, 1.0) as f32)
}

/// `c` moved a fraction `amount` towards its own grey level (desaturated).
fn grey_towards(c: [f64; 3], amount: f64) -> Rgb {
    let grey = (c[0] + c[1] + c[2]) / 3.0;
    c.map(|v| (v + (grey - v) * amount) as f32)
}
