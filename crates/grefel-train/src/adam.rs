//! Multi-tensor Adam: one update over all parameters at once.
//!
//! burn's `ModuleOptimizer` runs Adam parameter by parameter: a dozen tensor operations for each
//! of the model's parameters (several hundred in the paper preset), each a kernel launch on a
//! GPU and an allocation plus a dispatch on a CPU. [`Adam`] concatenates the gradients and the
//! values of all parameters that share a step count into one flat buffer each, keeps the two
//! moments as flat buffers, runs the Adam formula once on them, and hands every parameter its
//! slice of the result (a view on libtorch, no copy). The buffers are sized per device
//! ([`bucket_elements`]): one for everything on CUDA, at most [`CPU_BUCKET_ELEMENTS`] values on
//! CPUs, where passes over one large buffer would stream it through main memory.
//!
//! The arithmetic is burn's `Adam` element for element: the same operations in the same order
//! with the same f32 scalars, so a run gives bit-identical weights with either optimiser (a unit
//! test holds it to that). Checkpoints are written in burn's per-parameter optimiser record
//! (burnpack, tensors `{id}.momentum.moment_1|2`, scalars `{id}.momentum.time` and
//! `{id}.__rank`), so a run checkpointed by either resumes with the other.
//!
//! Parameters without a gradient in a step keep their moments and step count untouched (as in
//! burn and PyTorch); parameters whose step counts differ are updated in separate groups, since
//! the bias correction depends on the count.

use std::collections::{BTreeMap, HashMap, HashSet};

use burn_pack::{Reader, Scalar, Writer};
use grefel_model::burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use grefel_model::burn::optim::{GradientsParams, ModuleOptimizer};
use grefel_model::burn::tensor::{Bytes, Device, Shape, Tensor, TensorData};

use crate::TrainError;
use crate::config::OptimizerConfig;

/// Scalar key (per parameter) of the parameter's rank in burn's optimiser record.
const RANK_KEY: &str = "__rank";
/// Scalar key (per parameter) of the step count.
const TIME_KEY: &str = "momentum.time";
/// Tensor key (per parameter) of the first moment.
const MOMENT_1_KEY: &str = "momentum.moment_1";
/// Tensor key (per parameter) of the second moment.
const MOMENT_2_KEY: &str = "momentum.moment_2";

/// An optimiser that updates a whole module from its gradients: the trait the training step is
/// written against, so the step can run [`Adam`] or burn's per-parameter `ModuleOptimizer`
/// (`bench train --per-parameter-adam` compares the two).
pub trait ModuleStep {
    /// Updates `module` from `grads` with learning rate `lr`, advancing the optimiser state.
    fn step_module<M: Module>(&mut self, lr: f64, module: M, grads: GradientsParams)
    -> Result<M, TrainError>;
}

impl ModuleStep for ModuleOptimizer {
    fn step_module<M: Module>(
        &mut self,
        lr: f64,
        module: M,
        grads: GradientsParams,
    ) -> Result<M, TrainError> {
        Ok(self.step(lr, module, grads))
    }
}

impl ModuleStep for Adam {
    fn step_module<M: Module>(
        &mut self,
        lr: f64,
        module: M,
        grads: GradientsParams,
    ) -> Result<M, TrainError> {
        self.step(lr, module, grads)
    }
}

/// One parameter's Adam state, cut out of its group's flat buffers.
#[derive(Clone)]
struct Moments {
    /// Steps taken.
    time: usize,
    /// The parameter's shape (the record stores the moments in it).
    dims: Vec<usize>,
    /// First moment, flat.
    m: Tensor<1>,
    /// Second moment, flat.
    v: Tensor<1>,
}

/// Parameters updated together: they share a step count; their moments are flat buffers
/// holding the parameters one after the other, in `ids` order.
#[derive(Clone)]
struct Group {
    /// Steps taken by every parameter of the group.
    time: usize,
    /// The parameters, in buffer order.
    ids: Vec<ParamId>,
    /// Their shapes.
    dims: Vec<Vec<usize>>,
    /// First and second moment (`None` before the group's first step).
    moments: Option<(Tensor<1>, Tensor<1>)>,
}

impl Group {
    fn lens(&self) -> Vec<usize> {
        self.dims.iter().map(|d| d.iter().product()).collect()
    }

    fn elements(&self) -> usize {
        self.lens().iter().sum()
    }

    /// The group's state, parameter by parameter (nothing before its first step).
    fn explode(self, into: &mut BTreeMap<u64, Moments>) {
        let lens = self.lens();
        let Some((m, v)) = self.moments else { return };
        let (ms, vs) = (split(m, lens.clone()), split(v, lens));
        for (((id, dims), m), v) in self.ids.into_iter().zip(self.dims).zip(ms).zip(vs) {
            into.insert(id.val(), Moments { time: self.time, dims, m, v });
        }
    }
}

/// The flat-buffer size for a device (`cuda:N`, `libtorch-cpu`, `cpu`): one buffer for all
/// parameters on CUDA, where every operation is a kernel launch and memory is fast; buffers of
/// [`CPU_BUCKET_ELEMENTS`] on CPUs, where a dozen passes over one large buffer stream it through
/// main memory a dozen times, and small buffers stay in cache.
pub fn bucket_elements(device_spec: &str) -> usize {
    if device_spec.trim().to_ascii_lowercase().starts_with("cuda") { usize::MAX } else { CPU_BUCKET_ELEMENTS }
}

/// The CPU buffer size (`bench train --adam-bucket`, paper preset on 2 cores: see docs/performance.md).
pub const CPU_BUCKET_ELEMENTS: usize = 1 << 16;

/// One flat buffer of `parts` (the part itself when it is alone: no copy).
fn join(mut parts: Vec<Tensor<1>>) -> Tensor<1> {
    if parts.len() == 1
        && let Some(only) = parts.pop()
    {
        return only;
    }
    Tensor::cat(parts, 0)
}

/// `flat` cut into parts of `lens` elements (views on libtorch).
fn split(flat: Tensor<1>, lens: Vec<usize>) -> Vec<Tensor<1>> {
    if lens.len() == 1 { vec![flat] } else { flat.split_with_sizes(lens, 0) }
}

/// A parameter's shape and moments while a record is read.
type RecordedMoments = (Vec<usize>, Option<Tensor<1>>, Option<Tensor<1>>);

/// A parameter that has a gradient in this step.
struct Entry {
    id: ParamId,
    dims: Vec<usize>,
    value: Tensor<1>,
    grad: Tensor<1>,
}

/// Takes the gradient of every float parameter out of the gradients, in visiting order.
struct Collect<'a> {
    grads: &'a mut GradientsParams,
    found: Vec<Entry>,
}

impl ModuleVisitor for Collect<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(grad) = self.grads.remove::<D>(param.id) {
            let dims = grad.dims().to_vec();
            let n = dims.iter().product::<usize>();
            let value = param.val().inner().reshape([n]);
            self.found.push(Entry { id: param.id, dims, value, grad: grad.reshape([n]) });
        }
    }
}

/// Puts the updated values back, keeping each parameter's autodiff settings.
struct Apply {
    updated: HashMap<ParamId, Tensor<1>>,
}

impl ModuleMapper for Apply {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, tensor, mapper) = param.consume();
        let tensor = match self.updated.remove(&id) {
            Some(flat) => {
                let mut updated = Tensor::from_inner(flat.reshape(tensor.dims()));
                if let Some(strategy) = tensor.gradient_checkpointing_strategy() {
                    updated = updated.with_gradient_checkpointing_strategy(strategy);
                }
                if tensor.is_require_grad() { updated.require_grad() } else { updated }
            }
            None => tensor,
        };
        Param::from_mapped_value(id, tensor, mapper)
    }
}

/// Multi-tensor Adam (see the module documentation).
#[derive(Clone)]
pub struct Adam {
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    /// The most elements a group's flat buffers hold (a larger parameter is a group alone).
    bucket_elements: usize,
    /// The groups of the parameters that had a gradient in the latest step.
    groups: Vec<Group>,
    /// The ids in `groups`.
    active: HashSet<ParamId>,
    /// The state of parameters that had none (or of a loaded checkpoint before its first step),
    /// by parameter id.
    idle: BTreeMap<u64, Moments>,
}

impl Adam {
    /// A fresh optimiser with the β₁, β₂ and ε of `config` (the learning rate comes with each
    /// step).
    pub fn new(config: &OptimizerConfig) -> Self {
        Self {
            beta_1: config.beta_1,
            beta_2: config.beta_2,
            epsilon: config.epsilon,
            bucket_elements: usize::MAX,
            groups: Vec::new(),
            active: HashSet::new(),
            idle: BTreeMap::new(),
        }
    }

    /// Caps the flat buffers at `elements` values each ([`bucket_elements`] gives the measured
    /// choice per device): parameters sharing a step count are packed, in visiting order, into
    /// buffers of at most that size. Any size gives the same numbers.
    pub fn with_bucket_elements(mut self, elements: usize) -> Self {
        self.bucket_elements = elements.max(1);
        self.active.clear(); // the next step regroups
        self
    }

    /// Updates the parameters of `module` that have a gradient in `grads`.
    pub fn step<M: Module>(
        &mut self,
        lr: f64,
        module: M,
        mut grads: GradientsParams,
    ) -> Result<M, TrainError> {
        let mut collect = Collect { grads: &mut grads, found: Vec::new() };
        module.visit(&mut collect);
        let found = collect.found;
        if found.is_empty() {
            return Ok(module);
        }
        if !(found.len() == self.active.len() && found.iter().all(|e| self.active.contains(&e.id))) {
            self.arrange(&found)?;
        }
        let mut by_id: HashMap<ParamId, Entry> = found.into_iter().map(|e| (e.id, e)).collect();
        let mut updated = HashMap::with_capacity(by_id.len());
        for i in 0..self.groups.len() {
            let entries: Vec<Entry> = self.groups[i].ids.iter().filter_map(|id| by_id.remove(id)).collect();
            let ids: Vec<ParamId> = entries.iter().map(|e| e.id).collect();
            // Moved, not cloned: a gradient held once can be updated in place on libtorch.
            let (values, grads): (Vec<_>, Vec<_>) = entries.into_iter().map(|e| (e.value, e.grad)).unzip();
            let values = self.update(i, join(values), join(grads), lr);
            let parts = split(values, self.groups[i].lens());
            updated.extend(ids.into_iter().zip(parts));
        }
        Ok(module.map(&mut Apply { updated }))
    }

    /// burn's Adam on group `i`'s flat buffers: returns the new values.
    fn update(&mut self, i: usize, values: Tensor<1>, grad: Tensor<1>, lr: f64) -> Tensor<1> {
        let (beta_1, beta_2) = (self.beta_1, self.beta_2);
        let group = &mut self.groups[i];
        let (m, v) = match group.moments.take() {
            Some((m, v)) => (
                m.mul_scalar(beta_1).add(grad.clone().mul_scalar(1.0 - beta_1)),
                v.mul_scalar(beta_2).add(grad.square().mul_scalar(1.0 - beta_2)),
            ),
            None => (grad.clone().mul_scalar(1.0 - beta_1), grad.square().mul_scalar(1.0 - beta_2)),
        };
        group.time += 1;
        let time = group.time as i32;
        let bias_correction_2 = (1.0 - beta_2.powi(time)).sqrt();
        let factor = bias_correction_2 / (1.0 - beta_1.powi(time));
        let step =
            m.clone().mul_scalar(factor).div(v.clone().sqrt().add_scalar(self.epsilon * bias_correction_2));
        group.moments = Some((m, v));
        values - step.mul_scalar(lr)
    }

    /// Regroups the state for the parameters of `found` (the first step, a checkpoint just
    /// loaded, or a change in which parameters have gradients): by step count, in visiting order.
    fn arrange(&mut self, found: &[Entry]) -> Result<(), TrainError> {
        let mut states = std::mem::take(&mut self.idle);
        for group in self.groups.drain(..) {
            group.explode(&mut states);
        }
        let device = found[0].grad.device();
        let mut groups: Vec<(Group, Vec<Tensor<1>>, Vec<Tensor<1>>)> = Vec::new();
        for e in found {
            let state = states.remove(&e.id.val());
            let time = state.as_ref().map_or(0, |s| s.time);
            if let Some(s) = &state
                && s.dims.iter().product::<usize>() != e.dims.iter().product::<usize>()
            {
                return Err(TrainError::Optimizer(format!(
                    "parameter {}: the Adam state has shape {:?}, the parameter {:?}",
                    e.id.val(),
                    s.dims,
                    e.dims
                )));
            }
            // The last bucket of this step count, if the parameter fits in it.
            let n = e.dims.iter().product::<usize>();
            let last = groups.iter().rposition(|(g, _, _)| g.time == time);
            let at = match last.filter(|&at| groups[at].0.elements() + n <= self.bucket_elements) {
                Some(at) => at,
                None => {
                    let group = Group { time, ids: Vec::new(), dims: Vec::new(), moments: None };
                    groups.push((group, Vec::new(), Vec::new()));
                    groups.len() - 1
                }
            };
            let (group, ms, vs) = &mut groups[at];
            group.ids.push(e.id);
            group.dims.push(e.dims.clone());
            if let Some(s) = state {
                ms.push(s.m.inner().to_device(&device));
                vs.push(s.v.inner().to_device(&device));
            }
        }
        self.groups = groups
            .into_iter()
            .map(|(mut group, ms, vs)| {
                if group.time > 0 {
                    group.moments = Some((join(ms), join(vs)));
                }
                group
            })
            .collect();
        self.active = found.iter().map(|e| e.id).collect();
        self.idle = states;
        Ok(())
    }

    /// The state in burn's optimiser record format (burnpack bytes, parameters in id order).
    pub fn to_bytes(&self) -> Result<Bytes, TrainError> {
        let mut states = self.idle.clone();
        for group in self.groups.iter().cloned() {
            group.explode(&mut states);
        }
        let mut tensors = Vec::with_capacity(2 * states.len());
        let mut scalars = Vec::with_capacity(2 * states.len());
        for (id, s) in states {
            for (key, t) in [(MOMENT_1_KEY, s.m), (MOMENT_2_KEY, s.v)] {
                let (bytes, _, dtype) = t.into_data().into_parts();
                tensors.push(burn_pack::Tensor::new(
                    format!("{id}.{key}"),
                    dtype,
                    s.dims.clone(),
                    Some(id),
                    bytes,
                ));
            }
            scalars.push((format!("{id}.{RANK_KEY}"), Scalar::from(s.dims.len())));
            scalars.push((format!("{id}.{TIME_KEY}"), Scalar::from(s.time)));
        }
        let writer = scalars.iter().fold(Writer::new(tensors), |w, (k, v)| w.with_scalar(k, *v));
        writer.into_bytes().map_err(|e| TrainError::Optimizer(format!("encoding the Adam state: {e}")))
    }

    /// Replaces the state by the one in `bytes` (burn's optimiser record format, as written by
    /// [`Adam::to_bytes`] or by burn's `ModuleOptimizer` for Adam), with its tensors on `device`.
    pub fn load_bytes(&mut self, bytes: Bytes, device: &Device) -> Result<(), TrainError> {
        let err = |reason: String| TrainError::Optimizer(format!("the Adam record: {reason}"));
        let reader = Reader::from_bytes(bytes).map_err(|e| err(e.to_string()))?;
        let scalars = reader.scalars().clone();
        let device = device.clone().inner();
        // Per parameter: its shape, then the first and second moment as they turn up.
        let mut parts: BTreeMap<u64, RecordedMoments> = BTreeMap::new();
        for tensor in reader.into_tensors().map_err(|e| err(e.to_string()))? {
            let (name, dtype, shape, id, bytes) = tensor.into_parts().map_err(|e| err(e.to_string()))?;
            let id = id.ok_or_else(|| err(format!("tensor {name} has no parameter id")))?;
            let dims = shape.to_vec();
            let flat =
                TensorData::from_bytes(bytes, Shape::from(vec![dims.iter().product::<usize>()]), dtype);
            let flat = Tensor::<1>::from_data(flat, &device);
            let entry = parts.entry(id).or_insert_with(|| (dims.clone(), None, None));
            if entry.0 != dims {
                return Err(err(format!("parameter {id}: moments of shapes {:?} and {dims:?}", entry.0)));
            }
            match name.strip_prefix(&format!("{id}.")) {
                Some(MOMENT_1_KEY) => entry.1 = Some(flat),
                Some(MOMENT_2_KEY) => entry.2 = Some(flat),
                _ => {
                    return Err(err(format!(
                        "tensor {name} is not plain Adam state (AMSGrad or weight decay?)"
                    )));
                }
            }
        }
        let mut idle = BTreeMap::new();
        for (id, (dims, m, v)) in parts {
            let time = scalars
                .get(&format!("{id}.{TIME_KEY}"))
                .and_then(|s| usize::try_from(*s).ok())
                .ok_or_else(|| err(format!("parameter {id} has no step count")))?;
            let (Some(m), Some(v)) = (m, v) else {
                return Err(err(format!("parameter {id} lacks a moment")));
            };
            idle.insert(id, Moments { time, dims, m, v });
        }
        self.groups.clear();
        self.active.clear();
        self.idle = idle;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use grefel_model::burn;
    use grefel_model::burn::module::Module;
    use grefel_model::burn::nn::conv::{Conv2d, Conv2dConfig};
    use grefel_model::burn::nn::{Linear, LinearConfig};
    use grefel_model::burn::optim::AdamConfig;

    use std::collections::BTreeSet;

    use super::*;

    #[derive(Module, Debug)]
    struct Net {
        conv: Conv2d,
        head: Linear,
        /// Used only in odd steps: its parameters lack gradients in the others.
        extra: Linear,
    }

    fn net(device: &Device) -> Net {
        Net {
            conv: Conv2dConfig::new([2, 3], [3, 3]).init(device),
            head: LinearConfig::new(12, 4).init(device),
            extra: LinearConfig::new(4, 4).init(device),
        }
    }

    fn config() -> OptimizerConfig {
        OptimizerConfig { beta_1: 0.85, beta_2: 0.99, epsilon: 1e-6, ..OptimizerConfig::default() }
    }

    fn burns(c: &OptimizerConfig) -> ModuleOptimizer {
        AdamConfig::new().with_beta_1(c.beta_1).with_beta_2(c.beta_2).with_epsilon(c.epsilon).init()
    }

    /// The gradients of a loss of `net` for step `step` (`extra` joins in odd steps); the input
    /// is a fixed function of the step, so equal weights give equal gradients.
    fn grads(net: &Net, step: usize, device: &Device) -> GradientsParams {
        let x: Vec<f32> = (0..64).map(|i| ((i * 7 + step * 13) % 17) as f32 / 8.0 - 1.0).collect();
        let x = Tensor::<4>::from_data(TensorData::new(x, [2, 2, 4, 4]), device);
        let h = net.conv.forward(x).reshape([2, 12]);
        let mut y = net.head.forward(h);
        if step % 2 == 1 {
            y = net.extra.forward(y.clone().tanh()) + y;
        }
        GradientsParams::from_grads((y.clone() * y).sum().backward(), net)
    }

    fn values(net: &Net) -> Vec<Vec<u32>> {
        struct V(Vec<Vec<u32>>);
        impl ModuleVisitor for V {
            fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
                self.0.push(p.val().into_data().iter::<f32>().map(f32::to_bits).collect());
            }
        }
        let mut v = V(Vec::new());
        net.visit(&mut v);
        v.0
    }

    /// Runs `steps` steps with both optimisers from the same weights and gradients, asserting
    /// bit-identical weights after each; returns both.
    fn lockstep<A: ModuleStep, B: ModuleStep>(
        device: &Device,
        (mut a, mut net_a): (A, Net),
        (mut b, mut net_b): (B, Net),
        steps: std::ops::Range<usize>,
    ) -> ((A, Net), (B, Net)) {
        for step in steps {
            let (ga, gb) = (grads(&net_a, step, device), grads(&net_b, step, device));
            let lr = 0.01 * (1.0 + step as f64);
            net_a = a.step_module(lr, net_a, ga).expect("step a");
            net_b = b.step_module(lr, net_b, gb).expect("step b");
            assert_eq!(values(&net_a), values(&net_b), "weights differ after step {step}");
        }
        ((a, net_a), (b, net_b))
    }

    #[test]
    fn matches_burns_adam_bit_for_bit_with_parameters_joining_and_leaving() {
        let device = Device::flex().autodiff();
        let start = net(&device);
        let before = values(&start);
        let c = config();
        // One buffer per step count; conv (54 + 3 values) and head (48 + 4) in two buffers of
        // at most 60; one buffer per parameter.
        for (bucket, groups) in [(usize::MAX, 2), (60, 3), (1, 6)] {
            let ours = Adam::new(&c).with_bucket_elements(bucket);
            let ((adam, net_a), (burn, net_b)) =
                lockstep(&device, (ours, start.clone()), (burns(&c), start.clone()), 0..4);
            // After step 3, `extra` (in odd steps only) has taken 2 steps, the rest 4.
            let times: BTreeSet<usize> = adam.groups.iter().map(|g| g.time).collect();
            assert_eq!(times, BTreeSet::from([2, 4]), "bucket {bucket}");
            assert_eq!(adam.groups.len(), groups, "bucket {bucket}");
            let ((adam, net_a), _) = lockstep(&device, (adam, net_a), (burn, net_b), 4..5);
            assert_ne!(values(&net_a), before, "the steps moved the weights");
            let times: BTreeSet<usize> = adam.groups.iter().map(|g| g.time).collect();
            assert_eq!((times, adam.idle.len()), (BTreeSet::from([5]), 2), "bucket {bucket}: extra idle");
        }
    }

    #[test]
    fn checkpoints_resume_with_either_optimiser() {
        let device = Device::flex().autodiff();
        let start = net(&device);
        let c = config();
        // Ours → bytes → burn's, and burn's → bytes → ours, each continuing in lockstep.
        let ((adam, net_a), (burn, net_b)) =
            lockstep(&device, (Adam::new(&c), start.clone()), (burns(&c), start), 0..4);
        let from_ours = burns(&c).from_bytes(adam.to_bytes().expect("encode")).expect("burn reads ours");
        let mut from_burns = Adam::new(&c);
        from_burns.load_bytes(burn.into_bytes().expect("burn encodes"), &device).expect("we read burn's");
        lockstep(&device, (from_burns, net_a), (from_ours, net_b), 4..7);
    }

    #[test]
    fn a_fresh_optimiser_differs_from_a_resumed_one() {
        // The resume test above could pass with a loader that drops the state; this one cannot.
        let device = Device::flex().autodiff();
        let start = net(&device);
        let c = config();
        let ((adam, net_a), _) = lockstep(&device, (Adam::new(&c), start.clone()), (burns(&c), start), 0..3);
        let mut resumed = Adam::new(&c);
        resumed.load_bytes(adam.to_bytes().expect("encode"), &device).expect("decode");
        let (g, g2) = (grads(&net_a, 4, &device), grads(&net_a, 4, &device));
        let a = resumed.step(0.01, net_a.clone(), g).expect("resumed");
        let b = Adam::new(&c).step(0.01, net_a, g2).expect("fresh");
        assert_ne!(values(&a), values(&b));
    }

    #[test]
    fn bad_records_are_errors() {
        let device = Device::flex().autodiff();
        let mut adam = Adam::new(&config());
        let garbage = adam.load_bytes(Bytes::from_bytes_vec(vec![7u8; 64]), &device);
        assert!(matches!(garbage, Err(TrainError::Optimizer(_))), "{:?}", garbage.err());
        // A state whose shape does not fit the parameter it is keyed to.
        let start = net(&device);
        let mut first = Adam::new(&config());
        let stepped = first.step(0.01, start.clone(), grads(&start, 0, &device)).expect("step");
        let bytes = first.to_bytes().expect("encode");
        // The same parameter id on a head of another width.
        let mut other = stepped;
        let widened = Tensor::<2>::zeros([12, 5], &device).require_grad();
        other.head.weight = Param::initialized(other.head.weight.id, widened);
        other.head.bias = None;
        let mut loaded = Adam::new(&config());
        loaded.load_bytes(bytes, &device).expect("decode");
        let mismatch = loaded.step(0.01, other.clone(), grads(&other, 0, &device));
        let Err(TrainError::Optimizer(reason)) = mismatch else { panic!("a mismatched state must fail") };
        assert!(reason.contains("shape"), "{reason}");
    }
}
