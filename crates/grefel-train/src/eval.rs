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
    let size = model.config.image_size;
    let order: Vec<usize> = (0..split.len()).collect();
    let spec = BatchSpec { split, size, landmarks, augment: None };
    let mut out = SplitEval {
        primary: Evaluator::new(classes),
        corrected: Evaluator::new(classes),
        probs_primary: Vec::with_capacity(split.len() * classes),
        probs_corrected: Vec::with_capacity(split.len() * classes),
    };
    std::thread::scope(|scope| -> Result<(), TrainError> {
        for batch in prefetch(scope, spec, chunk(&order, batch_size, 1), prefetch_depth) {
            let batch = batch?;
            let b = batch.len();
            let images = Tensor::<4>::from_data(TensorData::new(batch.images, [b, 3, size, size]), device);
            let lms = batch
                .landmarks
                .map(|l| Tensor::<3>::from_data(TensorData::new(l, [b, NUM_LANDMARKS, 2]), device));
            let o = model.forward(images, lms, trust)?;
            let p: Vec<f32> = o.p.into_data().iter::<f32>().collect();
            let y: Vec<f32> = o.y_hat.into_data().iter::<f32>().collect();
            for (k, &i) in batch.indices.iter().enumerate() {
                let truth = split.samples[i].label;
                out.primary.add(truth, &p[k * classes..(k + 1) * classes]);
                out.corrected.add(truth, &y[k * classes..(k + 1) * classes]);
            }
            out.probs_primary.extend_from_slice(&p);
            out.probs_corrected.extend_from_slice(&y);
        }
        Ok(())
    })?;
    Ok(out)
}
