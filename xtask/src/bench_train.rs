//! `cargo xtask bench train`: the full GReFEL training step (forward, losses, backward, Adam
//! step) of grefel on a burn device against the PyTorch eager reference `bench/torch_grefel.py`
//! (same network built from the same resolved configuration, same shapes, same parameter count,
//! same losses), measured in one run on the same machine.
//!
//! Both sides draw one fixed random batch, run `--warmup` untimed steps, then time `--steps`
//! steps, each ending with a read-back of the loss (a device synchronisation), and report the
//! median step. `--profile` splits grefel's step into phases, each closed by a read-back, and
//! asks the reference for its phases and libtorch's per-op profile.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use clap::Args;
use grefel_model::burn::optim::{AdamConfig, GradientsParams};
use grefel_model::burn::tensor::{Device, Tensor};
use grefel_model::{
    Grefel, ModelConfig, Precision, device_from_str, fused, is_flex, loss, parameter_counts, with_precision,
    with_seed,
};
use grefel_schema::rng::SeedRng;
use grefel_train::adam::{self, Adam, ModuleStep};
use grefel_train::config::OptimizerConfig;
use grefel_train::loader::Batch;
use grefel_train::step::{BatchTensors, StepContext, train_step};
use serde_json::{Value, json};

/// Arguments of `bench train`.
#[derive(Debug, Args)]
pub struct TrainBenchArgs {
    /// Model preset (paper, paper-geometry, arbex, tiny, tiny-mfn, micro).
    #[arg(long, default_value = "micro")]
    preset: String,
    /// Batch size.
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// grefel's device: cpu (the default CPU backend), libtorch-cpu, cuda:N (`tch` feature);
    /// the reference runs on the same hardware (cpu for the two CPU devices).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Precision of both sides: fp32 (IEEE), tf32 (TF32 convolutions and matmuls on CUDA), bf16
    /// (grefel: bf16 convolutions and linear layers on f32 weights; PyTorch: autocast).
    #[arg(long, default_value = "fp32")]
    precision: Precision,
    /// cuDNN benchmark mode on both sides [default: on for CUDA, where shapes are static].
    #[arg(long, overrides_with = "no_cudnn_benchmark")]
    cudnn_benchmark: bool,
    /// cuDNN benchmark mode off on both sides.
    #[arg(long)]
    no_cudnn_benchmark: bool,
    /// grefel without its fused ops (burn's own PReLU, layer norm, convolution, linear and
    /// attention forward and backward, at libtorch's default precision), to measure what they
    /// bring.
    #[arg(long)]
    no_fused: bool,
    /// grefel with burn's per-parameter Adam (`ModuleOptimizer`) instead of its multi-tensor
    /// Adam, to measure what the flat update brings (same arithmetic, same weights).
    #[arg(long)]
    per_parameter_adam: bool,
    /// Elements per flat Adam buffer [default: grefel-train's choice for the device: one buffer
    /// on CUDA, 2^16 on CPUs].
    #[arg(long)]
    adam_bucket: Option<usize>,
    /// Timed steps.
    #[arg(long, default_value_t = 20)]
    steps: usize,
    /// Untimed warm-up steps.
    #[arg(long, default_value_t = 5)]
    warmup: usize,
    /// Trust t of the timed steps (every loss term is live for t in (0, 1]).
    #[arg(long, default_value_t = 0.5)]
    trust: f32,
    /// Split the step into phases (and ask the reference for libtorch's per-op profile).
    #[arg(long)]
    profile: bool,
    /// Skip the PyTorch reference (grefel only).
    #[arg(long)]
    no_reference: bool,
    /// Python with torch 2.11 [default: the `setup-libtorch` venv's].
    #[arg(long)]
    python: Option<PathBuf>,
    /// CPU threads of the reference [default: rayon's thread count, as grefel's CPU backend].
    #[arg(long)]
    threads: Option<usize>,
    /// Seed of the weights and the batch.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// The environment switch that lets libtorch's cuBLAS matmuls use TF32.
const TF32_CUBLAS: &str = "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE";

/// One side's timing.
#[derive(Debug)]
struct Timing {
    /// Median seconds per step.
    median: f64,
    /// Mean seconds per step.
    mean: f64,
    /// Mean seconds per phase (profile mode).
    phases: Vec<(&'static str, f64)>,
    /// Loss of the last step.
    final_loss: f32,
}

/// Runs `bench train`.
pub fn run(args: TrainBenchArgs) -> Result<()> {
    ensure!(args.batch >= 2, "--batch must be at least 2 (batch norm needs two samples)");
    ensure!(args.steps >= 1, "--steps must be at least 1");
    ensure!((0.0..=1.0).contains(&args.trust), "--trust must be in [0, 1]");
    if cfg!(debug_assertions) {
        tracing::info!("dev build: dependencies (burn) are optimised, grefel's own crates at opt-level 1");
    }
    let cfg = ModelConfig::preset(&args.preset)?;
    let device = device_from_str(&args.device)?;
    let cuda = args.device.trim().to_ascii_lowercase().starts_with("cuda");
    if args.precision == Precision::Bf16 && is_flex(&args.device) {
        bail!("--precision bf16 needs a libtorch device (libtorch-cpu or cuda:N), not `{}`", args.device);
    }
    if cuda && args.precision == Precision::Tf32 && std::env::var_os(TF32_CUBLAS).is_none() {
        // libtorch reads this once, at its first matmul, and tch has no binding for the switch:
        // run again with it set, rather than set it in a process that may have threads.
        tracing::info!("tf32 on CUDA: running again with {TF32_CUBLAS}=1 (TF32 matmuls)");
        let status = Command::new(std::env::current_exe()?)
            .args(std::env::args_os().skip(1))
            .env(TF32_CUBLAS, "1")
            .status()
            .context("running bench train again for tf32")?;
        ensure!(status.success(), "bench train (tf32) failed: {status}");
        return Ok(());
    }
    if args.no_fused && args.precision == Precision::Bf16 {
        bail!("--no-fused runs burn's own f32 layers: --precision bf16 needs the fused ops");
    }
    fused::set_enabled(!args.no_fused);
    let cudnn_benchmark = cuda && !args.no_cudnn_benchmark || args.cudnn_benchmark;
    fused::set_cudnn_benchmark(cudnn_benchmark);
    let counts = parameter_counts(&Grefel::new(cfg.clone(), &device_from_str("cpu")?)?);
    let threads = args.threads.unwrap_or_else(rayon::current_num_threads);
    println!(
        "bench train: preset {} ({} parameters, {} trainable), batch {}, {} px, device {}, {}, cudnn benchmark {}, fused ops {}, {} Adam, {} warm-up + {} timed steps",
        args.preset,
        counts.total,
        counts.trainable,
        args.batch,
        cfg.image_size,
        args.device,
        args.precision.name(),
        if cudnn_benchmark { "on" } else { "off" },
        if args.no_fused { "off" } else { "on" },
        if args.per_parameter_adam { "per-parameter" } else { "multi-tensor" },
        args.warmup,
        args.steps
    );

    // grefel-train's Adam settings (β₁ 0.9, β₂ 0.999, ε 1e-8), as the reference's.
    let adam = OptimizerConfig::default();
    let grefel = with_precision(args.precision, || {
        if args.per_parameter_adam {
            let burns = AdamConfig::new()
                .with_beta_1(adam.beta_1)
                .with_beta_2(adam.beta_2)
                .with_epsilon(adam.epsilon);
            time_grefel(&cfg, &device, &args, burns.init())
        } else {
            let bucket = args.adam_bucket.unwrap_or_else(|| adam::bucket_elements(&args.device));
            time_grefel(&cfg, &device, &args, Adam::new(&adam).with_bucket_elements(bucket))
        }
    })?;
    print_timing("grefel", args.batch, &grefel);

    if args.no_reference {
        println!(
            "bench train: grefel {:.1} img/s ({:.1} ms/step); reference skipped",
            args.batch as f64 / grefel.median,
            grefel.median * 1e3
        );
        return Ok(());
    }
    let summary_file = tempfile::NamedTempFile::new().context("temporary file for the configuration")?;
    let mut summary = serde_json::to_value(&counts)?;
    summary["config"] = serde_json::to_value(&cfg)?;
    std::fs::write(summary_file.path(), serde_json::to_string(&summary)?)?;
    let reference = time_reference(
        &args,
        summary_file.path(),
        if cuda { &args.device } else { "cpu" },
        threads,
        cudnn_benchmark,
    )?;
    let ref_total = reference["params_total"].as_u64().unwrap_or(0) as usize;
    ensure!(
        ref_total == counts.total,
        "the reference built {ref_total} parameters, grefel {}: not the same network",
        counts.total
    );
    let py = Timing {
        median: reference["step_ms_median"].as_f64().unwrap_or(f64::NAN) / 1e3,
        mean: reference["step_ms_mean"].as_f64().unwrap_or(f64::NAN) / 1e3,
        phases: Vec::new(),
        final_loss: reference["final_loss"].as_f64().unwrap_or(f64::NAN) as f32,
    };
    print_timing(&format!("pytorch {} eager", reference["torch"].as_str().unwrap_or("?")), args.batch, &py);
    if let Some(phases) = reference["phases_ms"].as_object() {
        let line: Vec<String> =
            phases.iter().map(|(k, v)| format!("{k} {:.2} ms", v.as_f64().unwrap_or(0.0))).collect();
        println!("  pytorch phases: {}", line.join(", "));
    }
    println!(
        "bench train: grefel {:.1} img/s, PyTorch eager {:.1} img/s, ratio {:.2}x ({} {}, batch {}, {}, {} threads)",
        args.batch as f64 / grefel.median,
        args.batch as f64 / py.median,
        py.median / grefel.median,
        args.preset,
        args.device,
        args.batch,
        args.precision.name(),
        threads
    );
    Ok(())
}

fn print_timing(name: &str, batch: usize, t: &Timing) {
    println!(
        "  {name:<24} median {:8.2} ms/step, mean {:8.2} ms/step, {:8.1} img/s, final loss {:.4}",
        t.median * 1e3,
        t.mean * 1e3,
        batch as f64 / t.median,
        t.final_loss
    );
    if !t.phases.is_empty() {
        let line: Vec<String> = t.phases.iter().map(|(k, v)| format!("{k} {:.2} ms", v * 1e3)).collect();
        println!("  {name} phases: {}", line.join(", "));
    }
}

/// The first element of a tensor, read back to the host (a device synchronisation).
fn scalar(t: Tensor<1>) -> f32 {
    t.into_data().iter::<f32>().next().unwrap_or(f32::NAN)
}

/// The learning rate of the timed steps (grefel-train's default; the reference uses the same).
const LR: f64 = 3e-4;

/// grefel's training step ([`grefel_train::step::train_step`], the step `train` runs: forward,
/// losses, backward, Adam, and the read-back of the loss terms), timed on `device`. With
/// `--profile`, a second series of steps closes each phase with a read-back.
fn time_grefel(
    cfg: &ModelConfig,
    device: &Device,
    args: &TrainBenchArgs,
    mut optim: impl ModuleStep,
) -> Result<Timing> {
    let device = device.clone().autodiff();
    let mut model = with_seed(&device, args.seed, || Grefel::new(cfg.clone(), &device))?;
    let (b, s) = (args.batch, cfg.image_size);
    let mut rng = SeedRng::new(args.seed);
    let batch = Batch {
        indices: (0..b).collect(),
        images: (0..b * 3 * s * s).map(|_| rng.normal() as f32).collect(),
        landmarks: Some((0..b * 68 * 2).map(|_| rng.unit() as f32).collect()),
        labels: (0..b)
            .map(|_| (rng.unit() * cfg.num_classes as f64) as i64 % cfg.num_classes as i64)
            .collect(),
        targets: None,
    };
    let tensors = BatchTensors::new(&batch, s, &device);
    let ctx = StepContext {
        device: &device,
        step_seed: args.seed,
        trust: args.trust,
        lr: LR,
        class_weights: None,
        loss: &cfg.loss,
        sam_rho: None,
    };
    let mut times = Vec::with_capacity(args.steps);
    let mut final_loss = f32::NAN;
    for step in 0..args.warmup + args.steps {
        let start = Instant::now();
        let (next, stats) = train_step(model, &mut optim, &tensors, &ctx)?;
        model = next;
        let elapsed = start.elapsed().as_secs_f64();
        final_loss = stats.total;
        if step >= args.warmup {
            times.push(elapsed);
        }
    }
    ensure!(final_loss.is_finite(), "grefel's loss is not finite ({final_loss})");
    let phases = if args.profile {
        profile_phases(model, &mut optim, &tensors, &ctx, args.steps)?
    } else {
        Vec::new()
    };
    let n = times.len() as f64;
    let mean = times.iter().sum::<f64>() / n;
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    Ok(Timing { median, mean, phases, final_loss })
}

/// Mean seconds of forward, losses, backward and the optimizer step over `steps` steps, each
/// phase closed by a read-back (so asynchronous devices have finished it).
fn profile_phases(
    mut model: Grefel,
    optim: &mut impl ModuleStep,
    batch: &BatchTensors,
    ctx: &StepContext<'_>,
    steps: usize,
) -> Result<Vec<(&'static str, f64)>> {
    let mut sums = [0f64; 4];
    for _ in 0..steps {
        let t0 = Instant::now();
        let out = model.forward(batch.images.clone(), batch.landmarks.clone(), ctx.trust)?;
        scalar(out.p.clone().sum());
        let t1 = Instant::now();
        let parts = loss(&out, batch.labels.clone(), None, ctx.loss)?;
        let total = parts.total.clone().detach();
        scalar(total.clone());
        let t2 = Instant::now();
        let grads = GradientsParams::from_grads(parts.total.backward(), &model);
        scalar(total);
        let t3 = Instant::now();
        model = optim.step_module(ctx.lr, model, grads)?;
        scalar(model.anchors.val().sum());
        let t4 = Instant::now();
        for (acc, (a, b)) in sums.iter_mut().zip([(t0, t1), (t1, t2), (t2, t3), (t3, t4)]) {
            *acc += (b - a).as_secs_f64();
        }
    }
    let n = steps.max(1) as f64;
    Ok(["forward", "loss", "backward", "optimizer"].into_iter().zip(sums.map(|v| v / n)).collect())
}

/// Runs `bench/torch_grefel.py` and returns its JSON line.
fn time_reference(
    args: &TrainBenchArgs,
    summary: &Path,
    device: &str,
    threads: usize,
    cudnn_benchmark: bool,
) -> Result<Value> {
    let root = crate::workspace_root();
    let python = args.python.clone().unwrap_or_else(|| crate::libtorch::default_venv().join("bin/python"));
    let script = root.join("bench/torch_grefel.py");
    let mut cmd = Command::new(&python);
    cmd.arg(&script)
        .arg("--summary-json")
        .arg(summary)
        .args(["--batch", &args.batch.to_string()])
        .args(["--device", device])
        .args(["--precision", args.precision.name()])
        .args(["--steps", &args.steps.to_string()])
        .args(["--warmup", &args.warmup.to_string()])
        .args(["--threads", &threads.to_string()])
        .args(["--seed", &args.seed.to_string()])
        .args(["--trust", &args.trust.to_string()])
        .args(["--lr", &LR.to_string()]);
    if args.profile {
        cmd.arg("--profile");
    }
    cmd.arg(if cudnn_benchmark { "--cudnn-benchmark" } else { "--no-cudnn-benchmark" });
    let output = cmd.output().with_context(|| {
        format!("running {} (run `cargo xtask setup-libtorch` first, or pass --python)", python.display())
    })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!("{} failed:\n{}{}", script.display(), stdout, String::from_utf8_lossy(&output.stderr));
    }
    let mut lines = stdout.lines().filter(|l| !l.trim().is_empty());
    let last = lines.next_back().unwrap_or_default();
    for line in lines {
        println!("  | {line}");
    }
    let v: Value = serde_json::from_str(last)
        .with_context(|| format!("reading the reference's last line `{last}` as JSON"))?;
    Ok(json!(v))
}
