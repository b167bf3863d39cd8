//! The whole GReFEL network: backbones → window cross-attention → ViT → reduction → MLP head
//! and reliability balancing.

use burn::module::{Module, Param};
use burn::nn::conv::Conv2d;
use burn::nn::interpolate::{Interpolate2dConfig, InterpolateMode};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor, s};

use crate::config::{Downsample, EvalOutput, FrozenBatchNorm, LandmarkBranch, ModelConfig, Reduction};
use crate::cross_attention::{CrossAttentionBlock, CrossAttentionSpec};
use crate::error::ModelError;
use crate::fused::Fused;
use crate::geometry::GeometryBranch;
use crate::head::MlpHead;
use crate::ir50::Ir50;
use crate::layers::conv;
use crate::mobilefacenet::MobileFaceNet;
use crate::reliability::{
    AttentionPath, anchor_distances, anchor_distribution, anchor_only_correction, init_anchors,
    reliability_mix,
};
use crate::vit::{TokenEmbedding, Vit};

/// Shapes recorded at the checkpoints of docs/method.md §8, in forward order (`name`, dims).
pub type Checkpoints = Vec<(&'static str, Vec<usize>)>;

/// The GReFEL network. Build it with [`Grefel::new`]; train on an autodiff device
/// (`device.autodiff()`), evaluate with [`Module::valid`].
#[derive(Module, Debug)]
pub struct Grefel {
    /// IR-50 image trunk (3 stages).
    pub ir50: Ir50,
    /// Stride-2 3×3 convs after each IR stage (channels unchanged).
    pub image_convs: Vec<Conv2d>,
    /// MobileFaceNet landmark trunk (landmark branch `mobile_face_net`).
    pub mobilefacenet: Option<MobileFaceNet>,
    /// Trainable Conv3×3 of MobileFaceNet's out3 (512 → 256).
    pub landmark_proj: Option<Conv2d>,
    /// Geometry landmark branch (landmark branch `geometry`).
    pub geometry: Option<GeometryBranch>,
    /// One window cross-attention block per scale.
    pub cross_attention: Vec<CrossAttentionBlock>,
    /// 3-scale token embedding.
    pub tokens: TokenEmbedding,
    /// ViT fusion with CLS + SE.
    pub vit: Vit,
    /// Linear reduction `V → D` (absent for D = V).
    pub reduction: Option<Linear>,
    /// MLP head.
    pub head: MlpHead,
    /// Anchors `(C, K, D)`.
    pub anchors: Param<Tensor<3>>,
    /// Attention correction path.
    pub attention: AttentionPath,
    /// The configuration the network was built from.
    #[module(skip)]
    pub config: ModelConfig,
}

/// Everything one forward pass produces. Distributions are `(B, C)` with rows summing to 1.
#[derive(Debug, Clone)]
pub struct GrefelOutput {
    /// MLP logits `(B, C)`.
    pub logits: Tensor<2>,
    /// Primary distribution p = softmax(logits / T).
    pub p: Tensor<2>,
    /// Anchor distribution m.
    pub m: Tensor<2>,
    /// Attention distribution α.
    pub alpha: Tensor<2>,
    /// Correction r.
    pub r: Tensor<2>,
    /// Reliability mix q.
    pub q: Tensor<2>,
    /// Corrected distribution ŷ = (1 − t)p + t·q (the training target of L_cls).
    pub y_hat: Tensor<2>,
    /// κ(p) `(B)`.
    pub kappa_p: Tensor<1>,
    /// κ(m) `(B)`.
    pub kappa_m: Tensor<1>,
    /// κ(α) `(B)`.
    pub kappa_alpha: Tensor<1>,
    /// Embedding e `(B, D)` after the reduction.
    pub embedding: Tensor<2>,
    /// ViT output `(B, V)` before the reduction.
    pub features: Tensor<2>,
    /// Anchor distances `(B, C, K)`.
    pub distances: Tensor<3>,
    /// The anchors `(C, K, D)` used (for the anchor loss).
    pub anchors: Tensor<3>,
    /// The trust t of this pass.
    pub trust: f32,
    /// Which distribution [`GrefelOutput::prediction`] returns.
    pub eval_output: EvalOutput,
}

impl GrefelOutput {
    /// The evaluation distribution chosen by `reliability.eval_output`.
    pub fn prediction(&self) -> Tensor<2> {
        match self.eval_output {
            EvalOutput::Primary => self.p.clone(),
            EvalOutput::Corrected => self.y_hat.clone(),
            EvalOutput::AnchorOnly => {
                anchor_only_correction(self.p.clone(), self.m.clone(), self.kappa_p.clone(), self.trust)
            }
        }
    }
}

fn shape_err(name: &'static str, expected: String, actual: &[usize]) -> ModelError {
    ModelError::InputShape { name, expected, actual: actual.to_vec() }
}

/// Stops gradients of a trunk marked frozen. `FrozenBatchNorm::Train` keeps its batch norms in
/// training mode (batch statistics, running-stat updates: both reference repos); `Eval` freezes
/// them too (burn's `freeze`).
fn freeze_if<M: Module>(module: M, frozen: bool, bn: FrozenBatchNorm) -> M {
    match (frozen, bn) {
        (false, _) => module,
        (true, FrozenBatchNorm::Train) => module.no_grad(),
        (true, FrozenBatchNorm::Eval) => module.freeze(),
    }
}

impl Grefel {
    /// Validates `config` and builds the network on `device`, freezing the trunks the config
    /// marks frozen (BatchNorm behaviour per `frozen_batch_norm`).
    pub fn new(config: ModelConfig, device: &Device) -> Result<Self, ModelError> {
        config.validate()?;
        let geo = config.geometry()?;
        let ch = config.ir50.channels;
        let bn_mode = config.frozen_batch_norm;
        let ir50 = freeze_if(Ir50::new(&config.ir50, device), config.ir50.frozen, bn_mode);
        let (mobilefacenet, landmark_proj, geometry) = match config.landmark.branch {
            LandmarkBranch::MobileFaceNet => {
                let mcfg = &config.landmark.mobilefacenet;
                let mfn = freeze_if(MobileFaceNet::new(mcfg, device), mcfg.frozen, bn_mode);
                let proj = conv(mcfg.channels[2], ch[2], 3, 1, 1, true).init(device);
                (Some(mfn), Some(proj), None)
            }
            LandmarkBranch::Geometry => {
                let g = GeometryBranch::new(&config.landmark.geometry, geo.scales, ch, device);
                (None, None, Some(g))
            }
        };
        let ca = &config.cross_attention;
        let cross_attention = (0..3)
            .map(|i| {
                let spec = CrossAttentionSpec {
                    dim: ch[i],
                    heads: ca.heads[i],
                    window: geo.windows[i],
                    mlp_ratio: ca.mlp_ratio,
                    drop_path: ca.drop_path[i],
                    layer_scale_init: ca.layer_scale_init,
                    query_layout: ca.query_layout,
                };
                CrossAttentionBlock::new(spec, device)
            })
            .collect();
        let d = config.embedding_dim();
        let c = config.num_classes;
        let k = config.reliability.anchors_per_class;
        let reduction = match config.reduction {
            Reduction::Linear { dim } => Some(LinearConfig::new(config.vit.dim, dim).init(device)),
            Reduction::None => None,
        };
        Ok(Self {
            ir50,
            image_convs: ch.iter().map(|&c| conv(c, c, 3, 2, 1, true).init(device)).collect(),
            mobilefacenet,
            landmark_proj,
            geometry,
            cross_attention,
            tokens: TokenEmbedding::new(ch, config.vit.dim, device),
            vit: Vit::new(&config.vit, geo.num_tokens, device),
            reduction,
            head: MlpHead::new(&config.head, d, c, device),
            anchors: init_anchors(config.reliability.anchor_init, [c, k, d], device),
            attention: AttentionPath::new(d, c, config.reliability.attention, device),
            config,
        })
    }

    /// One forward pass. `images` `(B, 3, S, S)` normalised as in docs/method.md §2.1; `landmarks`
    /// `(B, L, 2)` as `(x, y)` in `[0, 1]` of the input image (required by the geometry
    /// branch, ignored by MobileFaceNet); `trust` t in `[0, 1]` (see
    /// [`crate::trust_ramp`]).
    pub fn forward(
        &self,
        images: Tensor<4>,
        landmarks: Option<Tensor<3>>,
        trust: f32,
    ) -> Result<GrefelOutput, ModelError> {
        self.forward_impl(images, landmarks, trust, None)
    }

    /// [`Grefel::forward`] that also records the shapes at the checkpoints of docs/method.md §8.
    pub fn forward_with_checkpoints(
        &self,
        images: Tensor<4>,
        landmarks: Option<Tensor<3>>,
        trust: f32,
    ) -> Result<(GrefelOutput, Checkpoints), ModelError> {
        let mut trace = Vec::new();
        let out = self.forward_impl(images, landmarks, trust, Some(&mut trace))?;
        Ok((out, trace))
    }

    fn check_inputs(&self, images: &Tensor<4>, landmarks: Option<&Tensor<3>>) -> Result<(), ModelError> {
        let s = self.config.image_size;
        let dims = images.dims();
        if dims[1] != 3 || dims[2] != s || dims[3] != s || dims[0] == 0 {
            return Err(shape_err("images", format!("(B, 3, {s}, {s})"), &dims));
        }
        if let Some(g) = &self.geometry {
            let l = g.num_landmarks;
            let lm = landmarks.ok_or(ModelError::MissingLandmarks(l))?;
            let ld = lm.dims();
            if ld != [dims[0], l, 2] {
                return Err(shape_err("landmarks", format!("({}, {l}, 2)", dims[0]), &ld));
            }
        }
        Ok(())
    }

    fn forward_impl(
        &self,
        images: Tensor<4>,
        landmarks: Option<Tensor<3>>,
        trust: f32,
        mut trace: Option<&mut Checkpoints>,
    ) -> Result<GrefelOutput, ModelError> {
        self.check_inputs(&images, landmarks.as_ref())?;
        if !(0.0..=1.0).contains(&trust) {
            return Err(ModelError::InvalidConfig(format!("trust {trust} outside [0, 1]")));
        }
        let mut rec = |name: &'static str, dims: Vec<usize>| {
            if let Some(t) = trace.as_deref_mut() {
                t.push((name, dims));
            }
        };
        let x = self.downsample(images);
        rec("backbone_input", x.dims().to_vec());

        let stages = self.ir50.forward(x.clone());
        for (name, f) in ["ir_stage1", "ir_stage2", "ir_stage3"].into_iter().zip(&stages) {
            rec(name, f.dims().to_vec());
        }
        let img: Vec<Tensor<4>> =
            stages.into_iter().zip(&self.image_convs).map(|(f, c)| c.fused(f)).collect();
        for (name, f) in ["image_scale1", "image_scale2", "image_scale3"].into_iter().zip(&img) {
            rec(name, f.dims().to_vec());
        }

        let lms: Vec<Tensor<4>> = match (&self.mobilefacenet, &self.landmark_proj, &self.geometry) {
            (Some(mfn), Some(proj), _) => {
                let [o1, o2, o3] = mfn.forward(x);
                for (name, f) in ["mfn_out1", "mfn_out2", "mfn_out3"].into_iter().zip([&o1, &o2, &o3]) {
                    rec(name, f.dims().to_vec());
                }
                vec![o1, o2, proj.fused(o3)]
            }
            (_, _, Some(g)) => {
                let lm = landmarks.ok_or(ModelError::MissingLandmarks(g.num_landmarks))?;
                g.forward(lm)
            }
            _ => return Err(ModelError::InvalidConfig("no landmark branch built".into())),
        };
        for (name, f) in ["landmark_scale1", "landmark_scale2", "landmark_scale3"].into_iter().zip(&lms) {
            rec(name, f.dims().to_vec());
        }

        let fused: Vec<Tensor<4>> = self
            .cross_attention
            .iter()
            .zip(img.into_iter().zip(lms))
            .map(|(blk, (x, q))| blk.forward(x, q))
            .collect();
        for (name, f) in ["cross_scale1", "cross_scale2", "cross_scale3"].into_iter().zip(&fused) {
            rec(name, f.dims().to_vec());
        }
        let maps: [Tensor<4>; 3] =
            fused.try_into().map_err(|_| ModelError::InvalidConfig("expected three scales".into()))?;
        let tokens = self.tokens.forward(maps);
        rec("tokens", tokens.dims().to_vec());
        let tokens = self.vit.embed(tokens);
        rec("tokens_with_cls", tokens.dims().to_vec());
        let features = self.vit.encode(tokens);
        rec("vit_embedding", features.dims().to_vec());
        let embedding = match &self.reduction {
            Some(lin) => lin.fused(features.clone()),
            None => features.clone(),
        };
        rec("embedding", embedding.dims().to_vec());

        let logits = self.head.forward(embedding.clone());
        let p = softmax(logits.clone().div_scalar(self.config.head.temperature), 1);
        let anchors = self.anchors.val();
        let rel = &self.config.reliability;
        let distances = anchor_distances(embedding.clone(), anchors.clone());
        let m = anchor_distribution(distances.clone(), rel.delta, rel.aggregation);
        let alpha = self.attention.forward(embedding.clone());
        let mix = reliability_mix(p.clone(), m.clone(), alpha.clone(), trust, rel);
        for (name, t) in [("p", &p), ("m", &m), ("alpha", &alpha), ("r", &mix.r), ("y_hat", &mix.y_hat)] {
            rec(name, t.dims().to_vec());
        }
        Ok(GrefelOutput {
            logits,
            p,
            m,
            alpha,
            r: mix.r,
            q: mix.q,
            y_hat: mix.y_hat,
            kappa_p: mix.kappa_p,
            kappa_m: mix.kappa_m,
            kappa_alpha: mix.kappa_alpha,
            embedding,
            features,
            distances,
            anchors,
            trust,
            eval_output: rel.eval_output,
        })
    }

    /// Brings the input to the backbones' internal resolution (half size by default).
    fn downsample(&self, images: Tensor<4>) -> Tensor<4> {
        let half = self.config.image_size / 2;
        match self.config.downsample {
            Downsample::Nearest => images.slice(s![.., .., 0..;2, 0..;2]),
            Downsample::Bilinear => Interpolate2dConfig::new()
                .with_output_size(Some([half, half]))
                .with_mode(InterpolateMode::Linear)
                .init()
                .forward(images),
            Downsample::None => images,
        }
    }
}
