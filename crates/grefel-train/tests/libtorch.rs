//! Training on the libtorch backend (`--features tch`, `cargo xtask setup-libtorch` first): a
//! short training run on `libtorch-cpu` finishes with finite, in-range metrics, and two runs with
//! one seed give identical metrics; the whole `micro` model gives the same loss and gradients on
//! libtorch as on the default CPU backend, one seed gives one initial network on both, and twelve
//! Adam steps from it give the same losses. The op-level checks (batch norm, the fused ops) sit
//! beside the model, in `grefel-model/tests/libtorch.rs`. CI builds the feature and runs both.

#![cfg(feature = "tch")]

use std::path::Path;

use grefel_ingest::split::SplitConfig;
use grefel_ingest::{NoProgress as IngestQuiet, PrepareSettings, prepare};
use grefel_synth::SynthConfig;
use grefel_train::{NoProgress, RunStatus, TrainSettings, train};

fn prepare_synthetic(root: &Path) {
    let raw = root.join("raw");
    let synth = SynthConfig { count: 120, image_size: 32, identities: 4, ..SynthConfig::default() };
    grefel_synth::generate(&synth, &raw).expect("draw the synthetic set");
    let settings = PrepareSettings {
        dataset: Some("synthetic".into()),
        adapter: "fergdb".into(),
        variant: None,
        root: raw,
        out: root.join("data"),
        rows_per_shard: 64,
        image: Default::default(),
        split: SplitConfig::default(),
    };
    prepare(&settings.validate().expect("valid prepare settings"), &IngestQuiet).expect("prepare");
}

#[test]
fn short_training_on_libtorch_cpu() {
    let tmp = tempfile::tempdir().expect("tempdir");
    prepare_synthetic(tmp.path());
    let mut s = TrainSettings::new("synthetic");
    s.preset = "micro".into();
    s.epochs = 2;
    s.batch_size = 8;
    s.eval_batch_size = 32;
    let cfg = s.validate().expect("valid settings");
    let data = tmp.path().join("data");
    let a = train(&cfg, &data, &tmp.path().join("runs-a"), "libtorch-cpu", &NoProgress).expect("train");
    assert_eq!(a.status, RunStatus::Finished);
    let am = a.metrics.as_ref().expect("metrics");
    for (output, m) in [("primary", &am.test.primary), ("corrected", &am.test.corrected)] {
        assert!((0.0..=1.0).contains(&m.accuracy), "{output} accuracy {}", m.accuracy);
        assert!(m.nll.is_finite() && m.nll > 0.0, "{output} nll {}", m.nll);
    }
    assert_eq!(am.history.len(), 2);
    assert!(am.history.iter().all(|e| e.loss.is_finite()));

    let b = train(&cfg, &data, &tmp.path().join("runs-b"), "libtorch-cpu", &NoProgress).expect("train again");
    let bm = b.metrics.as_ref().expect("metrics");
    assert_eq!(am.test, bm.test, "one seed, one backend: the same numbers");
}

/// A run's id names its backend: one configuration on the default CPU backend and on libtorch CPU
/// gives two runs in one runs folder, and a second call is a no-op for its own backend only.
#[test]
fn runs_of_two_backends_are_two_runs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    prepare_synthetic(tmp.path());
    let mut s = TrainSettings::new("synthetic");
    s.preset = "micro".into();
    s.epochs = 1;
    s.batch_size = 8;
    s.eval_batch_size = 32;
    let cfg = s.validate().expect("valid settings");
    let (data, runs) = (tmp.path().join("data"), tmp.path().join("runs"));
    let torch = train(&cfg, &data, &runs, "libtorch-cpu", &NoProgress).expect("libtorch");
    let flex = train(&cfg, &data, &runs, "cpu", &NoProgress).expect("cpu");
    assert_eq!(
        (torch.status, flex.status),
        (RunStatus::Finished, RunStatus::Finished),
        "cpu is not taken for libtorch"
    );
    assert_ne!(torch.run_id, flex.run_id);
    for (r, backend) in [(&torch, "libtorch-cpu"), (&flex, "cpu")] {
        let doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(r.run_dir.join("config.json")).expect("config"))
                .expect("json");
        assert_eq!(doc["backend"], backend);
    }
    for (device, first) in [("cpu", &flex), ("libtorch-cpu", &torch)] {
        let again = train(&cfg, &data, &runs, device, &NoProgress).expect("again");
        assert_eq!((again.status, &again.run_id), (RunStatus::AlreadyFinished, &first.run_id), "{device}");
    }
}

/// The whole `micro` model, one batch: the same weights give the same distributions, loss and
/// gradient norm on libtorch as on the default CPU backend (burn's Flex).
mod one_batch {
    use grefel_model::burn::module::Module;
    use grefel_model::burn::optim::GradientsParams;
    use grefel_model::burn::store::ModuleRecord;
    use grefel_model::burn::tensor::{Bytes, Device, Int, Tensor, TensorData};
    use grefel_model::{Grefel, ModelConfig, device_from_str, loss};
    use grefel_train::sam::grad_norm;

    struct Figures {
        p: Vec<f64>,
        losses: Vec<f64>,
        grad_norm: f64,
    }

    fn run(device: &Device, cfg: &ModelConfig, weights: &[u8]) -> Figures {
        let device = device.clone().autodiff();
        let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(weights.to_vec())).expect("record");
        let model = Grefel::new(cfg.clone(), &device).expect("model").try_load_record(record).expect("load");
        let (b, s) = (4, cfg.image_size);
        let images: Vec<f32> = (0..b * 3 * s * s).map(|i| ((i as f32) * 0.137).sin() * 0.8).collect();
        let landmarks: Vec<f32> =
            (0..b * 68 * 2).map(|i| 4.0 + ((i * 7919) % 97) as f32 / 97.0 * (s as f32 - 8.0)).collect();
        let images = Tensor::<4>::from_data(TensorData::new(images, [b, 3, s, s]), &device);
        let landmarks = Tensor::<3>::from_data(TensorData::new(landmarks, [b, 68, 2]), &device);
        let labels = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 3, 5, 6], [b]), &device);
        let out = model.forward(images, Some(landmarks), 0.5).expect("forward");
        let parts = loss(&out, labels, None, &cfg.loss).expect("loss");
        let losses = [&parts.total, &parts.cls, &parts.anchor, &parts.center]
            .into_iter()
            .map(|t| t.clone().detach().into_data().iter::<f64>().next().expect("a value"))
            .collect();
        let p = out.p.clone().detach().into_data().iter::<f64>().collect();
        let grads = GradientsParams::from_grads(parts.total.backward(), &model);
        Figures { p, losses, grad_norm: grad_norm(&model, &grads) }
    }

    #[test]
    fn libtorch_and_flex_agree_on_loss_and_gradients() {
        let cfg = ModelConfig::preset("micro").expect("micro");
        assert!(!cfg.draws_in_training(), "no random draws, so both backends see the same network");
        let flex = Device::flex();
        let weights =
            Grefel::new(cfg.clone(), &flex).expect("model").into_record().into_bytes().expect("bytes");
        let a = run(&flex, &cfg, &weights);
        let b = run(&device_from_str("libtorch-cpu").expect("libtorch"), &cfg, &weights);
        eprintln!("flex: losses {:?}, gradient norm {}", a.losses, a.grad_norm);
        eprintln!("libtorch: losses {:?}, gradient norm {}", b.losses, b.grad_norm);
        let worst_p = a.p.iter().zip(&b.p).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
        assert!(worst_p < 1e-5, "p differs by {worst_p:.3e}");
        for (i, (x, y)) in a.losses.iter().zip(&b.losses).enumerate() {
            assert!((x - y).abs() < 1e-5 * x.abs().max(1.0), "loss term {i}: flex {x}, libtorch {y}");
        }
        let rel = (a.grad_norm - b.grad_norm).abs() / a.grad_norm;
        assert!(
            a.grad_norm > 0.0 && rel < 1e-4,
            "gradient norm: flex {}, libtorch {}",
            a.grad_norm,
            b.grad_norm
        );
    }
}

/// One seed, one initial network on every backend (`checkpoint::initial_model` draws on the CPU
/// backend and loads onto the device); twelve Adam steps from it give the same losses on libtorch
/// as on the default CPU backend; the multi-tensor Adam gives burn's Adam's weights.
mod trajectory {
    use grefel_model::burn::module::{Module, ModuleVisitor, Param};
    use grefel_model::burn::optim::{AdamConfig, GradientsParams};
    use grefel_model::burn::tensor::{Device, Int, Tensor, TensorData};
    use grefel_model::{Grefel, ModelConfig, device_from_str, loss};
    use grefel_train::adam::{self, Adam, ModuleStep};
    use grefel_train::checkpoint::initial_model;
    use grefel_train::config::OptimizerConfig;

    /// Every parameter's values, in module order.
    struct Values(Vec<Vec<f32>>);

    impl ModuleVisitor for Values {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.push(param.val().into_data().iter::<f32>().collect());
        }
    }

    fn values(model: &Grefel) -> Vec<Vec<f32>> {
        let mut v = Values(Vec::new());
        model.visit(&mut v);
        v.0
    }

    /// The total loss of each of `steps` Adam steps (lr 1e-3) on fixed, step-dependent batches
    /// (with `one_batch`, the batch of step 0 every time: a curve that falls).
    fn losses(model: Grefel, cfg: &ModelConfig, device: &Device, steps: usize, one_batch: bool) -> Vec<f64> {
        let mut optim = Adam::new(&OptimizerConfig::default());
        descend(model, cfg, device, steps, one_batch, &mut optim).0
    }

    /// [`losses`] with a given optimiser; also returns the final network.
    fn descend(
        mut model: Grefel,
        cfg: &ModelConfig,
        device: &Device,
        steps: usize,
        one_batch: bool,
        optim: &mut impl ModuleStep,
    ) -> (Vec<f64>, Grefel) {
        let (b, s) = (16, cfg.image_size);
        let losses = (0..steps)
            .map(|step| {
                let step = if one_batch { 0 } else { step };
                let images: Vec<f32> = (0..b * 3 * s * s)
                    .map(|i| ((i as f32) * 0.137 + step as f32 * 1.3).sin() * 0.8)
                    .collect();
                let landmarks: Vec<f32> = (0..b * 68 * 2)
                    .map(|i| 4.0 + ((i * 7919 + step * 31) % 97) as f32 / 97.0 * (s as f32 - 8.0))
                    .collect();
                let labels: Vec<i64> = (0..b).map(|i| ((i * 3 + step) % 7) as i64).collect();
                let images = Tensor::<4>::from_data(TensorData::new(images, [b, 3, s, s]), device);
                let landmarks = Tensor::<3>::from_data(TensorData::new(landmarks, [b, 68, 2]), device);
                let labels = Tensor::<1, Int>::from_data(TensorData::new(labels, [b]), device);
                let out = model.clone().forward(images, Some(landmarks), 0.5).expect("forward");
                let parts = loss(&out, labels, None, &cfg.loss).expect("loss");
                let total = parts.total.clone().detach().into_data().iter::<f64>().next().expect("a value");
                let grads = GradientsParams::from_grads(parts.total.backward(), &model);
                model = optim.step_module(1e-3, model.clone(), grads).expect("Adam step");
                total
            })
            .collect();
        (losses, model)
    }

    /// The multi-tensor Adam (flat buffers; the parameters come back as views of one libtorch
    /// buffer) gives burn's per-parameter Adam's weights bit for bit on libtorch, step after
    /// step: nothing writes through those views.
    #[test]
    fn multi_tensor_adam_gives_burns_weights_on_libtorch() {
        let cfg = ModelConfig::preset("micro").expect("micro");
        let torch = device_from_str("libtorch-cpu").expect("libtorch").autodiff();
        let init = initial_model(&cfg, 7, &torch).expect("init on libtorch");
        let c = OptimizerConfig::default();
        let mut burns =
            AdamConfig::new().with_beta_1(c.beta_1).with_beta_2(c.beta_2).with_epsilon(c.epsilon).init();
        let (lb, b) = descend(init.clone(), &cfg, &torch, 6, false, &mut burns);
        assert_ne!(values(&b), values(&init), "the steps moved the weights");
        // One buffer for everything (CUDA's choice), the CPU's buffers, one per parameter.
        for bucket in [usize::MAX, adam::CPU_BUCKET_ELEMENTS, 1] {
            let mut ours = Adam::new(&c).with_bucket_elements(bucket);
            let (la, a) = descend(init.clone(), &cfg, &torch, 6, false, &mut ours);
            assert_eq!(la, lb, "bucket {bucket}: the same losses");
            assert_eq!(values(&a), values(&b), "bucket {bucket}: the same weights after six steps");
        }
    }

    #[test]
    fn one_seed_one_network_and_the_same_losses_on_both_backends() {
        let cfg = ModelConfig::preset("micro").expect("micro");
        let flex = Device::flex().autodiff();
        let torch = device_from_str("libtorch-cpu").expect("libtorch").autodiff();
        let a = initial_model(&cfg, 7, &flex).expect("init on flex");
        let b = initial_model(&cfg, 7, &torch).expect("init on libtorch");
        let c = initial_model(&cfg, 8, &flex).expect("init, another seed");
        assert_eq!(values(&a), values(&b), "one seed gives the same initial weights on both backends");
        assert_ne!(values(&a), values(&c), "another seed gives other weights");

        let (la, lb) = (losses(a, &cfg, &flex, 12, false), losses(b, &cfg, &torch, 12, false));
        eprintln!("flex {la:?}\nlibtorch {lb:?}");
        for (step, (x, y)) in la.iter().zip(&lb).enumerate() {
            assert!((x - y).abs() < 1e-5 * x.abs().max(1.0), "step {step}: flex {x}, libtorch {y}");
        }
        assert!(la.iter().all(|l| l.is_finite()) && la[0] != la[11], "the steps move the loss: {la:?}");
    }

    /// bf16 mixed precision (bf16 convolutions and linear layers on f32 master weights) follows
    /// the fp32 loss curve: twelve Adam steps from one initial network on libtorch.
    #[test]
    fn the_bf16_loss_curve_follows_fp32() {
        use grefel_model::{Precision, with_precision};
        let cfg = ModelConfig::preset("micro").expect("micro");
        let torch = device_from_str("libtorch-cpu").expect("libtorch").autodiff();
        let init = || initial_model(&cfg, 7, &torch).expect("init on libtorch");
        let fp32 = losses(init(), &cfg, &torch, 12, true);
        let bf16 = with_precision(Precision::Bf16, || losses(init(), &cfg, &torch, 12, true));
        eprintln!("fp32 {fp32:?}\nbf16 {bf16:?}");
        assert_ne!(fp32, bf16, "bf16 changes the numbers");
        // At lr 1e-3 the curve has bumps (fp32 at step 9): each step within 5 %, on average
        // within 1 %, and both curves fall.
        let gaps: Vec<f64> = fp32.iter().zip(&bf16).map(|(f, b)| (f - b).abs() / f.abs()).collect();
        for (step, gap) in gaps.iter().enumerate() {
            assert!(*gap <= 0.05, "step {step}: fp32 {}, bf16 {}", fp32[step], bf16[step]);
        }
        let mean_gap = gaps.iter().sum::<f64>() / gaps.len() as f64;
        assert!(mean_gap <= 0.01, "mean relative gap {mean_gap:.4}");
        let falls = |l: &[f64]| l[8..].iter().copied().fold(f64::INFINITY, f64::min) < 0.95 * l[0];
        assert!(falls(&fp32) && falls(&bf16), "both curves fall on the repeated batch");
    }
}
