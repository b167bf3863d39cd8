//! Writer of dlib's `shape_predictor` `.dat` format, byte for byte as dlib's `serialize` writes it
//! (minimal integer lengths, `float_details` with trailing zero bytes stripped, negated matrix
//! dimensions). Used for small test models and for round trips: reading what this writes gives
//! back the same model, and re-writing a real model gives back the same bytes.

use crate::dat::SHAPE_PREDICTOR_VERSION;
use crate::model::ShapePredictor;

/// The `.dat` bytes of `model`.
pub fn write_shape_predictor(model: &ShapePredictor) -> Vec<u8> {
    let mut w = Writer::default();
    w.signed(SHAPE_PREDICTOR_VERSION);
    w.column(&model.initial_shape);
    w.unsigned(model.cascades.len() as u64);
    let shape_len = model.initial_shape.len();
    for cascade in &model.cascades {
        w.unsigned(cascade.trees.len() as u64);
        for tree in &cascade.trees {
            w.unsigned(tree.splits.len() as u64);
            for s in &tree.splits {
                w.unsigned(s.idx1.into());
                w.unsigned(s.idx2.into());
                w.float(s.thresh);
            }
            w.unsigned(tree.num_leaves() as u64);
            for leaf in tree.leaf_values.chunks(shape_len.max(1)) {
                w.column(leaf);
            }
        }
    }
    w.unsigned(model.cascades.len() as u64);
    for cascade in &model.cascades {
        w.unsigned(cascade.anchors.len() as u64);
        for &a in &cascade.anchors {
            w.unsigned(a.into());
        }
    }
    w.unsigned(model.cascades.len() as u64);
    for cascade in &model.cascades {
        w.unsigned(cascade.deltas.len() as u64);
        for &[x, y] in &cascade.deltas {
            w.float(x);
            w.float(y);
        }
    }
    w.out
}

/// Appends dlib-encoded values to a buffer.
#[derive(Default)]
struct Writer {
    out: Vec<u8>,
}

impl Writer {
    fn magnitude(&mut self, sign: u8, mut v: u64) {
        let at = self.out.len();
        self.out.push(0);
        let mut n = 0u8;
        loop {
            self.out.push((v & 0xFF) as u8);
            n += 1;
            v >>= 8;
            if v == 0 {
                break;
            }
        }
        self.out[at] = n | sign;
    }

    fn unsigned(&mut self, v: u64) {
        self.magnitude(0, v);
    }

    fn signed(&mut self, v: i64) {
        self.magnitude(if v < 0 { 0x80 } else { 0 }, v.unsigned_abs());
    }

    /// dlib `float_details(float)`: `mantissa = (int64)(frexp(v) · 2^24)`, `exponent = e − 24`,
    /// then up to 8 trailing zero bytes shifted off the mantissa.
    fn float(&mut self, v: f32) {
        let (mantissa, exponent) = float_parts(v);
        self.signed(mantissa);
        self.signed(exponent.into());
    }

    fn column(&mut self, values: &[f32]) {
        self.signed(-(values.len() as i64));
        self.signed(-1);
        for &v in values {
            self.float(v);
        }
    }
}

/// The `(mantissa, exponent)` dlib stores for a float.
pub fn float_parts(v: f32) -> (i64, i16) {
    const DIGITS: i32 = 24;
    if v == f32::INFINITY {
        return (0, 32000);
    }
    if v == f32::NEG_INFINITY {
        return (0, 32001);
    }
    if v.is_nan() {
        return (0, 32002);
    }
    let (fraction, e) = frexp(f64::from(v));
    let mut mantissa = (fraction * f64::from(1u32 << DIGITS)) as i64;
    let mut exponent = e - DIGITS;
    for _ in 0..8 {
        if mantissa & 0xFF != 0 {
            break;
        }
        mantissa >>= 8;
        exponent += 8;
    }
    // |exponent| stays far inside i16 for any finite float (−149 − 24 … 128 + 64).
    (mantissa, exponent as i16)
}

/// C's `frexp`: `v = fraction · 2^e` with `0.5 ≤ |fraction| < 1` (or `(0, 0)` for zero).
fn frexp(v: f64) -> (f64, i32) {
    if v == 0.0 || !v.is_finite() {
        return (v, 0);
    }
    let bits = v.to_bits();
    let raw_exp = ((bits >> 52) & 0x7FF) as i32;
    if raw_exp == 0 {
        // Subnormal (not reachable from an f32, but kept correct): normalise first.
        let (f, e) = frexp(v * 2f64.powi(64));
        return (f, e - 64);
    }
    let e = raw_exp - 1022;
    let fraction = f64::from_bits((bits & !(0x7FF << 52)) | (1022 << 52));
    (fraction, e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dat::float_from_parts;

    #[test]
    fn float_encoding_matches_dlib() {
        assert_eq!(float_parts(0.0), (0, 40));
        let mut w = Writer::default();
        w.float(0.0);
        assert_eq!(w.out, [0x01, 0x00, 0x01, 0x28]);
        let v = (15_808_589f64 * 2f64.powi(-29)) as f32;
        let mut w = Writer::default();
        w.float(v);
        assert_eq!(w.out, [0x03, 0x4d, 0x38, 0xf1, 0x81, 0x1d]);
        let mut w = Writer::default();
        w.signed(-136);
        w.unsigned(500);
        assert_eq!(w.out, [0x81, 0x88, 0x02, 0xf4, 0x01]);
        for v in [1.0f32, -1.0, 0.5, 34.5437, -0.049_370, 1e-30, -3.4e38, f32::MIN_POSITIVE, 1e-45] {
            let (m, e) = float_parts(v);
            assert_eq!(float_from_parts(m, e.into()), v, "{v}");
        }
        assert!(float_from_parts(0, float_parts(f32::NAN).1.into()).is_nan());
        assert_eq!(float_from_parts(0, float_parts(f32::NEG_INFINITY).1.into()), f32::NEG_INFINITY);
    }
}
