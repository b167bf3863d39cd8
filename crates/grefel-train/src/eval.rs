//! Evaluation of a model on one split: full-set passes in a fixed order and batch size (the
//! batch-mixing attention path makes ŷ depend on the batch composition), feeding one
//! [`Evaluator`] for the primary output p and one for the corrected output ŷ.

use grefel_model::Grefel;
use grefel_model::burn::tensor::{Device, Tensor, TensorData};
use grefel_schema::table::NUM_LANDMARKS;

use crate::TrainError;
use crate::data::SplitData;
use crate::loader::{BatchSpec, chunk, prefetch};
use crate::metrics::{Evaluator, OutputMetrics};

/// The two evaluations of one split.
#[derive(Clone, Debug)]
pub struct SplitEval {
    /// Of the primary distribution p.
    pub primary: Evaluator,
    /// Of the corrected distribution ŷ.
    pub corrected: Evaluator,
    /// p per sample, row-major `(N, C)`.
    pub probs_primary: Vec<f32>,
    /// ŷ per sample, row-major `(N, C)`.
    pub probs_corrected: Vec<f32>,
}

pub use grefel_artifacts::Predictions;

impl SplitEval {
    /// Metrics of both outputs.
    pub fn metrics(&self) -> (OutputMetrics, OutputMetrics) {
        (self.primary.metrics(), self.corrected.metrics())
    }

    /// The per-sample predictions of `split`.
    pub fn predictions(&self, name: &str, split: &SplitData, classes: Vec<String>) -> Predictions {
        let c = classes.len().max(1);
        Predictions {
            split: name.into(),
            sample_id: split.samples.iter().map(|s| s.id.clone()).collect(),
            label: split.samples.iter().map(|s| s.label).collect(),
            primary: self.probs_primary.chunks(c).map(<[f32]>::to_vec).collect(),
            corrected: self.probs_corrected.chunks(c).map(<[f32]>::to_vec).collect(),
            classes,
        }
    }
}

/// What one forward pass gives for a batch of a split, row-major per sample.
#[derive(Clone, Debug, Default)]
pub struct BatchOutput {
    /// Indices of the batch's samples in their split.
    pub indices: Vec<usize>,
    /// The classifier's raw output `(B, C)`.
    pub logits: Vec<f32>,
    /// Primary distribution p `(B, C)`.
    pub p: Vec<f32>,
    /// Corrected distribution ŷ `(B, C)`.
    pub y_hat: Vec<f32>,
    /// κ(p), κ(m) and κ(α) `(B)` each: the reliability terms of the correction.
    pub kappa: [Vec<f32>; 3],
}

/// Runs `model` (in evaluation mode, on the non-autodiff `device`) over `split` in index order
/// and batches of `batch_size` at trust `trust`, handing each batch's outputs to `f`.
#[allow(clippy::too_many_arguments)]
pub fn forward_split(
    model: &Grefel,
    split: &SplitData,
    device: &Device,
    trust: f32,
    batch_size: usize,
    landmarks: bool,
    prefetch_depth: usize,
    mut f: impl FnMut(BatchOutput),
) -> Result<(), TrainError> {
    let size = model.config.image_size;
    let order: Vec<usize> = (0..split.len()).collect();
    let spec = BatchSpec { split, size, landmarks, augment: None, eval_resize: model.config.eval_resize };
    let values = |t: Tensor<2>| -> Vec<f32> { t.into_data().iter::<f32>().collect() };
    let values1 = |t: Tensor<1>| -> Vec<f32> { t.into_data().iter::<f32>().collect() };
    std::thread::scope(|scope| -> Result<(), TrainError> {
        for batch in prefetch(scope, spec, chunk(&order, batch_size, 1), prefetch_depth) {
            let batch = batch?;
            let b = batch.len();
            let images = Tensor::<4>::from_data(TensorData::new(batch.images, [b, 3, size, size]), device);
            let lms = batch
                .landmarks
                .map(|l| Tensor::<3>::from_data(TensorData::new(l, [b, NUM_LANDMARKS, 2]), device));
            let o = model.forward(images, lms, trust)?;
            f(BatchOutput {
                indices: batch.indices,
                logits: values(o.logits),
                p: values(o.p),
                y_hat: values(o.y_hat),
                kappa: [values1(o.kappa_p), values1(o.kappa_m), values1(o.kappa_alpha)],
            });
        }
        Ok(())
    })
}

/// Evaluates `model` (in evaluation mode, on the non-autodiff `device`) on `split` with trust
/// `trust`.
pub fn evaluate(
    model: &Grefel,
    split: &SplitData,
    device: &Device,
    trust: f32,
    batch_size: usize,
    landmarks: bool,
    prefetch_depth: usize,
) -> Result<SplitEval, TrainError> {
    let classes = model.config.num_classes;
    let mut out = SplitEval {
        primary: Evaluator::new(classes),
        corrected: Evaluator::new(classes),
        probs_primary: Vec::with_capacity(split.len() * classes),
        probs_corrected: Vec::with_capacity(split.len() * classes),
    };
    forward_split(model, split, device, trust, batch_size, landmarks, prefetch_depth, |o| {
        for (k, &i) in o.indices.iter().enumerate() {
            let truth = split.samples[i].label;
            out.primary.add(truth, &o.p[k * classes..(k + 1) * classes]);
            out.corrected.add(truth, &o.y_hat[k * classes..(k + 1) * classes]);
        }
        out.probs_primary.extend_from_slice(&o.p);
        out.probs_corrected.extend_from_slice(&o.y_hat);
    })?;
    Ok(out)
}
