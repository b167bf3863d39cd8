//! Named configurations: the paper network and small CPU variants of the same topology.

use crate::config::{
    AnchorLoss, CrossAttentionConfig, Downsample, EvalResize, FrozenBatchNorm, GeometryConfig, HeadConfig,
    Ir50Config, LandmarkBranch, LandmarkConfig, LossConfig, MobileFaceNetConfig, ModelConfig, Reduction,
    ReliabilityConfig, VitConfig,
};
use crate::error::ModelError;

/// Names accepted by [`ModelConfig::preset`], in the order `model-summary` lists them.
pub const PRESET_NAMES: [&str; 8] =
    ["paper", "paper-geometry", "arbex", "poster", "poster-8", "tiny", "tiny-mfn", "micro"];

impl ModelConfig {
    /// The paper network at 224 px with the exact shapes of docs/method.md §2 and §8: IR-50 (3 stages) and
    /// the MobileFaceNet landmark trunk, both frozen, D = 128 after the linear reduction,
    /// C = 8 and K = 10 (the counting of docs/method.md §2.10).
    pub fn paper() -> Self {
        Self {
            num_classes: 8,
            image_size: 224,
            downsample: Downsample::Nearest,
            ir50: Ir50Config::default(),
            landmark: LandmarkConfig {
                branch: LandmarkBranch::MobileFaceNet,
                mobilefacenet: MobileFaceNetConfig::default(),
                geometry: GeometryConfig::default(),
            },
            frozen_batch_norm: FrozenBatchNorm::Train,
            cross_attention: CrossAttentionConfig::default(),
            vit: VitConfig::default(),
            reduction: Reduction::Linear { dim: 128 },
            head: HeadConfig::default(),
            reliability: ReliabilityConfig::default(),
            loss: LossConfig::default(),
            eval_resize: EvalResize::Float,
        }
    }

    /// The paper network with the geometry landmark branch (the 224 px network that needs no
    /// pretrained landmark file; `paper` takes MobileFaceNet's through `init`).
    pub fn paper_geometry() -> Self {
        let mut cfg = Self::paper();
        cfg.landmark.branch = LandmarkBranch::Geometry;
        cfg
    }

    /// The ARBEx-code variant of [`ModelConfig::paper`]: no reduction (D = 768).
    pub fn arbex() -> Self {
        let mut cfg = Self::paper();
        cfg.reduction = Reduction::None;
        cfg
    }

    /// POSTER++ (POSTER_V2's `pyramid_trans_expr2`, 7 classes) as its authors' code computes it: the
    /// paper network's trunks, window cross-attention, token embeddings and ViT with its SE gate,
    /// then one linear layer from the 768-wide CLS vector to the classes (`VIT.head.linear`): no
    /// reduction, no hidden head layers. Its IR-50 trains (POSTER freezes only MobileFaceNet) and
    /// its loss is cross-entropy on the logits (anchor, center and corrected-output losses off);
    /// the primary distribution is softmax(logits). The anchors and the attention path still
    /// exist but do not touch the logits. Evaluation resizes as POSTER's test transform does
    /// ([`EvalResize::Pillow`]). docs/pretrained.md maps its weights to POSTER's keys.
    pub fn poster() -> Self {
        let mut cfg = Self::paper();
        cfg.num_classes = 7;
        cfg.ir50.frozen = false;
        cfg.reduction = Reduction::None;
        cfg.head = HeadConfig { hidden: Vec::new(), dropout: 0.0, ..HeadConfig::default() };
        cfg.loss = LossConfig {
            lambda_cls: 0.0,
            lambda_primary: 1.0,
            lambda_anchor: 0.0,
            lambda_center: 0.0,
            ..LossConfig::default()
        };
        cfg.eval_resize = EvalResize::Pillow;
        cfg
    }

    /// [`ModelConfig::poster`] with 8 classes (POSTER_V2's `PosterV2_8cls`, AffectNet-8).
    pub fn poster_8() -> Self {
        Self::poster().with_num_classes(8)
    }

    /// A small CPU variant with the same topology: 64 px input (32 px inside, maps 8/4/2,
    /// 12 tokens + CLS), narrow widths, no head dropout, geometry landmark branch. The IR-50 trunk is trainable:
    /// no pretrained weights exist at these widths, so freezing would freeze a random init.
    pub fn tiny() -> Self {
        Self {
            num_classes: 7,
            image_size: 64,
            downsample: Downsample::Nearest,
            ir50: Ir50Config { channels: [16, 32, 64], units: [1, 2, 2], frozen: false },
            landmark: LandmarkConfig {
                branch: LandmarkBranch::Geometry,
                mobilefacenet: MobileFaceNetConfig {
                    channels: [16, 32, 128],
                    residual_units: [1, 1, 1],
                    frozen: true,
                },
                geometry: GeometryConfig::default(),
            },
            frozen_batch_norm: FrozenBatchNorm::Train,
            cross_attention: CrossAttentionConfig { heads: [1, 2, 4], ..Default::default() },
            vit: VitConfig { dim: 96, depth: 2, heads: 4, mlp_ratio: 4 },
            reduction: Reduction::Linear { dim: 32 },
            // No head dropout: at widths 64/32/16 the paper's 0.5 (even 0.1) keeps the head from
            // fitting (tests/learning.rs: one batch is not fitted in 40 steps with it).
            head: HeadConfig { hidden: vec![64, 32, 16], dropout: 0.0, ..HeadConfig::default() },
            reliability: ReliabilityConfig::default(),
            // The bounded anchor loss: ARBEx's unbounded one drove the total loss of a 6-epoch CPU
            // run to −262 while the classification loss stayed at chance (anchors flying apart,
            // embeddings chasing them through the center loss).
            // And a classification loss on p as well as on ŷ: with ŷ alone, `micro` stayed at the
            // class prior for 6 epochs (in PyTorch too); with both it reaches 61 % in 3.
            loss: LossConfig {
                anchor_loss: AnchorLoss::Margin { margin: 1.0 },
                lambda_primary: 1.0,
                ..LossConfig::default()
            },
            eval_resize: EvalResize::Float,
        }
    }

    /// [`ModelConfig::tiny`] with the (narrow) MobileFaceNet trunk as landmark branch.
    pub fn tiny_mfn() -> Self {
        let mut cfg = Self::tiny();
        cfg.landmark.branch = LandmarkBranch::MobileFaceNet;
        cfg
    }

    /// The smallest variant, for CPU sweeps (many short runs): 32 px input used at full
    /// resolution (no internal downsampling; maps 16/8/4 → 8/4/2 like [`ModelConfig::tiny`]),
    /// half of tiny's widths, one unit per IR-50 stage, a 48-wide ViT, D = 16. About 2.3× the
    /// training throughput of tiny on the Flex CPU backend.
    pub fn micro() -> Self {
        let mut cfg = Self::tiny();
        cfg.image_size = 32;
        cfg.downsample = Downsample::None;
        cfg.ir50 = Ir50Config { channels: [8, 16, 32], units: [1, 1, 1], frozen: false };
        cfg.cross_attention.heads = [1, 1, 2];
        cfg.vit = VitConfig { dim: 48, depth: 2, heads: 2, mlp_ratio: 4 };
        cfg.reduction = Reduction::Linear { dim: 16 };
        // No hidden layers in the head (the classifier and the anchors act on the D = 16
        // embedding directly). Measured with the PyTorch mirror (bench/torch_train_probe.py,
        // synthetic gain 3, one epoch, batch 16, Adam 1e-3): val 20.8 % (below the 40 % prior)
        // with the 32/16 MLP and its batch norm, 78.9 % without it; in grefel, the prior and
        // 49 %.
        cfg.head = HeadConfig { hidden: Vec::new(), dropout: 0.0, ..HeadConfig::default() };
        // No DropPath: runs of one to a few epochs need no regularisation, and a forward pass that
        // draws nothing needs no process-wide seeding lock (sweep workers run in parallel).
        cfg.cross_attention.drop_path = [0.0; 3];
        cfg
    }

    /// The preset called `name` (see [`PRESET_NAMES`]).
    pub fn preset(name: &str) -> Result<Self, ModelError> {
        match name {
            "paper" => Ok(Self::paper()),
            "paper-geometry" => Ok(Self::paper_geometry()),
            "arbex" => Ok(Self::arbex()),
            "poster" => Ok(Self::poster()),
            "poster-8" => Ok(Self::poster_8()),
            "tiny" => Ok(Self::tiny()),
            "tiny-mfn" => Ok(Self::tiny_mfn()),
            "micro" => Ok(Self::micro()),
            other => {
                Err(ModelError::UnknownPreset { name: other.to_string(), known: PRESET_NAMES.join(", ") })
            }
        }
    }

    /// The same configuration for `num_classes` classes (datasets have 7 or 8).
    pub fn with_num_classes(mut self, num_classes: usize) -> Self {
        self.num_classes = num_classes;
        self
    }
}
