//! Sweep cells as training runs: the [`CellRunner`] a sweep plan calls for each of its cells.
//!
//! A cell's configuration is a complete [`TrainSettings`] document. The run lives in the cell's
//! folder (`<sweep>/cells/<cell id>/<run id>/`, with its checkpoints, so a killed sweep resumes
//! inside the interrupted cell), and the cell's `metrics.json` is the compact record the report
//! reads: coordinates, class names, test and val metrics of both outputs and the correction rate.

use std::path::{Path, PathBuf};

use grefel_experiments::sweep::{Cell, CellRunner};
use grefel_model::is_flex;
use serde_json::{Value, json};

use crate::{NoProgress, Progress, RunOptions, RunStatus, TrainSettings, train_with};

/// Trains each cell on the prepared data in `data_dir`.
pub struct TrainCellRunner<'a> {
    /// Folder holding the prepared datasets (`<data_dir>/<dataset>/`).
    pub data_dir: PathBuf,
    /// Run options; the device is replaced by the cell's device.
    pub options: RunOptions,
    /// Progress of the cell's epochs.
    pub progress: &'a dyn Progress,
}

impl<'a> TrainCellRunner<'a> {
    /// A runner with default options and no progress output.
    pub fn new(data_dir: impl Into<PathBuf>) -> TrainCellRunner<'static> {
        TrainCellRunner { data_dir: data_dir.into(), options: RunOptions::default(), progress: &NoProgress }
    }
}

impl CellRunner for TrainCellRunner<'_> {
    fn run(&self, cell: &Cell, dir: &Path, device: &str) -> Result<Value, String> {
        let settings = TrainSettings::from_value(cell.config.clone()).map_err(|e| e.to_string())?;
        let (config, _) = settings.resolve(&self.data_dir).map_err(|e| e.to_string())?;
        let options = RunOptions { device: device.to_string(), ..self.options.clone() };
        let train = || train_with(&config, &self.data_dir, dir, &options, self.progress);
        // A CPU cell computes on a one-thread pool of its own: its floating-point reductions are
        // split the same way whether it runs alone or beside other cells, so a sweep's numbers do
        // not depend on its worker count, and N workers use N cores.
        let result = if is_flex(device) {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .thread_name(|_| "grefel-cell".into())
                .build()
                .map_err(|e| format!("one-thread pool for the cell: {e}"))?;
            pool.install(train)
        } else {
            train()
        }
        .map_err(|e| e.to_string())?;
        if let RunStatus::Stopped { epochs_done } = result.status {
            return Err(format!("stopped after {epochs_done} epochs"));
        }
        let arithmetic = (crate::run::backend_kind(device), config.precision.name());
        Ok(cell_metrics(cell, &result.run_id, &result.metrics, result.seconds, arithmetic))
    }

    fn shares_device(&self, device: &str) -> bool {
        is_flex(device)
    }
}

/// The compact record of a finished cell built from its run's `metrics.json`; `arithmetic` is the
/// run's backend kind and precision (`("cpu", "fp32")`).
pub fn cell_metrics(cell: &Cell, run_id: &str, run: &Value, seconds: f64, arithmetic: (&str, &str)) -> Value {
    let noise = &run["noise"];
    json!({
        "cell": cell.id,
        "coords": cell.coords,
        "run": run_id,
        "classes": run["provenance"]["class_names"],
        "test": run["test"],
        "val": run["val"],
        "best_epoch": run["best_epoch"],
        "correction_rate": noise["correction_rate"],
        "correction_rate_corrected": noise["correction_rate_corrected"],
        "flipped": noise["flipped"],
        "noise_realised_rate": run["dataset"]["noise_realised_rate"],
        "seconds": (seconds * 10.0).round() / 10.0,
        "backend": arithmetic.0,
        "precision": arithmetic.1,
    })
}
