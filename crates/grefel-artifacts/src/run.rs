//! A training run's files: its identifying document (`config.json`), its results
//! (`metrics.json`), its wall times (`timing.json`) and its per-sample predictions
//! (`predictions.json`).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::metrics::{OutputMetrics, SplitMetrics};

/// The document that identifies a run (`config.json`): what is trained, on which exact data, on
/// which backend. The run id is the hash of its canonical JSON form (sorted keys).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunDocument {
    /// The resolved training configuration (every setting that changes the numbers; defaults
    /// added after a setting existed are left out so older runs keep their ids).
    pub train: Value,
    /// Content hash of the prepared dataset's shards.
    pub dataset_content_hash: String,
    /// The backend kind (`cpu`, `libtorch-cpu`, `cuda`); absent in runs made before it was part
    /// of the document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
}

/// The seeds a run drew from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Seeds {
    /// The root seed (init, shuffling, augmentation, carves).
    pub root: u64,
    /// The seed of the label-noise draw, with noise.
    pub noise: Option<u64>,
}

/// Where a run came from: recorded in its checkpoints and its metrics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Provenance {
    /// The run id.
    pub run_id: String,
    /// The run's identifying document.
    pub run: RunDocument,
    /// Class names in output order.
    pub class_names: Vec<String>,
    /// The prepared dataset.
    pub dataset: String,
    /// Its content hash.
    pub dataset_content_hash: String,
    /// The code that trained it (crate version and, where known, the git commit).
    pub code_version: String,
    /// Its seeds.
    pub seeds: Seeds,
}

/// Where a run's landmark points came from (when the model needs them).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LandmarkUse {
    /// Rows whose points are in the `samples` table (ground truth or the dataset's own).
    pub from_samples: u64,
    /// Rows whose points come from the landmark stage.
    pub from_stage: u64,
    /// Used rows per quality flag.
    pub by_quality: BTreeMap<String, u64>,
    /// Rows dropped by `landmark_quality = "drop"`, per flag.
    pub quality_dropped: BTreeMap<String, u64>,
    /// Content hash of the landmark shards joined, when the stage's output was read.
    pub stage_content_hash: Option<String>,
}

/// What a noisy-label file matched.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NoiseFileUse {
    /// The file's name.
    pub name: String,
    /// Training samples given a label from the file.
    pub matched: u64,
    /// Training samples the file does not mention (they keep their clean label).
    pub missing_from_file: u64,
    /// File lines naming no training sample.
    pub unknown_names: u64,
}

/// The data a run used, after its dataset's protocol (`metrics.json`'s `dataset`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DatasetUse {
    /// The prepared dataset.
    pub name: String,
    /// The adapter that prepared it.
    #[serde(default)]
    pub adapter: String,
    /// The protocol followed, in words.
    #[serde(default)]
    pub protocol: String,
    /// Rows in the shards.
    pub rows: u64,
    /// Samples per role: `train`, `selection` (the `val` block), `evaluation` (the `test` block).
    #[serde(default)]
    pub samples: BTreeMap<String, u64>,
    /// Samples dropped because their label is outside the class view.
    #[serde(default)]
    pub outside_view: u64,
    /// Samples dropped because the model needs landmarks and none exist for them.
    #[serde(default)]
    pub without_landmarks: u64,
    /// Where the points came from (when the model needs them).
    #[serde(default)]
    pub landmarks: Option<LandmarkUse>,
    /// Rows of stored splits the protocol does not use, per split.
    #[serde(default)]
    pub unused: BTreeMap<String, u64>,
    /// Where selection happened: `val`, `carved_from_train` or `subject`.
    #[serde(default)]
    pub selection: String,
    /// Whether the selection split was carved from train.
    #[serde(default)]
    pub val_carved_from_train: bool,
    /// Key of the noise draw applied to the training labels.
    #[serde(default)]
    pub noise_key: Option<String>,
    /// The noisy-label file applied, and what it matched.
    #[serde(default)]
    pub noise_file: Option<NoiseFileUse>,
    /// Realised share of flipped training labels.
    #[serde(default)]
    pub noise_realised_rate: Option<f64>,
    /// Training samples with a soft target (soft-label training).
    #[serde(default)]
    pub soft_targets: Option<u64>,
}

/// Which output's validation accuracy selects the checkpoint that is evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Selection {
    /// Accuracy of the primary distribution p.
    Primary,
    /// Accuracy of the corrected distribution ŷ.
    Corrected,
}

/// Training figures of one epoch (no wall times: they go to the log and `timing.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EpochLog {
    /// Epoch (0-based).
    pub epoch: usize,
    /// Learning rate used.
    pub lr: f64,
    /// Trust t at the end of the epoch.
    pub trust: f32,
    /// Samples presented.
    pub samples: usize,
    /// Mean total loss over the epoch's batches.
    pub loss: f64,
    /// Mean classification loss.
    pub loss_cls: f64,
    /// Mean anchor loss.
    pub loss_anchor: f64,
    /// Mean center loss.
    pub loss_center: f64,
    /// Training accuracy of p against the (possibly noisy) training labels.
    pub train_accuracy: f64,
    /// Validation metrics of p.
    pub val_primary: OutputMetrics,
    /// Validation metrics of ŷ.
    pub val_corrected: OutputMetrics,
}

/// Of the training labels noise flipped, the share the selected model predicts as the clean
/// label.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NoiseCorrection {
    /// Training labels flipped.
    pub flipped: u64,
    /// Share predicted as the clean label by p (`null` when none was flipped).
    pub correction_rate: Option<f64>,
    /// The same by ŷ.
    pub correction_rate_corrected: Option<f64>,
}

/// A finished run's results (`metrics.json`, written last; reproducible to the byte).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunMetrics {
    /// Where the run came from.
    pub provenance: Provenance,
    /// The data it used.
    pub dataset: DatasetUse,
    /// The stored split evaluated (the `test` block): `test`, `val`, or `subject`.
    #[serde(default = "default_evaluation_split")]
    pub evaluation_split: String,
    /// Epochs trained.
    pub epochs: usize,
    /// Optimiser steps taken.
    pub iterations: u64,
    /// The output that selected the evaluated epoch.
    pub selection: Selection,
    /// The selected epoch (0-based).
    pub best_epoch: usize,
    /// Its selection accuracy.
    pub best_val_accuracy: f64,
    /// The trust t the selected model was evaluated with.
    pub eval_trust: f32,
    /// Metrics on the selection split.
    pub val: SplitMetrics,
    /// Metrics on the evaluated split.
    pub test: SplitMetrics,
    /// How many noisy labels the model corrects (`null` without label noise).
    pub noise: Option<NoiseCorrection>,
    /// One entry per epoch.
    pub history: Vec<EpochLog>,
}

fn default_evaluation_split() -> String {
    "test".into()
}

/// A run's wall times and throughput (`timing.json`). Fields a file lacks read as zero or empty
/// (files written before they were recorded).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct RunTiming {
    /// Wall time of the call that finished the run, in seconds.
    pub seconds: f64,
    /// Of which training (epochs), in seconds.
    pub train_seconds: f64,
    /// Training images processed in that call.
    pub images: u64,
    /// Training images per second.
    pub images_per_second: f64,
    /// The device it ran on (`cpu`, `cuda:0`, ...).
    pub device: String,
    /// Epochs trained in that call.
    pub epochs_this_call: usize,
    /// Whether decoded images were cached in memory.
    pub cached_images: bool,
    /// Bytes of decoded images.
    pub decoded_bytes: u64,
    /// Seconds spent reading and decoding the data.
    pub load_seconds: f64,
}

/// Per-sample predictions of one split, column-wise (`predictions.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Predictions {
    /// The split.
    pub split: String,
    /// Class names in output order.
    pub classes: Vec<String>,
    /// Sample ids.
    pub sample_id: Vec<String>,
    /// True class index.
    pub label: Vec<usize>,
    /// p per sample.
    pub primary: Vec<Vec<f32>>,
    /// ŷ per sample.
    pub corrected: Vec<Vec<f32>>,
}
