//! File and folder names of the artifacts, relative to the folder that holds them.
//!
//! A run folder (`runs/<dataset>/<run id>/`, or `<sweep>/cells/<cell id>/<run id>/`) holds
//! [`RUN_CONFIG`] (written first), [`PREDICTIONS`], [`RUN_TIMING`] and [`RUN_METRICS`] (written
//! last: its presence marks the run finished). A sweep folder holds [`PLAN`] and
//! `cells/<cell id>/` ([`CELLS_DIR`]), each with [`CELL_METRICS`] once the cell is finished.

/// A run's identifying document: the resolved training configuration, data and backend.
pub const RUN_CONFIG: &str = "config.json";
/// A run's evaluation results ([`crate::RunMetrics`]); written last.
pub const RUN_METRICS: &str = "metrics.json";
/// A run's wall times and throughput ([`crate::RunTiming`]), kept out of the metrics, which are
/// reproducible to the byte.
pub const RUN_TIMING: &str = "timing.json";
/// A run's per-sample predictions on the evaluated split ([`crate::Predictions`]).
pub const PREDICTIONS: &str = "predictions.json";
/// A sweep's frozen plan ([`crate::SweepPlan`]).
pub const PLAN: &str = "plan.json";
/// The folder of a sweep's cells.
pub const CELLS_DIR: &str = "cells";
/// A finished cell's record ([`crate::CellMetrics`]).
pub const CELL_METRICS: &str = "cell.json";
/// A failed cell's error message, written where the cell failed (removed once it finishes);
/// `sweep-status` shows it.
pub const CELL_ERROR: &str = "error.txt";
/// The name cells' records had before they were renamed to [`CELL_METRICS`]; still read.
pub const LEGACY_CELL_METRICS: &str = "metrics.json";
/// A run's evaluation on one split ([`crate::Evaluation`]), in
/// `<run>/evaluation/<dataset>-<split>/` by default.
pub const EVALUATION: &str = "evaluation.json";
/// The folder of a run's evaluations.
pub const EVALUATIONS_DIR: &str = "evaluation";

/// Where `evaluate` writes a run's evaluation of `split` of `dataset` by default:
/// `<run>/evaluation/<dataset>-<split>/` (sweeps by group and their report read it there).
pub fn evaluation_dir(run: &std::path::Path, dataset: &str, split: &str) -> std::path::PathBuf {
    run.join(EVALUATIONS_DIR).join(format!("{dataset}-{split}"))
}
