//! Errors of the model crate.

use thiserror::Error;

/// Everything that can go wrong when configuring, building or running the GReFEL model.
#[derive(Debug, Error)]
pub enum ModelError {
    /// A configuration value is out of range or inconsistent with another one.
    #[error("invalid model configuration: {0}")]
    InvalidConfig(String),
    /// No preset has this name.
    #[error("unknown model preset `{name}` (known: {known})")]
    UnknownPreset {
        /// The name asked for.
        name: String,
        /// The preset names that exist, comma separated.
        known: String,
    },
    /// A device string could not be parsed.
    #[error("unknown device `{0}` (expected `cpu`, `cuda`, `cuda:N` or `libtorch-cpu`)")]
    UnknownDevice(String),
    /// The device exists in principle, but its backend was not compiled in.
    #[error("device `{device}` needs the `{feature}` cargo feature of grefel-model")]
    BackendUnavailable {
        /// The device string asked for.
        device: String,
        /// The cargo feature that enables it.
        feature: &'static str,
    },
    /// An input tensor has the wrong shape for this configuration.
    #[error("input `{name}`: expected shape {expected}, got {actual:?}")]
    InputShape {
        /// Which input.
        name: &'static str,
        /// The expected shape, in words.
        expected: String,
        /// The shape that was passed.
        actual: Vec<usize>,
    },
    /// The geometry landmark branch needs landmarks, but none were passed.
    #[error("the geometry landmark branch needs landmarks (B, {0}, 2); none were passed")]
    MissingLandmarks(usize),
    /// Reading or writing a configuration file failed.
    #[error("model configuration (de)serialisation: {0}")]
    Serde(#[from] serde_json::Error),
}
