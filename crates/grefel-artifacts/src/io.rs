//! Writing artifacts atomically (temporary file, then rename) as pretty JSON with a final newline,
//! and reading them with errors that name the file.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// What can go wrong reading or writing an artifact.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not the JSON its name promises.
    #[error("{path} is not a valid {what}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The type expected (`RunMetrics`, ...).
        what: &'static str,
        /// The underlying error.
        source: serde_json::Error,
    },
    /// A value could not be serialised.
    #[error("serialising {path}: {source}")]
    Serialise {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
    /// The atomic write failed.
    #[error(transparent)]
    Write(#[from] grefel_shards::ShardError),
    /// A plan could not be built or frozen.
    #[error("sweep plan: {0}")]
    Plan(String),
}

/// The bytes [`write_json`] writes: pretty JSON and a newline.
pub fn to_json_bytes(value: &impl Serialize, path: &Path) -> Result<Vec<u8>, ArtifactError> {
    let mut bytes = serde_json::to_vec_pretty(value)
        .map_err(|source| ArtifactError::Serialise { path: path.to_path_buf(), source })?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Writes `value` to `path` atomically.
pub fn write_json(path: &Path, value: &impl Serialize) -> Result<(), ArtifactError> {
    let bytes = to_json_bytes(value, path)?;
    Ok(grefel_shards::atomic::write_bytes(path, &bytes)?)
}

/// Reads a `T` from `path`.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, ArtifactError> {
    let text =
        std::fs::read(path).map_err(|source| ArtifactError::Read { path: path.to_path_buf(), source })?;
    parse(path, &text)
}

/// Reads a `T` from `path`; `None` when there is no such file.
pub fn read_json_if_exists<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, ArtifactError> {
    match std::fs::read(path) {
        Ok(text) => parse(path, &text).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ArtifactError::Read { path: path.to_path_buf(), source }),
    }
}

fn parse<T: DeserializeOwned>(path: &Path, text: &[u8]) -> Result<T, ArtifactError> {
    let what = std::any::type_name::<T>().rsplit("::").next().unwrap_or("file");
    serde_json::from_slice(text).map_err(|source| ArtifactError::Parse {
        path: path.to_path_buf(),
        what,
        source,
    })
}
