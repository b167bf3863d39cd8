//! Errors of the weight import.

use std::path::PathBuf;

/// What can go wrong importing weights.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    /// The file could not be read as a PyTorch checkpoint (zip, legacy, tar or pickle).
    #[error("{file}: not a readable PyTorch file: {reason}")]
    Read {
        /// The file.
        file: PathBuf,
        /// The reader's message.
        reason: String,
    },
    /// Tensors matched by name but not by shape or type: never a silent partial load.
    #[error("{file} ({part}): {count} tensors do not fit the network:\n{details}")]
    Mismatch {
        /// The file.
        file: PathBuf,
        /// The part it fills.
        part: &'static str,
        /// How many.
        count: usize,
        /// One line per tensor.
        details: String,
    },
    /// Fewer tensors than the part has were found in the file.
    #[error(
        "{file} ({part}): applied {applied} of the {expected} tensors the network's {part} has; missing by name:\n{missing}\nunused in the file by name:\n{unused}"
    )]
    TooFew {
        /// The file.
        file: PathBuf,
        /// The part it fills.
        part: &'static str,
        /// Tensors applied.
        applied: usize,
        /// Tensors the part has.
        expected: usize,
        /// The missing grefel paths, by pattern.
        missing: String,
        /// The file's unused keys, by pattern.
        unused: String,
    },
    /// A class order that is not a permutation of the classifier's outputs.
    #[error("{file}: class order {order:?} is not a permutation of the {classes} outputs of the classifier")]
    ClassOrder {
        /// The file.
        file: PathBuf,
        /// The order given.
        order: Vec<usize>,
        /// Outputs of the file's classifier.
        classes: usize,
    },
    /// The weights could not be exported.
    #[error("export: {reason}")]
    Export {
        /// What went wrong.
        reason: String,
    },
}
