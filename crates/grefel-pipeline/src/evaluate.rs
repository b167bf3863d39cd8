//! `evaluate`: a finished run on one split of a prepared dataset, analysed overall, per class and
//! per group ([`grefel_report::analyse`]), written as `evaluation.json` with its tables and
//! figures.

use std::path::{Path, PathBuf};

use grefel_artifacts::files::{EVALUATION, evaluation_dir};
use grefel_artifacts::{Evaluation, Selection, write_json};
use grefel_report::{AnalysisInput, BootstrapOptions};
use grefel_train::RunOptions;
use grefel_train::data::GROUP_COLUMNS;
use grefel_train::saved::{EvalSplit, SavedRun};
use serde::Deserialize;

use crate::PipelineError;

/// The `[evaluate]` table of a pipeline file: evaluate the trained run after training.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluateStage {
    /// Columns to group by (`gender`, `race`, `age_group`, `subject`).
    #[serde(default)]
    pub by: Vec<String>,
    /// Split: `test` (default), `val` or `train`.
    #[serde(default)]
    pub split: Option<String>,
    /// Output analysed: `corrected` or `primary` [default: the run's selection output].
    #[serde(default)]
    pub output: Option<String>,
    /// Bootstrap resamples [default: 1000].
    #[serde(default)]
    pub resamples: Option<usize>,
    /// Bootstrap seed [default: 0].
    #[serde(default)]
    pub seed: Option<u64>,
}

/// What `evaluate` is asked to do.
#[derive(Clone, Debug)]
pub struct EvaluateRequest {
    /// The run folder.
    pub run: PathBuf,
    /// The folder of the prepared datasets.
    pub data: PathBuf,
    /// Dataset to evaluate on [default: the run's].
    pub dataset: Option<String>,
    /// Split [default: `test`].
    pub split: Option<String>,
    /// Output analysed [default: the run's selection output].
    pub output: Option<String>,
    /// Columns to group by.
    pub by: Vec<String>,
    /// Output folder [default: `<run>/evaluation/<dataset>-<split>/`].
    pub out: Option<PathBuf>,
    /// The bootstrap.
    pub bootstrap: BootstrapOptions,
    /// Device of the forward passes.
    pub device: String,
}

impl EvaluateRequest {
    /// A request for `run` on its own dataset's test split, with the `[evaluate]` table's settings.
    pub fn from_stage(run: PathBuf, data: PathBuf, stage: &EvaluateStage, device: String) -> Self {
        let defaults = BootstrapOptions::default();
        EvaluateRequest {
            run,
            data,
            dataset: None,
            split: stage.split.clone(),
            output: stage.output.clone(),
            by: stage.by.clone(),
            out: None,
            bootstrap: BootstrapOptions {
                resamples: stage.resamples.unwrap_or(defaults.resamples),
                seed: stage.seed.unwrap_or(defaults.seed),
                ..defaults
            },
            device,
        }
    }
}

/// What [`evaluate_run`] wrote.
#[derive(Clone, Debug)]
pub struct EvaluateOutcome {
    /// The evaluation.
    pub evaluation: Evaluation,
    /// Its `evaluation.json`.
    pub path: PathBuf,
    /// The tables and figures written beside it.
    pub files: Vec<PathBuf>,
}

impl EvaluateOutcome {
    /// A few lines: the evaluation's summary, then the path of `evaluation.json`.
    pub fn summary(&self) -> String {
        format!(
            "{}\nevaluate: {} tables and figures; {}",
            grefel_report::evaluation_summary(&self.evaluation),
            self.files.len(),
            self.path.display()
        )
    }
}

/// Evaluates a finished run ([module docs](self)); nothing is written when the request is
/// refused (an unknown split, output or column, a column the split has no value of).
pub fn evaluate_run(request: &EvaluateRequest) -> Result<EvaluateOutcome, PipelineError> {
    let split: EvalSplit = request.split.as_deref().unwrap_or("test").parse()?;
    for column in &request.by {
        if !GROUP_COLUMNS.contains(&column.as_str()) {
            return Err(PipelineError::Request(format!(
                "--by {column}: not a column evaluation can group by ({})",
                GROUP_COLUMNS.join(", ")
            )));
        }
    }
    let run = SavedRun::open(&request.run)?;
    let output = match request.output.as_deref() {
        None => match run.selection() {
            Selection::Primary => "primary",
            Selection::Corrected => "corrected",
        },
        Some(o @ ("primary" | "corrected")) => o,
        Some(other) => {
            return Err(PipelineError::Request(format!("--output {other}: expected corrected or primary")));
        }
    };
    let options = RunOptions { device: request.device.clone(), ..RunOptions::default() };
    let predicted = run.predict_split(&request.data, request.dataset.as_deref(), split, &options)?;
    let mut columns = std::collections::BTreeMap::new();
    for column in &request.by {
        let values = predicted.columns.get(column).ok_or_else(|| {
            let has: Vec<&str> = predicted.columns.keys().map(String::as_str).collect();
            PipelineError::Request(format!(
                "--by {column}: dataset {} has no `{column}` value in its {} split; it has: {}",
                predicted.dataset,
                split.name(),
                if has.is_empty() { "none".to_string() } else { has.join(", ") }
            ))
        })?;
        columns.insert(column.clone(), values.clone());
    }
    let p = &predicted.predictions;
    let probs = if output == "primary" { &p.primary } else { &p.corrected };
    let evaluation = grefel_report::analyse(
        &AnalysisInput {
            run: &run.id,
            preset: &run.config.preset,
            dataset: &predicted.dataset,
            split: split.name(),
            output,
            classes: &p.classes,
            labels: &p.label,
            probs,
            columns: &columns,
            train_counts: predicted.train_counts.as_deref(),
        },
        request.bootstrap,
    )?;
    let dir = request.out.clone().unwrap_or_else(|| default_dir(&run.dir, &predicted.dataset, split));
    std::fs::create_dir_all(&dir)
        .map_err(|e| PipelineError::Request(format!("cannot create {}: {e}", dir.display())))?;
    let files = grefel_report::render_evaluation(&evaluation, &dir)?;
    let path = dir.join(EVALUATION);
    write_json(&path, &evaluation)?;
    Ok(EvaluateOutcome { evaluation, path, files })
}

/// `<run>/evaluation/<dataset>-<split>/`.
pub fn default_dir(run: &Path, dataset: &str, split: EvalSplit) -> PathBuf {
    evaluation_dir(run, dataset, split.name())
}
