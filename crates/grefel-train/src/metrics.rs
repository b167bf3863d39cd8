//! Evaluation metrics from one full-set pass (the accumulator lives with the artifact types it
//! fills, in `grefel-artifacts`).

pub use grefel_artifacts::evaluator::{ECE_BINS, Evaluator, NLL_FLOOR};
pub use grefel_artifacts::{Confusion, OutputMetrics, ReliabilityBin};
