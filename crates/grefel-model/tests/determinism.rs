//! Determinism: the same seed gives bit-identical forwards and optimizer steps. Its own test
//! binary, because the Flex backend's RNG is global to the process (burn's `Device::seed`) and
//! tests of one binary run concurrently.

use grefel_model::burn::module::Module;
use grefel_model::burn::optim::{AdamConfig, GradientsParams};
use grefel_model::burn::tensor::{Distribution, Int, Tensor};
use grefel_model::{Grefel, ModelConfig, loss, seed_device};

fn run(seed: u64) -> Vec<Vec<f32>> {
    let device = grefel_model::burn::tensor::Device::flex().autodiff();
    seed_device(&device, seed);
    let mut cfg = ModelConfig::tiny();
    cfg.reliability.anchor_init = grefel_model::config::AnchorInit::Normal { std: 0.1 };
    let model = Grefel::new(cfg.clone(), &device).expect("tiny builds");
    let images = Tensor::<4>::random([6, 3, 64, 64], Distribution::Normal(0.0, 1.0), &device);
    let lm = Tensor::<3>::random([6, 68, 2], Distribution::Uniform(0.0, 1.0), &device);
    let labels = Tensor::<1, Int>::from_ints([0, 1, 2, 3, 4, 5], &device);

    // Training-mode forward (dropout and DropPath active), loss, backward, one Adam step.
    let out = model.forward(images.clone(), Some(lm.clone()), 0.5).expect("forward");
    let parts = loss(&out, labels, None, &cfg.loss).expect("loss");
    let mut record =
        vec![out.y_hat.to_data().iter::<f32>().collect(), parts.total.to_data().iter::<f32>().collect()];
    let grads = GradientsParams::from_grads(parts.total.backward(), &model);
    let mut optim = AdamConfig::new().init();
    let model = optim.step(1e-3, model, grads);

    // Evaluation forward after the step.
    let eval = model.valid();
    let out =
        eval.forward(images.without_autodiff(), Some(lm.without_autodiff()), 1.0).expect("eval forward");
    record.push(out.y_hat.to_data().iter::<f32>().collect());
    record.push(out.embedding.to_data().iter::<f32>().collect());
    record
}

#[test]
fn same_seed_gives_identical_forward_and_optimizer_step() {
    let a = run(7);
    let b = run(7);
    assert_eq!(a, b, "two runs from seed 7 differ");
    let c = run(8);
    assert_ne!(a[0], c[0], "another seed should give other numbers");
}
