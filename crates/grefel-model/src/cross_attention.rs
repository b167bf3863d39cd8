//! Window cross-attention with external (landmark) queries and a Swin-style relative-position
//! bias, followed by the LayerScale feed-forward (docs/method.md §2.4).

use burn::module::{Module, Param};
use burn::nn::{Gelu, Linear, LinearConfig};
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::config::QueryLayout;
use crate::fused::{self, Fused};
use crate::layers::{DropPath, LayerNorm, normal_param};

/// The Swin relative-position index of a `w × w` window, row-major over (query, key) pairs:
/// `(Δrow + w − 1)·(2w − 1) + (Δcol + w − 1)`.
pub fn relative_position_index(w: usize) -> Vec<i64> {
    let n = w * w;
    let span = 2 * w as i64 - 1;
    let mut out = Vec::with_capacity(n * n);
    for i in 0..n {
        let (ri, ci) = ((i / w) as i64, (i % w) as i64);
        for j in 0..n {
            let (rj, cj) = ((j / w) as i64, (j % w) as i64);
            out.push((ri - rj + w as i64 - 1) * span + (ci - cj + w as i64 - 1));
        }
    }
    out
}

/// `(B, H, W, C)` → `(B·nW, w², C)` windows, row-major over windows and pixels.
fn partition(x: Tensor<4>, w: usize) -> Tensor<3> {
    let [b, h, wd, c] = x.dims();
    x.reshape([b, h / w, w, wd / w, w, c]).permute([0, 1, 3, 2, 4, 5]).reshape([
        b * (h / w) * (wd / w),
        w * w,
        c,
    ])
}

/// Inverse of [`partition`].
fn merge(x: Tensor<3>, b: usize, h: usize, wd: usize, w: usize) -> Tensor<4> {
    let c = x.dims()[2];
    x.reshape([b, h / w, wd / w, w, w, c]).permute([0, 1, 3, 2, 4, 5]).reshape([b, h, wd, c])
}

/// One scale's cross-attention block. Keys and values come from the image map, the queries are
/// the landmark map itself (no learned query projection), scaled by `head_dim^-0.5`.
#[derive(Module, Debug)]
pub struct CrossAttentionBlock {
    /// LayerNorm of the image map (its output is also the residual shortcut).
    pub norm1: LayerNorm,
    /// `Linear(d → 2d)` producing keys and values.
    pub kv: Linear,
    /// Output projection `Linear(d → d)`.
    pub proj: Linear,
    /// Relative-position bias table `((2w−1)², heads)`.
    pub bias_table: Param<Tensor<2>>,
    /// Flattened relative-position index `(w⁴)`.
    pub bias_index: Tensor<1, Int>,
    /// LayerScale of the attention branch (init 1e-5).
    pub gamma1: Param<Tensor<1>>,
    /// LayerScale of the MLP branch.
    pub gamma2: Param<Tensor<1>>,
    /// LayerNorm before the MLP.
    pub norm2: LayerNorm,
    /// MLP `d → r·d`.
    pub fc1: Linear,
    /// MLP `r·d → d`.
    pub fc2: Linear,
    /// Exact (erf) GELU.
    pub gelu: Gelu,
    /// Stochastic depth on both residual branches.
    pub drop_path: DropPath,
    /// Attention heads.
    pub heads: usize,
    /// Window side.
    pub window: usize,
    /// Query head layout.
    #[module(skip)]
    pub query_layout: QueryLayout,
}

/// Construction parameters of a [`CrossAttentionBlock`].
#[derive(Debug, Clone, Copy)]
pub struct CrossAttentionSpec {
    /// Channels d.
    pub dim: usize,
    /// Heads.
    pub heads: usize,
    /// Window side.
    pub window: usize,
    /// MLP ratio.
    pub mlp_ratio: usize,
    /// DropPath rate.
    pub drop_path: f64,
    /// LayerScale init.
    pub layer_scale_init: f64,
    /// Query head layout.
    pub query_layout: QueryLayout,
}

impl CrossAttentionBlock {
    /// Builds a block (PyTorch-default Linear init, bias table Normal(0, 0.02)).
    pub fn new(spec: CrossAttentionSpec, device: &Device) -> Self {
        let d = spec.dim;
        let w = spec.window;
        let span = 2 * w - 1;
        let n = w * w;
        let index = relative_position_index(w);
        let gamma = || Param::from_tensor(Tensor::<1>::full([d], spec.layer_scale_init, device));
        Self {
            norm1: LayerNorm::new(d, 1e-5, device),
            kv: LinearConfig::new(d, 2 * d).init(device),
            proj: LinearConfig::new(d, d).init(device),
            bias_table: normal_param([span * span, spec.heads], 0.02, device),
            bias_index: Tensor::<1, Int>::from_data(TensorData::new(index, [n * n]), device),
            gamma1: gamma(),
            gamma2: gamma(),
            norm2: LayerNorm::new(d, 1e-5, device),
            fc1: LinearConfig::new(d, spec.mlp_ratio * d).init(device),
            fc2: LinearConfig::new(spec.mlp_ratio * d, d).init(device),
            gelu: Gelu::new(),
            drop_path: DropPath::new(spec.drop_path),
            heads: spec.heads,
            window: w,
            query_layout: spec.query_layout,
        }
    }

    /// Cross-attends the image map `x` with the landmark map `q` (both `(B, d, H, W)`) and
    /// returns `(B, d, H, W)`.
    pub fn forward(&self, x: Tensor<4>, q: Tensor<4>) -> Tensor<4> {
        let [b, d, h, wd] = x.dims();
        let (w, nh) = (self.window, self.heads);
        let (n, hd) = (w * w, d / nh);
        let shortcut = self.norm1.forward(x.permute([0, 2, 3, 1])); // (B, H, W, d)
        let tokens = partition(shortcut.clone(), w); // (B', N, d)
        let bw = tokens.dims()[0];

        let kv = self.kv.fused(tokens).reshape([bw, n, 2, nh, hd]).permute([2, 0, 3, 1, 4]); // (2, B', h, N, hd)
        let k = kv.clone().narrow(0, 0, 1).reshape([bw, nh, n, hd]);
        let v = kv.narrow(0, 1, 1).reshape([bw, nh, n, hd]);

        let q_tokens = partition(q.permute([0, 2, 3, 1]), w); // (B', N, d)
        let q = match self.query_layout {
            QueryLayout::HeadSplit => q_tokens.reshape([bw, n, nh, hd]).swap_dims(1, 2),
            QueryLayout::RawReshape => q_tokens.reshape([bw, nh, n, hd]),
        };

        let bias = self
            .bias_table
            .val()
            .select(0, self.bias_index.clone())
            .reshape([n, n, nh])
            .permute([2, 0, 1])
            .unsqueeze::<4>(); // (1, h, N, N)
        let out = fused::attention(q, k, v, Some(bias), (hd as f64).powf(-0.5));
        let out = out.swap_dims(1, 2).reshape([bw, n, d]);
        let out = merge(self.proj.fused(out), b, h, wd, w); // (B, H, W, d)

        let g1 = self.gamma1.val().reshape([1, 1, 1, d]);
        let g2 = self.gamma2.val().reshape([1, 1, 1, d]);
        let y = shortcut + self.drop_path.forward(out * g1);
        let mlp = self.fc2.fused(self.gelu.forward(self.fc1.fused(self.norm2.forward(y.clone()))));
        let y = y + self.drop_path.forward(mlp * g2);
        y.permute([0, 3, 1, 2])
    }
}
