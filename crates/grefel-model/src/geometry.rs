//! The geometry landmark branch: the precomputed landmarks rendered as Gaussian heatmaps at
//! the three cross-attention scales, mapped to the query channels by small convolutions.
//! It replaces the MobileFaceNet trunk when no landmark-network weights are available.

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, BatchNormConfig, PRelu, PReluConfig};
use burn::tensor::{Device, Tensor, TensorData};

use crate::config::GeometryConfig;
use crate::fused::Fused;
use crate::layers::conv;

/// Heatmaps of `landmarks` `(B, L, 2)` — `(x, y)` normalised to `[0, 1]` of the model input,
/// x to the right, y down — on a `side × side` grid: `(B, L, side, side)`, each channel
/// `exp(−‖c − p‖² / 2σ²)` with pixel centres `c` and σ in pixels of that grid.
pub fn render_heatmaps(landmarks: Tensor<3>, side: usize, sigma_px: f32) -> Tensor<4> {
    let device = landmarks.device();
    let [b, l, _] = landmarks.dims();
    let scale = side as f32;
    let inv = -1.0 / (2.0 * sigma_px * sigma_px);
    let centres: Vec<f32> = (0..side).map(|i| i as f32 + 0.5).collect();
    let grid = Tensor::<1>::from_data(TensorData::new(centres, [side]), &device);
    let x = landmarks.clone().slice([0..b, 0..l, 0..1]).mul_scalar(scale); // (B, L, 1)
    let y = landmarks.slice([0..b, 0..l, 1..2]).mul_scalar(scale);
    let gx = grid.clone().reshape([1, 1, side]);
    let gy = grid.reshape([1, 1, side]);
    // Separable Gaussian: rows (y) times columns (x).
    let wx = (gx - x).powi_scalar(2).mul_scalar(inv).exp().reshape([b, l, 1, side]);
    let wy = (gy - y).powi_scalar(2).mul_scalar(inv).exp().reshape([b, l, side, 1]);
    wy * wx
}

/// One scale: Conv3×3(L → d, no bias) → BN → PReLU → Conv1×1(d → d).
#[derive(Module, Debug)]
pub struct GeometryScale {
    /// Heatmaps to features.
    pub conv1: Conv2d,
    /// Batch norm.
    pub bn: BatchNorm,
    /// Activation.
    pub act: PRelu,
    /// Channel mixing to the query width.
    pub conv2: Conv2d,
    /// Side of the heatmap grid.
    pub side: usize,
}

/// The three scales of the geometry branch.
#[derive(Module, Debug)]
pub struct GeometryBranch {
    /// One block per scale, finest first.
    pub scales: Vec<GeometryScale>,
    /// Gaussian σ in pixels of each map.
    pub sigma_px: f32,
    /// Landmarks per face.
    pub num_landmarks: usize,
}

impl GeometryBranch {
    /// Builds the branch for maps of the given sides and channel widths.
    pub fn new(cfg: &GeometryConfig, sides: [usize; 3], channels: [usize; 3], device: &Device) -> Self {
        let l = cfg.num_landmarks;
        let scales = sides
            .iter()
            .zip(channels)
            .map(|(&side, d)| GeometryScale {
                conv1: conv(l, d, 3, 1, 1, false).init(device),
                bn: BatchNormConfig::new(d).init(device),
                act: PReluConfig::new().with_num_parameters(d).init(device),
                conv2: conv(d, d, 1, 1, 1, true).init(device),
                side,
            })
            .collect();
        Self { scales, sigma_px: cfg.sigma_px, num_landmarks: l }
    }

    /// The three query maps `(B, d_s, side_s, side_s)` for landmarks `(B, L, 2)` in `[0, 1]`.
    pub fn forward(&self, landmarks: Tensor<3>) -> Vec<Tensor<4>> {
        self.scales
            .iter()
            .map(|s| {
                let h = render_heatmaps(landmarks.clone(), s.side, self.sigma_px);
                let y = s.act.fused(s.bn.forward(s.conv1.fused(h)));
                s.conv2.fused(y)
            })
            .collect()
    }
}
