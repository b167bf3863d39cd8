//! Errors of the landmark crate: malformed model files ([`DatError`]) and everything else that
//! stops a command ([`LandmarkError`]). Problems with single samples in the stage are not errors:
//! they are counted skips.

use std::path::PathBuf;

/// What is wrong with a dlib `.dat` file, and where.
#[derive(Debug, thiserror::Error)]
pub enum DatError {
    /// The file ends in the middle of a value.
    #[error("truncated at byte {offset}: {what} needs {needed} more byte(s), {available} left")]
    Truncated {
        /// Byte offset where the value starts (or continues).
        offset: usize,
        /// The value being read.
        what: String,
        /// Bytes needed.
        needed: usize,
        /// Bytes left in the file.
        available: usize,
    },
    /// A control byte of an integer or float is not valid for its type.
    #[error("byte {offset}: invalid control byte {byte:#04x} for {what} ({reason})")]
    ControlByte {
        /// Byte offset of the control byte.
        offset: usize,
        /// The control byte.
        byte: u8,
        /// The value being read.
        what: String,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// An integer does not fit its type.
    #[error("byte {offset}: {what} = {value} does not fit in {bits} bits")]
    Overflow {
        /// Byte offset of the value.
        offset: usize,
        /// The value being read.
        what: String,
        /// The magnitude read (signed values: with their sign, as far as it fits).
        value: i128,
        /// Width of the type.
        bits: u32,
    },
    /// The object's version is not the one this reader knows.
    #[error("byte {offset}: {what} version is {found}, expected {expected}")]
    Version {
        /// Byte offset of the version.
        offset: usize,
        /// The object.
        what: &'static str,
        /// Version found.
        found: i64,
        /// Version supported.
        expected: i64,
    },
    /// A length disagrees with the structure around it.
    #[error("{what}: length {found}, expected {expected}")]
    Length {
        /// The value whose length is wrong (with its position in the model).
        what: String,
        /// Length found.
        found: u64,
        /// Length required.
        expected: String,
    },
    /// An index points outside the array it indexes.
    #[error("{what}: index {index} out of range (must be below {bound})")]
    Index {
        /// The index (with its position in the model).
        what: String,
        /// The index.
        index: u64,
        /// The exclusive upper bound.
        bound: u64,
    },
    /// A value is NaN or infinite.
    #[error("{what}: value {value} is not finite")]
    NotFinite {
        /// The value (with its position in the model).
        what: String,
        /// The value.
        value: f32,
    },
    /// Bytes remain after the last object.
    #[error("{count} trailing byte(s) after the model, which ends at byte {offset}")]
    Trailing {
        /// Where the model ends.
        offset: usize,
        /// How many bytes follow.
        count: usize,
    },
}

/// A problem that stops a landmark command.
#[derive(Debug, thiserror::Error)]
pub enum LandmarkError {
    /// A model file is malformed.
    #[error("model {path}: {source}")]
    Dat {
        /// The model file.
        path: PathBuf,
        /// What is wrong.
        source: DatError,
    },
    /// A model file is missing.
    #[error("model {path} is missing: {hint}")]
    MissingModel {
        /// The expected path.
        path: PathBuf,
        /// How to get it.
        hint: String,
    },
    /// A model has the wrong shape for its use.
    #[error("model {path}: {detail}")]
    WrongModel {
        /// The model file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// Reading a file failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An image could not be decoded.
    #[error("image {path}: {detail}")]
    Image {
        /// The image (a path or a sample id).
        path: String,
        /// The decoder's message.
        detail: String,
    },
    /// The input dataset is not prepared or is inconsistent.
    #[error("dataset {dir}: {detail}")]
    Input {
        /// The dataset folder.
        dir: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The configuration is invalid.
    #[error("invalid landmark configuration: {field}: {reason}")]
    InvalidConfig {
        /// The offending field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// Reading or writing shards or manifests failed.
    #[error(transparent)]
    Shard(#[from] grefel_shards::ShardError),
}

impl LandmarkError {
    /// Shorthand for an [`LandmarkError::Io`] with context.
    pub fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> LandmarkError {
        let path = path.into();
        move |source| LandmarkError::Io { op, path, source }
    }
}
