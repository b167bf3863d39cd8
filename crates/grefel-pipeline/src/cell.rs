//! Sweep cells as training runs: the [`CellRunner`] that trains each cell.
//!
//! A cell's configuration is a complete training settings document. The run lives in the cell's
//! folder (`<sweep>/cells/<cell id>/<run id>/`, with its checkpoints, so a killed sweep resumes
//! inside the interrupted cell), and the cell's record ([`CellMetrics`]) is the compact summary
//! the report reads: coordinates, class names, test and val metrics of both outputs and the
//! correction rate.

use std::path::{Path, PathBuf};

use grefel_artifacts::{Cell, CellMetrics, RunMetrics};
use grefel_model::is_flex;
use grefel_train::{NoProgress, Progress, RunOptions, RunStatus, TrainSettings, train_with};

use crate::execute::{CellFailure, CellRunner};

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
    fn run(&self, cell: &Cell, dir: &Path, device: &str) -> Result<CellMetrics, CellFailure> {
        let settings = TrainSettings::from_value(cell.config.clone())?;
        let (config, _) = settings.resolve(&self.data_dir)?;
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
        }?;
        let metrics = match (result.status, &result.metrics) {
            (RunStatus::Stopped { epochs_done }, _) => {
                return Err(format!("stopped after {epochs_done} epochs").into());
            }
            (_, None) => return Err(format!("run {} finished without metrics", result.run_id).into()),
            (_, Some(m)) => m,
        };
        let arithmetic = (grefel_train::run::backend_kind(device), config.precision.name());
        Ok(cell_metrics(cell, &result.run_id, metrics, result.seconds, arithmetic))
    }

    fn shares_device(&self, device: &str) -> bool {
        is_flex(device)
    }
}

/// The compact record of a finished cell built from its run's metrics; `arithmetic` is the
/// run's backend kind and precision (`("cpu", "fp32")`).
pub fn cell_metrics(
    cell: &Cell,
    run_id: &str,
    run: &RunMetrics,
    seconds: f64,
    arithmetic: (&str, &str),
) -> CellMetrics {
    let noise = run.noise.as_ref();
    CellMetrics {
        cell: cell.id.clone(),
        coords: cell.coords.clone(),
        run: run_id.to_string(),
        classes: run.provenance.class_names.clone(),
        test: run.test.clone(),
        val: run.val.clone(),
        best_epoch: run.best_epoch,
        correction_rate: noise.and_then(|n| n.correction_rate),
        correction_rate_corrected: noise.and_then(|n| n.correction_rate_corrected),
        flipped: noise.map(|n| n.flipped),
        noise_realised_rate: run.dataset.noise_realised_rate,
        seconds: (seconds * 10.0).round() / 10.0,
        backend: Some(arithmetic.0.to_string()),
        precision: Some(arithmetic.1.to_string()),
    }
}
