//! One optimisation step: batch → tensors, forward with the trust t, GReFEL losses, backward
//! (twice with SAM), Adam update ([`crate::adam`]). A forward pass that draws (dropout,
//! DropPath) runs under [`with_seed`] with a seed derived from `(seed, iteration)`, so a resumed
//! run draws the same masks and runs sharing the process (a sweep's CPU workers) do not draw
//! from each other's stream.

use grefel_model::burn::optim::GradientsParams;
use grefel_model::burn::tensor::{Device, Int, Tensor, TensorData};
use grefel_model::config::LossConfig;
use grefel_model::{Grefel, GrefelOutput, loss_with_targets, with_seed};
use grefel_schema::table::NUM_LANDMARKS;

use crate::TrainError;
use crate::adam::ModuleStep;
use crate::loader::Batch;
use crate::sam;

/// The batch as tensors on a device.
#[derive(Clone, Debug)]
pub struct BatchTensors {
    /// `(B, 3, S, S)` images.
    pub images: Tensor<4>,
    /// `(B, 68, 2)` landmarks.
    pub landmarks: Option<Tensor<3>>,
    /// `(B)` class indices.
    pub labels: Tensor<1, Int>,
    /// `(B, C)` soft targets (soft-label training).
    pub targets: Option<Tensor<2>>,
}

impl BatchTensors {
    /// Moves a host batch onto `device` (input side `size`).
    pub fn new(batch: &Batch, size: usize, device: &Device) -> Self {
        let b = batch.len();
        let images = Tensor::from_data(TensorData::new(batch.images.clone(), [b, 3, size, size]), device);
        let landmarks = batch
            .landmarks
            .as_ref()
            .map(|l| Tensor::from_data(TensorData::new(l.clone(), [b, NUM_LANDMARKS, 2]), device));
        let labels = Tensor::from_data(TensorData::new(batch.labels.clone(), [b]), device);
        let targets = batch.targets.as_ref().map(|t| {
            let c = t.len() / b.max(1);
            Tensor::from_data(TensorData::new(t.clone(), [b, c]), device)
        });
        Self { images, landmarks, labels, targets }
    }
}

/// What one step needs besides the model and the batch.
pub struct StepContext<'a> {
    /// The autodiff device.
    pub device: &'a Device,
    /// Seed of the device stream for this step.
    pub step_seed: u64,
    /// Trust t.
    pub trust: f32,
    /// Learning rate.
    pub lr: f64,
    /// Class weights `(C)`.
    pub class_weights: Option<Tensor<1>>,
    /// Loss settings.
    pub loss: &'a LossConfig,
    /// SAM radius, when SAM is on.
    pub sam_rho: Option<f64>,
}

/// Figures of one step, read back from the device once.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StepStats {
    /// Total loss.
    pub total: f32,
    /// Classification loss.
    pub cls: f32,
    /// Anchor loss.
    pub anchor: f32,
    /// Center loss.
    pub center: f32,
    /// Samples whose argmax p equals the label.
    pub correct: usize,
}

/// Runs one step and returns the updated model.
pub fn train_step(
    model: Grefel,
    optim: &mut impl ModuleStep,
    batch: &BatchTensors,
    ctx: &StepContext<'_>,
) -> Result<(Grefel, StepStats), TrainError> {
    let draws = model.config.draws_in_training();
    let forward = |m: &Grefel| -> Result<_, TrainError> {
        let run = || m.forward(batch.images.clone(), batch.landmarks.clone(), ctx.trust);
        Ok(if draws { with_seed(ctx.device, ctx.step_seed, run)? } else { run()? })
    };
    let losses = |out: &GrefelOutput| {
        loss_with_targets(
            out,
            batch.labels.clone(),
            batch.targets.clone(),
            ctx.class_weights.clone(),
            ctx.loss,
        )
    };
    let out = forward(&model)?;
    let parts = losses(&out)?;
    let figures: Vec<f32> = Tensor::cat(vec![parts.total.clone(), parts.cls, parts.anchor, parts.center], 0)
        .detach()
        .into_data()
        .iter()
        .collect();
    let [total, cls, anchor, center] = figures[..] else {
        return Err(TrainError::Loader("loss terms did not come back as four values".into()));
    };
    let predicted: Vec<i64> = out.p.clone().detach().argmax(1).into_data().iter::<i64>().collect();
    let labels: Vec<i64> = batch.labels.to_data().iter::<i64>().collect();
    let correct = predicted.iter().zip(&labels).filter(|(a, b)| a == b).count();
    let stats = StepStats { total, cls, anchor, center, correct };
    if !total.is_finite() {
        return Ok((model, stats));
    }
    let grads = GradientsParams::from_grads(parts.total.backward(), &model);
    let grads = match ctx.sam_rho {
        None => grads,
        Some(rho) => {
            let ascent = sam::perturb(model.clone(), &grads, rho);
            let parts = losses(&forward(&ascent)?)?;
            GradientsParams::from_grads(parts.total.backward(), &ascent)
        }
    };
    Ok((optim.step_module(ctx.lr, model, grads)?, stats))
}
