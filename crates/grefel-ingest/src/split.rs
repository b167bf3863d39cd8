//! Seeded split assignment for datasets without an official split.

use grefel_schema::rng::keyed_unit;
use grefel_schema::table::Split;
use serde::{Deserialize, Serialize};

use crate::IngestError;

/// Fractions and seed of a seeded split; the test fraction is the rest.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitConfig {
    /// Seed of the assignment.
    pub seed: u64,
    /// Fraction of samples in `train`.
    pub train: f64,
    /// Fraction of samples in `val`.
    pub val: f64,
}

impl Default for SplitConfig {
    fn default() -> Self {
        Self { seed: 0, train: 0.8, val: 0.1 }
    }
}

impl SplitConfig {
    /// Checks the fractions (each in [0, 1], summing to at most 1).
    pub fn validate(&self) -> Result<(), IngestError> {
        let bad = |field, reason: String| Err(IngestError::InvalidConfig { field, reason });
        if !(0.0..=1.0).contains(&self.train) {
            return bad("split.train", format!("{} is not in [0, 1]", self.train));
        }
        if !(0.0..=1.0).contains(&self.val) {
            return bad("split.val", format!("{} is not in [0, 1]", self.val));
        }
        if self.train + self.val > 1.0 + 1e-12 {
            return bad("split", format!("train {} + val {} exceeds 1", self.train, self.val));
        }
        Ok(())
    }

    /// The split of `sample_id`: a pure function of the seed and the id, so adding or removing
    /// other samples never moves a sample between splits.
    pub fn assign(&self, sample_id: &str) -> Split {
        let u = keyed_unit(self.seed, sample_id);
        if u < self.train {
            Split::Train
        } else if u < self.train + self.val {
            Split::Val
        } else {
            Split::Test
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_and_stability() {
        let cfg = SplitConfig::default();
        let mut counts = [0usize; 3];
        for i in 0..10_000 {
            counts[cfg.assign(&format!("s:{i}")) as usize] += 1;
        }
        assert!((7800..8200).contains(&counts[0]), "{counts:?}");
        assert!((850..1150).contains(&counts[1]), "{counts:?}");
        assert_eq!(cfg.assign("s:1"), cfg.assign("s:1"));
        let other = SplitConfig { seed: 1, ..cfg };
        assert!((0..100).any(|i| other.assign(&format!("s:{i}")) != cfg.assign(&format!("s:{i}"))));
        assert!(SplitConfig { train: 0.9, val: 0.2, seed: 0 }.validate().is_err());
        assert!(SplitConfig { train: -0.1, val: 0.2, seed: 0 }.validate().is_err());
        assert!(cfg.validate().is_ok());
    }
}
