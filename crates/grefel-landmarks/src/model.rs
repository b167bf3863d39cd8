//! The in-memory `shape_predictor`: dlib's ensemble of regression trees (Kazemi & Sullivan),
//! exactly as its `.dat` file stores it (see [`crate::dat`]), and its structural validation.

use crate::error::DatError;

/// One split node: go left when `feature[idx1] - feature[idx2] > thresh`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SplitFeature {
    /// First feature-pixel index (into the cascade's feature pool).
    pub idx1: u32,
    /// Second feature-pixel index.
    pub idx2: u32,
    /// Threshold in intensity units.
    pub thresh: f32,
}

/// One regression tree: split nodes in breadth-first order and one shape increment per leaf.
#[derive(Clone, Debug, PartialEq)]
pub struct RegressionTree {
    /// `S` split nodes; node `i` has children `2i+1` (taken when the test holds) and `2i+2`.
    pub splits: Vec<SplitFeature>,
    /// `S + 1` leaves of `2L` values each, flattened leaf after leaf.
    pub leaf_values: Vec<f32>,
}

impl RegressionTree {
    /// Number of leaves.
    pub fn num_leaves(&self) -> usize {
        self.splits.len() + 1
    }

    /// The increment of leaf `i` (`2L` values); `shape_len` is `2L`.
    pub fn leaf(&self, i: usize, shape_len: usize) -> &[f32] {
        &self.leaf_values[i * shape_len..(i + 1) * shape_len]
    }
}

/// One cascade level: its trees and its feature pool, each feature pixel being a landmark of the
/// current shape (the anchor) plus an offset (the delta) in normalised box coordinates.
#[derive(Clone, Debug, PartialEq)]
pub struct Cascade {
    /// The trees, evaluated in order.
    pub trees: Vec<RegressionTree>,
    /// Anchor landmark of each feature pixel (`P` values below `L`).
    pub anchors: Vec<u32>,
    /// Offset of each feature pixel from its anchor (`P` values).
    pub deltas: Vec<[f32; 2]>,
}

/// A dlib `shape_predictor` with `L` landmarks.
#[derive(Clone, Debug, PartialEq)]
pub struct ShapePredictor {
    /// The mean shape in normalised box coordinates: `x0, y0, x1, y1, …` (`2L` values).
    pub initial_shape: Vec<f32>,
    /// The cascade levels, applied in order.
    pub cascades: Vec<Cascade>,
}

impl ShapePredictor {
    /// Number of landmarks `L`.
    pub fn num_parts(&self) -> usize {
        self.initial_shape.len() / 2
    }

    /// Total number of trees.
    pub fn num_trees(&self) -> usize {
        self.cascades.iter().map(|c| c.trees.len()).sum()
    }

    /// Checks every length, index and value the inference relies on, so that
    /// [`crate::predict`] can never index out of range:
    ///
    /// - the initial shape has an even, non-zero length;
    /// - per cascade, as many deltas as anchors, and every anchor below `L`;
    /// - per tree, `S + 1` leaves of `2L` values, and both split indices below the cascade's
    ///   feature-pool size;
    /// - every float finite.
    pub fn validate(&self) -> Result<(), DatError> {
        let shape_len = self.initial_shape.len();
        if shape_len == 0 || !shape_len.is_multiple_of(2) {
            return Err(DatError::Length {
                what: "initial_shape".into(),
                found: shape_len as u64,
                expected: "an even number above 0".into(),
            });
        }
        finite("initial_shape", &self.initial_shape)?;
        let parts = self.num_parts() as u64;
        for (c, cascade) in self.cascades.iter().enumerate() {
            let pool = cascade.anchors.len() as u64;
            if cascade.deltas.len() as u64 != pool {
                return Err(DatError::Length {
                    what: format!("deltas of cascade {c}"),
                    found: cascade.deltas.len() as u64,
                    expected: format!("{pool} (the number of anchors)"),
                });
            }
            for (j, &a) in cascade.anchors.iter().enumerate() {
                if u64::from(a) >= parts {
                    let what = format!("anchor {j} of cascade {c}");
                    return Err(DatError::Index { what, index: a.into(), bound: parts });
                }
            }
            for (j, d) in cascade.deltas.iter().enumerate() {
                finite_at(|| format!("delta {j} of cascade {c}"), d)?;
            }
            for (t, tree) in cascade.trees.iter().enumerate() {
                validate_tree(tree, pool, shape_len)
                    .map_err(|e| e.within(&format!("cascade {c} tree {t}")))?;
            }
        }
        Ok(())
    }
}

fn validate_tree(tree: &RegressionTree, pool: u64, shape_len: usize) -> Result<(), DatError> {
    for (i, s) in tree.splits.iter().enumerate() {
        for idx in [s.idx1, s.idx2] {
            if u64::from(idx) >= pool {
                let what = format!("split {i} feature index");
                return Err(DatError::Index { what, index: idx.into(), bound: pool });
            }
        }
        finite_at(|| format!("split {i} threshold"), &[s.thresh])?;
    }
    let want = tree.num_leaves() * shape_len;
    if tree.leaf_values.len() != want {
        return Err(DatError::Length {
            what: "leaf values".into(),
            found: tree.leaf_values.len() as u64,
            expected: format!("{want} ({} leaves of {shape_len})", tree.num_leaves()),
        });
    }
    finite("leaf values", &tree.leaf_values)
}

fn finite(what: &str, values: &[f32]) -> Result<(), DatError> {
    finite_at(|| what.to_string(), values)
}

fn finite_at(what: impl FnOnce() -> String, values: &[f32]) -> Result<(), DatError> {
    match values.iter().find(|v| !v.is_finite()) {
        Some(&value) => Err(DatError::NotFinite { what: what(), value }),
        None => Ok(()),
    }
}

impl DatError {
    /// Prefixes the position (`cascade 3 tree 17`) to the error's description.
    pub fn within(self, place: &str) -> DatError {
        let at = |what: String| format!("{place}: {what}");
        match self {
            DatError::Length { what, found, expected } => {
                DatError::Length { what: at(what), found, expected }
            }
            DatError::Index { what, index, bound } => DatError::Index { what: at(what), index, bound },
            DatError::NotFinite { what, value } => DatError::NotFinite { what: at(what), value },
            DatError::Truncated { offset, what, needed, available } => {
                DatError::Truncated { offset, what: at(what), needed, available }
            }
            DatError::ControlByte { offset, byte, what, reason } => {
                DatError::ControlByte { offset, byte, what: at(what), reason }
            }
            DatError::Overflow { offset, what, value, bits } => {
                DatError::Overflow { offset, what: at(what), value, bits }
            }
            other @ (DatError::Version { .. } | DatError::Trailing { .. }) => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> ShapePredictor {
        let tree = RegressionTree {
            splits: vec![SplitFeature { idx1: 0, idx2: 1, thresh: 0.5 }],
            leaf_values: vec![0.0; 2 * 4],
        };
        ShapePredictor {
            initial_shape: vec![0.25, 0.25, 0.75, 0.75],
            cascades: vec![Cascade { trees: vec![tree], anchors: vec![0, 1], deltas: vec![[0.0; 2]; 2] }],
        }
    }

    #[test]
    fn validation_catches_each_defect() {
        tiny().validate().expect("valid");
        let mut m = tiny();
        m.initial_shape.push(1.0);
        assert!(matches!(m.validate(), Err(DatError::Length { .. })));
        let mut m = tiny();
        m.cascades[0].anchors[1] = 2;
        assert!(matches!(m.validate(), Err(DatError::Index { index: 2, bound: 2, .. })));
        let mut m = tiny();
        m.cascades[0].trees[0].splits[0].idx2 = 2;
        let err = m.validate().expect_err("index");
        assert!(err.to_string().contains("cascade 0 tree 0"), "{err}");
        let mut m = tiny();
        m.cascades[0].trees[0].leaf_values.pop();
        assert!(matches!(m.validate(), Err(DatError::Length { .. })));
        let mut m = tiny();
        m.cascades[0].deltas.pop();
        assert!(matches!(m.validate(), Err(DatError::Length { .. })));
        let mut m = tiny();
        m.cascades[0].trees[0].splits[0].thresh = f32::NAN;
        assert!(matches!(m.validate(), Err(DatError::NotFinite { .. })));
        assert_eq!(tiny().num_parts(), 2);
        assert_eq!(tiny().num_trees(), 1);
    }
}
