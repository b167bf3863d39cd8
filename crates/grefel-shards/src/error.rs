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
    /// A manifest on disk is not valid JSON of its stage's shape. Every stage treats it alike:
    /// it stops rather than guess, and `--force` rebuilds.
    #[error(
        "manifest {path} is malformed ({source}): rerun the stage that writes it with `--force` to rebuild it (or delete the file)"
    )]
    MalformedManifest {
        /// The manifest.
        path: PathBuf,
        /// The JSON error.
        source: serde_json::Error,
    },
    /// A manifest or a shard's statistics could not be encoded as JSON.
    #[error("encoding {what} for {path}: {source}")]
    Encode {
        /// What was being encoded (`manifest`, `shard statistics`).
        what: &'static str,
        /// The file it was meant for.
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
