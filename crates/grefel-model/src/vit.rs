//! Multi-level feature integration: the 3-scale token embedding and the 2-block ViT with a CLS
//! token and an SE gate on the CLS output (docs/method.md §2.5).

use burn::module::{Module, Param};
use burn::nn::conv::Conv2d;
use burn::nn::{Gelu, Linear};
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::{Device, Tensor};

use crate::config::VitConfig;
use crate::fused::{self, Fused};
use crate::layers::{LayerNorm, conv, linear_normal, normal_param};

/// Turns the three cross-attention maps into `3·n²` tokens of width V: scale 1 by two stride-2
/// 3×3 convs, scale 2 by one, scale 3 by a 1×1 conv (all biased, PyTorch-default init).
#[derive(Module, Debug)]
pub struct TokenEmbedding {
    /// Scale 1, first conv (`c1 → V`, stride 2).
    pub s1a: Conv2d,
    /// Scale 1, second conv (`V → V`, stride 2).
    pub s1b: Conv2d,
    /// Scale 2 (`c2 → V`, stride 2).
    pub s2: Conv2d,
    /// Scale 3 (`c3 → V`, 1×1).
    pub s3: Conv2d,
}

fn flatten_tokens(x: Tensor<4>) -> Tensor<3> {
    let [b, c, h, w] = x.dims();
    x.reshape([b, c, h * w]).swap_dims(1, 2)
}

impl TokenEmbedding {
    /// Builds the embedding for map widths `channels` and token width `dim`.
    pub fn new(channels: [usize; 3], dim: usize, device: &Device) -> Self {
        Self {
            s1a: conv(channels[0], dim, 3, 2, 1, true).init(device),
            s1b: conv(dim, dim, 3, 2, 1, true).init(device),
            s2: conv(channels[1], dim, 3, 2, 1, true).init(device),
            s3: conv(channels[2], dim, 1, 1, 1, true).init(device),
        }
    }

    /// `(B, 3·n², V)` tokens in the order [scale 1, scale 2, scale 3].
    pub fn forward(&self, maps: [Tensor<4>; 3]) -> Tensor<3> {
        let [m1, m2, m3] = maps;
        let t1 = flatten_tokens(self.s1b.fused(self.s1a.fused(m1)));
        let t2 = flatten_tokens(self.s2.fused(m2));
        let t3 = flatten_tokens(self.s3.fused(m3));
        Tensor::cat(vec![t1, t2, t3], 1)
    }
}

/// A pre-norm transformer block: LN → MHSA → residual; LN → MLP(GELU) → residual.
#[derive(Module, Debug)]
pub struct VitBlock {
    /// LayerNorm before attention (eps 1e-6).
    pub norm1: LayerNorm,
    /// Packed `Linear(V → 3V)` for q, k, v (with bias).
    pub qkv: Linear,
    /// Output projection.
    pub proj: Linear,
    /// LayerNorm before the MLP.
    pub norm2: LayerNorm,
    /// MLP `V → r·V`.
    pub fc1: Linear,
    /// MLP `r·V → V`.
    pub fc2: Linear,
    /// Exact GELU.
    pub gelu: Gelu,
    /// Attention heads.
    pub heads: usize,
}

impl VitBlock {
    fn new(cfg: &VitConfig, device: &Device) -> Self {
        let v = cfg.dim;
        Self {
            norm1: LayerNorm::new(v, 1e-6, device),
            qkv: linear_normal(v, 3 * v, 0.01, device),
            proj: linear_normal(v, v, 0.01, device),
            norm2: LayerNorm::new(v, 1e-6, device),
            fc1: linear_normal(v, cfg.mlp_ratio * v, 0.01, device),
            fc2: linear_normal(cfg.mlp_ratio * v, v, 0.01, device),
            gelu: Gelu::new(),
            heads: cfg.heads,
        }
    }

    /// Applies the block to `(B, T, V)`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, t, v] = x.dims();
        let (nh, hd) = (self.heads, v / self.heads);
        let qkv =
            self.qkv.fused(self.norm1.forward(x.clone())).reshape([b, t, 3, nh, hd]).permute([2, 0, 3, 1, 4]); // (3, B, h, T, hd)
        let q = qkv.clone().narrow(0, 0, 1).reshape([b, nh, t, hd]);
        let k = qkv.clone().narrow(0, 1, 1).reshape([b, nh, t, hd]);
        let val = qkv.narrow(0, 2, 1).reshape([b, nh, t, hd]);
        let out = fused::attention(q, k, val, None, (hd as f64).powf(-0.5));
        let out = out.swap_dims(1, 2).reshape([b, t, v]);
        let x = x + self.proj.fused(out);
        let mlp = self.fc2.fused(self.gelu.forward(self.fc1.fused(self.norm2.forward(x.clone()))));
        x + mlp
    }
}

/// CLS token + positional embedding → blocks → LN → CLS → SE gate: the 768-d embedding.
/// Linear layers are initialised as timm's `_init_vit_weights` (Normal std 0.01, zero bias),
/// CLS and positions Normal(0, 0.02).
#[derive(Module, Debug)]
pub struct Vit {
    /// The CLS token `(1, 1, V)`.
    pub cls: Param<Tensor<3>>,
    /// Positional embedding `(1, T + 1, V)`.
    pub pos: Param<Tensor<3>>,
    /// Transformer blocks.
    pub blocks: Vec<VitBlock>,
    /// Final LayerNorm (eps 1e-6).
    pub norm: LayerNorm,
    /// SE squeeze `Linear(V → V)`.
    pub se1: Linear,
    /// SE excite `Linear(V → V)`.
    pub se2: Linear,
}

impl Vit {
    /// Builds the ViT for `num_tokens` input tokens (147 at 224 px).
    pub fn new(cfg: &VitConfig, num_tokens: usize, device: &Device) -> Self {
        let v = cfg.dim;
        Self {
            cls: normal_param([1, 1, v], 0.02, device),
            pos: normal_param([1, num_tokens + 1, v], 0.02, device),
            blocks: (0..cfg.depth).map(|_| VitBlock::new(cfg, device)).collect(),
            norm: LayerNorm::new(v, 1e-6, device),
            se1: linear_normal(v, v, 0.01, device),
            se2: linear_normal(v, v, 0.01, device),
        }
    }

    /// Prepends CLS and adds positions: `(B, T, V)` → `(B, T + 1, V)`.
    pub fn embed(&self, tokens: Tensor<3>) -> Tensor<3> {
        let [b, _, v] = tokens.dims();
        let cls = self.cls.val().expand([b, 1, v]);
        Tensor::cat(vec![cls, tokens], 1) + self.pos.val()
    }

    /// The gated CLS embedding `(B, V)` for prepared tokens `(B, T + 1, V)`.
    pub fn encode(&self, x: Tensor<3>) -> Tensor<2> {
        let x = self.blocks.iter().fold(x, |x, blk| blk.forward(x));
        let x = self.norm.forward(x);
        let [b, _, v] = x.dims();
        let cls = x.slice([0..b, 0..1, 0..v]).reshape([b, v]);
        let gate = sigmoid(self.se2.fused(relu(self.se1.fused(cls.clone()))));
        cls * gate
    }
}
