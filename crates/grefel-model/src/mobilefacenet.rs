//! The landmark branch of the paper: the MobileFaceNet 68-point regressor trunk (docs/method.md §2.3).
//! The GDC head (depthwise 7×7 + Linear 512→136) is not part of it: its output is discarded in
//! POSTER_V2 and ARBEx drops it.

use burn::module::Module;
use burn::tensor::{Device, Tensor};

use crate::config::MobileFaceNetConfig;
use crate::layers::ConvBn;

/// MobileFaceNet's `DepthWise` unit: 1×1 expansion (ConvBlock) → 3×3 depthwise (ConvBlock,
/// stride) → 1×1 projection (LinearBlock, no PReLU), with an optional residual add.
#[derive(Module, Debug)]
pub struct DepthWise {
    /// 1×1 `in → g` with PReLU.
    pub expand: ConvBn,
    /// 3×3 depthwise `g → g` with PReLU.
    pub depthwise: ConvBn,
    /// 1×1 `g → out`, linear.
    pub project: ConvBn,
    /// Adds the input to the output (stride 1, equal widths only).
    pub residual: bool,
}

impl DepthWise {
    fn new(c_in: usize, c_out: usize, g: usize, stride: usize, residual: bool, device: &Device) -> Self {
        Self {
            expand: ConvBn::new(c_in, g, 1, 1, 1, true, device),
            depthwise: ConvBn::new(g, g, 3, stride, g, true, device),
            project: ConvBn::new(g, c_out, 1, 1, 1, false, device),
            residual,
        }
    }

    /// Applies the unit.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let y = self.project.forward(self.depthwise.forward(self.expand.forward(x.clone())));
        if self.residual { y + x } else { y }
    }
}

/// The MobileFaceNet trunk. On a 112² input: out1 64×28², out2 128×14², out3 512×7².
#[derive(Module, Debug)]
pub struct MobileFaceNet {
    /// ConvBlock 3×3 stride 2 (`3 → c1`).
    pub conv1: ConvBn,
    /// ConvBlock 3×3 depthwise (`c1`, groups `c1`).
    pub conv2_dw: ConvBn,
    /// DepthWise `c1 → c1`, g = 2·c1, stride 2.
    pub down1: DepthWise,
    /// Residual DepthWise units at `c1` (4 in the paper network).
    pub res1: Vec<DepthWise>,
    /// DepthWise `c1 → c2`, g = 2·c2, stride 2.
    pub down2: DepthWise,
    /// Residual DepthWise units at `c2` (6).
    pub res2: Vec<DepthWise>,
    /// DepthWise `c2 → c2`, g = 4·c2, stride 2.
    pub down3: DepthWise,
    /// Residual DepthWise units at `c2`, g = 2·c2 (2).
    pub res3: Vec<DepthWise>,
    /// ConvBlock 1×1 `c2 → c3`.
    pub conv_sep: ConvBn,
}

impl MobileFaceNet {
    /// Builds the trunk (random init; the 136-output landmark weights are imported elsewhere).
    pub fn new(cfg: &MobileFaceNetConfig, device: &Device) -> Self {
        let [c1, c2, c3] = cfg.channels;
        let res = |c: usize, g: usize, n: usize| -> Vec<DepthWise> {
            (0..n).map(|_| DepthWise::new(c, c, g, 1, true, device)).collect()
        };
        Self {
            conv1: ConvBn::new(3, c1, 3, 2, 1, true, device),
            conv2_dw: ConvBn::new(c1, c1, 3, 1, c1, true, device),
            down1: DepthWise::new(c1, c1, 2 * c1, 2, false, device),
            res1: res(c1, 2 * c1, cfg.residual_units[0]),
            down2: DepthWise::new(c1, c2, 2 * c2, 2, false, device),
            res2: res(c2, 2 * c2, cfg.residual_units[1]),
            down3: DepthWise::new(c2, c2, 4 * c2, 2, false, device),
            res3: res(c2, 2 * c2, cfg.residual_units[2]),
            conv_sep: ConvBn::new(c2, c3, 1, 1, 1, true, device),
        }
    }

    /// The three feature maps `(out1, out2, out3)` at sides `S/4`, `S/8`, `S/16`.
    pub fn forward(&self, x: Tensor<4>) -> [Tensor<4>; 3] {
        let run = |units: &[DepthWise], x: Tensor<4>| units.iter().fold(x, |x, u| u.forward(x));
        let x = self.conv2_dw.forward(self.conv1.forward(x));
        let out1 = run(&self.res1, self.down1.forward(x));
        let out2 = run(&self.res2, self.down2.forward(out1.clone()));
        let x = run(&self.res3, self.down3.forward(out2.clone()));
        let out3 = self.conv_sep.forward(x);
        [out1, out2, out3]
    }
}
