//! Parameter counting in PyTorch's sense: learnable tensors only (batch-norm running
//! statistics are buffers and are not counted), grouped by top-level block.

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;
use serde::Serialize;

use crate::config::LandmarkBranch;
use crate::model::Grefel;

/// Parameter counts of a [`Grefel`] network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParamCounts {
    /// All learnable parameters, frozen ones included.
    pub total: usize,
    /// Parameters that receive gradients (total minus the frozen trunks).
    pub trainable: usize,
    /// `(block, count)` per top-level block, in forward order.
    pub per_block: Vec<(String, usize)>,
}

#[derive(Default)]
struct Counter {
    path: Vec<String>,
    blocks: Vec<(String, usize)>,
}

impl ModuleVisitor for Counter {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let leaf = self.path.last().map(String::as_str).unwrap_or("");
        if leaf == "running_mean" || leaf == "running_var" {
            return;
        }
        let block = self.path.first().cloned().unwrap_or_default();
        let n = param.lazy_shape().num_elements();
        match self.blocks.iter_mut().find(|(name, _)| *name == block) {
            Some((_, count)) => *count += n,
            None => self.blocks.push((block, n)),
        }
    }
}

/// Counts the learnable parameters of `model`.
pub fn parameter_counts(model: &Grefel) -> ParamCounts {
    let mut counter = Counter::default();
    model.visit(&mut counter);
    let cfg = &model.config;
    let frozen = |block: &str| match block {
        "ir50" => cfg.ir50.frozen,
        "mobilefacenet" => {
            cfg.landmark.branch == LandmarkBranch::MobileFaceNet && cfg.landmark.mobilefacenet.frozen
        }
        _ => false,
    };
    let total = counter.blocks.iter().map(|(_, n)| n).sum();
    let trainable = counter.blocks.iter().filter(|(b, _)| !frozen(b)).map(|(_, n)| n).sum();
    ParamCounts { total, trainable, per_block: counter.blocks }
}

impl Grefel {
    /// `(total, trainable, per_block)` parameter counts (see [`parameter_counts`]).
    pub fn parameter_counts(&self) -> (usize, usize, Vec<(String, usize)>) {
        let c = parameter_counts(self);
        (c.total, c.trainable, c.per_block)
    }
}
