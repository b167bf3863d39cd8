//! Errors of the experiments crate.

use std::path::PathBuf;

/// What can go wrong setting up an experiment.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    /// A noise specification is invalid.
    #[error("invalid noise specification: {0}")]
    Spec(String),
    /// A noisy-label file is malformed.
    #[error("{path}:{line}: {detail}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        detail: String,
    },
    /// Reading or writing failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Shard storage failed.
    #[error(transparent)]
    Shard(#[from] grefel_shards::ShardError),
}
