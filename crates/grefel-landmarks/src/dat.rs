//! Reader of dlib's `shape_predictor` `.dat` files (dlib `serialize.h` encoding).
//!
//! Every value is length- and range-checked while reading: a truncated file, a bad control byte,
//! an integer too large for its type, an unknown version, an index out of range or bytes after
//! the model are errors that name the byte offset or the position in the model, never a panic.
//!
//! Encoding (little-endian, no header):
//! - unsigned integer: control byte `N` (1..=8, bit 0x80 clear), then `N` magnitude bytes;
//! - signed integer: control byte `N | 0x80 if negative`, then `N` bytes of the magnitude;
//! - float: signed int64 mantissa, signed int16 exponent, value `ldexp(mantissa, exponent)`
//!   (exponents 32000/32001/32002 and above: +inf, -inf, NaN);
//! - `std::vector<T>`: unsigned length, then the elements;
//! - `matrix<float,0,1>`: signed `nr`, `nc` (negated in the current format), then `nr·nc` floats.

use crate::error::DatError;
use crate::model::{Cascade, RegressionTree, ShapePredictor, SplitFeature};

/// The only `shape_predictor` version dlib writes.
pub const SHAPE_PREDICTOR_VERSION: i64 = 1;

/// Parses and validates a `shape_predictor` from the bytes of a `.dat` file.
pub fn read_shape_predictor(bytes: &[u8]) -> Result<ShapePredictor, DatError> {
    let mut r = Reader { bytes, pos: 0 };
    let version_at = r.pos;
    let version = r.signed("version", 32)?;
    if version != SHAPE_PREDICTOR_VERSION {
        return Err(DatError::Version {
            offset: version_at,
            what: "shape_predictor",
            found: version,
            expected: SHAPE_PREDICTOR_VERSION,
        });
    }
    let initial_shape = r.column("initial_shape")?;
    let shape_len = initial_shape.len();

    let num_cascades = r.length("number of cascades", 1)?;
    let mut forests = Vec::with_capacity(num_cascades);
    for c in 0..num_cascades {
        let num_trees = r.length("number of trees", 2)?;
        let mut trees = Vec::with_capacity(num_trees);
        for t in 0..num_trees {
            trees.push(r.tree(shape_len).map_err(|e| e.within(&format!("cascade {c} tree {t}")))?);
        }
        forests.push(trees);
    }

    let anchors_len = r.length("number of anchor lists", 1)?;
    expect_len("anchor lists", anchors_len, num_cascades)?;
    let mut anchors = Vec::with_capacity(anchors_len);
    for c in 0..anchors_len {
        let place = format!("anchors of cascade {c}");
        let n = r.length("number of anchors", 2).map_err(|e| e.within(&place))?;
        let mut list = Vec::with_capacity(n);
        for _ in 0..n {
            list.push(r.index("anchor").map_err(|e| e.within(&place))?);
        }
        anchors.push(list);
    }

    let deltas_len = r.length("number of delta lists", 1)?;
    expect_len("delta lists", deltas_len, num_cascades)?;
    let mut cascades = Vec::with_capacity(num_cascades);
    for (c, (trees, anchors)) in forests.into_iter().zip(anchors).enumerate() {
        let place = format!("deltas of cascade {c}");
        let n = r.length("number of deltas", 8).map_err(|e| e.within(&place))?;
        let mut deltas = Vec::with_capacity(n);
        for _ in 0..n {
            let x = r.float("delta x").map_err(|e| e.within(&place))?;
            let y = r.float("delta y").map_err(|e| e.within(&place))?;
            deltas.push([x, y]);
        }
        cascades.push(Cascade { trees, anchors, deltas });
    }

    if r.pos != bytes.len() {
        return Err(DatError::Trailing { offset: r.pos, count: bytes.len() - r.pos });
    }
    let model = ShapePredictor { initial_shape, cascades };
    model.validate()?;
    Ok(model)
}

fn expect_len(what: &str, found: usize, expected: usize) -> Result<(), DatError> {
    if found == expected {
        return Ok(());
    }
    Err(DatError::Length {
        what: format!("number of {what}"),
        found: found as u64,
        expected: format!("{expected} (the number of cascades)"),
    })
}

/// A cursor over the file's bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize, what: &str) -> Result<&[u8], DatError> {
        let available = self.bytes.len() - self.pos;
        if n > available {
            return Err(DatError::Truncated { offset: self.pos, what: what.into(), needed: n, available });
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// Control byte and magnitude of an integer of at most `max_bytes` bytes.
    fn raw_int(&mut self, what: &str, max_bytes: usize, signed: bool) -> Result<(bool, u64), DatError> {
        let at = self.pos;
        let control = self.take(1, what)?[0];
        let negative = control & 0x80 != 0;
        if negative && !signed {
            let reason = "sign bit set on an unsigned value";
            return Err(DatError::ControlByte { offset: at, byte: control, what: what.into(), reason });
        }
        let n = usize::from(control & 0x0F);
        if n == 0 || n > max_bytes {
            let reason = if n == 0 { "zero length" } else { "longer than the type" };
            return Err(DatError::ControlByte { offset: at, byte: control, what: what.into(), reason });
        }
        let magnitude = self.take(n, what)?.iter().rev().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        Ok((negative, magnitude))
    }

    fn unsigned(&mut self, what: &str) -> Result<u64, DatError> {
        Ok(self.raw_int(what, 8, false)?.1)
    }

    /// A signed integer of `bits` bits (16, 32 or 64).
    fn signed(&mut self, what: &str, bits: u32) -> Result<i64, DatError> {
        let at = self.pos;
        let (negative, magnitude) = self.raw_int(what, (bits / 8) as usize, true)?;
        let value = if negative { -i128::from(magnitude) } else { i128::from(magnitude) };
        let (min, max) = (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1);
        if value < min || value > max {
            return Err(DatError::Overflow { offset: at, what: what.into(), value, bits });
        }
        Ok(value as i64)
    }

    /// A vector length, checked against the bytes left (each element takes at least
    /// `min_element_bytes`), so a corrupt length never allocates beyond the file's size.
    fn length(&mut self, what: &str, min_element_bytes: usize) -> Result<usize, DatError> {
        let at = self.pos;
        let n = self.unsigned(what)?;
        let available = self.bytes.len() - self.pos;
        let needed = n.saturating_mul(min_element_bytes as u64);
        if needed > available as u64 {
            return Err(DatError::Truncated {
                offset: at,
                what: format!("{what} = {n}"),
                needed: usize::try_from(needed).unwrap_or(usize::MAX),
                available,
            });
        }
        Ok(n as usize)
    }

    /// An unsigned index that must fit in 32 bits (the model's pools are far smaller).
    fn index(&mut self, what: &str) -> Result<u32, DatError> {
        let at = self.pos;
        let v = self.unsigned(what)?;
        u32::try_from(v).map_err(|_| DatError::Overflow {
            offset: at,
            what: what.into(),
            value: v.into(),
            bits: 32,
        })
    }

    /// A float (dlib `float_details`), exactly as dlib converts it: `ldexp((float)m, e)`.
    fn float(&mut self, what: &str) -> Result<f32, DatError> {
        let at = self.pos;
        if let Some(&control) = self.bytes.get(at)
            && control & 0x70 != 0
        {
            let reason = "pre-2013 text float encoding is not supported";
            return Err(DatError::ControlByte { offset: at, byte: control, what: what.into(), reason });
        }
        let mantissa = self.signed(what, 64)?;
        let exponent = self.signed(what, 16)?;
        Ok(float_from_parts(mantissa, exponent))
    }

    /// A `matrix<float,0,1>`.
    fn column(&mut self, what: &str) -> Result<Vec<f32>, DatError> {
        let at = self.pos;
        let mut nr = self.signed(what, 64)?;
        let mut nc = self.signed(what, 64)?;
        if nr < 0 || nc < 0 {
            nr = nr.saturating_neg();
            nc = nc.saturating_neg();
        }
        if nc != 1 || nr < 0 {
            return Err(DatError::Length {
                what: format!("{what} (a column vector at byte {at}) columns x rows"),
                found: nc.unsigned_abs(),
                expected: "1 column and at least 0 rows".into(),
            });
        }
        // Each float takes at least 4 bytes.
        let available = self.bytes.len() - self.pos;
        if (nr as u64).saturating_mul(4) > available as u64 {
            return Err(DatError::Truncated {
                offset: at,
                what: format!("{what} of {nr} rows"),
                needed: usize::try_from(nr).unwrap_or(usize::MAX).saturating_mul(4),
                available,
            });
        }
        (0..nr).map(|_| self.float(what)).collect()
    }

    fn tree(&mut self, shape_len: usize) -> Result<RegressionTree, DatError> {
        let n = self.length("number of splits", 8)?;
        let mut splits = Vec::with_capacity(n);
        for _ in 0..n {
            let idx1 = self.index("split idx1")?;
            let idx2 = self.index("split idx2")?;
            let thresh = self.float("split threshold")?;
            splits.push(SplitFeature { idx1, idx2, thresh });
        }
        let leaves = self.length("number of leaves", 4)?;
        if leaves != n + 1 {
            return Err(DatError::Length {
                what: "number of leaves".into(),
                found: leaves as u64,
                expected: format!("{} (splits + 1)", n + 1),
            });
        }
        let mut leaf_values = Vec::with_capacity(leaves * shape_len);
        for l in 0..leaves {
            let leaf = self.column("leaf")?;
            if leaf.len() != shape_len {
                return Err(DatError::Length {
                    what: format!("leaf {l}"),
                    found: leaf.len() as u64,
                    expected: format!("{shape_len} (the initial shape's length)"),
                });
            }
            leaf_values.extend_from_slice(&leaf);
        }
        Ok(RegressionTree { splits, leaf_values })
    }
}

/// dlib's `float_details` → `float`: `ldexp((float)mantissa, exponent)`, with the special
/// exponents for infinities and NaN.
pub fn float_from_parts(mantissa: i64, exponent: i64) -> f32 {
    const IS_INF: i64 = 32000;
    const IS_NINF: i64 = 32001;
    match exponent {
        IS_INF => f32::INFINITY,
        IS_NINF => f32::NEG_INFINITY,
        e if e >= IS_INF => f32::NAN,
        e => {
            // (float)mantissa rounds once (to nearest); scaling by 2^e is then exact in f64 unless
            // the result leaves f32's range, where the final cast rounds once as ldexpf does.
            let m = mantissa as f32;
            let e = e.clamp(-400, 400) as i32;
            (f64::from(m) * 2f64.powi(e)) as f32
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_from_the_spec() {
        // 03 4d 38 f1 81 1d → mantissa 0xF1384D, exponent −29.
        let mut r = Reader { bytes: &[0x03, 0x4d, 0x38, 0xf1, 0x81, 0x1d], pos: 0 };
        let v = r.float("x").expect("float");
        assert_eq!(v, (15_808_589f64 * 2f64.powi(-29)) as f32);
        assert!((v - 0.029_445_791).abs() < 1e-9);
        // 0.0 is 01 00 01 28.
        let mut r = Reader { bytes: &[0x01, 0x00, 0x01, 0x28], pos: 0 };
        assert_eq!(r.float("x").expect("zero"), 0.0);
        let mut r = Reader { bytes: &[0x81, 0x88, 0x81, 0x1d, 0x01, 0x28], pos: 0 };
        assert_eq!(r.signed("a", 64).expect("a"), -136);
        assert_eq!(r.signed("b", 64).expect("b"), -29);
        assert_eq!(r.signed("c", 16).expect("c"), 40);
        // The first split of the 68-point model: 01 27 | 01 84 | 03 b4 2c 8a 81 12.
        let mut r = Reader { bytes: &[0x01, 0x27, 0x01, 0x84, 0x03, 0xb4, 0x2c, 0x8a, 0x81, 0x12], pos: 0 };
        assert_eq!(r.index("i").expect("idx1"), 39);
        assert_eq!(r.index("i").expect("idx2"), 132);
        assert_eq!(r.float("t").expect("thresh"), (9_055_412f64 * 2f64.powi(-18)) as f32);
    }

    #[test]
    fn bad_integers_are_errors() {
        let err = |bytes: &[u8], signed: bool| {
            let mut r = Reader { bytes, pos: 0 };
            if signed { r.signed("v", 16).map(|_| ()) } else { r.unsigned("v").map(|_| ()) }
        };
        assert!(matches!(err(&[0x00], false), Err(DatError::ControlByte { .. })));
        assert!(matches!(err(&[0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0], false), Err(DatError::ControlByte { .. })));
        assert!(matches!(err(&[0x81, 0x01], false), Err(DatError::ControlByte { .. })));
        assert!(matches!(err(&[0x03, 1, 2, 3], true), Err(DatError::ControlByte { .. })));
        assert!(matches!(err(&[0x02, 0xff, 0xff], true), Err(DatError::Overflow { .. })));
        assert!(matches!(err(&[0x02, 0x01], false), Err(DatError::Truncated { .. })));
        assert!(matches!(err(&[], false), Err(DatError::Truncated { .. })));
        let mut r = Reader { bytes: &[0x82, 0x00, 0x80], pos: 0 };
        assert_eq!(r.signed("min", 16).expect("-32768"), -32768);
        let mut r = Reader { bytes: &[0x71, 0x00], pos: 0 };
        assert!(matches!(r.float("legacy"), Err(DatError::ControlByte { .. })));
    }

    #[test]
    fn special_floats() {
        assert_eq!(float_from_parts(0, 32000), f32::INFINITY);
        assert_eq!(float_from_parts(0, 32001), f32::NEG_INFINITY);
        assert!(float_from_parts(0, 32002).is_nan());
        assert_eq!(float_from_parts(1, 200), f32::INFINITY);
        assert_eq!(float_from_parts(-1, -200), -0.0);
        assert_eq!(float_from_parts(3, -1), 1.5);
    }
}
