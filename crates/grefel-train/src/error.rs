//! Errors of the training stage.

use std::path::PathBuf;

/// What can go wrong configuring, loading, training or evaluating.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A configuration value is out of range or inconsistent.
    #[error("invalid training configuration: `{field}` {reason}")]
    InvalidConfig {
        /// The offending field (dotted path).
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A configuration document did not parse.
    #[error("training configuration does not parse: {0}")]
    ConfigParse(#[source] serde_json::Error),
    /// The dataset folder has no manifest.
    #[error("no prepared dataset at {dir} (manifest.json missing); run `cargo xtask prepare` first")]
    MissingDataset {
        /// The dataset folder looked at.
        dir: PathBuf,
    },
    /// The dataset is unusable for this configuration.
    #[error("dataset {dataset}: {reason}")]
    Data {
        /// The dataset name.
        dataset: String,
        /// What is wrong.
        reason: String,
    },
    /// An image in a shard could not be decoded.
    #[error("sample {sample_id}: image does not decode: {source}")]
    Decode {
        /// The sample.
        sample_id: String,
        /// The codec error.
        source: image::ImageError,
    },
    /// A run folder holds a different configuration than the one being run.
    #[error("run folder {dir} holds a different config.json; refusing to mix runs")]
    RunConflict {
        /// The run folder.
        dir: PathBuf,
    },
    /// A checkpoint is unreadable or does not belong to this run.
    /// The initial weights could not be drawn or moved to the training device.
    #[error("initial weights: {reason}")]
    Init {
        /// What failed.
        reason: String,
    },
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The optimiser state does not fit the model or does not decode.
    #[error("optimiser state: {0}")]
    Optimizer(String),
    /// The loss became NaN or infinite.
    #[error("non-finite loss {value} at epoch {epoch}, iteration {iteration}")]
    NonFinite {
        /// Epoch (0-based).
        epoch: usize,
        /// Global iteration.
        iteration: u64,
        /// The loss value.
        value: f32,
    },
    /// The data loader thread stopped unexpectedly.
    #[error("the data loader stopped: {0}")]
    Loader(String),
    /// File-system failure.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// JSON (de)serialisation of a run file failed.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        source: serde_json::Error,
    },
    /// The model crate refused (configuration, device, shapes).
    #[error(transparent)]
    Model(#[from] grefel_model::ModelError),
    /// Shard storage failed.
    #[error(transparent)]
    Shard(#[from] grefel_shards::ShardError),
    /// Noise injection or loading failed.
    #[error(transparent)]
    Noise(#[from] grefel_experiments::ExperimentError),
    /// A run file could not be read or written.
    #[error(transparent)]
    Artifact(#[from] grefel_artifacts::ArtifactError),
}

impl TrainError {
    /// Shorthand for an [`TrainError::Io`] with context.
    pub fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> TrainError {
        let path = path.into();
        move |source| TrainError::Io { op, path, source }
    }

    /// Shorthand for an [`TrainError::InvalidConfig`].
    pub fn config(field: &'static str, reason: impl Into<String>) -> TrainError {
        TrainError::InvalidConfig { field, reason: reason.into() }
    }
}
