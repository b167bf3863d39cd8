//! The model learns: a few dozen Adam steps on one fixed batch drive the classification loss
//! well below chance and fit the batch. Guards against parameters that never receive gradients
//! (a detached branch, a frozen block that should not be) and against a loss that cannot move.

use grefel_model::burn::optim::{AdamConfig, GradientsParams};
use grefel_model::burn::tensor::{Distribution, Int, Tensor};
use grefel_model::{Grefel, ModelConfig, loss, seed_device};

fn fit(cfg: ModelConfig, steps: usize, trust: f32, lr: f64) -> (f32, f32, usize) {
    let device = grefel_model::burn::tensor::Device::flex().autodiff();
    seed_device(&device, 3);
    let mut model = Grefel::new(cfg.clone(), &device).expect("builds");
    let b = 14;
    let images = Tensor::<4>::random([b, 3, 64, 64], Distribution::Normal(0.0, 1.0), &device);
    let lm = Tensor::<3>::random([b, 68, 2], Distribution::Uniform(0.0, 1.0), &device);
    let labels: Vec<i64> = (0..b as i64).map(|i| i % 7).collect();
    let labels = Tensor::<1, Int>::from_ints(labels.as_slice(), &device);
    let mut optim = AdamConfig::new().init();
    let mut first = f32::NAN;
    let mut last = f32::NAN;
    let mut correct = 0;
    for step in 0..steps {
        let out = model.forward(images.clone(), Some(lm.clone()), trust).expect("forward");
        let parts = loss(&out, labels.clone(), None, &cfg.loss).expect("loss");
        let cls: f32 = parts.cls.to_data().iter::<f32>().next().unwrap_or(f32::NAN);
        if step == 0 {
            first = cls;
        }
        last = cls;
        let pred: Vec<i64> = out.p.clone().argmax(1).into_data().iter::<i64>().collect();
        let truth: Vec<i64> = labels.to_data().iter::<i64>().collect();
        correct = pred.iter().zip(&truth).filter(|(a, b)| a == b).count();
        let grads = GradientsParams::from_grads(parts.total.backward(), &model);
        model = optim.step(lr, model, grads);
    }
    eprintln!("cls {first:.4} -> {last:.4}, {correct}/{b} correct");
    (first, last, correct)
}

// One test: the Flex backend's RNG is global to the process, so concurrent tests would draw
// each other's numbers.
#[test]
fn tiny_preset_fits_one_batch() {
    let (first, last, correct) = fit(ModelConfig::tiny(), 40, 0.0, 1e-3);
    assert!(last < 0.5 * first, "classification loss {first} -> {last}: not learning");
    assert_eq!(correct, 14, "{correct}/14 correct after 40 steps");

    // t = 1: the loss sees only the corrected distribution ŷ (anchor and attention paths).
    // Slower than p alone (the anchors start at zero), but it must move.
    let (first, last, _) = fit(ModelConfig::tiny(), 40, 1.0, 1e-3);
    assert!(last < 0.8 * first, "classification loss of ŷ {first} -> {last}: not learning");
}
