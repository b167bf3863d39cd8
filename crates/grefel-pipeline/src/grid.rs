//! Sweep grids from text: integer ranges and lists (`4..12`, `4..=12`, `4,8,10`) and float lists
//! (`0.1,0.2,0.3`). A range written `a..b` includes both ends, like `a..=b`.

use crate::PipelineError;

const INT_EXAMPLES: &str = "`4..12` (both ends included), `4..=12`, `4,8,10`, `7`";
const FLOAT_EXAMPLES: &str = "`0.1,0.2,0.3`, `0`, `0,0.05,0.11,0.2`";

/// Parses an integer grid: a range `a..b` or `a..=b` (both include `b`), or a comma list.
/// Values must be positive, distinct, and a range must not run backwards.
pub fn parse_int_grid(what: &'static str, input: &str) -> Result<Vec<usize>, PipelineError> {
    let err =
        |reason: String| PipelineError::Grid { what, input: input.into(), reason, examples: INT_EXAMPLES };
    let text = input.trim();
    if text.is_empty() {
        return Err(err("empty".into()));
    }
    let number = |s: &str| -> Result<usize, PipelineError> {
        let s = s.trim();
        let v: usize = s.parse().map_err(|_| err(format!("`{s}` is not a whole number")))?;
        if v == 0 {
            return Err(err("values must be at least 1".into()));
        }
        Ok(v)
    };
    let values = if let Some((a, b)) = text.split_once("..") {
        let b = b.strip_prefix('=').unwrap_or(b);
        let (lo, hi) = (number(a)?, number(b)?);
        if lo > hi {
            return Err(err(format!("the range runs backwards ({lo} > {hi})")));
        }
        (lo..=hi).collect()
    } else {
        text.split(',').map(number).collect::<Result<Vec<_>, _>>()?
    };
    reject_duplicates(&values, |d| err(format!("{d} appears twice")))?;
    Ok(values)
}

/// Parses a comma list of finite, non-negative floats below 1 (noise rates, smoothing ε).
pub fn parse_rate_grid(what: &'static str, input: &str) -> Result<Vec<f64>, PipelineError> {
    let err =
        |reason: String| PipelineError::Grid { what, input: input.into(), reason, examples: FLOAT_EXAMPLES };
    if input.trim().is_empty() {
        return Err(err("empty".into()));
    }
    let values = input
        .split(',')
        .map(|s| {
            let s = s.trim();
            let v: f64 = s.parse().map_err(|_| err(format!("`{s}` is not a number")))?;
            if !(0.0..1.0).contains(&v) {
                return Err(err(format!("{v} is not in [0, 1)")));
            }
            Ok(v)
        })
        .collect::<Result<Vec<_>, _>>()?;
    reject_duplicates(&values, |d| err(format!("{d} appears twice")))?;
    Ok(values)
}

fn reject_duplicates<T: PartialEq + Copy + std::fmt::Display>(
    values: &[T],
    err: impl Fn(T) -> PipelineError,
) -> Result<(), PipelineError> {
    for (i, v) in values.iter().enumerate() {
        if values[..i].contains(v) {
            return Err(err(*v));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_lists() {
        assert_eq!(parse_int_grid("--k", "4..12").expect("range"), (4..=12).collect::<Vec<_>>());
        assert_eq!(parse_int_grid("--k", "4..=12").expect("range"), (4..=12).collect::<Vec<_>>());
        assert_eq!(parse_int_grid("--k", " 4, 8,10 ").expect("list"), vec![4, 8, 10]);
        assert_eq!(parse_int_grid("--k", "7").expect("single"), vec![7]);
        assert_eq!(parse_int_grid("--k", "5..5").expect("one-element range"), vec![5]);
        assert_eq!(parse_rate_grid("--noise", "0.1,0.2,0.3").expect("rates"), vec![0.1, 0.2, 0.3]);
        assert_eq!(parse_rate_grid("--eps", "0,0.05,0.11,0.2").expect("eps"), vec![0.0, 0.05, 0.11, 0.2]);
    }

    #[test]
    fn malformed_input_is_a_clear_error() {
        for bad in ["", "12..4", "4..", "..12", "a..b", "4,,8", "4,8,4", "0..3", "4.5", "-1", "4..12..14"] {
            let e = parse_int_grid("--k", bad).expect_err(bad).to_string();
            assert!(e.contains("--k") && e.contains(bad.trim()) && e.contains("examples"), "{bad}: {e}");
        }
        for bad in ["", "0.1,,0.2", "1.0", "-0.1", "nan", "x", "0.1,0.1"] {
            let e = parse_rate_grid("--noise", bad).expect_err(bad).to_string();
            assert!(e.contains("--noise"), "{bad}: {e}");
        }
    }
}
