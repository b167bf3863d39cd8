//! The image branch: IR-50 truncated to three stages (docs/method.md §2.2).

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, BatchNormConfig, PRelu, PReluConfig};
use burn::tensor::{Device, Tensor, s};

use crate::config::Ir50Config;
use crate::fused::Fused;
use crate::layers::{ConvBn, conv};

/// One IR bottleneck unit: BN → Conv3×3 → PReLU → Conv3×3(stride) → BN, plus a shortcut that
/// is a strided subsample (`MaxPool(k=1, stride)`) when the widths match, else Conv1×1 → BN.
/// No activation after the sum.
#[derive(Module, Debug)]
pub struct Bottleneck {
    /// Batch norm on the input.
    pub bn_in: BatchNorm,
    /// First 3×3 convolution (`in → out`, stride 1).
    pub conv1: Conv2d,
    /// PReLU between the convolutions.
    pub act: PRelu,
    /// Second 3×3 convolution (`out → out`, the unit's stride).
    pub conv2: Conv2d,
    /// Batch norm on the residual branch output.
    pub bn_out: BatchNorm,
    /// Projection shortcut when the widths differ.
    pub shortcut: Option<ConvBn>,
    /// The unit's stride (1 or 2).
    pub stride: usize,
}

impl Bottleneck {
    fn new(c_in: usize, c_out: usize, stride: usize, device: &Device) -> Self {
        Self {
            bn_in: BatchNormConfig::new(c_in).init(device),
            conv1: conv(c_in, c_out, 3, 1, 1, false).init(device),
            act: PReluConfig::new().with_num_parameters(c_out).init(device),
            conv2: conv(c_out, c_out, 3, stride, 1, false).init(device),
            bn_out: BatchNormConfig::new(c_out).init(device),
            shortcut: (c_in != c_out).then(|| ConvBn::new(c_in, c_out, 1, stride, 1, false, device)),
            stride,
        }
    }

    /// Applies the unit to `(B, C_in, H, W)`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let shortcut = match &self.shortcut {
            Some(proj) => proj.forward(x.clone()),
            None if self.stride > 1 => {
                let st = self.stride as isize;
                x.clone().slice(s![.., .., 0..;st, 0..;st])
            }
            None => x.clone(),
        };
        let r = self.act.fused(self.conv1.fused(self.bn_in.forward(x)));
        let r = self.bn_out.forward(self.conv2.fused(r));
        r + shortcut
    }
}

/// The stem and the first three IR-50 stages. On a 112² input the stages give
/// 64×56², 128×28² and 256×14².
#[derive(Module, Debug)]
pub struct Ir50 {
    /// Conv3×3(3 → c1) → BN → PReLU.
    pub stem: ConvBn,
    /// Stage 1 units.
    pub stage1: Vec<Bottleneck>,
    /// Stage 2 units.
    pub stage2: Vec<Bottleneck>,
    /// Stage 3 units.
    pub stage3: Vec<Bottleneck>,
}

fn stage(c_in: usize, c_out: usize, units: usize, device: &Device) -> Vec<Bottleneck> {
    (0..units)
        .map(|i| {
            if i == 0 {
                Bottleneck::new(c_in, c_out, 2, device)
            } else {
                Bottleneck::new(c_out, c_out, 1, device)
            }
        })
        .collect()
}

impl Ir50 {
    /// Builds the trunk (random init; pretrained `ir50.pth` weights are imported elsewhere).
    pub fn new(cfg: &Ir50Config, device: &Device) -> Self {
        let [c1, c2, c3] = cfg.channels;
        Self {
            stem: ConvBn::new(3, c1, 3, 1, 1, true, device),
            stage1: stage(c1, c1, cfg.units[0], device),
            stage2: stage(c1, c2, cfg.units[1], device),
            stage3: stage(c2, c3, cfg.units[2], device),
        }
    }

    /// The three stage outputs for a `(B, 3, S, S)` input: `S/2`, `S/4`, `S/8` sides.
    pub fn forward(&self, x: Tensor<4>) -> [Tensor<4>; 3] {
        let run = |units: &[Bottleneck], x: Tensor<4>| units.iter().fold(x, |x, u| u.forward(x));
        let x = self.stem.forward(x);
        let f1 = run(&self.stage1, x);
        let f2 = run(&self.stage2, f1.clone());
        let f3 = run(&self.stage3, f2.clone());
        [f1, f2, f3]
    }
}
