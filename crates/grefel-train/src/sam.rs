//! Sharpness-aware minimisation (non-adaptive SAM, the POSTER++ recipe): the gradient g at w
//! gives the ascent point w + ρ·g/‖g‖; the gradient there updates w. [`perturb`] builds the
//! ascent-point module (same parameter ids, so its gradients apply to the original module).

use grefel_model::burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use grefel_model::burn::optim::GradientsParams;
use grefel_model::burn::tensor::Tensor;

/// Guards the division by the gradient norm.
const NORM_EPS: f64 = 1e-12;

struct SquaredNorm<'a> {
    grads: &'a GradientsParams,
    sum: Option<Tensor<1>>,
}

impl ModuleVisitor for SquaredNorm<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.get::<D>(param.id) {
            let s = g.powi_scalar(2).sum();
            self.sum = Some(match self.sum.take() {
                Some(acc) => acc + s,
                None => s,
            });
        }
    }
}

struct Ascend<'a> {
    grads: &'a GradientsParams,
    scale: f64,
}

impl ModuleMapper for Ascend<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, tensor, mapper) = param.consume();
        let tensor = match self.grads.get::<D>(id) {
            Some(g) => {
                let require_grad = tensor.is_require_grad();
                let moved = Tensor::from_inner(tensor.inner() + g.mul_scalar(self.scale));
                if require_grad { moved.require_grad() } else { moved }
            }
            None => tensor,
        };
        Param::from_mapped_value(id, tensor, mapper)
    }
}

/// The global L2 norm of the gradients of `module`'s parameters.
pub fn grad_norm<M: Module>(module: &M, grads: &GradientsParams) -> f64 {
    let mut v = SquaredNorm { grads, sum: None };
    module.visit(&mut v);
    v.sum.map_or(0.0, |s| f64::from(s.into_data().iter::<f32>().next().unwrap_or(0.0)).sqrt())
}

/// `module` moved to its SAM ascent point `w + ρ·g/‖g‖` (parameter ids kept).
pub fn perturb<M: Module>(module: M, grads: &GradientsParams, rho: f64) -> M {
    let norm = grad_norm(&module, grads);
    module.map(&mut Ascend { grads, scale: rho / (norm + NORM_EPS) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use grefel_model::burn::nn::{Linear, LinearConfig};
    use grefel_model::burn::tensor::{Device, TensorData};

    #[test]
    fn ascent_point_moves_by_rho_along_the_gradient() {
        let device = Device::flex().autodiff();
        let lin: Linear = LinearConfig::new(3, 2).init(&device);
        let x = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, -2.0, 0.5], [1, 3]), &device);
        let loss = lin.forward(x).sum();
        let grads = GradientsParams::from_grads(loss.backward(), &lin);
        let norm = grad_norm(&lin, &grads);
        // d/dW of Σ(xW + b) is x for each output column, d/db is 1: ‖g‖² = 2·(1 + 4 + 0.25) + 2.
        assert!((norm - (2.0f64 * 5.25 + 2.0).sqrt()).abs() < 1e-5, "{norm}");
        let before: Vec<f32> = lin.weight.val().into_data().iter::<f32>().collect();
        let moved = perturb(lin.clone(), &grads, 0.05);
        let after: Vec<f32> = moved.weight.val().into_data().iter::<f32>().collect();
        let step: f64 = before.iter().zip(&after).map(|(a, b)| f64::from(b - a).powi(2)).sum::<f64>();
        let bstep = {
            let b0: Vec<f32> =
                lin.bias.as_ref().map(|b| b.val().into_data().iter::<f32>().collect()).unwrap_or_default();
            let b1: Vec<f32> =
                moved.bias.as_ref().map(|b| b.val().into_data().iter::<f32>().collect()).unwrap_or_default();
            b0.iter().zip(&b1).map(|(a, b)| f64::from(b - a).powi(2)).sum::<f64>()
        };
        assert!(((step + bstep).sqrt() - 0.05).abs() < 1e-5, "the whole move has length ρ");
        assert_eq!(moved.weight.id, lin.weight.id, "ids are kept so the second gradient applies to w");
    }
}
