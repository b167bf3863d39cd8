//! Small building blocks shared by the backbones: convolution + batch norm (+ PReLU), DropPath,
//! and initialisers the burn defaults do not cover.

use crate::fused::Fused;
use burn::module::{Flag, Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Initializer, Linear, PRelu, PReluConfig, PaddingConfig2d};
use burn::tensor::{Device, Distribution, Tensor};

/// A `k×k` convolution config with "same"-style symmetric padding `k/2`.
pub(crate) fn conv(
    c_in: usize,
    c_out: usize,
    kernel: usize,
    stride: usize,
    groups: usize,
    bias: bool,
) -> Conv2dConfig {
    let pad = kernel / 2;
    Conv2dConfig::new([c_in, c_out], [kernel, kernel])
        .with_stride([stride, stride])
        .with_groups(groups)
        .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
        .with_bias(bias)
}

/// Conv (no bias) → BatchNorm → optional PReLU: MobileFaceNet's `ConvBlock` (with PReLU) and
/// `LinearBlock` (without), and IR-50's projection shortcut (without).
#[derive(Module, Debug)]
pub struct ConvBn {
    /// The convolution.
    pub conv: Conv2d,
    /// Its batch norm.
    pub bn: BatchNorm,
    /// Per-channel PReLU, absent for a linear block.
    pub act: Option<PRelu>,
}

impl ConvBn {
    /// A block `c_in → c_out` with the given kernel, stride and groups.
    pub(crate) fn new(
        c_in: usize,
        c_out: usize,
        kernel: usize,
        stride: usize,
        groups: usize,
        prelu: bool,
        device: &Device,
    ) -> Self {
        Self {
            conv: conv(c_in, c_out, kernel, stride, groups, false).init(device),
            bn: BatchNormConfig::new(c_out).init(device),
            act: prelu.then(|| PReluConfig::new().with_num_parameters(c_out).init(device)),
        }
    }

    /// Applies the block to `(B, C, H, W)`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let y = self.bn.forward(self.conv.fused(x));
        match &self.act {
            Some(act) => act.fused(y),
            None => y,
        }
    }
}

/// Layer norm over the last dimension, run by [`crate::fused::layer_norm`]. The fields are those of
/// burn's `LayerNorm` (whose epsilon is private), so checkpoints keep their layout.
#[derive(Module, Debug)]
pub struct LayerNorm {
    /// Scale, initialised to ones.
    pub gamma: Param<Tensor<1>>,
    /// Shift, initialised to zeros.
    pub beta: Option<Param<Tensor<1>>>,
    /// Added to the variance before the square root.
    pub epsilon: f64,
}

impl LayerNorm {
    /// A layer norm over `d` features with the given epsilon (scale 1, shift 0).
    pub fn new(d: usize, epsilon: f64, device: &Device) -> Self {
        Self {
            gamma: Initializer::Ones.init([d], device),
            beta: Some(Initializer::Zeros.init([d], device)),
            epsilon,
        }
    }

    /// Normalises `x` over its last dimension.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        self.fused(x)
    }
}

/// Stochastic depth: during training, zeroes whole samples of a residual branch with
/// probability `prob` and rescales the kept ones by `1/(1−prob)`. Identity at inference
/// (a plain device or a frozen module), like burn's own dropout.
#[derive(Module, Debug)]
pub struct DropPath {
    /// Drop probability.
    pub prob: f64,
    /// Training flag (cleared by `freeze`/`valid`).
    pub training: Param<Flag>,
}

impl DropPath {
    /// A DropPath with drop probability `prob`.
    pub fn new(prob: f64) -> Self {
        Self { prob, training: Param::from_bool(true) }
    }

    /// Applies the per-sample mask to a tensor whose first dimension is the batch.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        if self.prob == 0.0 || !self.training.is_enabled() || !x.device().is_autodiff() {
            return x;
        }
        let keep = 1.0 - self.prob;
        let mut shape = [1usize; D];
        shape[0] = x.dims()[0];
        let mask = Tensor::<D>::random(shape, Distribution::Bernoulli(keep), &x.device());
        x * mask.div_scalar(keep)
    }
}

/// A linear layer initialised as inside timm's ViT: weight Normal(0, `std`) (timm's
/// trunc-normal truncates at ±2 absolute, which never triggers at these stds), zero bias.
pub(crate) fn linear_normal(d_in: usize, d_out: usize, std: f64, device: &Device) -> Linear {
    Linear {
        weight: Initializer::Normal { mean: 0.0, std }.init([d_in, d_out], device),
        bias: Some(Initializer::Zeros.init([d_out], device)),
    }
}

/// A linear layer with PyTorch's default weight init (`U(±1/√fan_in)`, burn's default too) and
/// a zero bias, as `nn.MultiheadAttention`'s output projection.
pub(crate) fn linear_zero_bias(d_in: usize, d_out: usize, device: &Device) -> Linear {
    let bound = 1.0 / (d_in as f64).sqrt();
    Linear {
        weight: Initializer::Uniform { min: -bound, max: bound }.init([d_in, d_out], device),
        bias: Some(Initializer::Zeros.init([d_out], device)),
    }
}

/// A linear layer with weight `U(±bound)` and zero bias (one slice of a packed, Xavier-uniform
/// `in_proj` of `nn.MultiheadAttention`).
pub(crate) fn linear_uniform(d_in: usize, d_out: usize, bound: f64, device: &Device) -> Linear {
    Linear {
        weight: Initializer::Uniform { min: -bound, max: bound }.init([d_in, d_out], device),
        bias: Some(Initializer::Zeros.init([d_out], device)),
    }
}

/// A learnable tensor drawn from Normal(0, `std`) (positional embeddings, CLS token, the
/// relative-position bias tables).
pub(crate) fn normal_param<const D: usize>(shape: [usize; D], std: f64, device: &Device) -> Param<Tensor<D>> {
    Initializer::Normal { mean: 0.0, std }.init(shape, device)
}
