//! A small, strict reader of NumPy `.npy` files (format versions 1 to 3), for the per-image
//! annotation files of AffectNet's `.npy` release.
//!
//! Supported element types: little-endian (or byte-order-free) booleans, signed and unsigned
//! integers of 1 to 8 bytes, 32- and 64-bit floats, and fixed-width strings (`U<n>`, UTF-32; `S<n>`,
//! bytes). Anything else (big-endian data, object arrays, structured types, a size that disagrees
//! with the shape) is an error: the caller counts it as a malformed row.

/// Why a `.npy` file could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NpyError {
    /// The file does not start with the `.npy` magic or is cut short.
    #[error("not a .npy file: {0}")]
    Format(String),
    /// The header dictionary does not parse.
    #[error("bad .npy header: {0}")]
    Header(String),
    /// The element type is not one this reader supports.
    #[error("unsupported .npy dtype `{0}`")]
    Dtype(String),
    /// The data length disagrees with the shape and element size.
    #[error(".npy data is {got} bytes, shape and dtype need {want}")]
    Size {
        /// Bytes present.
        got: usize,
        /// Bytes the header implies.
        want: usize,
    },
}

/// The values of an array, flattened in C (row-major) order.
#[derive(Debug, Clone, PartialEq)]
pub enum NpyData {
    /// Booleans and integers.
    Int(Vec<i64>),
    /// Floats.
    Float(Vec<f64>),
    /// Strings (trailing NULs removed).
    Str(Vec<String>),
}

/// A decoded `.npy` array.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    /// The shape (empty for a 0-d array).
    pub shape: Vec<usize>,
    /// The values.
    pub data: NpyData,
}

impl NpyArray {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match &self.data {
            NpyData::Int(v) => v.len(),
            NpyData::Float(v) => v.len(),
            NpyData::Str(v) => v.len(),
        }
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The single element as an integer token (`"3"`), for label lookup: integers as they are,
    /// integral floats without a fraction, strings trimmed and coerced the same way. `None` unless
    /// the array holds exactly one element that is an integer.
    pub fn scalar_token(&self) -> Option<String> {
        if self.len() != 1 {
            return None;
        }
        let int_of_float = |f: f64| (f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15).then_some(f as i64);
        let v = match &self.data {
            NpyData::Int(v) => v[0],
            NpyData::Float(v) => int_of_float(v[0])?,
            NpyData::Str(v) => {
                let s = v[0].trim();
                s.parse::<i64>().ok().or_else(|| s.parse::<f64>().ok().and_then(int_of_float))?
            }
        };
        Some(v.to_string())
    }

    /// Every element as a finite `f32` (numeric strings are parsed); `None` if one is not.
    pub fn to_f32(&self) -> Option<Vec<f32>> {
        let finite = |f: f64| (f.is_finite() && f.abs() <= f64::from(f32::MAX)).then_some(f as f32);
        match &self.data {
            NpyData::Int(v) => Some(v.iter().map(|&i| i as f32).collect()),
            NpyData::Float(v) => v.iter().map(|&f| finite(f)).collect(),
            NpyData::Str(v) => v.iter().map(|s| s.trim().parse::<f64>().ok().and_then(finite)).collect(),
        }
    }
}

/// Parses the bytes of a `.npy` file.
pub fn parse(bytes: &[u8]) -> Result<NpyArray, NpyError> {
    let rest = bytes.strip_prefix(b"\x93NUMPY").ok_or_else(|| NpyError::Format("missing magic".into()))?;
    let (&major, rest) = rest.split_first().ok_or_else(|| NpyError::Format("truncated".into()))?;
    let (_minor, rest) = rest.split_first().ok_or_else(|| NpyError::Format("truncated".into()))?;
    let (len, rest) = match major {
        1 => {
            let (n, r) = rest.split_first_chunk::<2>().ok_or_else(|| NpyError::Format("truncated".into()))?;
            (usize::from(u16::from_le_bytes(*n)), r)
        }
        2 | 3 => {
            let (n, r) = rest.split_first_chunk::<4>().ok_or_else(|| NpyError::Format("truncated".into()))?;
            (u32::from_le_bytes(*n) as usize, r)
        }
        v => return Err(NpyError::Format(format!("unknown format version {v}"))),
    };
    if rest.len() < len {
        return Err(NpyError::Format("header cut short".into()));
    }
    let (header, data) = rest.split_at(len);
    let header = std::str::from_utf8(header).map_err(|_| NpyError::Header("not UTF-8".into()))?;
    let (descr, fortran, shape) = parse_header(header)?;
    let (kind, size) = parse_descr(&descr)?;
    let count = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    let want =
        count.and_then(|c| c.checked_mul(size)).ok_or_else(|| NpyError::Header("shape overflows".into()))?;
    if data.len() != want {
        return Err(NpyError::Size { got: data.len(), want });
    }
    let chunks = data.chunks_exact(size);
    let mut values = match kind {
        'b' | 'i' => NpyData::Int(chunks.map(sign_extend).collect()),
        'u' => NpyData::Int(
            chunks
                .map(|c| i64::try_from(zero_extend(c)).map_err(|_| NpyError::Dtype(format!("{descr} value"))))
                .collect::<Result<_, _>>()?,
        ),
        'f' => NpyData::Float(
            chunks
                .map(|c| match c.len() {
                    4 => f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
                    _ => f64::from_bits(zero_extend(c)),
                })
                .collect(),
        ),
        'U' => NpyData::Str(
            chunks
                .map(|c| {
                    let chars = c.chunks_exact(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
                    let s: Option<String> = chars.take_while(|&u| u != 0).map(char::from_u32).collect();
                    s.ok_or_else(|| NpyError::Dtype(format!("{descr}: invalid character")))
                })
                .collect::<Result<_, _>>()?,
        ),
        _ => NpyData::Str(
            chunks
                .map(|c| {
                    let end = c.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
                    String::from_utf8(c[..end].to_vec())
                        .map_err(|_| NpyError::Dtype(format!("{descr}: not UTF-8")))
                })
                .collect::<Result<_, _>>()?,
        ),
    };
    if fortran && shape.len() > 1 {
        values = match values {
            NpyData::Int(v) => NpyData::Int(fortran_to_c(&v, &shape)),
            NpyData::Float(v) => NpyData::Float(fortran_to_c(&v, &shape)),
            NpyData::Str(v) => NpyData::Str(fortran_to_c(&v, &shape)),
        };
    }
    Ok(NpyArray { shape, data: values })
}

fn sign_extend(c: &[u8]) -> i64 {
    let fill = if c.last().is_some_and(|&b| b & 0x80 != 0) { 0xff } else { 0 };
    let mut b = [fill; 8];
    b[..c.len()].copy_from_slice(c);
    i64::from_le_bytes(b)
}

fn zero_extend(c: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b[..c.len()].copy_from_slice(c);
    u64::from_le_bytes(b)
}

/// `(kind, item size)` of a supported dtype string.
fn parse_descr(descr: &str) -> Result<(char, usize), NpyError> {
    let bad = || NpyError::Dtype(descr.to_string());
    let mut chars = descr.chars();
    let order = chars.next().ok_or_else(bad)?;
    let kind = chars.next().ok_or_else(bad)?;
    let n: usize = chars.as_str().parse().map_err(|_| bad())?;
    let byte_free = n == 1 || matches!(kind, 'S' | 'a');
    if !(order == '<' || (order == '|' && byte_free)) {
        return Err(bad());
    }
    match (kind, n) {
        ('b', 1) | ('i' | 'u', 1 | 2 | 4 | 8) | ('f', 4 | 8) => Ok((kind, n)),
        ('U', 1..) => n.checked_mul(4).map(|s| ('U', s)).ok_or_else(bad),
        ('S' | 'a', 1..) => Ok(('S', n)),
        _ => Err(bad()),
    }
}

/// Parses `{'descr': '<f4', 'fortran_order': False, 'shape': (68, 2), }`.
fn parse_header(h: &str) -> Result<(String, bool, Vec<usize>), NpyError> {
    let bad = |m: &str| NpyError::Header(format!("{m} in {:?}", h.trim()));
    let body = h.trim().strip_prefix('{').and_then(|s| s.strip_suffix('}')).ok_or_else(|| bad("no dict"))?;
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    let mut rest = body.trim_start();
    while !rest.is_empty() {
        let (key, after) = quoted(rest).ok_or_else(|| bad("expected a quoted key"))?;
        let after = after.trim_start().strip_prefix(':').ok_or_else(|| bad("expected `:`"))?.trim_start();
        let after = match key {
            "descr" => {
                let (v, a) = quoted(after).ok_or_else(|| bad("descr must be a string"))?;
                descr = Some(v.to_string());
                a
            }
            "fortran_order" => {
                let (v, a) = if let Some(a) = after.strip_prefix("True") {
                    (true, a)
                } else {
                    (false, after.strip_prefix("False").ok_or_else(|| bad("fortran_order must be a bool"))?)
                };
                fortran = Some(v);
                a
            }
            "shape" => {
                let inner = after.strip_prefix('(').ok_or_else(|| bad("shape must be a tuple"))?;
                let end = inner.find(')').ok_or_else(|| bad("unclosed shape"))?;
                let dims = inner[..end].split(',').map(str::trim).filter(|d| !d.is_empty());
                let dims: Result<Vec<usize>, _> = dims.map(str::parse).collect();
                shape = Some(dims.map_err(|_| bad("bad dimension"))?);
                &inner[end + 1..]
            }
            _ => return Err(bad("unknown key")),
        };
        let after = after.trim_start();
        rest = after.strip_prefix(',').unwrap_or(after).trim_start();
        if !rest.is_empty() && !after.starts_with(',') {
            return Err(bad("expected `,`"));
        }
    }
    match (descr, fortran, shape) {
        (Some(d), Some(f), Some(s)) => Ok((d, f, s)),
        _ => Err(bad("missing descr, fortran_order or shape")),
    }
}

/// A `'…'` or `"…"` string at the start of `s`, and the text after it.
fn quoted(s: &str) -> Option<(&str, &str)> {
    let q = s.chars().next().filter(|&c| c == '\'' || c == '"')?;
    let end = s[1..].find(q)? + 1;
    Some((&s[1..end], &s[end + 1..]))
}

fn fortran_to_c<T: Clone>(v: &[T], shape: &[usize]) -> Vec<T> {
    let mut strides = Vec::with_capacity(shape.len());
    let mut stride = 1;
    for &d in shape {
        strides.push(stride);
        stride *= d;
    }
    (0..v.len())
        .map(|c| {
            let (mut rem, mut f) = (c, 0);
            for (d, s) in shape.iter().zip(&strides).rev() {
                f += (rem % d) * s;
                rem /= d;
            }
            v[f].clone()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
        let f = if fortran { "True" } else { "False" };
        let mut h = format!("{{'descr': '{descr}', 'fortran_order': {f}, 'shape': {shape}, }}");
        while (10 + h.len() + 1) % 64 != 0 {
            h.push(' ');
        }
        h.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(h.len() as u16).to_le_bytes());
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn reads_the_supported_dtypes() {
        let a = parse(&npy("<i8", false, "()", &3i64.to_le_bytes())).expect("i8");
        assert_eq!((a.shape.clone(), a.scalar_token()), (vec![], Some("3".into())));
        assert_eq!(parse(&npy("|i1", false, "()", &[0xff])).expect("i1").data, NpyData::Int(vec![-1]));
        assert_eq!(parse(&npy("|u1", false, "(1,)", &[7])).expect("u1").scalar_token(), Some("7".into()));
        let f = parse(&npy("<f8", false, "()", &(-0.25f64).to_le_bytes())).expect("f8");
        assert_eq!(f.to_f32(), Some(vec![-0.25]));
        assert_eq!(f.scalar_token(), None, "a fractional value is not a class");
        let f4 = parse(&npy("<f4", false, "()", &4.0f32.to_le_bytes())).expect("f4");
        assert_eq!(f4.scalar_token(), Some("4".into()));
        let u: Vec<u8> = ['5', '\0'].iter().flat_map(|&c| (c as u32).to_le_bytes()).collect();
        assert_eq!(parse(&npy("<U2", false, "()", &u)).expect("U").scalar_token(), Some("5".into()));
        assert_eq!(parse(&npy("|S3", false, "()", b"6\0\0")).expect("S").scalar_token(), Some("6".into()));
        // 2 x 3 in Fortran order: columns first.
        let data: Vec<u8> = [1i32, 4, 2, 5, 3, 6].iter().flat_map(|v| v.to_le_bytes()).collect();
        let m = parse(&npy("<i4", true, "(2, 3)", &data)).expect("fortran");
        assert_eq!(m.data, NpyData::Int(vec![1, 2, 3, 4, 5, 6]));
        let mut v2 = npy("<i2", false, "(2,)", &[1, 0, 2, 0]);
        let len = u32::from(u16::from_le_bytes([v2[8], v2[9]]));
        v2.splice(6..10, [2u8, 0].into_iter().chain(len.to_le_bytes()));
        assert_eq!(parse(&v2).expect("v2").data, NpyData::Int(vec![1, 2]));
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        assert!(matches!(parse(b"garbage"), Err(NpyError::Format(_))));
        assert!(matches!(parse(&npy(">i8", false, "()", &[0; 8])), Err(NpyError::Dtype(_))));
        assert!(matches!(parse(&npy("|O", false, "()", &[0; 8])), Err(NpyError::Dtype(_))));
        assert!(matches!(parse(&npy("<c16", false, "()", &[0; 16])), Err(NpyError::Dtype(_))));
        assert!(matches!(
            parse(&npy("<i8", false, "(2,)", &[0; 8])),
            Err(NpyError::Size { got: 8, want: 16 })
        ));
        assert!(matches!(parse(&npy("<i8", false, "[2]", &[0; 16])), Err(NpyError::Header(_))));
        let mut cut = npy("<i8", false, "()", &[0; 8]);
        cut.truncate(12);
        assert!(parse(&cut).is_err());
        let nan = parse(&npy("<f4", false, "()", &f32::NAN.to_le_bytes())).expect("nan parses");
        assert_eq!(nan.to_f32(), None);
    }
}
