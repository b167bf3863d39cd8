//! Training configuration: raw [`TrainSettings`] (pipeline file, command line, a sweep cell's
//! JSON) validated once into a [`TrainConfig`], whose JSON form is the *resolved* configuration
//! that names the run folder. [`RunOptions`] hold what does not change results (device, stop
//! points, prefetch depth, cache budget) and are never hashed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use grefel_experiments::NoiseSpec;
use grefel_model::{ModelConfig, Precision};
use grefel_schema::{ClassView, DatasetName};
use grefel_shards::Manifest;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::TrainError;
pub use crate::augment::AugmentConfig;
use crate::protocol::{Protocol, SplitRule};
pub use crate::sampler::SamplingConfig;

/// Optimiser settings: Adam with a per-epoch exponential learning-rate decay, optionally wrapped
/// in SAM (the POSTER++ recipe).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OptimizerConfig {
    /// Learning rate of epoch 0 (3e-4, docs/method.md §7 #18).
    pub lr: f64,
    /// Per-epoch decay factor γ: the learning rate of epoch e is `lr·γ^e` (0.995).
    pub lr_decay: f64,
    /// Adam β₁.
    pub beta_1: f32,
    /// Adam β₂.
    pub beta_2: f32,
    /// Adam ε (PyTorch's 1e-8).
    pub epsilon: f32,
    /// Sharpness-aware minimisation: two forward/backward passes per step.
    pub sam: bool,
    /// SAM neighbourhood radius ρ (0.05, non-adaptive).
    pub sam_rho: f64,
}

impl Default for OptimizerConfig {
    fn default() -> Self {
        Self {
            lr: 3e-4,
            lr_decay: 0.995,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-8,
            sam: false,
            sam_rho: 0.05,
        }
    }
}

pub use grefel_artifacts::Selection;

/// What happens to rows whose landmarks the landmark stage flags (`fallback_box`: no face was
/// found and the points were predicted on the inset box; `outside_image`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LandmarkQualityRule {
    /// Train and evaluate on them with the points the stage gave (counted in `metrics.json`).
    #[default]
    Keep,
    /// Drop them from every split (counted in `metrics.json` by flag).
    Drop,
}

/// A noisy-label file (EAC's `noise01.txt` …: `<image name> <RAF-DB label>` lines) replacing the
/// training labels. Its content, not its path, is part of the run's identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoiseFile {
    /// The file as given (read at load time; not hashed).
    #[serde(skip)]
    pub path: PathBuf,
    /// Its file name.
    pub name: String,
    /// SHA-256 of its bytes.
    pub sha256: String,
}

impl NoiseFile {
    /// Reads and hashes `path`.
    pub fn open(path: &Path) -> Result<NoiseFile, TrainError> {
        let bytes = std::fs::read(path).map_err(TrainError::io("read the noise file", path))?;
        Ok(NoiseFile {
            path: path.to_path_buf(),
            name: path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            sha256: grefel_shards::hash::sha256_hex(&bytes),
        })
    }
}

/// A pretrained trunk file the initial weights start from (`--init ir50=FILE`, `[train.init]`).
/// Its part and content, not its path, are part of the run's identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitFile {
    /// The part it fills (`ir50`, `mobilefacenet`).
    pub part: String,
    /// The file as given (read when the run starts; not hashed).
    #[serde(skip)]
    pub path: PathBuf,
    /// Its file name.
    pub name: String,
    /// SHA-256 of its bytes.
    pub sha256: String,
}

impl InitFile {
    /// Checks the part name and hashes `path`.
    pub fn open(part: &str, path: &Path) -> Result<InitFile, TrainError> {
        if grefel_weights::Part::trunk(part).is_none() {
            return Err(TrainError::config(
                "init",
                format!("`{part}` is not a part weights can be given for (ir50, mobilefacenet)"),
            ));
        }
        let bytes = std::fs::read(path).map_err(TrainError::io("read the initial weights", path))?;
        Ok(InitFile {
            part: part.to_string(),
            path: path.to_path_buf(),
            name: path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            sha256: grefel_shards::hash::sha256_hex(&bytes),
        })
    }
}

/// A run whose selected weights a training starts from ([`TrainSettings::init_from`]). Its
/// folder name and the SHA-256 of its weights, not its path, are part of the run's identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitRun {
    /// The run folder as given (not hashed).
    #[serde(skip)]
    pub path: PathBuf,
    /// Its name (the run id, or what `import-checkpoint --out` was given).
    pub run: String,
    /// The preset it was trained or imported as.
    pub preset: String,
    /// SHA-256 of its selected weights file.
    pub sha256: String,
}

impl InitRun {
    /// Opens the run in `dir` (finished or imported) and checks that `model` can take its weights.
    pub fn open(dir: &Path, model: &ModelConfig) -> Result<InitRun, TrainError> {
        let from = crate::saved::SavedRun::open(dir)?;
        if from.config.model.num_classes != model.num_classes {
            return Err(TrainError::config(
                "init_from",
                format!(
                    "{} has {} outputs, this configuration {}",
                    dir.display(),
                    from.config.model.num_classes,
                    model.num_classes
                ),
            ));
        }
        Ok(InitRun {
            path: dir.to_path_buf(),
            run: from.id.clone(),
            preset: from.config.preset.clone(),
            sha256: from.selected_sha256()?,
        })
    }
}

fn default_preset() -> String {
    "tiny".into()
}
fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}
fn default_epochs() -> usize {
    10
}
fn default_batch() -> usize {
    64
}
fn default_eval_batch() -> usize {
    256
}
fn default_val_fraction() -> f64 {
    0.1
}
fn default_selection() -> Selection {
    Selection::Primary
}

/// Raw training settings; every field but `dataset` has a default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSettings {
    /// Prepared dataset to train on (`<data>/<dataset>/`).
    pub dataset: String,
    /// Model preset (`tiny`, `paper-geometry`, …).
    #[serde(default = "default_preset")]
    pub preset: String,
    /// JSON overlay merged into the preset's configuration (objects merge key by key).
    #[serde(default)]
    pub model: Option<Value>,
    /// Classes the model sees; samples outside are dropped [default: the dataset's view, see
    /// [`crate::protocol`]].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_view: Option<ClassView>,
    /// How rows are split: the dataset's protocol (`official`) or by subject (`subject`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub split: SplitRule,
    /// Rows whose landmarks are flagged by the landmark stage: `keep` or `drop`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub landmark_quality: LandmarkQualityRule,
    /// Train on the vote distribution (FER+'s soft labels) instead of the majority label.
    #[serde(default, skip_serializing_if = "is_default")]
    pub soft_labels: bool,
    /// A noisy-label file replacing the training labels (EAC's `noise01.txt` format; exclusive
    /// with `noise`). The resolved configuration holds its name and SHA-256, not the path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise_file: Option<PathBuf>,
    /// Pretrained trunk files the initial weights start from, by part (`ir50`, `mobilefacenet`;
    /// `[train.init]` in a pipeline, `--init PART=FILE` on the command line): the IR-50 file in
    /// either naming, the MobileFaceNet landmark file. The other weights come from the seed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub init: BTreeMap<String, PathBuf>,
    /// A finished or imported run folder whose selected weights the training starts from
    /// (fine-tuning; `--init-from DIR`, `init_from` in `[train]`). Over `init`; the network must
    /// have the same shapes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_from: Option<PathBuf>,
    /// Root seed of initialisation, sampling, augmentation, dropout and the val carve-out.
    #[serde(default)]
    pub seed: u64,
    /// Epochs to train.
    #[serde(default = "default_epochs")]
    pub epochs: usize,
    /// Training mini-batch size.
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Evaluation batch size (fixed: the batch-mixing attention path makes predictions depend on
    /// the batch composition).
    #[serde(default = "default_eval_batch")]
    pub eval_batch_size: usize,
    /// Optimiser.
    #[serde(default)]
    pub optimizer: OptimizerConfig,
    /// Training augmentation.
    #[serde(default)]
    pub augment: AugmentConfig,
    /// Epoch composition and class weights.
    #[serde(default)]
    pub sampling: SamplingConfig,
    /// Label noise replacing the training labels.
    #[serde(default)]
    pub noise: Option<NoiseSpec>,
    /// Share of the training split carved out for validation when the dataset has no val split.
    #[serde(default = "default_val_fraction")]
    pub val_fraction: f64,
    /// Output whose validation accuracy selects the checkpoint evaluated on test.
    #[serde(default = "default_selection")]
    pub selection: Selection,
    /// Precision of the convolutions, linear layers and attention (`fp32`, `tf32`, `bf16`; bf16 needs a
    /// libtorch device). Left out of the resolved configuration when fp32, so the run ids of
    /// fp32 runs are those of before the option existed.
    #[serde(default, skip_serializing_if = "is_fp32")]
    pub precision: Precision,
}

/// A validated configuration; [`TrainConfig::resolved`] is its canonical JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Dataset name, validated.
    pub dataset: DatasetName,
    /// Preset the model configuration started from (informational).
    pub preset: String,
    /// The full model configuration (class count set from the view).
    pub model: ModelConfig,
    /// Class view.
    pub class_view: ClassView,
    /// Split rule.
    #[serde(default, skip_serializing_if = "is_default")]
    pub split: SplitRule,
    /// Rule for flagged landmarks.
    #[serde(default, skip_serializing_if = "is_default")]
    pub landmark_quality: LandmarkQualityRule,
    /// Soft-label training.
    #[serde(default, skip_serializing_if = "is_default")]
    pub soft_labels: bool,
    /// Noisy-label file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise_file: Option<NoiseFile>,
    /// Pretrained trunk files of the initial weights (absent: all from the seed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub init: Vec<InitFile>,
    /// The run the weights start from (absent: the seed and `init`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_from: Option<InitRun>,
    /// Root seed.
    pub seed: u64,
    /// Epochs.
    pub epochs: usize,
    /// Training batch size.
    pub batch_size: usize,
    /// Evaluation batch size.
    pub eval_batch_size: usize,
    /// Optimiser.
    pub optimizer: OptimizerConfig,
    /// Augmentation.
    pub augment: AugmentConfig,
    /// Sampling.
    pub sampling: SamplingConfig,
    /// Label noise.
    pub noise: Option<NoiseSpec>,
    /// Val carve-out share.
    pub val_fraction: f64,
    /// Model selection output.
    pub selection: Selection,
    /// Precision of the convolutions, linear layers and attention.
    #[serde(default, skip_serializing_if = "is_fp32")]
    pub precision: Precision,
}

/// Merges `overlay` into `base`: objects key by key (recursively), anything else replaces.
pub fn merge_json(base: &mut Value, overlay: &Value) {
    match (base, overlay) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(slot) => merge_json(slot, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

impl TrainSettings {
    /// Settings for `dataset` with every default.
    pub fn new(dataset: impl Into<String>) -> Self {
        let json = serde_json::json!({ "dataset": dataset.into() });
        serde_json::from_value(json).unwrap_or_else(|_| unreachable!("defaults always parse"))
    }

    /// Parses settings from JSON (a sweep cell's resolved configuration, for instance).
    pub fn from_value(value: Value) -> Result<Self, TrainError> {
        serde_json::from_value(value).map_err(TrainError::ConfigParse)
    }

    /// Reads the prepared dataset's manifest under `data_dir` and validates for its protocol
    /// ([`TrainSettings::validate_for`]): the way `train` and sweeps resolve settings.
    pub fn resolve(self, data_dir: &Path) -> Result<(TrainConfig, Manifest), TrainError> {
        let dir = grefel_shards::DataLayout::new(data_dir).dataset(&self.dataset).dir().to_path_buf();
        let manifest =
            Manifest::read(&dir)?.ok_or_else(|| TrainError::MissingDataset { dir: dir.clone() })?;
        let config = self.validate_for(&manifest.adapter)?;
        Ok((config, manifest))
    }

    /// Checks every value once for a dataset prepared by `adapter`: the class view defaults to
    /// the dataset's, and a view it cannot fill is refused.
    pub fn validate_for(mut self, adapter: &str) -> Result<TrainConfig, TrainError> {
        let protocol = Protocol::of(adapter)?;
        let view = *self.class_view.get_or_insert(protocol.default_view);
        protocol.check_view(&self.dataset, view)?;
        self.validate()
    }

    /// Checks every value once and resolves the model configuration. Without the dataset's
    /// adapter ([`TrainSettings::validate_for`]) an unset class view is `basic7`.
    pub fn validate(self) -> Result<TrainConfig, TrainError> {
        let class_view = self.class_view.unwrap_or(ClassView::Basic7);
        let dataset = DatasetName::new(self.dataset.clone())
            .map_err(|e| TrainError::config("dataset", e.to_string()))?;
        let preset = ModelConfig::preset(&self.preset)?;
        let mut model_json = serde_json::to_value(&preset).map_err(TrainError::ConfigParse)?;
        let view_classes = class_view.num_classes();
        if let Some(overlay) = &self.model {
            if let Some(n) = overlay.get("num_classes").and_then(Value::as_u64)
                && n as usize != view_classes
            {
                return Err(TrainError::config(
                    "model.num_classes",
                    format!("{n} disagrees with the class view ({view_classes})"),
                ));
            }
            merge_json(&mut model_json, overlay);
        }
        let model: ModelConfig = serde_json::from_value(model_json).map_err(TrainError::ConfigParse)?;
        let model = model.with_num_classes(view_classes);
        model.validate()?;
        if self.epochs == 0 {
            return Err(TrainError::config("epochs", "must be at least 1"));
        }
        if self.batch_size < 2 {
            return Err(TrainError::config(
                "batch_size",
                "must be at least 2 (batch norm needs two samples)",
            ));
        }
        if self.eval_batch_size == 0 {
            return Err(TrainError::config("eval_batch_size", "must be at least 1"));
        }
        let o = &self.optimizer;
        if !(o.lr.is_finite() && o.lr > 0.0) {
            return Err(TrainError::config("optimizer.lr", format!("{} must be positive", o.lr)));
        }
        if !(o.lr_decay > 0.0 && o.lr_decay <= 1.0) {
            return Err(TrainError::config("optimizer.lr_decay", format!("{} is not in (0, 1]", o.lr_decay)));
        }
        if !(o.sam_rho.is_finite() && o.sam_rho > 0.0) {
            return Err(TrainError::config("optimizer.sam_rho", format!("{} must be positive", o.sam_rho)));
        }
        if !((0.0..1.0).contains(&o.beta_1) && (0.0..1.0).contains(&o.beta_2) && o.epsilon > 0.0) {
            return Err(TrainError::config("optimizer", "needs β₁, β₂ in [0, 1) and ε > 0"));
        }
        self.augment.validate()?;
        self.sampling.validate()?;
        if let Some(n) = &self.noise {
            n.validate()?;
        }
        if self.soft_labels && (self.noise.is_some() || self.noise_file.is_some()) {
            return Err(TrainError::config(
                "soft_labels",
                "cannot be combined with label noise (noisy labels are hard labels)",
            ));
        }
        if self.noise.is_some() && self.noise_file.is_some() {
            return Err(TrainError::config(
                "noise_file",
                "excludes `noise` (a drawn noise spec): give one of them",
            ));
        }
        if !(self.val_fraction > 0.0 && self.val_fraction < 1.0) {
            return Err(TrainError::config(
                "val_fraction",
                format!("{} is not in (0, 1)", self.val_fraction),
            ));
        }
        if self.init.contains_key("mobilefacenet")
            && model.landmark.branch != grefel_model::config::LandmarkBranch::MobileFaceNet
        {
            return Err(TrainError::config(
                "init.mobilefacenet",
                format!("preset `{}` has no MobileFaceNet landmark branch", self.preset),
            ));
        }
        let init =
            self.init.iter().map(|(part, path)| InitFile::open(part, path)).collect::<Result<_, _>>()?;
        let init_from = self.init_from.as_deref().map(|dir| InitRun::open(dir, &model)).transpose()?;
        Ok(TrainConfig {
            init,
            init_from,
            dataset,
            preset: self.preset,
            model,
            class_view,
            split: self.split,
            landmark_quality: self.landmark_quality,
            soft_labels: self.soft_labels,
            noise_file: self.noise_file.as_deref().map(NoiseFile::open).transpose()?,
            seed: self.seed,
            epochs: self.epochs,
            batch_size: self.batch_size,
            eval_batch_size: self.eval_batch_size,
            optimizer: self.optimizer,
            augment: self.augment,
            sampling: self.sampling,
            noise: self.noise,
            val_fraction: self.val_fraction,
            selection: self.selection,
            precision: self.precision,
        })
    }
}

fn is_fp32(p: &Precision) -> bool {
    *p == Precision::Fp32
}

impl TrainConfig {
    /// The canonical JSON of the configuration (object keys sorted).
    pub fn resolved(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Whether the model's geometry branch needs landmarks as input.
    pub fn needs_landmarks(&self) -> bool {
        self.model.landmark.branch == grefel_model::config::LandmarkBranch::Geometry
    }
}

/// Options that do not change results: never part of the run's hash.
#[derive(Clone, Debug, PartialEq)]
pub struct RunOptions {
    /// Device string (`cpu`, `cuda:0`, …; see `grefel_model::device_from_str`).
    pub device: String,
    /// Stop after this many epochs in this call (the run resumes on the next call).
    pub stop_after_epochs: Option<usize>,
    /// Batches prepared ahead of the device.
    pub prefetch: usize,
    /// Decoded images are cached in memory when they fit in this many bytes.
    pub cache_budget_bytes: u64,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self { device: "cpu".into(), stop_after_epochs: None, prefetch: 3, cache_budget_bytes: 2 << 30 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_is_parsed_and_hashed_only_when_not_fp32() {
        let fp32 = TrainSettings::new("rafdb").validate().expect("defaults");
        assert_eq!(fp32.precision, Precision::Fp32);
        assert!(fp32.resolved().get("precision").is_none(), "fp32 keeps the run ids of before the option");

        let mut raw = serde_json::json!({ "dataset": "rafdb", "precision": "bf16" });
        let bf16 = TrainSettings::from_value(raw.clone()).expect("parse").validate().expect("valid");
        assert_eq!(bf16.precision, Precision::Bf16);
        assert_eq!(bf16.resolved()["precision"], "bf16");
        assert_ne!(bf16.resolved(), fp32.resolved());

        raw["precision"] = "fp16".into();
        assert!(TrainSettings::from_value(raw).is_err(), "unknown precisions are refused");
    }

    #[test]
    fn the_view_defaults_to_the_datasets_and_new_options_keep_old_ids() {
        let view = |adapter: &str| TrainSettings::new("d").validate_for(adapter).expect("valid").class_view;
        assert_eq!(view("rafdb"), ClassView::Basic7);
        assert_eq!(view("ferplus"), ClassView::WithContempt8);
        assert_eq!(view("affectnet"), ClassView::WithContempt8);
        assert_eq!(view("affwild2"), ClassView::WithOther8);
        let mut seven = TrainSettings::new("d");
        seven.class_view = Some(ClassView::Basic7);
        assert_eq!(
            seven.clone().validate_for("affectnet").expect("AffectNet-7").class_view,
            ClassView::Basic7
        );
        assert!(TrainSettings::new("d").validate_for("nosuch").is_err());
        let aliases: TrainSettings =
            serde_json::from_value(serde_json::json!({ "dataset": "d", "class_view": "affwild2-8" }))
                .expect("alias");
        assert_eq!(aliases.class_view, Some(ClassView::WithOther8));
        // Defaults of the new options are left out of the resolved configuration, so runs made
        // before they existed keep their ids.
        let resolved = seven.validate_for("rafdb").expect("valid").resolved();
        for key in ["split", "landmark_quality", "soft_labels", "noise_file"] {
            assert!(resolved.get(key).is_none(), "{key}");
        }
        let mut soft = TrainSettings::new("d");
        soft.soft_labels = true;
        assert_eq!(soft.clone().validate().expect("valid").resolved()["soft_labels"], true);
        soft.noise = Some(grefel_experiments::NoiseSpec {
            protocol: grefel_experiments::NoiseProtocol::Symmetric,
            rate: 0.1,
            seed: 0,
        });
        assert!(soft.validate().is_err(), "soft labels and label noise exclude each other");
    }
}
