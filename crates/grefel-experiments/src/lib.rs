//! Experiments: label-noise injection ([`noise`]), import of EAC's published RAF-DB noisy label
//! files ([`eac`]), the parsing of sweep grids from the command line ([`grid`]), and frozen,
//! resumable sweep plans run over one or more devices ([`sweep`]).

pub mod eac;
pub mod error;
pub mod grid;
pub mod noise;
pub mod sweep;

pub use error::ExperimentError;
pub use noise::{NoiseDraw, NoiseProtocol, NoiseSpec};
