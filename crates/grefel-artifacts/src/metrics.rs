//! The metrics of one output of the model on one split, and of both outputs on one split.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A `C × C` confusion matrix: `counts[truth][prediction]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Confusion {
    /// Row = true class, column = predicted class.
    pub counts: Vec<Vec<u64>>,
}

impl Confusion {
    /// An empty matrix for `classes` classes.
    pub fn new(classes: usize) -> Self {
        Self { counts: vec![vec![0; classes]; classes] }
    }

    /// Counts one sample.
    pub fn add(&mut self, truth: usize, prediction: usize) {
        if let Some(cell) = self.counts.get_mut(truth).and_then(|r| r.get_mut(prediction)) {
            *cell += 1;
        }
    }

    /// Samples counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    /// Share of samples on the diagonal.
    pub fn accuracy(&self) -> f64 {
        let correct: u64 = (0..self.counts.len()).map(|c| self.counts[c][c]).sum();
        ratio(correct, self.total())
    }

    /// Recall per class (`None` for a class without samples).
    pub fn recalls(&self) -> Vec<Option<f64>> {
        self.counts
            .iter()
            .enumerate()
            .map(|(c, row)| {
                let n: u64 = row.iter().sum();
                (n > 0).then(|| ratio(row[c], n))
            })
            .collect()
    }

    /// Mean of the per-class recalls over the classes that have samples.
    pub fn mean_class_accuracy(&self) -> f64 {
        mean(self.recalls().into_iter().flatten())
    }

    /// Macro-F1: mean F1 over the classes that occur as truth or prediction (a class with
    /// samples that is never predicted counts with F1 = 0).
    pub fn macro_f1(&self) -> f64 {
        let k = self.counts.len();
        mean((0..k).filter_map(|c| {
            let tp = self.counts[c][c];
            let support: u64 = self.counts[c].iter().sum();
            let predicted: u64 = (0..k).map(|r| self.counts[r][c]).sum();
            (support + predicted > 0).then(|| ratio(2 * tp, support + predicted))
        }))
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 { 0.0 } else { sum / n as f64 }
}

/// The metrics of one output on one split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OutputMetrics {
    /// Samples.
    pub samples: u64,
    /// Accuracy.
    pub accuracy: f64,
    /// Mean per-class recall.
    pub mean_class_accuracy: f64,
    /// Macro-F1.
    pub macro_f1: f64,
    /// Mean negative log-likelihood of the true class.
    pub nll: f64,
    /// Expected calibration error over equal-width confidence bins.
    pub ece: f64,
    /// The confusion matrix.
    pub confusion: Confusion,
    /// The equal-width confidence bins behind the ECE (a reliability diagram).
    #[serde(default)]
    pub reliability: Vec<ReliabilityBin>,
}

/// One confidence bin of a reliability diagram: `(i/B, (i+1)/B]`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReliabilityBin {
    /// Samples whose top probability falls in the bin.
    pub count: u64,
    /// Of those, correctly classified.
    pub correct: u64,
    /// Sum of their top probabilities.
    pub confidence: f64,
}

/// The metrics of both outputs of the model on one split: the primary distribution p and the
/// corrected distribution ŷ (docs/method.md §2.8).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SplitMetrics {
    /// Of p.
    pub primary: OutputMetrics,
    /// Of ŷ.
    pub corrected: OutputMetrics,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    }

    #[test]
    fn confusion_metrics_by_hand() {
        // truth 0: 8 right, 2 as 1; truth 1: 3 right, 1 as 0; truth 2: 0 right, 4 as 1; class 3
        // absent and never predicted.
        let mut m = Confusion::new(4);
        for (t, p, n) in [(0, 0, 8), (0, 1, 2), (1, 1, 3), (1, 0, 1), (2, 1, 4)] {
            for _ in 0..n {
                m.add(t, p);
            }
        }
        assert_eq!(m.total(), 18);
        close(m.accuracy(), 11.0 / 18.0);
        close(m.mean_class_accuracy(), (0.8 + 0.75 + 0.0) / 3.0);
        // F1: class 0: 2·8/(10 + 9); class 1: 2·3/(4 + 9); class 2: 0; class 3 excluded.
        close(m.macro_f1(), (16.0 / 19.0 + 6.0 / 13.0 + 0.0) / 3.0);
        let perfect = {
            let mut p = Confusion::new(3);
            (0..3).for_each(|c| p.add(c, c));
            p
        };
        close(perfect.accuracy(), 1.0);
        close(perfect.macro_f1(), 1.0);
        close(Confusion::new(3).accuracy(), 0.0);
    }
}
