//! Accumulating one output's predicted distributions over a whole evaluation set into its
//! [`OutputMetrics`]: the confusion matrix (accuracy, mean class accuracy, macro-F1) and the
//! calibration (NLL, expected calibration error with its reliability bins). Training, sweeps and
//! `evaluate` all measure through it.

use crate::metrics::{Confusion, OutputMetrics, ReliabilityBin};

/// Bins of the expected calibration error.
pub const ECE_BINS: usize = 15;
/// Probabilities are floored at this before the log of the NLL.
pub const NLL_FLOOR: f64 = 1e-12;

/// Accumulates the predicted distributions of one output over a whole evaluation set.
#[derive(Clone, Debug)]
pub struct Evaluator {
    classes: usize,
    confusion: Confusion,
    nll_sum: f64,
    bins: [(u64, u64, f64); ECE_BINS],
    predictions: Vec<u32>,
    confidences: Vec<f32>,
}

impl Evaluator {
    /// An empty evaluator for `classes` classes.
    pub fn new(classes: usize) -> Self {
        Self {
            classes,
            confusion: Confusion::new(classes),
            nll_sum: 0.0,
            bins: [(0, 0, 0.0); ECE_BINS],
            predictions: Vec::new(),
            confidences: Vec::new(),
        }
    }

    /// Adds one sample: its true class and predicted distribution (`classes` values).
    pub fn add(&mut self, truth: usize, probs: &[f32]) {
        let (pred, conf) = probs
            .iter()
            .take(self.classes)
            .enumerate()
            .fold((0, f32::NEG_INFINITY), |best, (i, &p)| if p > best.1 { (i, p) } else { best });
        self.confusion.add(truth, pred);
        let p_true = probs.get(truth).copied().unwrap_or(0.0);
        self.nll_sum -= f64::from(p_true).max(NLL_FLOOR).ln();
        let conf64 = f64::from(conf).clamp(0.0, 1.0);
        // Bin b holds confidences in (b/15, (b+1)/15]; a confidence of 0 falls in bin 0.
        let bin = ((conf64 * ECE_BINS as f64).ceil() as usize).clamp(1, ECE_BINS) - 1;
        let slot = &mut self.bins[bin];
        slot.0 += 1;
        slot.1 += u64::from(pred == truth);
        slot.2 += conf64;
        self.predictions.push(pred as u32);
        self.confidences.push(conf);
    }

    /// Predicted class of every sample added, in order.
    pub fn predictions(&self) -> &[u32] {
        &self.predictions
    }

    /// Confidence (max probability) of every sample added, in order.
    pub fn confidences(&self) -> &[f32] {
        &self.confidences
    }

    /// The metrics so far.
    pub fn metrics(&self) -> OutputMetrics {
        let n = self.confusion.total();
        let ece = self
            .bins
            .iter()
            .filter(|b| b.0 > 0)
            .map(|&(count, correct, conf_sum)| {
                let acc = correct as f64 / count as f64;
                let conf = conf_sum / count as f64;
                count as f64 / n as f64 * (acc - conf).abs()
            })
            .sum();
        OutputMetrics {
            samples: n,
            accuracy: self.confusion.accuracy(),
            mean_class_accuracy: self.confusion.mean_class_accuracy(),
            macro_f1: self.confusion.macro_f1(),
            nll: if n == 0 { 0.0 } else { self.nll_sum / n as f64 },
            ece,
            confusion: self.confusion.clone(),
            reliability: self
                .bins
                .iter()
                .map(|&(count, correct, confidence)| ReliabilityBin { count, correct, confidence })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    }

    #[test]
    fn nll_and_ece_by_hand() {
        let mut e = Evaluator::new(2);
        // Two confident right answers (0.9), one confident wrong (0.8 on the wrong class),
        // one unsure right answer (0.6).
        e.add(0, &[0.9, 0.1]);
        e.add(1, &[0.1, 0.9]);
        e.add(0, &[0.2, 0.8]);
        e.add(1, &[0.4, 0.6]);
        let m = e.metrics();
        close(m.accuracy, 0.75);
        let nll = -(0.9f32.ln() + 0.9f32.ln() + 0.2f32.ln() + 0.6f32.ln()) as f64 / 4.0;
        assert!((m.nll - nll).abs() < 1e-6, "{} vs {nll}", m.nll);
        // Confidences 0.9 (×2, both right), 0.8 (wrong) and 0.6 (right) fall in three different
        // bins of width 1/15: ECE = Σ (n_b / n)·|acc_b − conf_b|.
        let ece = 0.5 * 0.1 + 0.25 * 0.8 + 0.25 * 0.4;
        assert!((m.ece - ece).abs() < 1e-6, "{} vs {ece}", m.ece);
        assert_eq!(e.predictions(), &[0, 1, 1, 1]);
        // A perfectly calibrated set: 0.5-confidence predictions right half the time.
        let mut cal = Evaluator::new(2);
        cal.add(0, &[0.5, 0.5]);
        cal.add(1, &[0.5, 0.5]);
        assert!(cal.metrics().ece < 1e-9);
        // A zero probability on the truth is floored, not infinite.
        let mut z = Evaluator::new(2);
        z.add(1, &[1.0, 0.0]);
        assert!((z.metrics().nll + NLL_FLOOR.ln()).abs() < 1e-9);
    }
}
