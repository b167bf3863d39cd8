//! Fused layer ops: PReLU, layer norm, 2-d convolution, linear layers and scaled dot-product
//! attention as one backend call each, forward and backward, through a burn backend extension
//! ([`FusedOps`]).
//!
//! burn's autodiff differentiates PReLU and layer norm as chains of element-wise ops (six and
//! about fifteen full passes over the activations), and its convolution backward rebuilds the
//! weight gradient from a convolution of permuted copies. On libtorch devices these ops instead run
//! libtorch's own kernels for both passes: PReLU through `_prelu_kernel` and
//! `_prelu_kernel_backward`; layer norm, convolution, linear layers and attention as a small libtorch
//! autograd graph recorded in the forward pass and replayed by burn's backward pass
//! (`native_layer_norm_backward`, cuDNN's backward-data and backward-filter convolutions, the
//! matmuls of `addmm`, `scaled_dot_product_attention`'s fused kernels). They also carry the [`Precision`] of the step: TF32 per convolution, bf16
//! casts inside the graph (libtorch casts the gradients back to f32).
//!
//! On the default CPU backend (Flex) the ops are burn's own composite implementations, so the two
//! backends can be compared against each other: `crates/grefel-train/tests/libtorch.rs` checks
//! every op's output and gradients on libtorch against burn's formulas on Flex in f32 and f64.

// burn 0.22 marks burn-tch deprecated; it is this project's GPU path (see `device`).
#![allow(deprecated)]

use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::ops::{ActivationOps, ModuleOps};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::nn::conv::Conv2d;
use burn::nn::{Linear, PRelu, PaddingConfig2d};
use burn::tensor::Tensor;
use burn::tensor::ops::ConvOptions;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::layers::LayerNorm;
use crate::precision::{self, Precision};

/// The fused ops, as a burn backend extension. The default bodies are burn's composite ops,
/// which Flex (and burn's autodiff over Flex) run; libtorch overrides them.
#[backend_extension(Flex, LibTorch: cfg(feature = "tch"), Autodiff)]
pub trait FusedOps: Backend {
    /// PReLU of `x` with `alpha` shaped to broadcast along dimension 1 (`[1, C, 1, ...]`).
    fn fused_prelu(x: FloatTensor<Self>, alpha: FloatTensor<Self>) -> FloatTensor<Self> {
        <Self as ActivationOps<Self>>::prelu(x, alpha)
    }

    /// Layer norm over the last dimension.
    fn fused_layer_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self> {
        <Self as ModuleOps<Self>>::layer_norm(x, gamma, Some(beta), epsilon)
    }

    /// 2-d convolution of `x` `(B, C, H, W)` by `weight` `(O, C/groups, kh, kw)`, no bias.
    fn fused_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
        _precision: Precision,
    ) -> FloatTensor<Self> {
        <Self as ModuleOps<Self>>::conv2d(x, weight, None, options)
    }

    /// [`fused_conv2d`](FusedOps::fused_conv2d) plus a per-channel `bias`.
    fn fused_conv2d_bias(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvOptions<2>,
        _precision: Precision,
    ) -> FloatTensor<Self> {
        <Self as ModuleOps<Self>>::conv2d(x, weight, Some(bias), options)
    }

    /// Attention `softmax(scale·q·kᵀ) v` over `(B, h, N, d)` operands.
    fn fused_attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        scale: f64,
        _precision: Precision,
    ) -> FloatTensor<Self> {
        composite_attention::<Self>(q, k, v, None, scale)
    }

    /// Attention with an additive `bias` on the scores (broadcast to `(B, h, N_q, N_k)`):
    /// `softmax(scale·q·kᵀ + bias) v`.
    fn fused_attention_bias(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        scale: f64,
        _precision: Precision,
    ) -> FloatTensor<Self> {
        composite_attention::<Self>(q, k, v, Some(bias), scale)
    }

    /// `x @ weight + bias` over the last dimension, `weight` `[d_in, d_out]` (burn's layout).
    fn fused_linear(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        _precision: Precision,
    ) -> FloatTensor<Self> {
        <Self as ModuleOps<Self>>::linear(x, weight, Some(bias))
    }
}

/// burn's composite attention, `softmax(scale·q·kᵀ [+ bias]) v`, in the order the model used
/// before the fused op (scale on q, then the product).
fn composite_attention<B: Backend>(
    q: FloatTensor<B>,
    k: FloatTensor<B>,
    v: FloatTensor<B>,
    bias: Option<FloatTensor<B>>,
    scale: f64,
) -> FloatTensor<B> {
    let scores = B::float_matmul(B::float_mul_scalar(q, scale.into()), B::float_swap_dims(k, 2, 3));
    let scores = match bias {
        Some(bias) => B::float_add(scores, bias),
        None => scores,
    };
    B::float_matmul(<B as ActivationOps<B>>::softmax(scores, 3), v)
}

impl FusedOps for Flex {}

impl<C: CheckpointStrategy> FusedOps for Autodiff<Flex, C> {}

/// PReLU with a per-channel (or single) `alpha`, applied along dimension 1.
pub fn prelu<const D: usize>(x: Tensor<D>, alpha: Tensor<1>) -> Tensor<D> {
    let mut shape = [1usize; D];
    let channels = alpha.dims()[0];
    if channels > 1 {
        shape[1] = channels;
    }
    let alpha = alpha.reshape(shape);
    Tensor::from_dispatch(<Dispatch as FusedOps>::fused_prelu(x.into_dispatch(), alpha.into_dispatch()))
}

/// Layer norm over the last dimension (no `beta`: a zero shift).
pub fn layer_norm<const D: usize>(
    x: Tensor<D>,
    gamma: Tensor<1>,
    beta: Option<Tensor<1>>,
    epsilon: f64,
) -> Tensor<D> {
    let beta = beta.unwrap_or_else(|| gamma.zeros_like());
    Tensor::from_dispatch(<Dispatch as FusedOps>::fused_layer_norm(
        x.into_dispatch(),
        gamma.into_dispatch(),
        beta.into_dispatch(),
        epsilon,
    ))
}

/// 2-d convolution at this thread's [`precision::current`] precision.
pub fn conv2d(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    options: ConvOptions<2>,
) -> Tensor<4> {
    let precision = precision::current();
    let (x, weight) = (x.into_dispatch(), weight.into_dispatch());
    Tensor::from_dispatch(match bias {
        Some(bias) => {
            <Dispatch as FusedOps>::fused_conv2d_bias(x, weight, bias.into_dispatch(), options, precision)
        }
        None => <Dispatch as FusedOps>::fused_conv2d(x, weight, options, precision),
    })
}

/// Scaled dot-product attention `softmax(scale·q·kᵀ [+ bias]) v` over `(B, h, N, d)` operands,
/// at this thread's [`precision::current`] precision (libtorch: `scaled_dot_product_attention`,
/// its fused kernels where the device has them).
pub fn attention(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, bias: Option<Tensor<4>>, scale: f64) -> Tensor<4> {
    if !enabled() {
        let scores = q.mul_scalar(scale).matmul(k.swap_dims(2, 3));
        let scores = match bias {
            Some(bias) => scores + bias,
            None => scores,
        };
        return burn::tensor::activation::softmax(scores, 3).matmul(v);
    }
    let precision = precision::current();
    let (q, k, v) = (q.into_dispatch(), k.into_dispatch(), v.into_dispatch());
    Tensor::from_dispatch(match bias {
        Some(bias) => {
            <Dispatch as FusedOps>::fused_attention_bias(q, k, v, bias.into_dispatch(), scale, precision)
        }
        None => <Dispatch as FusedOps>::fused_attention(q, k, v, scale, precision),
    })
}

/// Linear layer `x @ weight + bias` at this thread's [`precision::current`] precision (no
/// `bias`: a zero one).
pub fn linear<const D: usize>(x: Tensor<D>, weight: Tensor<2>, bias: Option<Tensor<1>>) -> Tensor<D> {
    let bias = bias.unwrap_or_else(|| Tensor::zeros([weight.dims()[1]], &weight.device()));
    Tensor::from_dispatch(<Dispatch as FusedOps>::fused_linear(
        x.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
        precision::current(),
    ))
}

static ENABLED: AtomicBool = AtomicBool::new(true);

/// Switches the fused road of the [`Fused`] modules and of [`attention`] on (the default) or off
/// for the whole process: off, they run burn's own forward pass (and autodiff), at the backend's
/// default precision whatever the step's (on CUDA that is libtorch's default: TF32 cuDNN
/// convolutions). For comparisons (`cargo xtask bench train --no-fused`).
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Whether the [`Fused`] modules take the fused road.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// A module's forward pass through the fused ops (the modules keep burn's own types, and with
/// them the checkpoint layout); burn's own forward when [`enabled`] is off.
pub trait Fused<const D: usize> {
    /// The output of the module for `x`.
    fn fused(&self, x: Tensor<D>) -> Tensor<D>;
}

impl Fused<4> for Conv2d {
    /// [`conv2d`] with the module's weights. `Same` padding (no convolution of this model has it)
    /// takes burn's own forward, which resolves that padding from the input size.
    fn fused(&self, x: Tensor<4>) -> Tensor<4> {
        if !enabled() {
            return self.forward(x);
        }
        let padding = match self.padding {
            PaddingConfig2d::Valid => [(0, 0), (0, 0)],
            PaddingConfig2d::Explicit(top, left, bottom, right) => [(top, bottom), (left, right)],
            PaddingConfig2d::Same => return self.forward(x),
        };
        let options = ConvOptions::new_with_padding(self.stride, padding, self.dilation, self.groups);
        conv2d(x, self.weight.val(), self.bias.as_ref().map(|b| b.val()), options)
    }
}

impl<const D: usize> Fused<D> for Linear {
    fn fused(&self, x: Tensor<D>) -> Tensor<D> {
        if !enabled() {
            return self.forward(x);
        }
        linear(x, self.weight.val(), self.bias.as_ref().map(|b| b.val()))
    }
}

impl<const D: usize> Fused<D> for PRelu {
    fn fused(&self, x: Tensor<D>) -> Tensor<D> {
        if !enabled() {
            return self.forward(x);
        }
        prelu(x, self.alpha.val())
    }
}

impl<const D: usize> Fused<D> for LayerNorm {
    fn fused(&self, x: Tensor<D>) -> Tensor<D> {
        if !enabled() {
            let beta = self.beta.as_ref().map(|b| b.val());
            return burn::tensor::module::layer_norm(x, self.gamma.val(), beta, self.epsilon);
        }
        layer_norm(x, self.gamma.val(), self.beta.as_ref().map(|b| b.val()), self.epsilon)
    }
}

/// Process-wide libtorch switches that are not per op: cuDNN's benchmark mode (an autotuned
/// algorithm per convolution shape: faster for the static shapes of training, but the choice, and
/// with it the last bits of the results, may differ between runs). Without the `tch` feature
/// there is nothing to set.
pub fn set_cudnn_benchmark(on: bool) {
    #[cfg(feature = "tch")]
    torch::set_cudnn_benchmark(on);
    #[cfg(not(feature = "tch"))]
    let _ = on;
}

#[cfg(feature = "tch")]
mod torch {
    //! The libtorch side: forward kernels with the step's precision, and the autodiff ops that
    //! hand the backward pass to libtorch.

    use std::sync::atomic::{AtomicBool, Ordering};

    use burn::backend::Autodiff;
    use burn::backend::LibTorch;
    use burn::backend::autodiff::checkpoint::base::Checkpointer;
    use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
    use burn::backend::autodiff::grads::Gradients;
    use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
    use burn::backend::libtorch::TchTensor;
    use burn::backend::tensor::FloatTensor;
    use burn::tensor::ops::ConvOptions;

    use super::FusedOps;
    use crate::precision::Precision;

    static CUDNN_BENCHMARK: AtomicBool = AtomicBool::new(false);

    pub(super) fn set_cudnn_benchmark(on: bool) {
        CUDNN_BENCHMARK.store(on, Ordering::Relaxed);
        tch::Cuda::cudnn_set_benchmark(on);
    }

    /// The operand as the precision computes it: bf16 for `Bf16`, unchanged otherwise.
    fn operand(t: &tch::Tensor, precision: Precision) -> tch::Tensor {
        match precision {
            Precision::Bf16 if t.kind() != tch::Kind::BFloat16 => t.to_kind(tch::Kind::BFloat16),
            _ => t.shallow_clone(),
        }
    }

    /// The result back in the input's kind (f32 after a bf16 product).
    fn result(y: tch::Tensor, kind: tch::Kind) -> tch::Tensor {
        if y.kind() == kind { y } else { y.to_kind(kind) }
    }

    fn conv2d(
        x: &tch::Tensor,
        weight: &tch::Tensor,
        bias: Option<&tch::Tensor>,
        options: &ConvOptions<2>,
        precision: Precision,
    ) -> tch::Tensor {
        let kind = x.kind();
        let [(top, bottom), (left, right)] = options.padding;
        let symmetric = top == bottom && left == right;
        let x = if symmetric {
            operand(x, precision)
        } else {
            operand(&x.constant_pad_nd([left as i64, right as i64, top as i64, bottom as i64]), precision)
        };
        let padding = if symmetric { [top as i64, left as i64] } else { [0, 0] };
        let y = x.internal_convolution(
            &operand(weight, precision),
            bias.map(|b| operand(b, precision)),
            options.stride.map(|s| s as i64),
            padding,
            options.dilation.map(|d| d as i64),
            false,
            [0i64, 0],
            options.groups as i64,
            CUDNN_BENCHMARK.load(Ordering::Relaxed),
            false,
            true,
            precision == Precision::Tf32,
        );
        result(y, kind)
    }

    fn linear(
        x: &tch::Tensor,
        weight: &tch::Tensor,
        bias: &tch::Tensor,
        precision: Precision,
    ) -> tch::Tensor {
        let kind = x.kind();
        // burn keeps the weight as [d_in, d_out]; libtorch's `linear` takes [d_out, d_in] (a view).
        let y =
            operand(x, precision).linear(&operand(weight, precision).tr(), Some(operand(bias, precision)));
        result(y, kind)
    }

    fn attention(
        [q, k, v]: [&tch::Tensor; 3],
        bias: Option<&tch::Tensor>,
        scale: f64,
        precision: Precision,
    ) -> tch::Tensor {
        let kind = q.kind();
        let y = tch::Tensor::scaled_dot_product_attention(
            &operand(q, precision),
            &operand(k, precision),
            &operand(v, precision),
            bias.map(|b| operand(b, precision)),
            0.0,
            false,
            Some(scale),
            false,
        );
        result(y, kind)
    }

    fn layer_norm(x: &tch::Tensor, gamma: &tch::Tensor, beta: &tch::Tensor, epsilon: f64) -> tch::Tensor {
        let d = x.size().last().copied().unwrap_or(1);
        x.layer_norm([d], Some(gamma), Some(beta), epsilon, true)
    }

    impl FusedOps for LibTorch {
        fn fused_conv2d(
            x: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            options: ConvOptions<2>,
            precision: Precision,
        ) -> FloatTensor<Self> {
            TchTensor::new(conv2d(&x.tensor, &weight.tensor, None, &options, precision))
        }

        fn fused_conv2d_bias(
            x: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            bias: FloatTensor<Self>,
            options: ConvOptions<2>,
            precision: Precision,
        ) -> FloatTensor<Self> {
            TchTensor::new(conv2d(&x.tensor, &weight.tensor, Some(&bias.tensor), &options, precision))
        }

        fn fused_linear(
            x: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            bias: FloatTensor<Self>,
            precision: Precision,
        ) -> FloatTensor<Self> {
            TchTensor::new(linear(&x.tensor, &weight.tensor, &bias.tensor, precision))
        }

        fn fused_attention(
            q: FloatTensor<Self>,
            k: FloatTensor<Self>,
            v: FloatTensor<Self>,
            scale: f64,
            precision: Precision,
        ) -> FloatTensor<Self> {
            TchTensor::new(attention([&q.tensor, &k.tensor, &v.tensor], None, scale, precision))
        }

        fn fused_attention_bias(
            q: FloatTensor<Self>,
            k: FloatTensor<Self>,
            v: FloatTensor<Self>,
            bias: FloatTensor<Self>,
            scale: f64,
            precision: Precision,
        ) -> FloatTensor<Self> {
            TchTensor::new(attention([&q.tensor, &k.tensor, &v.tensor], Some(&bias.tensor), scale, precision))
        }
    }

    /// What a recorded libtorch graph keeps for the backward pass.
    #[derive(Debug)]
    struct Recorded {
        /// The forward output, attached to libtorch's graph.
        output: tch::Tensor,
        /// The graph's inputs, one per operand; those of tracked operands require a gradient.
        leaves: Vec<tch::Tensor>,
        /// burn's handles of the operands and of the output, held so that burn-tch never
        /// updates their storage in place while libtorch's graph still reads it.
        _pinned: Vec<TchTensor>,
    }

    impl Clone for Recorded {
        fn clone(&self) -> Self {
            Self {
                output: self.output.shallow_clone(),
                leaves: self.leaves.iter().map(tch::Tensor::shallow_clone).collect(),
                _pinned: self._pinned.clone(),
            }
        }
    }

    /// Backward of a recorded libtorch graph: libtorch's autograd engine computes the operands'
    /// gradients from the output gradient.
    #[derive(Debug)]
    struct Replay;

    impl<const N: usize> Backward<LibTorch, N> for Replay {
        type State = Recorded;

        fn backward(self, ops: Ops<Self::State, N>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
            let grad = grads.consume::<LibTorch>(&ops.node);
            let Recorded { output, leaves, _pinned } = ops.state;
            let wanted: Vec<(usize, &tch::Tensor)> = ops
                .parents
                .iter()
                .enumerate()
                .filter(|(_, p)| p.is_some())
                .map(|(i, _)| (i, &leaves[i]))
                .collect();
            if wanted.is_empty() {
                return;
            }
            // ∂(Σ output·g)/∂output = g exactly, so this hands `g` to libtorch's graph.
            let seed = (&output * &grad.tensor).sum(output.kind());
            let inputs: Vec<&tch::Tensor> = wanted.iter().map(|(_, t)| *t).collect();
            let computed = tch::Tensor::run_backward(&[seed], &inputs, false, false);
            for ((i, _), g) in wanted.into_iter().zip(computed) {
                if let Some(parent) = &ops.parents[i] {
                    grads.register::<LibTorch>(parent.id, TchTensor::new(g));
                }
            }
        }
    }

    /// Runs `forward` on the operands, recording a libtorch graph when any operand is tracked.
    fn record<C: CheckpointStrategy, const N: usize>(
        operands: [FloatTensor<Autodiff<LibTorch, C>>; N],
        forward: impl FnOnce(&[tch::Tensor; N]) -> tch::Tensor,
    ) -> FloatTensor<Autodiff<LibTorch, C>> {
        let nodes = operands.each_ref().map(|t| t.node());
        let tracked = operands.each_ref().map(|t| t.is_tracked());
        let primitives = operands.map(|t| t.into_primitive());
        match Replay.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::UnTracked(prep) => {
                let inputs = primitives.each_ref().map(|p| p.tensor.shallow_clone());
                prep.finish(TchTensor::new(tch::no_grad(|| forward(&inputs))))
            }
            OpsKind::Tracked(prep) => {
                let leaves = std::array::from_fn(|i| {
                    let mut leaf = primitives[i].tensor.detach();
                    if tracked[i] {
                        let _ = leaf.requires_grad_(true);
                    }
                    leaf
                });
                let output = tch::with_grad(|| forward(&leaves));
                let out = TchTensor::new(output.detach());
                let mut pinned: Vec<TchTensor> = primitives.into_iter().collect();
                pinned.push(out.clone());
                let state = Recorded { output, leaves: leaves.into_iter().collect(), _pinned: pinned };
                prep.finish(state, out)
            }
        }
    }

    /// PReLU's backward: libtorch's `_prelu_kernel_backward`, one pass for both gradients.
    #[derive(Debug)]
    struct PreluBackward;

    impl Backward<LibTorch, 2> for PreluBackward {
        type State = (TchTensor, TchTensor);

        fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
            let grad = grads.consume::<LibTorch>(&ops.node);
            let (x, alpha) = ops.state;
            let (dx, dalpha) = x.tensor.internal_prelu_kernel_backward(&grad.tensor, &alpha.tensor);
            let [node_x, node_alpha] = ops.parents;
            if let Some(node) = node_x {
                grads.register::<LibTorch>(node.id, TchTensor::new(dx));
            }
            if let Some(node) = node_alpha {
                let dalpha = dalpha.sum_to_size(alpha.tensor.size());
                grads.register::<LibTorch>(node.id, TchTensor::new(dalpha));
            }
        }
    }

    impl<C: CheckpointStrategy> FusedOps for Autodiff<LibTorch, C> {
        fn fused_prelu(x: FloatTensor<Self>, alpha: FloatTensor<Self>) -> FloatTensor<Self> {
            let nodes = [x.node(), alpha.node()];
            let (x, alpha) = (x.into_primitive(), alpha.into_primitive());
            let y = TchTensor::new(x.tensor.internal_prelu_kernel(&alpha.tensor));
            match PreluBackward.prepare::<C>(nodes).compute_bound().stateful() {
                OpsKind::Tracked(prep) => prep.finish((x, alpha), y),
                OpsKind::UnTracked(prep) => prep.finish(y),
            }
        }

        fn fused_layer_norm(
            x: FloatTensor<Self>,
            gamma: FloatTensor<Self>,
            beta: FloatTensor<Self>,
            epsilon: f64,
        ) -> FloatTensor<Self> {
            record::<C, 3>([x, gamma, beta], |[x, g, b]| layer_norm(x, g, b, epsilon))
        }

        fn fused_conv2d(
            x: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            options: ConvOptions<2>,
            precision: Precision,
        ) -> FloatTensor<Self> {
            record::<C, 2>([x, weight], |[x, w]| conv2d(x, w, None, &options, precision))
        }

        fn fused_conv2d_bias(
            x: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            bias: FloatTensor<Self>,
            options: ConvOptions<2>,
            precision: Precision,
        ) -> FloatTensor<Self> {
            record::<C, 3>([x, weight, bias], |[x, w, b]| conv2d(x, w, Some(b), &options, precision))
        }

        fn fused_linear(
            x: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            bias: FloatTensor<Self>,
            precision: Precision,
        ) -> FloatTensor<Self> {
            record::<C, 3>([x, weight, bias], |[x, w, b]| linear(x, w, b, precision))
        }

        fn fused_attention(
            q: FloatTensor<Self>,
            k: FloatTensor<Self>,
            v: FloatTensor<Self>,
            scale: f64,
            precision: Precision,
        ) -> FloatTensor<Self> {
            record::<C, 3>([q, k, v], |[q, k, v]| attention([q, k, v], None, scale, precision))
        }

        fn fused_attention_bias(
            q: FloatTensor<Self>,
            k: FloatTensor<Self>,
            v: FloatTensor<Self>,
            bias: FloatTensor<Self>,
            scale: f64,
            precision: Precision,
        ) -> FloatTensor<Self> {
            record::<C, 4>([q, k, v, bias], |[q, k, v, b]| attention([q, k, v], Some(b), scale, precision))
        }
    }
}
