//! Switches after the ViT: the linear reduction, the MLP head, reliability balancing and the
//! losses (docs/method.md §2.6–§2.8, §3, §7). `Default`s follow the last column of docs/method.md §7.

use serde::{Deserialize, Serialize};

/// The linear reduction layer between the ViT embedding and the heads (docs/method.md §2.6, §7 #1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reduction {
    /// `Linear(vit.dim → dim)`, no activation (the paper's figure: 768 → 128).
    Linear {
        /// The embedding size D after the reduction.
        dim: usize,
    },
    /// No reduction: D = `vit.dim` (the ARBEx code).
    None,
}

/// The MLP head producing the primary distribution (docs/method.md §2.7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadConfig {
    /// Hidden widths (384, 192, 96); each is Linear → ReLU → [BatchNorm1d] → Dropout.
    pub hidden: Vec<usize>,
    /// BatchNorm1d after each hidden ReLU (true).
    pub batch_norm: bool,
    /// Dropout after each hidden layer (0.5).
    pub dropout: f64,
    /// Softmax temperature T of the primary distribution (1.0).
    pub temperature: f64,
}

impl Default for HeadConfig {
    fn default() -> Self {
        Self { hidden: vec![384, 192, 96], batch_norm: true, dropout: 0.5, temperature: 1.0 }
    }
}

/// Initial value of the anchors (docs/method.md §7 #3).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnchorInit {
    /// All zeros (ARBEx); the anchor loss has zero gradient there.
    Zeros,
    /// Normal(0, std).
    Normal {
        /// Standard deviation.
        std: f64,
    },
}

/// How anchor distances become the anchor distribution m (docs/method.md §2.8, §7 #5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnchorAggregation {
    /// Softmax of −d/δ jointly over all C·K anchors, then summed over K (ARBEx).
    JointSoftmaxSum,
    /// Softmax over C of −min_k d/δ (nearest anchor per class).
    NearestPerClass,
}

/// What the attention path attends over (docs/method.md §2.8, §7 #6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttentionMode {
    /// ARBEx/PyTorch quirk: the (B, C) projections form one sequence of length B, so every
    /// sample attends to every sample of the mini-batch (predictions are batch-dependent).
    BatchMixing,
    /// Each sample attends only to itself (sequence of length 1 per sample).
    PerSample,
}

/// Which correction paths feed r (ablations; docs/method.md §5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CorrectionPaths {
    /// Confidence-weighted average of the anchor and attention paths (ARBEx, the paper figure).
    Both,
    /// Anchor path only (r = m).
    AnchorOnly,
    /// Attention path only (r = α).
    AttentionOnly,
}

/// Which distribution [`crate::GrefelOutput::prediction`] reads at evaluation (docs/method.md §7 #11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvalOutput {
    /// The primary MLP distribution p (ARBEx default `--test-set-correction False`).
    Primary,
    /// The corrected distribution ŷ (the paper figure).
    Corrected,
    /// ARBEx's `--test-set-correction True` rule: (1−t)p + t(κ(p)p + (1−κ(p))κ(p)m).
    AnchorOnly,
}

/// Reliability balancing (docs/method.md §2.8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReliabilityConfig {
    /// Anchors per class K (10).
    pub anchors_per_class: usize,
    /// Anchor initialisation (zeros).
    pub anchor_init: AnchorInit,
    /// Similarity temperature δ (1.0).
    pub delta: f64,
    /// Anchor distance aggregation.
    pub aggregation: AnchorAggregation,
    /// Attention path mode.
    pub attention: AttentionMode,
    /// Which paths form the correction r.
    pub paths: CorrectionPaths,
    /// Probabilities are clamped to at least this before `log` in the entropies (1e-9).
    pub entropy_floor: f64,
    /// Detach the confidences κ from the graph (ARBEx: false, gradients flow).
    pub detach_confidence: bool,
    /// Evaluation output.
    pub eval_output: EvalOutput,
}

impl Default for ReliabilityConfig {
    fn default() -> Self {
        Self {
            anchors_per_class: 10,
            anchor_init: AnchorInit::Zeros,
            delta: 1.0,
            aggregation: AnchorAggregation::JointSoftmaxSum,
            attention: AttentionMode::BatchMixing,
            paths: CorrectionPaths::Both,
            entropy_floor: 1e-9,
            detach_confidence: false,
            eval_output: EvalOutput::Primary,
        }
    }
}

/// The form of the anchor loss (docs/method.md §3.2, §7 #15).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnchorLoss {
    /// ARBEx: `−Σ_{c,c'} ‖a_c − a_{c'}‖² / (√D·K²)` over same-index anchors of different
    /// classes; unbounded below, so the anchors drift apart for as long as training runs.
    Unbounded,
    /// A hinge with the same pairs: the mean over ordered class pairs and anchor indices of
    /// `max(0, margin − ‖a_{c,k} − a_{c',k}‖² / D)`; the anchors are pushed apart until their
    /// mean squared per-dimension distance reaches `margin`, then left alone (bounded below
    /// by 0). The "large margins between anchors" of the paper without the divergence.
    Margin {
        /// Target mean squared per-dimension distance between anchors of different classes.
        margin: f64,
    },
}

/// Loss weights and label smoothing (docs/method.md §3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LossConfig {
    /// λ of the classification loss (1.0).
    pub lambda_cls: f64,
    /// λ of an extra classification loss on the primary distribution p (0.0: ARBEx, the loss
    /// sees only the corrected ŷ). With the loss on ŷ alone and the trust ramp, the correction
    /// paths learn the class prior and p gets almost no gradient: small networks trained for a
    /// few epochs never leave the prior (see docs/synthetic-experiments.md).
    #[serde(default)]
    pub lambda_primary: f64,
    /// λ of the anchor loss (1.0).
    pub lambda_anchor: f64,
    /// Form of the anchor loss (ARBEx's unbounded one).
    pub anchor_loss: AnchorLoss,
    /// λ of the center loss (1.0).
    pub lambda_center: f64,
    /// Label smoothing ε on the classification target: (1−ε)·one-hot + ε/C (0.0; the sweep
    /// sets it, 0.11 per [T]).
    pub label_smoothing: f64,
    /// Scale the anchor and center losses by the trust t (ARBEx: true).
    pub aux_scaled_by_trust: bool,
}

impl Default for LossConfig {
    fn default() -> Self {
        Self {
            lambda_cls: 1.0,
            lambda_primary: 0.0,
            lambda_anchor: 1.0,
            anchor_loss: AnchorLoss::Unbounded,
            lambda_center: 1.0,
            label_smoothing: 0.0,
            aux_scaled_by_trust: true,
        }
    }
}
