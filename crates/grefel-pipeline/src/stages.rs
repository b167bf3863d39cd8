//! The stages of a pipeline file, run in order — `[synth]`, `[prepare]`, `[landmarks]`,
//! `[noise]`, then `[train]` (and `[evaluate]` of its run) or `[sweep]` — each a no-op when its
//! output is current, so a rerun (or a run after a kill) only does what is left.

use std::path::{Path, PathBuf};

use grefel_landmarks::boxes::BoxConfig;
use grefel_landmarks::models::{default_dlib68_path, default_rustface_path};
use grefel_landmarks::{LandmarkSettings, Options, StageSummary, run_stage_with};
use grefel_shards::Progress;
use grefel_train::{RunOptions, RunResult, TrainSettings, train_with};

use grefel_experiments::noise::{NoiseProtocol, NoiseSpec};

use crate::PipelineError;
use crate::evaluate::{EvaluateRequest, evaluate_run};
use crate::pipeline_file::{LandmarksStage, Pipeline, SweepStage};
use crate::sweep::{
    CellOptions, SMOOTHING_KEY, SweepRequest, anchors_axis, parse_axis, plan_sweep, rate_axis, run_sweep,
};

/// Draws the pipeline's synthetic dataset when it has a `[synth]` stage (a no-op when the drawn
/// tree is current).
pub fn draw_synthetic(pipeline: &Pipeline) -> Result<(), PipelineError> {
    if let Some(synth) = &pipeline.synth {
        let s = grefel_synth::generate(&synth.generator, &synth.root)?;
        tracing::info!(
            files = s.files,
            reused = s.reused,
            seconds = format!("{:.1}", s.elapsed.as_secs_f64()),
            "synthetic dataset {}",
            if s.reused { "already drawn" } else { "drawn" }
        );
    }
    Ok(())
}

/// Runs the `[synth]` and `[prepare]` stages of `pipeline` and returns the prepare summary.
pub fn prepare_stage(
    pipeline: &Pipeline,
    options: Options,
    progress: &dyn Progress,
) -> Result<grefel_ingest::PrepareSummary, PipelineError> {
    draw_synthetic(pipeline)?;
    let settings = pipeline
        .prepare
        .clone()
        .ok_or_else(|| PipelineError::Request("the pipeline has no [prepare] table".into()))?;
    let config = settings.validate()?;
    Ok(grefel_ingest::prepare_with(&config, options, progress)?)
}

/// The landmark stage's settings for `dataset` under `data` (models: the stage's, else the
/// installed ones).
pub fn landmark_settings(data: &Path, dataset: &str, stage: &LandmarksStage) -> LandmarkSettings {
    LandmarkSettings {
        data: data.to_path_buf(),
        dataset: dataset.to_string(),
        model: stage.model.clone().unwrap_or_else(default_dlib68_path),
        face_model: stage.face_model.clone().unwrap_or_else(default_rustface_path),
        recompute: stage.recompute,
        boxes: BoxConfig::default(),
    }
}

/// Runs the landmark stage on a prepared dataset; a dataset not prepared yet is an error that
/// says how to prepare it.
pub fn landmarks_stage(
    settings: &LandmarkSettings,
    options: Options,
    progress: &dyn Progress,
) -> Result<StageSummary, PipelineError> {
    if !grefel_shards::DatasetLayout::at(settings.input_dir()).is_prepared() {
        return Err(PipelineError::MissingDataset {
            dir: settings.input_dir(),
            data: settings.data.clone(),
            dataset: settings.dataset.clone(),
        });
    }
    Ok(run_stage_with(settings, options, progress)?)
}

/// Resolves `settings` against the prepared dataset in `data` and trains (a finished run is a
/// no-op).
pub fn train_stage(
    settings: TrainSettings,
    data: &Path,
    runs: &Path,
    options: &RunOptions,
    progress: &dyn Progress,
) -> Result<RunResult, PipelineError> {
    let (config, _) = settings.resolve(data)?;
    Ok(train_with(&config, data, runs, options, progress)?)
}

/// What `run` is asked to do besides the pipeline file.
#[derive(Clone, Debug)]
pub struct RunRequest {
    /// The pipeline file (for messages).
    pub path: PathBuf,
    /// Where the run folders go.
    pub runs: PathBuf,
    /// Where datasets are prepared when the pipeline has no `[prepare]` table.
    pub default_data: PathBuf,
    /// Device of the training stage.
    pub device: String,
}

/// Runs every stage of `pipeline` in order and returns one summary line per stage run.
pub fn run_pipeline(
    pipeline: &Pipeline,
    request: &RunRequest,
    progress: &dyn Progress,
) -> Result<Vec<String>, PipelineError> {
    let mut lines = Vec::new();
    draw_synthetic(pipeline)?;
    let data = pipeline.prepare.as_ref().map_or_else(|| request.default_data.clone(), |p| p.out.clone());
    let dataset = match &pipeline.prepare {
        Some(p) => {
            if !p.root.exists() {
                return Err(PipelineError::PipelineFile {
                    path: request.path.clone(),
                    reason: format!(
                        "[prepare] root {} does not exist: edit `root` to point at the dataset as its owners distribute it",
                        p.root.display()
                    ),
                });
            }
            lines.push(format!("prepare: {}", prepare_stage(pipeline, Options::default(), progress)?));
            Some(p.dataset.clone().unwrap_or_else(|| p.adapter.clone()))
        }
        None => None,
    };
    if let Some(l) = &pipeline.landmarks {
        let dataset = dataset
            .clone()
            .or_else(|| pipeline.train.as_ref().map(|t| t.dataset.clone()))
            .ok_or_else(|| PipelineError::PipelineFile {
                path: request.path.clone(),
                reason: "[landmarks] needs a [prepare] or [train] table naming the dataset".into(),
            })?;
        let settings = landmark_settings(&data, &dataset, l);
        lines.push(format!("landmarks: {}", landmarks_stage(&settings, Options::default(), progress)?));
    }
    if let (Some(spec), Some(t)) = (&pipeline.noise, pipeline.train.clone()) {
        lines.push(noise_stage(t, &data, spec)?);
    }
    match (pipeline.train.clone(), &pipeline.sweep) {
        (Some(base), Some(sweep)) => {
            lines.extend(sweep_stage(base, sweep, &data, request, pipeline.noise.is_some())?)
        }
        (Some(t), None) => {
            let options = RunOptions { device: request.device.clone(), ..RunOptions::default() };
            let result = train_stage(t, &data, &request.runs, &options, progress)?;
            lines.push(result.summary_line());
            if let Some(stage) = &pipeline.evaluate {
                let evaluate = EvaluateRequest::from_stage(
                    result.run_dir.clone(),
                    data.clone(),
                    stage,
                    request.device.clone(),
                );
                lines.push(evaluate_run(&evaluate)?.summary());
            }
        }
        (None, _) => {}
    }
    if lines.is_empty() {
        return Err(PipelineError::PipelineFile {
            path: request.path.clone(),
            reason: "no stage to run ([prepare], [landmarks], [noise], [train], [sweep], [evaluate])".into(),
        });
    }
    Ok(lines)
}

/// The `[noise]` stage: draws the training run's noisy labels (a no-op when that draw is stored).
pub fn noise_stage(settings: TrainSettings, data: &Path, spec: &NoiseSpec) -> Result<String, PipelineError> {
    let (config, _) = settings.resolve(data)?;
    let report = grefel_train::data::draw_noise(&config, data)?;
    Ok(format!(
        "noise: {} rate {} seed {} on {} training labels, realised {:.4} -> {}",
        spec.protocol.name(),
        spec.rate,
        spec.seed,
        report.samples.get("train").copied().unwrap_or(0),
        report.noise_realised_rate.unwrap_or(0.0),
        report.noise_key.unwrap_or_default()
    ))
}

/// The `[sweep]` stage: the grid over `base`, planned, run and reported like a sweep command's.
pub fn sweep_stage(
    base: TrainSettings,
    stage: &SweepStage,
    data: &Path,
    request: &RunRequest,
    noise_table: bool,
) -> Result<Vec<String>, PipelineError> {
    let mut axes = Vec::new();
    if let Some(k) = &stage.k {
        axes.push(anchors_axis(&k.text())?);
    }
    for (grid, name, key, what) in [
        (&stage.noise, "noise", "noise.rate", "[sweep] noise"),
        (&stage.smoothing, "smoothing", SMOOTHING_KEY, "[sweep] smoothing"),
    ] {
        if let Some(g) = grid {
            axes.push(rate_axis(name, key, what, &g.text())?);
        }
    }
    for text in &stage.axes {
        axes.push(parse_axis(text)?);
    }
    if axes.is_empty() {
        return Err(PipelineError::PipelineFile {
            path: request.path.clone(),
            reason: "[sweep] has no axis (k, noise, smoothing or axes)".into(),
        });
    }
    // A noise axis without a [noise] table: symmetric noise drawn with seed 0, as `sweep-anchors`.
    let noise_rate = (stage.noise.is_some() && !noise_table).then_some(0.0);
    let (protocol, noise_seed) = base.noise.map_or((NoiseProtocol::Symmetric, 0), |n| (n.protocol, n.seed));
    let command =
        request.path.file_stem().map_or_else(|| "sweep".into(), |s| s.to_string_lossy().into_owned());
    let sweep_request = SweepRequest {
        command: command.clone(),
        axes,
        base,
        noise_rate,
        cells: CellOptions {
            seeds: stage.seeds.unwrap_or(1),
            noise_protocol: protocol,
            noise_seed,
            devices: if stage.devices.is_empty() {
                vec![request.device.clone()]
            } else {
                stage.devices.clone()
            },
            jobs: stage.jobs,
            by: stage.by.clone(),
        },
        out: stage.out.clone(),
        sweeps_dir: request.runs.join("sweeps"),
        data: data.to_path_buf(),
    };
    let planned = plan_sweep(&sweep_request)?;
    let start = std::time::Instant::now();
    let described = planned.describe(&command);
    let outcome = run_sweep(&planned)?;
    let summary = outcome.summary_line(&command, start.elapsed().as_secs_f64());
    if let Err(e) = outcome.check() {
        tracing::error!("{summary}");
        return Err(e);
    }
    Ok(vec![described, summary])
}
