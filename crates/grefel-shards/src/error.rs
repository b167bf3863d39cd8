//! Errors of shard storage.

use std::path::PathBuf;

/// What can go wrong reading or writing shards and manifests.
#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    /// A file-system operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done (`create`, `rename`, `read`, …).
        op: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The Parquet layer failed.
    #[error("parquet {path}: {source}")]
    Parquet {
        /// The shard.
        path: PathBuf,
        /// The underlying error.
        source: parquet::errors::ParquetError,
    },
    /// The Arrow layer failed (building or decoding a batch).
    #[error("arrow {path}: {source}")]
    Arrow {
        /// The shard.
        path: PathBuf,
        /// The underlying error.
        source: arrow_schema::ArrowError,
    },
    /// A shard does not hold what its table's schema says.
    #[error("shard {path} is not a valid `{table}` shard: {detail}")]
    Invalid {
        /// The shard.
        path: PathBuf,
        /// The expected table.
        table: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// A manifest is not valid JSON of the expected shape.
    #[error("manifest {path}: {source}")]
    Manifest {
        /// The manifest.
        path: PathBuf,
        /// The JSON error.
        source: serde_json::Error,
    },
}

impl ShardError {
    /// Shorthand for an [`ShardError::Io`] with context.
    pub fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> ShardError {
        let path = path.into();
        move |source| ShardError::Io { op, path, source }
    }
}
