//! The error type of the synthetic dataset generator.

use std::path::PathBuf;

/// Everything that can go wrong while validating a config or writing the dataset tree.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// A config field is out of range or malformed.
    #[error("invalid synth config: `{field}` {reason}")]
    InvalidConfig {
        /// The offending field, as written in the config (`count`, `nuisance.yaw`, …).
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A file-system operation failed.
    #[error("synth I/O error at {}: {source}", path.display())]
    Io {
        /// The file or directory being read, written, renamed or removed.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A PNG could not be encoded.
    #[error("cannot encode synth image {}: {source}", path.display())]
    Encode {
        /// The image being written.
        path: PathBuf,
        /// The underlying encoder error.
        source: image::ImageError,
    },
    /// The completion stamp could not be serialised.
    #[error("cannot serialise synth stamp {}: {source}", path.display())]
    Stamp {
        /// The stamp file being written.
        path: PathBuf,
        /// The underlying serialiser error.
        source: serde_json::Error,
    },
}

impl SynthError {
    /// An [`SynthError::Io`] for `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SynthError::Io { path: path.into(), source }
    }

    /// An [`SynthError::InvalidConfig`] for `field`.
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        SynthError::InvalidConfig { field, reason: reason.into() }
    }
}
