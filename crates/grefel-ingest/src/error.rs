//! Fatal ingest errors. Problems with single samples are not errors: they are counted skips
//! ([`crate::skip::SkipReason`]).

use std::path::PathBuf;

/// A problem that stops a whole `prepare` run.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The dataset root does not exist or is not a folder.
    #[error("dataset `{dataset}`: root {root} does not exist or is not a directory (expected {expected})")]
    MissingRoot {
        /// Dataset name.
        dataset: String,
        /// The root as given.
        root: PathBuf,
        /// What the root should contain.
        expected: &'static str,
    },
    /// A file the adapter requires is missing.
    #[error("dataset `{dataset}`: required file {path} is missing ({expected})")]
    MissingFile {
        /// Dataset name.
        dataset: String,
        /// The missing file.
        path: PathBuf,
        /// What the file is.
        expected: &'static str,
    },
    /// A file the adapter requires is malformed beyond skipping rows.
    #[error("dataset `{dataset}`: {path}:{line}: {detail}")]
    Malformed {
        /// Dataset name.
        dataset: String,
        /// The file.
        path: PathBuf,
        /// 1-based line (0 when not line-oriented).
        line: usize,
        /// What is wrong.
        detail: String,
    },
    /// The root exists but holds nothing the adapter recognises as a sample.
    #[error("dataset `{dataset}`: found no samples under {root} (expected {expected}); {skipped}")]
    NoSamples {
        /// Dataset name.
        dataset: String,
        /// The root as given.
        root: PathBuf,
        /// What the root should contain.
        expected: &'static str,
        /// The counted skips, described (they explain why nothing was kept).
        skipped: String,
    },
    /// No adapter has this name.
    #[error("unknown dataset `{name}`; known: {known}")]
    UnknownDataset {
        /// The name given.
        name: String,
        /// The known names, comma-separated.
        known: String,
    },
    /// The configuration is invalid.
    #[error("invalid ingest configuration: {field}: {reason}")]
    InvalidConfig {
        /// The offending field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// Walking or reading the source failed.
    #[error("dataset `{dataset}`: reading {path}: {source}")]
    Io {
        /// Dataset name.
        dataset: String,
        /// The path.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Writing shards or the manifest failed.
    #[error(transparent)]
    Shard(#[from] grefel_shards::ShardError),
}
