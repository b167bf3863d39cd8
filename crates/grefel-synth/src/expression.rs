//! Expression deformations: how each basic expression moves the rest face.
//!
//! A [`Deform`] holds displacements from the rest face in face units (positive "raise" values move
//! features up) and relative factors (positive widens or opens). The full-strength table follows
//! the facial action units of each expression; a sample scales it by an intensity and adds a
//! small idiosyncratic jitter, so neighbouring classes (fear and surprise, disgust and anger)
//! overlap at low intensity.

use grefel_schema::{Expression, SeedRng};

/// Displacements and factors applied to the rest face.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Deform {
    /// Whole-brow raise.
    pub brow_raise: f64,
    /// Extra raise of the inner brow ends (negative lowers them).
    pub brow_inner: f64,
    /// Inner brow ends drawn towards the midline.
    pub brow_together: f64,
    /// Extra arching of the brow middle.
    pub brow_arch: f64,
    /// Relative change of the upper-lid opening.
    pub eye_upper: f64,
    /// Relative change of the lower-lid opening (negative: cheeks push the lid up).
    pub eye_lower: f64,
    /// Relative change of the mouth width.
    pub mouth_width: f64,
    /// Raise of the mouth corners relative to the lip centre.
    pub mouth_lift: f64,
    /// Gap between the inner lips at the centre.
    pub mouth_open: f64,
    /// Relative change of the lip thickness (negative: pressed or stretched thin).
    pub lip_thick: f64,
    /// Raise of the upper lip.
    pub upper_lip_raise: f64,
    /// Raise of the nose wings.
    pub nose_wing_raise: f64,
    /// Lowering of the chin.
    pub jaw_drop: f64,
}

impl Deform {
    /// The deformation of `e` at full intensity (the rest face for neutral and non-basic classes).
    pub fn full(e: Expression) -> Deform {
        let d = Deform::default();
        match e {
            Expression::Happy => Deform {
                brow_raise: 0.01,
                eye_upper: -0.10,
                eye_lower: -0.50,
                mouth_width: 0.16,
                mouth_lift: 0.11,
                mouth_open: 0.03,
                lip_thick: -0.15,
                nose_wing_raise: 0.015,
                ..d
            },
            Expression::Sad => Deform {
                brow_raise: -0.01,
                brow_inner: 0.08,
                brow_together: 0.02,
                eye_upper: -0.28,
                mouth_width: -0.05,
                mouth_lift: -0.08,
                ..d
            },
            Expression::Surprise => Deform {
                brow_raise: 0.13,
                brow_arch: 0.04,
                eye_upper: 0.60,
                eye_lower: 0.15,
                mouth_width: -0.25,
                mouth_open: 0.24,
                lip_thick: -0.20,
                jaw_drop: 0.09,
                ..d
            },
            Expression::Fear => Deform {
                brow_raise: 0.09,
                brow_inner: 0.07,
                brow_together: 0.045,
                eye_upper: 0.50,
                eye_lower: 0.10,
                mouth_width: 0.14,
                mouth_lift: -0.03,
                mouth_open: 0.08,
                lip_thick: -0.25,
                jaw_drop: 0.03,
                ..d
            },
            Expression::Disgust => Deform {
                brow_raise: -0.05,
                brow_inner: -0.03,
                brow_together: 0.03,
                eye_upper: -0.35,
                eye_lower: -0.30,
                mouth_width: -0.05,
                mouth_lift: -0.03,
                upper_lip_raise: 0.06,
                nose_wing_raise: 0.05,
                ..d
            },
            Expression::Anger => Deform {
                brow_raise: -0.08,
                brow_inner: -0.08,
                brow_together: 0.06,
                eye_upper: -0.42,
                eye_lower: -0.15,
                mouth_width: -0.08,
                mouth_lift: -0.01,
                lip_thick: -0.55,
                nose_wing_raise: 0.015,
                ..d
            },
            _ => d,
        }
    }

    /// Every field multiplied by `k`.
    pub fn scaled(self, k: f64) -> Deform {
        self.zip(Deform::default(), |a, _| a * k)
    }

    /// The field-wise combination of `self` and `other` by `f`.
    fn zip(self, other: Deform, mut f: impl FnMut(f64, f64) -> f64) -> Deform {
        Deform {
            brow_raise: f(self.brow_raise, other.brow_raise),
            brow_inner: f(self.brow_inner, other.brow_inner),
            brow_together: f(self.brow_together, other.brow_together),
            brow_arch: f(self.brow_arch, other.brow_arch),
            eye_upper: f(self.eye_upper, other.eye_upper),
            eye_lower: f(self.eye_lower, other.eye_lower),
            mouth_width: f(self.mouth_width, other.mouth_width),
            mouth_lift: f(self.mouth_lift, other.mouth_lift),
            mouth_open: f(self.mouth_open, other.mouth_open),
            lip_thick: f(self.lip_thick, other.lip_thick),
            upper_lip_raise: f(self.upper_lip_raise, other.upper_lip_raise),
            nose_wing_raise: f(self.nose_wing_raise, other.nose_wing_raise),
            jaw_drop: f(self.jaw_drop, other.jaw_drop),
        }
    }

    /// The deformation of one sample: the full table scaled by an intensity drawn in
    /// `[0.5, 1.0]` times `gain`, plus a small Gaussian jitter of every field (also for neutral).
    pub fn sample(e: Expression, gain: f64, r: &mut SeedRng) -> Deform {
        let intensity = r.uniform(0.5, 1.0);
        let jitter_sd = Deform {
            brow_raise: 0.010,
            brow_inner: 0.008,
            brow_together: 0.006,
            brow_arch: 0.006,
            eye_upper: 0.06,
            eye_lower: 0.06,
            mouth_width: 0.03,
            mouth_lift: 0.010,
            mouth_open: 0.006,
            lip_thick: 0.06,
            upper_lip_raise: 0.004,
            nose_wing_raise: 0.004,
            jaw_drop: 0.005,
        };
        let jitter = jitter_sd.zip(Deform::default(), |sd, _| sd * r.normal().clamp(-2.5, 2.5));
        Deform::full(e).scaled(intensity * gain).zip(jitter, |a, b| a + b)
    }
}
