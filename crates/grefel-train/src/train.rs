//! The training entry point: open the run folder, load the data, resume from the latest
//! checkpoint, train epoch by epoch (validation and a checkpoint after each), then evaluate the
//! epoch selected on validation on val and test and write `metrics.json` last.

use std::path::Path;
use std::time::Instant;

use grefel_artifacts::files::{PREDICTIONS, RUN_METRICS, RUN_TIMING};
use grefel_artifacts::{
    NoiseCorrection, Provenance, RunMetrics, RunTiming, Seeds, Selection, SplitMetrics, write_json,
};
use grefel_model::burn::module::Module;
use grefel_model::burn::tensor::{Tensor, TensorData};
use grefel_model::{Grefel, Precision, device_from_str, is_flex, trust_ramp, with_precision};
use grefel_schema::rng::derive_seed;
use grefel_shards::Manifest;
use tracing::info;

use crate::adam::{self, Adam};
use crate::checkpoint::{self, Best, EpochLog, TrainState};
use crate::data::{self, class_names};
use crate::eval::evaluate;
use crate::loader::{BatchSpec, chunk, prefetch};
use crate::run;
use crate::sampler::{class_weights, epoch_order};
use crate::step::{BatchTensors, StepContext, StepStats, train_step};
use crate::{Progress, RunOptions, RunResult, RunStatus, TrainConfig, TrainError};

/// Trains `config` on `<data_dir>/<dataset>/` into `<runs_dir>/<id>/` on `device` with default
/// [`RunOptions`]. A finished run is a no-op returning its metrics.
pub fn train(
    config: &TrainConfig,
    data_dir: &Path,
    runs_dir: &Path,
    device: &str,
    progress: &dyn Progress,
) -> Result<RunResult, TrainError> {
    let options = RunOptions { device: device.into(), ..RunOptions::default() };
    train_with(config, data_dir, runs_dir, &options, progress)
}

/// [`train`] with explicit [`RunOptions`]. Every forward pass (training and evaluation) runs at
/// the configuration's precision.
pub fn train_with(
    config: &TrainConfig,
    data_dir: &Path,
    runs_dir: &Path,
    options: &RunOptions,
    progress: &dyn Progress,
) -> Result<RunResult, TrainError> {
    if config.precision == Precision::Bf16 && is_flex(&options.device) {
        return Err(TrainError::config(
            "precision",
            format!("bf16 needs a libtorch device (cuda:N or libtorch-cpu), not `{}`", options.device),
        ));
    }
    let cuda = options.device.trim().to_ascii_lowercase().starts_with("cuda");
    if config.precision == Precision::Tf32
        && cuda
        && std::env::var_os("TORCH_ALLOW_TF32_CUBLAS_OVERRIDE").is_none()
    {
        tracing::warn!(
            "precision tf32: convolutions use TF32; matmuls stay IEEE fp32 unless the process starts with \
             TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1 (libtorch reads it once)"
        );
    }
    with_precision(config.precision, || train_at_precision(config, data_dir, runs_dir, options, progress))
}

fn train_at_precision(
    config: &TrainConfig,
    data_dir: &Path,
    runs_dir: &Path,
    options: &RunOptions,
    progress: &dyn Progress,
) -> Result<RunResult, TrainError> {
    let start = Instant::now();
    let dataset_dir = grefel_shards::DataLayout::new(data_dir).dataset(&config.dataset).dir().to_path_buf();
    let manifest = Manifest::read(&dataset_dir)?
        .ok_or_else(|| TrainError::MissingDataset { dir: dataset_dir.clone() })?;
    let backend = run::backend_kind(&options.device);
    let document = run::run_document(config, &manifest.content_hash, backend);
    let id = run::run_id(&document);
    let legacy = run::legacy_run_id(config, &manifest.content_hash);
    let done = |id: String, metrics: RunMetrics| RunResult {
        run_dir: runs_dir.join(&id),
        run_id: id,
        status: RunStatus::AlreadyFinished,
        metrics: Some(metrics),
        images_per_second: 0.0,
        seconds: start.elapsed().as_secs_f64(),
    };
    if let Some(metrics) = run::finished(&runs_dir.join(&id))? {
        info!(run = %id, backend, "metrics.json exists: run already finished, nothing to do");
        return Ok(done(id, metrics));
    }
    let legacy_dir = runs_dir.join(&legacy);
    if let Some(metrics) = run::finished(&legacy_dir)? {
        match run::recorded_backend(&legacy_dir) {
            Some(b) if b == backend => {
                info!(run = %legacy, backend, "a finished run of this configuration on this backend (made before run ids named the backend): nothing to do");
                return Ok(done(legacy, metrics));
            }
            recorded => info!(
                run = %legacy,
                "a run of this configuration made on {} is at {}; training a new run for {backend} beside it",
                recorded.unwrap_or("an unrecorded backend"),
                legacy_dir.display()
            ),
        }
    }
    for (other, b) in
        run::same_config_elsewhere(runs_dir, &document).into_iter().filter(|(o, _)| *o != legacy)
    {
        info!(run = %other, "this configuration was also run on {b} ({}); its numbers are not this backend's: training a {backend} run beside it", runs_dir.join(&other).display());
    }
    // The data first: a dataset this configuration cannot use leaves no run folder behind.
    let data = data::load(config, data_dir, options.cache_budget_bytes)?;
    let run = run::open(runs_dir, &document)?;
    let result = |status, metrics, images_per_second, seconds| RunResult {
        run_dir: run.dir.clone(),
        run_id: run.id.clone(),
        status,
        metrics,
        images_per_second,
        seconds,
    };
    let base = device_from_str(&options.device)?;
    let device = base.clone().autodiff();
    let rep = &data.report;
    info!(
        rows = rep.rows,
        samples = ?rep.samples,
        outside_view = rep.outside_view,
        cached = rep.cached,
        decoded_mb = format!("{:.1}", rep.decoded_bytes as f64 / 1e6),
        seconds = format!("{:.2}", rep.seconds),
        "loaded {}", config.dataset
    );
    info!(protocol = %rep.protocol, evaluated = %rep.evaluation_split, selection = %rep.selection, unused = ?rep.unused, "splits");
    if let Some(lm) = &rep.landmarks {
        info!(from_samples = lm.from_samples, from_stage = lm.from_stage, by_quality = ?lm.by_quality, dropped = ?lm.quality_dropped, without = rep.without_landmarks, "landmarks");
    }
    if rep.val_carved_from_train {
        info!(
            val = data.val.len(),
            fraction = config.val_fraction,
            "dataset has no val split: carved one from train by seed {}",
            config.seed
        );
    }
    if let (Some(key), Some(rate)) = (&rep.noise_key, rep.noise_realised_rate) {
        info!(key = %key, realised = format!("{rate:.4}"), "noisy training labels");
    }
    let classes = config.model.num_classes;
    let provenance = Provenance {
        run_id: run.id.clone(),
        run: document,
        class_names: class_names(config.class_view),
        dataset: config.dataset.to_string(),
        dataset_content_hash: manifest.content_hash.clone(),
        code_version: run::code_version(),
        seeds: Seeds { root: config.seed, noise: config.noise.map(|n| n.seed) },
    };
    let model = checkpoint::initial_model_with(
        &config.model,
        &config.init,
        derive_seed(config.seed, "init"),
        &device,
    )?;
    let model = match &config.init_from {
        Some(from) => checkpoint::load_init_run(from, model)?,
        None => model,
    };
    let o = &config.optimizer;
    let optim = Adam::new(o).with_bucket_elements(adam::bucket_elements(&options.device));
    let loaded = checkpoint::load_latest(&run.dir, model, optim, &device)?;
    let (mut model, mut optim) = (loaded.model, loaded.optim);
    let mut state = match loaded.state {
        Some(s) => {
            info!(epochs_done = s.epochs_done, "resuming from the latest checkpoint");
            s
        }
        None => TrainState::new(provenance),
    };
    let train_labels: Vec<usize> = data.train.samples.iter().map(|s| s.label).collect();
    let per_epoch =
        chunk(&epoch_order(&train_labels, classes, config.seed, 0, &config.sampling), config.batch_size, 2)
            .len();
    let total_iters = (per_epoch * config.epochs) as u64;
    let (size, landmarks) = (config.model.image_size, config.needs_landmarks());
    let (mut images, mut train_seconds, mut epochs_this_call) = (0u64, 0.0f64, 0usize);
    while state.epochs_done < config.epochs {
        if options.stop_after_epochs.is_some_and(|n| epochs_this_call >= n) {
            break;
        }
        let epoch = state.epochs_done;
        let epoch_start = Instant::now();
        let order = epoch_order(&train_labels, classes, config.seed, epoch, &config.sampling);
        let weights = config.sampling.class_weights.then(|| {
            let labels: Vec<usize> = order.iter().map(|&i| train_labels[i]).collect();
            Tensor::<1>::from_data(TensorData::new(class_weights(&labels, classes), [classes]), &device)
        });
        let lr = o.lr * o.lr_decay.powi(epoch as i32);
        let batches = chunk(&order, config.batch_size, 2);
        progress.begin(&format!("epoch {}/{}", epoch + 1, config.epochs), batches.len() as u64);
        let spec = BatchSpec {
            split: &data.train,
            size,
            landmarks,
            augment: Some((&config.augment, config.seed, epoch)),
            eval_resize: config.model.eval_resize,
        };
        let mut sums = [0f64; 4];
        let (mut correct, mut seen, mut steps) = (0usize, 0usize, 0usize);
        let iteration = &mut state.iteration;
        model = std::thread::scope(|scope| -> Result<Grefel, TrainError> {
            let mut model = model;
            for batch in prefetch(scope, spec, batches, options.prefetch) {
                let batch = batch?;
                let ctx = StepContext {
                    device: &device,
                    step_seed: derive_seed(config.seed, &format!("step/{iteration}")),
                    trust: trust_ramp(*iteration, total_iters),
                    lr,
                    class_weights: weights.clone(),
                    loss: &config.model.loss,
                    sam_rho: o.sam.then_some(o.sam_rho),
                };
                let (next, s): (Grefel, StepStats) =
                    train_step(model, &mut optim, &BatchTensors::new(&batch, size, &device), &ctx)?;
                if !s.total.is_finite() {
                    return Err(TrainError::NonFinite { epoch, iteration: *iteration, value: s.total });
                }
                model = next;
                for (acc, v) in sums.iter_mut().zip([s.total, s.cls, s.anchor, s.center]) {
                    *acc += f64::from(v);
                }
                (correct, seen, steps) = (correct + s.correct, seen + batch.len(), steps + 1);
                *iteration += 1;
                progress.advance(1);
            }
            Ok(model)
        })?;
        progress.end();
        let seconds = epoch_start.elapsed().as_secs_f64();
        train_seconds += seconds;
        images += seen as u64;
        let trust = trust_ramp(state.iteration, total_iters);
        let val = evaluate(
            &model.valid(),
            &data.val,
            &base,
            trust,
            config.eval_batch_size,
            landmarks,
            options.prefetch,
        )?;
        let (val_primary, val_corrected) = val.metrics();
        let selected = match config.selection {
            Selection::Primary => val_primary.accuracy,
            Selection::Corrected => val_corrected.accuracy,
        };
        if state.best.as_ref().is_none_or(|b| selected > b.val_accuracy) {
            state.best = Some(Best { epoch, val_accuracy: selected, trust });
        }
        let mean = |v: f64| v / steps.max(1) as f64;
        let log = EpochLog {
            epoch,
            lr,
            trust,
            samples: seen,
            loss: mean(sums[0]),
            loss_cls: mean(sums[1]),
            loss_anchor: mean(sums[2]),
            loss_center: mean(sums[3]),
            train_accuracy: correct as f64 / seen.max(1) as f64,
            val_primary,
            val_corrected,
        };
        info!(
            "epoch {}/{}: loss {:.4} (cls {:.4}), train acc {:.4}, val acc p {:.4} / ŷ {:.4}, mean class acc p {:.4}, {:.0} img/s",
            epoch + 1,
            config.epochs,
            log.loss,
            log.loss_cls,
            log.train_accuracy,
            log.val_primary.accuracy,
            log.val_corrected.accuracy,
            log.val_primary.mean_class_accuracy,
            seen as f64 / seconds.max(1e-9)
        );
        state.history.push(log);
        state.epochs_done += 1;
        checkpoint::save(&run.dir, &model, &optim, &mut state)?;
        epochs_this_call += 1;
    }
    let ips = images as f64 / train_seconds.max(1e-9);
    if state.epochs_done < config.epochs {
        info!(epochs_done = state.epochs_done, "stopped as asked; the next call resumes");
        let status = RunStatus::Stopped { epochs_done: state.epochs_done };
        return Ok(result(status, None, ips, start.elapsed().as_secs_f64()));
    }
    let metrics = finish(config, &run.dir, &data, &base, &state, model, options)?;
    let seconds = start.elapsed().as_secs_f64();
    let timing = RunTiming {
        seconds,
        train_seconds,
        images,
        images_per_second: ips,
        device: options.device.clone(),
        epochs_this_call,
        cached_images: data.report.cached,
        decoded_bytes: data.report.decoded_bytes,
        load_seconds: data.report.seconds,
    };
    write_json(&run.dir.join(RUN_TIMING), &timing)?;
    write_json(&run.dir.join(RUN_METRICS), &metrics)?;
    Ok(result(RunStatus::Finished, Some(metrics), ips, seconds))
}

/// Of the training labels that noise flipped, the share whose prediction (selected epoch, no
/// augmentation) is the clean label: `None` without noise.
fn correction(
    data: &data::Dataset,
    eval: &dyn Fn(&data::SplitData) -> Result<crate::eval::SplitEval, TrainError>,
) -> Result<Option<NoiseCorrection>, TrainError> {
    if data.report.noise_key.is_none() {
        return Ok(None);
    }
    let flipped: Vec<usize> = (0..data.train.len())
        .filter(|&i| data.train.samples[i].label != data.train.samples[i].clean_label)
        .collect();
    if flipped.is_empty() {
        return Ok(Some(NoiseCorrection {
            flipped: 0,
            correction_rate: None,
            correction_rate_corrected: None,
        }));
    }
    let subset = data.train.subset(&flipped, |s| s.clean_label);
    let (p, y) = eval(&subset)?.metrics();
    Ok(Some(NoiseCorrection {
        flipped: flipped.len() as u64,
        correction_rate: Some(p.accuracy),
        correction_rate_corrected: Some(y.accuracy),
    }))
}

/// Evaluates the selected epoch on val and test and builds the run's metrics (also writes the test
/// predictions).
fn finish(
    config: &TrainConfig,
    run_dir: &Path,
    data: &data::Dataset,
    base: &grefel_model::burn::tensor::Device,
    state: &TrainState,
    model: Grefel,
    options: &RunOptions,
) -> Result<RunMetrics, TrainError> {
    let best = state.best.clone().ok_or_else(|| TrainError::Checkpoint {
        path: run_dir.join(checkpoint::CHECKPOINT_DIR),
        reason: "no epoch was evaluated".into(),
    })?;
    let model = checkpoint::load_best(run_dir, state, model)?.valid();
    let lm = config.needs_landmarks();
    let eval = |split: &data::SplitData| {
        evaluate(&model, split, base, best.trust, config.eval_batch_size, lm, options.prefetch)
    };
    let (val, test) = (eval(&data.val)?, eval(&data.test)?);
    let names = class_names(config.class_view);
    write_json(&run_dir.join(PREDICTIONS), &test.predictions("test", &data.test, names))?;
    let (vp, vc) = val.metrics();
    let (tp, tc) = test.metrics();
    let noise = correction(data, &eval)?;
    Ok(RunMetrics {
        provenance: state.provenance.clone(),
        dataset: data.report.dataset_use(config.dataset.as_str()),
        evaluation_split: data.report.evaluation_split.clone(),
        epochs: config.epochs,
        iterations: state.iteration,
        selection: config.selection,
        best_epoch: best.epoch,
        best_val_accuracy: best.val_accuracy,
        eval_trust: best.trust,
        val: SplitMetrics { primary: vp, corrected: vc },
        test: SplitMetrics { primary: tp, corrected: tc },
        noise,
        history: state.history.clone(),
    })
}
