//! [`ModelConfig`]: every architectural switch of the GReFEL network, validated once.
//!
//! Defaults follow the last column of docs/method.md §7; the ARBEx-code behaviour of every
//! ambiguity stays selectable. The sub-configs live in [`crate::backbone_config`] and
//! [`crate::head_config`] and are re-exported here.

use serde::{Deserialize, Serialize};

pub use crate::backbone_config::*;
use crate::error::ModelError;
pub use crate::head_config::*;

/// Every switch of the GReFEL network and its losses. Build one from a preset
/// ([`ModelConfig::preset`]) or JSON, then [`ModelConfig::validate`] (done by
/// [`crate::Grefel::new`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Number of classes C.
    pub num_classes: usize,
    /// Input image side in pixels (224 for the paper).
    pub image_size: usize,
    /// How the input is brought to the backbones' internal resolution (half the input).
    pub downsample: Downsample,
    /// Image branch.
    pub ir50: Ir50Config,
    /// Landmark branch.
    pub landmark: LandmarkConfig,
    /// Batch norm inside frozen trunks.
    pub frozen_batch_norm: FrozenBatchNorm,
    /// Window cross-attention.
    pub cross_attention: CrossAttentionConfig,
    /// ViT fusion.
    pub vit: VitConfig,
    /// Linear reduction to D.
    pub reduction: Reduction,
    /// MLP head.
    pub head: HeadConfig,
    /// Reliability balancing.
    pub reliability: ReliabilityConfig,
    /// Losses.
    pub loss: LossConfig,
    /// How evaluation and prediction resize a face crop to the input.
    #[serde(default, skip_serializing_if = "EvalResize::is_default")]
    pub eval_resize: EvalResize,
}

/// Spatial sizes derived from a [`ModelConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Side of the backbones' input (112 at 224 px).
    pub internal: usize,
    /// Sides of the IR-50 stage outputs (56, 28, 14).
    pub stages: [usize; 3],
    /// Sides of the cross-attention maps (28, 14, 7).
    pub scales: [usize; 3],
    /// Window sides (28, 14, 7 by default).
    pub windows: [usize; 3],
    /// Side of the token grid per scale (7).
    pub token_side: usize,
    /// Tokens before the CLS token (147).
    pub num_tokens: usize,
}

fn invalid(msg: impl Into<String>) -> ModelError {
    ModelError::InvalidConfig(msg.into())
}

impl ModelConfig {
    /// Whether a training forward pass draws random numbers (head dropout or DropPath above 0);
    /// such passes run under [`crate::with_seed`].
    pub fn draws_in_training(&self) -> bool {
        self.head.dropout > 0.0 || self.cross_attention.drop_path.iter().any(|&p| p > 0.0)
    }

    /// The embedding size D seen by the anchors, the attention path and the MLP head.
    pub fn embedding_dim(&self) -> usize {
        match self.reduction {
            Reduction::Linear { dim } => dim,
            Reduction::None => self.vit.dim,
        }
    }

    /// Spatial sizes at every checkpoint. Errors where the input size does not divide evenly.
    pub fn geometry(&self) -> Result<Geometry, ModelError> {
        let internal = match self.downsample {
            Downsample::Nearest | Downsample::Bilinear => {
                if !self.image_size.is_multiple_of(2) {
                    return Err(invalid(format!("image_size {} must be even", self.image_size)));
                }
                self.image_size / 2
            }
            Downsample::None => self.image_size,
        };
        if internal == 0 || internal % 16 != 0 {
            return Err(invalid(format!(
                "the backbones' input side ({internal} px) must be a positive multiple of 16"
            )));
        }
        let stages = [internal / 2, internal / 4, internal / 8];
        let scales = [internal / 4, internal / 8, internal / 16];
        let windows = self.cross_attention.windows.unwrap_or(scales);
        for (i, (&w, &s)) in windows.iter().zip(&scales).enumerate() {
            if w == 0 || s % w != 0 {
                return Err(invalid(format!("window {w} of scale {i} does not divide the {s}² map")));
            }
        }
        let token_side = scales[2];
        Ok(Geometry {
            internal,
            stages,
            scales,
            windows,
            token_side,
            num_tokens: 3 * token_side * token_side,
        })
    }

    /// Checks every value once; [`crate::Grefel::new`] calls it.
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.num_classes < 2 {
            return Err(invalid("num_classes must be at least 2"));
        }
        self.geometry()?;
        let ir = &self.ir50;
        if ir.channels.contains(&0) || ir.units.contains(&0) {
            return Err(invalid("ir50 channels and units must be positive"));
        }
        let ca = &self.cross_attention;
        for (i, (&c, &h)) in ir.channels.iter().zip(&ca.heads).enumerate() {
            if h == 0 || c % h != 0 {
                return Err(invalid(format!("scale {i}: {c} channels not divisible by {h} heads")));
            }
        }
        if ca.mlp_ratio == 0 {
            return Err(invalid("cross_attention.mlp_ratio must be positive"));
        }
        if ca.drop_path.iter().any(|p| !(0.0..1.0).contains(p)) {
            return Err(invalid("drop_path rates must lie in [0, 1)"));
        }
        if !ca.layer_scale_init.is_finite() {
            return Err(invalid("layer_scale_init must be finite"));
        }
        let mfn = &self.landmark.mobilefacenet;
        if self.landmark.branch == LandmarkBranch::MobileFaceNet {
            if mfn.channels.contains(&0) {
                return Err(invalid("mobilefacenet channels must be positive"));
            }
            if mfn.channels[0] != ir.channels[0] || mfn.channels[1] != ir.channels[1] {
                return Err(invalid(format!(
                    "mobilefacenet out1/out2 channels {:?} must equal ir50 channels {:?}",
                    &mfn.channels[..2],
                    &ir.channels[..2]
                )));
            }
        }
        let geo = &self.landmark.geometry;
        if geo.num_landmarks == 0 || !(geo.sigma_px.is_finite() && geo.sigma_px > 0.0) {
            return Err(invalid("geometry needs num_landmarks > 0 and a positive sigma_px"));
        }
        let vit = &self.vit;
        if vit.dim == 0 || vit.depth == 0 || vit.heads == 0 || !vit.dim.is_multiple_of(vit.heads) {
            return Err(invalid("vit dim must be positive and divisible by its heads"));
        }
        if vit.mlp_ratio == 0 {
            return Err(invalid("vit.mlp_ratio must be positive"));
        }
        if self.embedding_dim() == 0 {
            return Err(invalid("the reduced embedding dim must be positive"));
        }
        let head = &self.head;
        if head.hidden.contains(&0) {
            return Err(invalid("head hidden widths must be positive"));
        }
        if !(0.0..1.0).contains(&head.dropout) {
            return Err(invalid("head dropout must lie in [0, 1)"));
        }
        if !(head.temperature.is_finite() && head.temperature > 0.0) {
            return Err(invalid("head temperature must be positive"));
        }
        let rel = &self.reliability;
        if rel.anchors_per_class == 0 {
            return Err(invalid("anchors_per_class must be positive"));
        }
        if !(rel.delta.is_finite() && rel.delta > 0.0) {
            return Err(invalid("delta must be positive"));
        }
        if !(rel.entropy_floor > 0.0 && rel.entropy_floor < 1.0) {
            return Err(invalid("entropy_floor must lie in (0, 1)"));
        }
        if let AnchorInit::Normal { std } = rel.anchor_init
            && !(std.is_finite() && std >= 0.0)
        {
            return Err(invalid("anchor init std must be finite and non-negative"));
        }
        let loss = &self.loss;
        if let AnchorLoss::Margin { margin } = loss.anchor_loss
            && !(margin.is_finite() && margin > 0.0)
        {
            return Err(invalid("anchor loss margin must be finite and positive"));
        }
        if !(0.0..1.0).contains(&loss.label_smoothing) {
            return Err(invalid("label_smoothing must lie in [0, 1)"));
        }
        for (name, v) in [
            ("lambda_cls", loss.lambda_cls),
            ("lambda_primary", loss.lambda_primary),
            ("lambda_anchor", loss.lambda_anchor),
            ("lambda_center", loss.lambda_center),
        ] {
            if !v.is_finite() {
                return Err(invalid(format!("{name} must be finite")));
            }
        }
        Ok(())
    }

    /// Parses a JSON configuration and validates it.
    pub fn from_json(text: &str) -> Result<Self, ModelError> {
        let cfg: Self = serde_json::from_str(text)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// The configuration as pretty JSON.
    pub fn to_json(&self) -> Result<String, ModelError> {
        Ok(serde_json::to_string_pretty(self)?)
    }
}
