//! Epoch composition: a seeded shuffle of the training set, or ("data refinement", docs/method.md §7
//! row 17) a per-epoch class-balanced subset; and the inverse-frequency class weights of
//! docs/method.md §3.1, computed from the labels an epoch actually presents (noisy labels included).

use grefel_schema::rng::SeedRng;
use serde::{Deserialize, Serialize};

use crate::TrainError;

/// How each epoch's samples are chosen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SamplingConfig {
    /// Class-balanced epochs: `per_class` samples of every class per epoch.
    pub balanced: bool,
    /// Samples per class and epoch when balanced (500 per docs/method.md §4.3 [T]).
    pub per_class: usize,
    /// When balanced, top up classes smaller than `per_class` by drawing again (otherwise a
    /// small class contributes all its samples once).
    pub replacement: bool,
    /// Weight the classification loss by inverse class frequency (docs/method.md §3.1).
    pub class_weights: bool,
}

impl Default for SamplingConfig {
    fn default() -> Self {
        Self { balanced: false, per_class: 500, replacement: false, class_weights: true }
    }
}

impl SamplingConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<(), TrainError> {
        if self.balanced && self.per_class == 0 {
            return Err(TrainError::config("sampling.per_class", "must be at least 1"));
        }
        Ok(())
    }
}

/// Samples per class of `labels` (class indices below `num_classes`).
pub fn class_counts(labels: &[usize], num_classes: usize) -> Vec<usize> {
    let mut counts = vec![0; num_classes];
    for &y in labels {
        if let Some(c) = counts.get_mut(y) {
            *c += 1;
        }
    }
    counts
}

/// Inverse-frequency weights `w_c = (N / C) / n_c` of the labels `labels` (0 for an absent
/// class), as docs/method.md §3.1 defines them.
pub fn class_weights(labels: &[usize], num_classes: usize) -> Vec<f32> {
    grefel_model::inverse_frequency_weights(&class_counts(labels, num_classes))
}

/// The training-set indices of epoch `epoch`, in presentation order. `labels[i]` is the class
/// index of training sample `i`. Depends only on the seed, the epoch and the labels.
pub fn epoch_order(
    labels: &[usize],
    num_classes: usize,
    seed: u64,
    epoch: usize,
    cfg: &SamplingConfig,
) -> Vec<usize> {
    let mut rng = SeedRng::for_tag(seed, &format!("epoch/{epoch}"));
    let mut order: Vec<usize> = if cfg.balanced {
        let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); num_classes];
        for (i, &y) in labels.iter().enumerate() {
            if let Some(v) = by_class.get_mut(y) {
                v.push(i);
            }
        }
        let mut chosen = Vec::with_capacity(cfg.per_class * num_classes);
        for members in &mut by_class {
            if members.is_empty() {
                continue;
            }
            let mut taken = 0;
            loop {
                rng.shuffle(members);
                let want = (cfg.per_class - taken).min(members.len());
                chosen.extend_from_slice(&members[..want]);
                taken += want;
                if taken == cfg.per_class || !cfg.replacement {
                    break;
                }
            }
        }
        chosen
    } else {
        (0..labels.len()).collect()
    };
    rng.shuffle(&mut order);
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn imbalanced() -> Vec<usize> {
        // 700 of class 0, 200 of class 1, 90 of class 2, 10 of class 3, none of class 4.
        [(0, 700), (1, 200), (2, 90), (3, 10)].iter().flat_map(|&(c, n)| std::iter::repeat_n(c, n)).collect()
    }

    #[test]
    fn shuffled_epochs_are_permutations_fixed_by_seed_and_epoch() {
        let labels = imbalanced();
        let cfg = SamplingConfig::default();
        let a = epoch_order(&labels, 5, 3, 0, &cfg);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..labels.len()).collect::<Vec<_>>());
        assert_eq!(a, epoch_order(&labels, 5, 3, 0, &cfg));
        assert_ne!(a, epoch_order(&labels, 5, 3, 1, &cfg));
        assert_ne!(a, epoch_order(&labels, 5, 4, 0, &cfg));
    }

    #[test]
    fn balanced_epochs_hold_per_class_samples_of_each_class() {
        let labels = imbalanced();
        let cfg = SamplingConfig { balanced: true, per_class: 100, ..Default::default() };
        for epoch in 0..3 {
            let order = epoch_order(&labels, 5, 1, epoch, &cfg);
            let picked: Vec<usize> = order.iter().map(|&i| labels[i]).collect();
            assert_eq!(class_counts(&picked, 5), vec![100, 100, 90, 10, 0], "epoch {epoch}");
            let mut unique = order.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), order.len(), "without replacement no sample repeats");
        }
        let a = epoch_order(&labels, 5, 1, 0, &cfg);
        let b = epoch_order(&labels, 5, 1, 1, &cfg);
        let class0 = |o: &[usize]| {
            let mut v: Vec<usize> = o.iter().copied().filter(|&i| labels[i] == 0).collect();
            v.sort_unstable();
            v
        };
        assert_ne!(class0(&a), class0(&b), "each epoch draws a new subset of a large class");

        let with = SamplingConfig { replacement: true, ..cfg };
        let order = epoch_order(&labels, 5, 1, 0, &with);
        let picked: Vec<usize> = order.iter().map(|&i| labels[i]).collect();
        assert_eq!(class_counts(&picked, 5), vec![100, 100, 100, 100, 0]);
        let small: Vec<usize> = order.iter().copied().filter(|&i| labels[i] == 3).collect();
        assert!(small.iter().all(|&i| (990..1000).contains(&i)));
    }

    #[test]
    fn class_weights_are_inverse_frequency() {
        let labels = imbalanced();
        let w = class_weights(&labels, 5);
        // N = 1000, C = 5: w_c = 200 / n_c.
        let want = [200.0 / 700.0, 1.0, 200.0 / 90.0, 20.0, 0.0];
        for (got, want) in w.iter().zip(want) {
            assert!((f64::from(*got) - want).abs() < 1e-5, "{got} vs {want}");
        }
        assert_eq!(class_weights(&[0, 1, 2, 0, 1, 2], 3), vec![1.0, 1.0, 1.0], "balanced set → 1");
    }
}
