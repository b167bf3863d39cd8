//! Experiments on the training labels: label-noise injection ([`noise`]) and the import of EAC's
//! published RAF-DB noisy-label files ([`eac`]). Training uses both; sweeps over them are
//! orchestrated by `grefel-pipeline`.

pub mod eac;
pub mod error;
pub mod noise;

pub use error::ExperimentError;
pub use noise::{NoiseDraw, NoiseProtocol, NoiseSpec};
