//! grefel-train: training and evaluation of GReFEL models on prepared `samples` shards.
//!
//! - [`config`]: raw [`TrainSettings`] → validated [`TrainConfig`]; [`RunOptions`] (not hashed);
//! - [`protocol`]: each dataset's evaluation protocol (evaluated split, selection, default view);
//! - [`data`]: shards → samples (class view, landmarks joined from the landmark stage, the
//!   protocol's splits, noisy labels, soft targets), decoded-image cache;
//! - [`augment`]: seeded crop / flip (landmarks mirrored) / erasing, ImageNet normalisation;
//! - [`sampler`]: shuffled or class-balanced epochs, inverse-frequency class weights;
//! - [`loader`]: parallel batch rendering and the prefetch thread;
//! - [`step`] and [`sam`]: one Adam (optionally SAM) step with the trust ramp;
//! - [`adam`]: multi-tensor Adam (flat buffers, burn's arithmetic and checkpoint record);
//! - [`eval`] and [`metrics`]: full-set confusion matrices, accuracy, mean class accuracy,
//!   macro-F1, NLL, ECE for the primary and the corrected outputs;
//! - [`checkpoint`]: burnpack checkpoints with provenance, resume;
//! - [`run`]: run folders named by the configuration's hash;
//! - [`saved`]: a finished run read back, predicting any split of a prepared dataset;
//! - [`imported`]: runs made from pretrained weights (`import-checkpoint`);
//! - [`train()`]: the entry point.
//!
//! The files a run writes are the typed artifacts of `grefel-artifacts`.

pub mod adam;
pub mod augment;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod error;
pub mod eval;
pub mod imported;
pub mod loader;
pub mod metrics;
pub mod protocol;
pub mod run;
pub mod sam;
pub mod sampler;
pub mod saved;
pub mod step;
pub mod train;

use std::path::PathBuf;

pub use config::{RunOptions, TrainConfig, TrainSettings};
pub use error::TrainError;
pub use train::{train, train_with};

/// Progress hooks (the command line draws a bar per epoch; tests pass [`NoProgress`]): the one
/// trait every stage reports to.
pub use grefel_shards::progress::{NoProgress, Progress};

/// How a call to [`train()`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStatus {
    /// Trained (or resumed) to the end; `metrics.json` written.
    Finished,
    /// `metrics.json` existed: nothing was done.
    AlreadyFinished,
    /// Stopped after [`RunOptions::stop_after_epochs`]; the next call resumes.
    Stopped {
        /// Epochs finished so far.
        epochs_done: usize,
    },
}

/// What a call to [`train()`] produced.
#[derive(Clone, Debug)]
pub struct RunResult {
    /// The run folder.
    pub run_dir: PathBuf,
    /// Its id.
    pub run_id: String,
    /// How the call ended.
    pub status: RunStatus,
    /// Contents of `metrics.json` (`None` when stopped early).
    pub metrics: Option<grefel_artifacts::RunMetrics>,
    /// Training images per second in this call.
    pub images_per_second: f64,
    /// Wall time of the call.
    pub seconds: f64,
}

impl RunResult {
    /// The one-line summary the command line prints.
    pub fn summary_line(&self) -> String {
        let dir = self.run_dir.display();
        let speed = format!("{:.0} img/s, {:.1}s", self.images_per_second, self.seconds);
        let m = match (&self.metrics, self.status) {
            (_, RunStatus::Stopped { epochs_done }) => {
                return format!("train: stopped after {epochs_done} epochs ({speed}), resumable -> {dir}");
            }
            (None, _) => return format!("train: finished ({speed}) -> {dir}"),
            (Some(m), _) => m,
        };
        let (p, y) = (&m.test.primary, &m.test.corrected);
        format!(
            "train {}: {} rows, {} epochs, best selection acc {:.4} (epoch {}), evaluated on {}: acc p {:.4} / ŷ {:.4}, mean class acc p {:.4}, macro-F1 p {:.4}, ECE p {:.4}, {} -> {dir}",
            m.dataset.name,
            m.dataset.rows,
            m.epochs,
            m.best_val_accuracy,
            m.best_epoch + 1,
            m.evaluation_split,
            p.accuracy,
            y.accuracy,
            p.mean_class_accuracy,
            p.macro_f1,
            p.ece,
            if self.status == RunStatus::AlreadyFinished {
                "up to date, nothing to do".to_string()
            } else {
                speed
            },
        )
    }
}
