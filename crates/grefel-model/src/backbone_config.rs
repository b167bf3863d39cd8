//! Switches of the feature extractor: input downsampling, IR-50, the landmark branch, window
//! cross-attention and the ViT (docs/method.md §2.1–§2.5, §2.9). `Default`s are the paper values.

use serde::{Deserialize, Serialize};

/// How the 224 px input is brought to the backbones' internal resolution (docs/method.md §2.1, §7 #19).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Downsample {
    /// Nearest neighbour to half size (`interpolate(size=112)` in the reference code): every
    /// second pixel, source index 2i.
    Nearest,
    /// Bilinear to half size (not in the reference code; an alternative to test).
    Bilinear,
    /// Feed the input unchanged (the input is already at the internal resolution).
    None,
}

/// How an evaluation image (a stored face crop of any size) becomes the `image_size`² input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvalResize {
    /// grefel's own: bilinear at pixel centres straight to floating point (what training renders).
    #[default]
    Float,
    /// POSTER++'s test-time transform: `transforms.Resize((S, S))` on a PIL image (Pillow's
    /// antialiased `BILINEAR`, rounded to 8 bits), then `ToTensor` and the ImageNet
    /// normalisation; checkpoints trained by its authors' code expect exactly these inputs.
    Pillow,
}

impl EvalResize {
    /// Whether this is the default (left out of serialised configurations, so that run ids
    /// from before the field existed stay the same).
    pub fn is_default(&self) -> bool {
        *self == EvalResize::Float
    }
}

/// IR-50 truncated to three stages (docs/method.md §2.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ir50Config {
    /// Output channels of the three stages (64, 128, 256); the stem has `channels[0]`.
    pub channels: [usize; 3],
    /// Bottleneck units per stage (3, 4, 14).
    pub units: [usize; 3],
    /// Freeze the trunk (no gradients). ARBEx freezes it; POSTER++ trains it (docs/method.md §2.9, §7 #12).
    pub frozen: bool,
}

impl Default for Ir50Config {
    fn default() -> Self {
        Self { channels: [64, 128, 256], units: [3, 4, 14], frozen: true }
    }
}

/// Which network produces the landmark queries of the cross-attention (docs/method.md §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LandmarkBranch {
    /// The MobileFaceNet landmark-regressor trunk on the image (the paper; needs its weights to
    /// be meaningful).
    MobileFaceNet,
    /// Gaussian heatmaps of the precomputed landmarks, mapped to the query channels by small
    /// convolutions. The default here, since no landmark-network weights are available.
    Geometry,
}

/// MobileFaceNet trunk widths (docs/method.md §2.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MobileFaceNetConfig {
    /// Channels of out1, out2 and of the last 1×1 block (64, 128, 512). Expansion widths are
    /// derived as in the reference: 2·c1, 2·c2 and 4·c2 for the down-sampling units.
    pub channels: [usize; 3],
    /// Residual units after each down-sampling unit (4, 6, 2).
    pub residual_units: [usize; 3],
    /// Freeze the trunk (no gradients); both reference repos do (docs/method.md §2.9).
    pub frozen: bool,
}

impl Default for MobileFaceNetConfig {
    fn default() -> Self {
        Self { channels: [64, 128, 512], residual_units: [4, 6, 2], frozen: true }
    }
}

/// The geometry landmark branch: heatmaps of the given landmarks at each scale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeometryConfig {
    /// Landmarks per face (68, iBUG order).
    pub num_landmarks: usize,
    /// Gaussian standard deviation in pixels of each scale's map.
    pub sigma_px: f32,
}

impl Default for GeometryConfig {
    fn default() -> Self {
        Self { num_landmarks: 68, sigma_px: 1.0 }
    }
}

/// Landmark branch selection and its sub-configs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LandmarkConfig {
    /// Which branch builds the queries.
    pub branch: LandmarkBranch,
    /// MobileFaceNet trunk settings (used when `branch` is `mobile_face_net`).
    pub mobilefacenet: MobileFaceNetConfig,
    /// Geometry branch settings (used when `branch` is `geometry`).
    pub geometry: GeometryConfig,
}

impl Default for LandmarkConfig {
    fn default() -> Self {
        Self {
            branch: LandmarkBranch::Geometry,
            mobilefacenet: MobileFaceNetConfig::default(),
            geometry: GeometryConfig::default(),
        }
    }
}

/// How batch normalisation behaves inside frozen trunks (docs/method.md §2.9, §7 #13).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FrozenBatchNorm {
    /// Batch statistics and running-stat updates during training, as both reference repos do
    /// (they call `.train()` on the whole model).
    Train,
    /// Running statistics only (the layer is frozen entirely).
    Eval,
}

/// How the landmark map is split into attention heads for the queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueryLayout {
    /// Channels-last `(B, N, h, d)` permuted to `(B, h, N, d)`: contiguous channel groups per
    /// head (ARBEx, and POSTER_V2's `_to_query`, which permutes before it reshapes;
    /// docs/method.md §2.4).
    HeadSplit,
    /// A raw `reshape(B, h, N, d)` of the `(B, N, C)` token tensor, which mixes tokens and
    /// channels across heads (an ablation: no reference computes it).
    RawReshape,
}

/// Window cross-attention blocks, one per scale (docs/method.md §2.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrossAttentionConfig {
    /// Heads per scale (2, 4, 8).
    pub heads: [usize; 3],
    /// Window side per scale; `None` = the whole feature map (28, 14, 7 at 224 px).
    pub windows: Option<[usize; 3]>,
    /// Hidden width of the feed-forward as a multiple of the channels (4).
    pub mlp_ratio: usize,
    /// DropPath rates per scale (0, 0.125, 0.25).
    pub drop_path: [f64; 3],
    /// LayerScale initial value of γ1, γ2 (1e-5).
    pub layer_scale_init: f64,
    /// Query head layout.
    pub query_layout: QueryLayout,
}

impl Default for CrossAttentionConfig {
    fn default() -> Self {
        Self {
            heads: [2, 4, 8],
            windows: None,
            mlp_ratio: 4,
            drop_path: [0.0, 0.125, 0.25],
            layer_scale_init: 1e-5,
            query_layout: QueryLayout::HeadSplit,
        }
    }
}

/// The 2-block ViT fusing the three scales (docs/method.md §2.5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VitConfig {
    /// Token width (768).
    pub dim: usize,
    /// Transformer blocks (2).
    pub depth: usize,
    /// Self-attention heads (8).
    pub heads: usize,
    /// MLP hidden width as a multiple of `dim` (4).
    pub mlp_ratio: usize,
}

impl Default for VitConfig {
    fn default() -> Self {
        Self { dim: 768, depth: 2, heads: 8, mlp_ratio: 4 }
    }
}
