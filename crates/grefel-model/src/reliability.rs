//! Reliability balancing (docs/method.md §2.8): anchors, the attention path, the confidences κ and the
//! confidence-weighted mix into the corrected distribution ŷ.

use burn::module::{Module, Param};
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor};

use crate::config::{AnchorAggregation, AnchorInit, AttentionMode, CorrectionPaths, ReliabilityConfig};
use crate::fused::Fused;
use crate::layers::{linear_uniform, linear_zero_bias};

/// Added under the square root of the anchor distances so that the gradient stays finite when
/// an embedding coincides with an anchor (the reference code has no guard).
pub const DISTANCE_EPS: f64 = 1e-12;

/// Added to both confidences of the correction weights, so that two uniform paths (κ = 0 for
/// both; 0/0 in the reference code) average equally instead of producing NaN.
pub const WEIGHT_EPS: f64 = 1e-9;

/// Normalised-entropy confidence of each row of `q` `(B, C)`: `1 − H(q)/log C`, with
/// `H = −Σ q·log max(q, floor)`, clamped to `[0, 1]`. Returns `(B)`.
pub fn confidence(q: Tensor<2>, floor: f64) -> Tensor<1> {
    let c = q.dims()[1];
    let entropy = (q.clone() * q.clamp_min(floor).log()).sum_dim(1).neg();
    let k = entropy.div_scalar((c as f64).ln()).neg().add_scalar(1.0).clamp(0.0, 1.0);
    let b = k.dims()[0];
    k.reshape([b])
}

/// Initial anchors `(C, K, D)`.
pub fn init_anchors(init: AnchorInit, shape: [usize; 3], device: &Device) -> Param<Tensor<3>> {
    match init {
        AnchorInit::Zeros => Initializer::Zeros.init(shape, device),
        AnchorInit::Normal { std } => Initializer::Normal { mean: 0.0, std }.init(shape, device),
    }
}

/// Euclidean distances `(B, C, K)` between embeddings `(B, D)` and anchors `(C, K, D)`.
pub fn anchor_distances(e: Tensor<2>, anchors: Tensor<3>) -> Tensor<3> {
    let [b, d] = e.dims();
    let [c, k, _] = anchors.dims();
    let diff = e.reshape([b, 1, 1, d]) - anchors.reshape([1, c, k, d]);
    diff.powi_scalar(2).sum_dim(3).add_scalar(DISTANCE_EPS).sqrt().reshape([b, c, k])
}

/// The anchor distribution m `(B, C)` from distances `(B, C, K)`.
pub fn anchor_distribution(d: Tensor<3>, delta: f64, aggregation: AnchorAggregation) -> Tensor<2> {
    let [b, c, k] = d.dims();
    let logits = d.div_scalar(delta).neg();
    match aggregation {
        AnchorAggregation::JointSoftmaxSum => {
            softmax(logits.reshape([b, c * k]), 1).reshape([b, c, k]).sum_dim(2).reshape([b, c])
        }
        AnchorAggregation::NearestPerClass => softmax(logits.max_dim(2).reshape([b, c]), 1),
    }
}

/// The attention path: `Linear(D → C)` projections Q, K, V of the embedding, then a one-head
/// `nn.MultiheadAttention` of width C (its own in-projections and output projection), then a
/// softmax over classes.
#[derive(Module, Debug)]
pub struct AttentionPath {
    /// Q projection of the embedding.
    pub to_q: Linear,
    /// K projection of the embedding.
    pub to_k: Linear,
    /// V projection of the embedding.
    pub to_v: Linear,
    /// MHA query in-projection (`C → C`; a third of PyTorch's packed `in_proj`).
    pub in_q: Linear,
    /// MHA key in-projection.
    pub in_k: Linear,
    /// MHA value in-projection.
    pub in_v: Linear,
    /// MHA output projection.
    pub out: Linear,
    /// What each sample attends over.
    #[module(skip)]
    pub mode: AttentionMode,
}

impl AttentionPath {
    /// Builds the path for embedding width `d` and `c` classes. In-projections are
    /// Xavier-uniform over the packed `(3C, C)` matrix with zero bias, as PyTorch initialises
    /// them; the output projection has a zero bias.
    pub fn new(d: usize, c: usize, mode: AttentionMode, device: &Device) -> Self {
        let bound = (6.0 / (4 * c) as f64).sqrt();
        Self {
            to_q: LinearConfig::new(d, c).init(device),
            to_k: LinearConfig::new(d, c).init(device),
            to_v: LinearConfig::new(d, c).init(device),
            in_q: linear_uniform(c, c, bound, device),
            in_k: linear_uniform(c, c, bound, device),
            in_v: linear_uniform(c, c, bound, device),
            out: linear_zero_bias(c, c, device),
            mode,
        }
    }

    /// α `(B, C)` for embeddings `(B, D)`.
    pub fn forward(&self, e: Tensor<2>) -> Tensor<2> {
        let v = self.in_v.fused(self.to_v.fused(e.clone()));
        let mixed = match self.mode {
            AttentionMode::BatchMixing => {
                let q = self.in_q.fused(self.to_q.fused(e.clone()));
                let k = self.in_k.fused(self.to_k.fused(e));
                let c = q.dims()[1];
                let scores = q.mul_scalar((c as f64).powf(-0.5)).matmul(k.transpose());
                softmax(scores, 1).matmul(v)
            }
            // A length-1 sequence: the attention weight is exactly 1.
            AttentionMode::PerSample => v,
        };
        softmax(self.out.fused(mixed), 1)
    }
}

/// Everything the reliability mix produces.
#[derive(Debug, Clone)]
pub struct Mix {
    /// κ(p) `(B)`.
    pub kappa_p: Tensor<1>,
    /// κ(m) `(B)`.
    pub kappa_m: Tensor<1>,
    /// κ(α) `(B)`.
    pub kappa_alpha: Tensor<1>,
    /// The correction r `(B, C)`.
    pub r: Tensor<2>,
    /// The reliability mix q `(B, C)`.
    pub q: Tensor<2>,
    /// The corrected distribution ŷ `(B, C)`.
    pub y_hat: Tensor<2>,
}

fn col(x: Tensor<1>) -> Tensor<2> {
    x.unsqueeze_dim(1)
}

/// The reliability mix: `r = (κ(m)·m + κ(α)·α)/(κ(m) + κ(α))` (each κ plus
/// [`WEIGHT_EPS`]), `q = κ(p)·p + (1 − κ(p))·r`, `ŷ = (1 − t)·p + t·q`.
pub fn reliability_mix(
    p: Tensor<2>,
    m: Tensor<2>,
    alpha: Tensor<2>,
    trust: f32,
    cfg: &ReliabilityConfig,
) -> Mix {
    let conf = |x: &Tensor<2>| {
        let k = confidence(x.clone(), cfg.entropy_floor);
        if cfg.detach_confidence { k.detach() } else { k }
    };
    let (kappa_p, kappa_m, kappa_alpha) = (conf(&p), conf(&m), conf(&alpha));
    let r = match cfg.paths {
        CorrectionPaths::Both => {
            let wm = col(kappa_m.clone().add_scalar(WEIGHT_EPS));
            let wa = col(kappa_alpha.clone().add_scalar(WEIGHT_EPS));
            (m * wm.clone() + alpha * wa.clone()) / (wm + wa)
        }
        CorrectionPaths::AnchorOnly => m,
        CorrectionPaths::AttentionOnly => alpha,
    };
    let kp = col(kappa_p.clone());
    let q = p.clone() * kp.clone() + r.clone() * kp.neg().add_scalar(1.0);
    let t = f64::from(trust);
    let y_hat = p.mul_scalar(1.0 - t) + q.clone().mul_scalar(t);
    Mix { kappa_p, kappa_m, kappa_alpha, r, q, y_hat }
}

/// ARBEx's `--test-set-correction` rule (anchor path only, not renormalised):
/// `(1 − t)·p + t·(κ(p)·p + (1 − κ(p))·κ(p)·m)`.
pub fn anchor_only_correction(p: Tensor<2>, m: Tensor<2>, kappa_p: Tensor<1>, trust: f32) -> Tensor<2> {
    let kp = col(kappa_p);
    let q = p.clone() * kp.clone() + m * kp.clone() * kp.neg().add_scalar(1.0);
    let t = f64::from(trust);
    p.mul_scalar(1.0 - t) + q.mul_scalar(t)
}

/// The trust ramp `t = iter / total_iters`, clamped to `[0, 1]` (0 when `total_iters` is 0).
pub fn trust_ramp(iter: u64, total_iters: u64) -> f32 {
    if total_iters == 0 {
        return 0.0;
    }
    (iter as f64 / total_iters as f64).clamp(0.0, 1.0) as f32
}
