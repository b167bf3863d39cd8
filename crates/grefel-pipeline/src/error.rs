//! Errors of orchestration.

use std::path::PathBuf;

/// What can go wrong setting up or running a pipeline or a sweep.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A grid value on the command line or in a pipeline file does not parse.
    #[error("invalid {what} `{input}`: {reason} (examples: {examples})")]
    Grid {
        /// Which option (`--k`, `--noise`, …).
        what: &'static str,
        /// The text given.
        input: String,
        /// What is wrong.
        reason: String,
        /// Accepted forms.
        examples: &'static str,
    },
    /// A sweep request cannot be run as asked.
    #[error("{0}")]
    Request(String),
    /// A pipeline file cannot be read or parsed.
    #[error("pipeline {path}: {reason}")]
    PipelineFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A device does not exist or cannot be opened.
    #[error("--device {device}: {source}")]
    Device {
        /// The device string.
        device: String,
        /// The model crate's reason.
        source: grefel_model::ModelError,
    },
    /// A cell's configuration cannot be used.
    #[error("cell {cell}: {source}")]
    Cell {
        /// The cell's coordinates (`k=4 noise=0.1 seed=0`).
        cell: String,
        /// Why.
        source: grefel_train::TrainError,
    },
    /// The dataset a sweep trains on has not been prepared.
    #[error(
        "no prepared dataset at {} (manifest.json missing): prepare it first, `cargo xtask prepare --dataset <adapter> --root <its root> --out {} --name {dataset}`",
        dir.display(),
        data.display()
    )]
    MissingDataset {
        /// The folder that should hold it.
        dir: PathBuf,
        /// The data folder.
        data: PathBuf,
        /// Its name.
        dataset: String,
    },
    /// Some cells of a sweep failed (the others are recorded and reported).
    #[error("{failed} of {cells} cells failed (see above); rerun to retry them")]
    CellsFailed {
        /// Cells that failed.
        failed: usize,
        /// Cells in the plan.
        cells: usize,
    },
    /// Training failed.
    #[error(transparent)]
    Train(#[from] grefel_train::TrainError),
    /// The Slurm executor failed (submission refused, scheduler unreachable, bad options).
    #[error(transparent)]
    Slurm(#[from] grefel_slurm::SlurmError),
    /// A plan or cell record could not be read or written.
    #[error(transparent)]
    Artifact(#[from] grefel_artifacts::ArtifactError),
    /// The report could not be rendered.
    #[error("rendering the report: {0}")]
    Report(#[from] grefel_report::ReportError),
    /// Drawing the synthetic dataset failed.
    #[error("drawing the synthetic dataset: {0}")]
    Synth(#[from] grefel_synth::SynthError),
    /// The landmark stage failed.
    #[error(transparent)]
    Landmarks(#[from] grefel_landmarks::LandmarkError),
    /// Preparing a dataset failed.
    #[error(transparent)]
    Ingest(#[from] grefel_ingest::IngestError),
    /// Noise settings are invalid.
    #[error(transparent)]
    Experiment(#[from] grefel_experiments::ExperimentError),
}
