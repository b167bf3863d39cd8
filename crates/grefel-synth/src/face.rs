//! Parametric face geometry: the 68 iBUG landmarks of an identity under an expression, plus the
//! outline shapes (skull, hair, ears, neck, clothing) drawn around them.
//!
//! Everything is in face units (see [`crate::identity`]): `x` to the image right, `y` down. The
//! subject's right side is the image left, so landmarks 17–21 and 36–41 have negative `x`.

use std::f64::consts::PI;

use crate::expression::Deform;
use crate::identity::Identity;

/// A 2-D point.
pub(crate) type P = [f64; 2];

/// Number of landmarks (iBUG-68).
pub(crate) const N_LANDMARKS: usize = 68;

/// Height of the ear line (landmarks 0 and 16) before the identity's vertical scale.
const EAR_Y: f64 = -0.12;

/// Protrusion of each landmark towards the viewer (the nose and lips), which shifts it under yaw.
pub(crate) fn depth(i: usize) -> f64 {
    match i {
        27..=35 => [0.06, 0.12, 0.18, 0.26, 0.12, 0.15, 0.17, 0.15, 0.12][i - 27],
        48..=67 => 0.06,
        _ => 0.0,
    }
}

/// A face in face units: the landmarks and the outline polygons of the head around them.
#[derive(Clone, Debug)]
pub(crate) struct Face {
    /// The 68 landmarks in iBUG order.
    pub landmarks: [P; N_LANDMARKS],
    /// The skull arc from landmark 16 over the top of the head to landmark 0 (endpoints excluded).
    pub skull: Vec<P>,
    /// The hair cap above the hairline.
    pub hair_cap: Vec<P>,
    /// Long hair falling behind the head, if the identity has it.
    pub hair_back: Option<Vec<P>>,
    /// The two ears (image left, image right).
    pub ears: [Vec<P>; 2],
    /// The neck.
    pub neck: Vec<P>,
    /// The clothed shoulders.
    pub shirt: Vec<P>,
}

/// `v.signum() * |v|^e`.
fn sgnpow(v: f64, e: f64) -> f64 {
    v.signum() * v.abs().powf(e)
}

/// Points on the upper half of a superellipse centred at `(0, cy)`, from the image right
/// (`φ = 0`) to the image left (`φ = π`), `n + 1` points including both ends.
fn upper_arc(rx: f64, cy: f64, ry: f64, exp: f64, n: usize) -> Vec<P> {
    (0..=n)
        .map(|k| {
            let phi = PI * k as f64 / n as f64;
            [rx * sgnpow(phi.cos(), 2.0 / exp), cy - ry * phi.sin().max(0.0).powf(2.0 / exp)]
        })
        .collect()
}

/// The mirror image of `p` about the vertical midline.
fn mirror(p: P) -> P {
    [-p[0], p[1]]
}

impl Face {
    /// The face of `id` deformed by `d`.
    pub fn build(id: &Identity, d: &Deform) -> Face {
        let mut l = [[0.0; 2]; N_LANDMARKS];
        jaw(&mut l, id, d);
        brows(&mut l, id, d);
        eyes(&mut l, id, d);
        nose(&mut l, id, d);
        mouth(&mut l, id, d);

        let skull_exp = 2.3;
        let mut skull = upper_arc(1.0, EAR_Y, id.forehead, skull_exp, 16);
        skull.pop();
        skull.remove(0);
        let mut hair_cap = upper_arc(1.06, EAR_Y + 0.06, id.forehead + 0.10, skull_exp, 16);
        let hairline = upper_arc(0.97, EAR_Y - 0.04, id.forehead * 0.68, skull_exp, 16);
        hair_cap.extend(hairline.into_iter().rev());
        let hair_back = id.long_hair.then(|| {
            let mut back = upper_arc(1.12, EAR_Y + 0.1, id.forehead + 0.18, skull_exp, 16);
            back.extend([[-1.16, 0.95], [-0.6, 1.05], [0.6, 1.05], [1.16, 0.95]]);
            back
        });
        let ear = |side: f64| -> Vec<P> {
            (0..16)
                .map(|k| {
                    let a = 2.0 * PI * k as f64 / 16.0;
                    [side * 0.99 + 0.085 * a.cos(), EAR_Y + 0.13 + 0.17 * a.sin()]
                })
                .collect()
        };
        let neck = vec![[-0.42, 0.4], [-0.45, 1.7], [0.45, 1.7], [0.42, 0.4]];
        let shirt = vec![
            [-2.3, 3.2],
            [-2.1, 1.8],
            [-1.5, 1.45],
            [-0.48, 1.33],
            [0.0, 1.55],
            [0.48, 1.33],
            [1.5, 1.45],
            [2.1, 1.8],
            [2.3, 3.2],
        ];
        let mut face =
            Face { landmarks: l, skull, hair_cap, hair_back, ears: [ear(-1.0), ear(1.0)], neck, shirt };
        face.scale(id.face_w, id.face_h);
        face
    }

    /// Scales every point by `sx` horizontally and `sy` vertically about the origin.
    fn scale(&mut self, sx: f64, sy: f64) {
        let s = |p: &mut P| *p = [p[0] * sx, p[1] * sy];
        self.landmarks.iter_mut().for_each(s);
        let polys = [&mut self.skull, &mut self.hair_cap, &mut self.neck, &mut self.shirt];
        polys.into_iter().flatten().for_each(s);
        self.ears.iter_mut().flatten().for_each(s);
        self.hair_back.iter_mut().flatten().for_each(s);
    }
}

/// Landmarks 0–16: a superellipse jaw from the image-left ear line down to the chin and back up.
fn jaw(l: &mut [P; N_LANDMARKS], id: &Identity, d: &Deform) {
    let drop = d.jaw_drop.max(0.0);
    for (k, p) in l[..17].iter_mut().enumerate() {
        let phi = PI * k as f64 / 16.0;
        let (s, c) = (phi.sin().max(0.0), phi.cos());
        let e = 2.0 / id.jaw_exp;
        *p = [-sgnpow(c, e), EAR_Y + 1.05 * s.powf(e) + drop * s * s];
    }
}

/// Landmarks 17–26: brows from the image-left outer end (17) to the image-right outer end (26).
fn brows(l: &mut [P; N_LANDMARKS], id: &Identity, d: &Deform) {
    for i in 0..5 {
        let t = i as f64 / 4.0; // 0 at the outer end, 1 at the inner end
        let arch = 0.035 * (1.0 - ((t - 0.4) / 0.6).powi(2));
        let raise = d.brow_raise + d.brow_inner * t.powf(1.5) + d.brow_arch * (PI * t).sin();
        let x = -id.eye_x - 0.55 * id.brow_len + id.brow_len * t + d.brow_together * t;
        let y = id.eye_y - id.brow_gap + 0.03 * (1.0 - t) - arch - raise;
        l[17 + i] = [x, y];
        l[26 - i] = mirror([x, y]);
    }
}

/// Landmarks 36–47: eye outlines (corners and two points on each lid).
fn eyes(l: &mut [P; N_LANDMARKS], id: &Identity, d: &Deform) {
    let (cx, cy, hw) = (-id.eye_x, id.eye_y, id.eye_hw);
    let hu = id.eye_hu * (1.0 + d.eye_upper).max(0.2);
    let hl = id.eye_hl * (1.0 + d.eye_lower).max(0.2);
    let right = [
        [cx - hw, cy - 0.01],
        [cx - 0.40 * hw, cy - hu],
        [cx + 0.35 * hw, cy - 0.97 * hu],
        [cx + hw, cy + 0.005],
        [cx + 0.35 * hw, cy + hl],
        [cx - 0.40 * hw, cy + hl],
    ];
    l[36..42].copy_from_slice(&right);
    for (k, src) in [3, 2, 1, 0, 5, 4].into_iter().enumerate() {
        l[42 + k] = mirror(right[src]);
    }
}

/// Landmarks 27–35: nose bridge and lower nose.
fn nose(l: &mut [P; N_LANDMARKS], id: &Identity, d: &Deform) {
    let top = id.eye_y - 0.02;
    for k in 0..4 {
        l[27 + k] = [0.0, top + (id.nose_tip - top) * k as f64 / 3.0];
    }
    let bottom = id.nose_tip + 0.07;
    let wr = d.nose_wing_raise;
    let w = id.nose_w;
    l[31] = [-w, bottom - 0.035 - wr];
    l[32] = [-0.5 * w, bottom - 0.005 - 0.6 * wr];
    l[33] = [0.0, bottom - 0.2 * wr];
    l[34] = mirror(l[32]);
    l[35] = mirror(l[31]);
}

/// Landmarks 48–67: outer and inner lip contours.
fn mouth(l: &mut [P; N_LANDMARKS], id: &Identity, d: &Deform) {
    let mw = id.mouth_w * (1.0 + d.mouth_width).max(0.4);
    let open = d.mouth_open.max(0.0);
    let raise = d.upper_lip_raise.max(0.0);
    let thick = (1.0 + d.lip_thick).max(0.2);
    let (tu, tl) = (id.lip_upper * thick, id.lip_lower * thick);
    let mid = |u: f64| id.mouth_y - d.mouth_lift * u * u;
    let gap = |u: f64| (1.0 - (u / 0.85).powi(2)).max(0.0).sqrt();
    let inner_up = |u: f64| mid(u) - (0.25 * open + raise) * gap(u);
    let inner_lo = |u: f64| mid(u) + 0.75 * open * gap(u);
    let outer_up = |u: f64, k: f64| [u * mw, inner_up(u) - tu * k];
    let outer_lo = |u: f64| [u * mw, inner_lo(u) + tl * (0.3 + 0.7 * (1.0 - u * u))];
    l[48] = [-mw, mid(-1.0)];
    l[49] = outer_up(-0.6, 0.35 + 0.65 * 0.64);
    l[50] = outer_up(-0.22, 1.08);
    l[51] = outer_up(0.0, 0.92);
    l[52] = outer_up(0.22, 1.08);
    l[53] = outer_up(0.6, 0.35 + 0.65 * 0.64);
    l[54] = [mw, mid(1.0)];
    for (k, u) in [0.6, 0.25, 0.0, -0.25, -0.6].into_iter().enumerate() {
        l[55 + k] = outer_lo(u);
    }
    l[60] = [-0.85 * mw, mid(-0.85)];
    for (k, u) in [-0.4, 0.0, 0.4].into_iter().enumerate() {
        l[61 + k] = [u * mw, inner_up(u)];
    }
    l[64] = [0.85 * mw, mid(0.85)];
    for (k, u) in [0.4, 0.0, -0.4].into_iter().enumerate() {
        l[65 + k] = [u * mw, inner_lo(u)];
    }
}
