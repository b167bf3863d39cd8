//! Times inference forwards on the CPU (Flex) device:
//! `cargo run --release -p grefel-model --example forward_timing [preset batch]...`
//! (default: `tiny 32 paper 1`). The first pass includes lazy parameter initialisation and is
//! reported separately.

use std::time::Instant;

use grefel_model::burn::module::Module;
use grefel_model::burn::tensor::{Distribution, Tensor};
use grefel_model::{Grefel, ModelConfig, ModelError, device_from_str, seed_device};

fn time(preset: &str, batch: usize) -> Result<(), ModelError> {
    let device = device_from_str("cpu")?;
    seed_device(&device, 0);
    let cfg = ModelConfig::preset(preset)?;
    let s = cfg.image_size;
    let l = cfg.landmark.geometry.num_landmarks;
    let model = Grefel::new(cfg, &device)?.valid();
    let images = Tensor::<4>::random([batch, 3, s, s], Distribution::Normal(0.0, 1.0), &device);
    let lm = Tensor::<3>::random([batch, l, 2], Distribution::Uniform(0.1, 0.9), &device);
    for pass in 0..3 {
        let t = Instant::now();
        let out = model.forward(images.clone(), Some(lm.clone()), 1.0)?;
        let _ = out.y_hat.to_data();
        let label = if pass == 0 { "first (incl. init)" } else { "warm" };
        println!("{preset} batch {batch}: {label} forward {:.3} s", t.elapsed().as_secs_f64());
    }
    Ok(())
}

fn main() -> Result<(), ModelError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let pairs: Vec<(String, usize)> = if args.is_empty() {
        vec![("tiny".into(), 32), ("paper".into(), 1)]
    } else {
        args.chunks(2).map(|c| (c[0].clone(), c.get(1).and_then(|b| b.parse().ok()).unwrap_or(1))).collect()
    };
    for (preset, batch) in pairs {
        time(&preset, batch)?;
    }
    Ok(())
}
