//! The MLP head producing the primary distribution p (docs/method.md §2.7).

use burn::module::Module;
use burn::nn::{BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use crate::config::HeadConfig;
use crate::fused::Fused;

/// One hidden layer: Linear → ReLU → BatchNorm1d (optional) → Dropout.
#[derive(Module, Debug)]
pub struct HiddenLayer {
    /// The linear map.
    pub linear: Linear,
    /// Batch norm after the ReLU.
    pub bn: Option<BatchNorm>,
    /// Dropout.
    pub dropout: Dropout,
}

/// The MLP head: hidden layers (384, 192, 96 by default) then `Linear(→ C)` logits.
#[derive(Module, Debug)]
pub struct MlpHead {
    /// Hidden layers.
    pub hidden: Vec<HiddenLayer>,
    /// The output layer.
    pub out: Linear,
}

impl MlpHead {
    /// Builds the head for input width `d` and `num_classes` outputs.
    pub fn new(cfg: &HeadConfig, d: usize, num_classes: usize, device: &Device) -> Self {
        let mut width = d;
        let mut hidden = Vec::with_capacity(cfg.hidden.len());
        for &h in &cfg.hidden {
            hidden.push(HiddenLayer {
                linear: LinearConfig::new(width, h).init(device),
                bn: cfg.batch_norm.then(|| BatchNormConfig::new(h).init(device)),
                dropout: DropoutConfig::new(cfg.dropout).init(),
            });
            width = h;
        }
        Self { hidden, out: LinearConfig::new(width, num_classes).init(device) }
    }

    /// Logits `(B, C)` for embeddings `(B, D)`.
    pub fn forward(&self, e: Tensor<2>) -> Tensor<2> {
        let x = self.hidden.iter().fold(e, |x, layer| {
            let y = relu(layer.linear.fused(x));
            let y = match &layer.bn {
                Some(bn) => bn.forward(y),
                None => y,
            };
            layer.dropout.forward(y)
        });
        self.out.fused(x)
    }
}
