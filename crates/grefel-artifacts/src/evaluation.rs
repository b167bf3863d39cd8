//! `evaluation.json`: a run evaluated on one split of a prepared dataset, overall, per class
//! (head and tail classes by training frequency) and per group of each requested column (RAF-DB's
//! gender, race and age group, a dataset's subjects), with the gaps between groups and seeded
//! bootstrap intervals, so a reader can tell a gap from noise on small groups.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::metrics::OutputMetrics;

/// The name of the group of rows with no value in a column.
pub const UNKNOWN_GROUP: &str = "unknown";

/// A run's evaluation on one split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Evaluation {
    /// The evaluated run's id (its folder name).
    pub run: String,
    /// The model preset of the run.
    pub preset: String,
    /// The dataset evaluated on.
    pub dataset: String,
    /// The split evaluated (`test`: the protocol's evaluation split, `val`, `train`).
    pub split: String,
    /// The output whose arg-max is the prediction (`corrected` ŷ or `primary` p).
    pub output: String,
    /// Class names in output order.
    pub classes: Vec<String>,
    /// Metrics over every sample of the split.
    pub overall: Overall,
    /// One entry per class, in output order.
    pub per_class: Vec<ClassMetrics>,
    /// `groups[column][value]`: the metrics of the samples with that value (`unknown`: none).
    pub groups: BTreeMap<String, BTreeMap<String, GroupMetrics>>,
    /// `gaps[column]`: how far apart the groups of a column are.
    pub gaps: BTreeMap<String, GroupGaps>,
    /// How the intervals were drawn.
    pub bootstrap: Bootstrap,
}

/// Metrics over the whole split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Overall {
    /// Accuracy, mean class accuracy, macro-F1, NLL, ECE, confusion and reliability bins.
    #[serde(flatten)]
    pub metrics: OutputMetrics,
    /// Bootstrap interval of the accuracy.
    pub accuracy_ci: Interval,
    /// Mean recall of the head classes (`None` without training frequencies).
    pub head_recall: Option<f64>,
    /// Mean recall of the tail classes (`None` without training frequencies).
    pub tail_recall: Option<f64>,
}

/// One class's metrics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ClassMetrics {
    /// Class name.
    pub class: String,
    /// Of the samples predicted as the class, the share that is (0 when none is).
    pub precision: f64,
    /// Of the class's samples, the share predicted as it (0 when it has none).
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub f1: f64,
    /// Samples of the class in the split.
    pub support: u64,
    /// Samples predicted as the class.
    pub predicted: u64,
    /// Samples of the class the run trained on (`None` when the run's training data were not
    /// available).
    pub train_samples: Option<u64>,
    /// A head class: at least the mean training samples per class (`None` as above).
    pub head: Option<bool>,
}

/// The metrics of one group of samples.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GroupMetrics {
    /// Samples in the group.
    pub samples: u64,
    /// Accuracy.
    pub accuracy: f64,
    /// Bootstrap interval of the accuracy.
    pub accuracy_ci: Interval,
    /// Mean recall over the classes with samples in the group.
    pub mean_class_accuracy: f64,
    /// Macro-F1 over the classes that occur in the group as truth or prediction.
    pub macro_f1: f64,
    /// Recall per class (`None`: no sample of the class in the group).
    pub recall: Vec<Option<f64>>,
}

/// The spread between the groups of one column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GroupGaps {
    /// Groups compared.
    pub groups: usize,
    /// The group with the highest accuracy.
    pub best_group: String,
    /// The group with the lowest accuracy.
    pub worst_group: String,
    /// Best minus worst group accuracy.
    pub accuracy_gap: f64,
    /// Bootstrap interval of the accuracy gap.
    pub accuracy_gap_ci: Interval,
    /// Equal-opportunity gap: per class, the largest minus the smallest recall over the groups
    /// with samples of the class, averaged over the classes with at least two such groups
    /// (`None` when no class has).
    pub equal_opportunity_gap: Option<f64>,
    /// Its bootstrap interval.
    pub equal_opportunity_gap_ci: Option<Interval>,
}

/// A two-sided percentile interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Interval {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

/// The bootstrap behind the intervals: samples of the split drawn with replacement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Bootstrap {
    /// Resamples drawn.
    pub resamples: usize,
    /// Seed of the draws.
    pub seed: u64,
    /// Coverage of the intervals (0.95: the 2.5th and 97.5th percentiles).
    pub level: f64,
}
