//! A finished run read back from its folder: its configuration, its selected epoch's weights and
//! the trust they were evaluated with; and its predictions on any split of a prepared dataset
//! whose classes fit the run's view (what `evaluate` analyses).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use grefel_artifacts::files::{RUN_CONFIG, RUN_METRICS};
use grefel_artifacts::{Predictions, RunDocument, RunMetrics, Selection, read_json, read_json_if_exists};
use grefel_model::burn::module::Module as _;
use grefel_model::{Grefel, device_from_str};
use grefel_schema::DatasetName;
use grefel_schema::table::NUM_LANDMARKS;

use crate::checkpoint::{self, CHECKPOINT_DIR, TrainState};
use crate::data::{self, GROUP_COLUMNS, ImageStore, Sample, SplitData, class_names};
use crate::eval::{evaluate, forward_split};
use crate::imported::{IMPORT_RECORD, ImportRecord};
use crate::protocol::Role;
use crate::{RunOptions, TrainConfig, TrainError};

/// A finished run.
#[derive(Clone, Debug)]
pub struct SavedRun {
    /// Its folder.
    pub dir: PathBuf,
    /// Its id (the folder's name).
    pub id: String,
    /// Its resolved configuration.
    pub config: TrainConfig,
    /// Its metrics (`None` for an imported run, which was never evaluated).
    pub metrics: Option<RunMetrics>,
    /// Where an imported run's weights came from (`None` for a trained run).
    pub import: Option<ImportRecord>,
    state: TrainState,
}

/// Which split of a prepared dataset to predict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvalSplit {
    /// The protocol's evaluation split (the run's `test` block).
    Test,
    /// The selection split.
    Val,
    /// The training split, with the dataset's own (clean) labels.
    Train,
}

impl EvalSplit {
    /// The split's name.
    pub fn name(self) -> &'static str {
        match self {
            EvalSplit::Test => "test",
            EvalSplit::Val => "val",
            EvalSplit::Train => "train",
        }
    }
}

impl std::str::FromStr for EvalSplit {
    type Err = TrainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "test" => Ok(EvalSplit::Test),
            "val" => Ok(EvalSplit::Val),
            "train" => Ok(EvalSplit::Train),
            other => Err(TrainError::config(
                "split",
                format!("`{other}` is not a split: test (the protocol's evaluation split), val or train"),
            )),
        }
    }
}

/// One image for [`SavedRun::predict_images`]: an RGB face crop framed as the run's training
/// images, with its 68 points where the model needs them.
#[derive(Clone, Debug)]
pub struct FaceImage {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width·height·3` bytes, row-major RGB.
    pub rgb: Vec<u8>,
    /// 68 points in pixels of the image.
    pub landmarks: Option<Box<[[f32; 2]; NUM_LANDMARKS]>>,
}

impl FaceImage {
    /// An image of no pixels (what a moved-out image leaves behind).
    pub const EMPTY: FaceImage = FaceImage { width: 0, height: 0, rgb: Vec::new(), landmarks: None };
}

/// The model's outputs for one image.
#[derive(Clone, Debug, PartialEq)]
pub struct ImagePrediction {
    /// The classifier's raw output.
    pub logits: Vec<f32>,
    /// Primary distribution p.
    pub primary: Vec<f32>,
    /// Corrected distribution ŷ.
    pub corrected: Vec<f32>,
    /// κ(p), κ(m), κ(α): the reliability terms of the correction.
    pub kappa: [f32; 3],
}

/// A run's predictions on one split, with what evaluation groups and weighs them by.
#[derive(Clone, Debug)]
pub struct SplitPredictions {
    /// The dataset predicted.
    pub dataset: String,
    /// The split.
    pub split: EvalSplit,
    /// Per-sample distributions of both outputs, with the dataset's labels.
    pub predictions: Predictions,
    /// `column -> value per sample` for every column of [`GROUP_COLUMNS`] with at least one value
    /// in the split.
    pub columns: BTreeMap<String, Vec<Option<String>>>,
    /// Training samples per class of the run's own training split (`None` when the run's dataset
    /// is not in the data folder).
    pub train_counts: Option<Vec<u64>>,
}

impl SavedRun {
    /// Reads the run in `dir` (trained, or written by `import-checkpoint`); refuses an unfinished
    /// run.
    pub fn open(dir: &Path) -> Result<SavedRun, TrainError> {
        let document: RunDocument = read_json(&dir.join(RUN_CONFIG))?;
        let config: TrainConfig = serde_json::from_value(document.train.clone())
            .map_err(|source| TrainError::Json { path: dir.join(RUN_CONFIG), source })?;
        let metrics: Option<RunMetrics> = read_json_if_exists(&dir.join(RUN_METRICS))?;
        let import: Option<ImportRecord> = match metrics {
            Some(_) => None,
            None => read_json_if_exists(&dir.join(IMPORT_RECORD))?,
        };
        if metrics.is_none() && import.is_none() {
            return Err(TrainError::Checkpoint {
                path: dir.to_path_buf(),
                reason: format!(
                    "the run is not finished (no {RUN_METRICS}): run `train` on it again to finish it"
                ),
            });
        }
        let state = checkpoint::read_state(dir)?.ok_or_else(|| TrainError::Checkpoint {
            path: dir.join(CHECKPOINT_DIR),
            reason: "the run has no checkpoint".into(),
        })?;
        let id = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        Ok(SavedRun { dir: dir.to_path_buf(), id, config, metrics, import, state })
    }

    /// The output the run selects by (an imported run: the primary one, the classifier's).
    pub fn selection(&self) -> Selection {
        self.metrics.as_ref().map_or(Selection::Primary, |m| m.selection)
    }

    /// The trust t the selected weights are evaluated with (an imported run: 1, the end of
    /// training's ramp).
    pub fn eval_trust(&self) -> f32 {
        self.metrics.as_ref().map_or(1.0, |m| m.eval_trust)
    }

    /// The adapter of the dataset the run was trained on (or imported for): how its faces are
    /// framed.
    pub fn adapter(&self) -> &str {
        match &self.metrics {
            Some(m) if !m.dataset.adapter.is_empty() => &m.dataset.adapter,
            _ => self.import.as_ref().map_or(self.config.dataset.as_str(), |i| i.adapter.as_str()),
        }
    }

    /// The selected weights' file.
    pub fn selected_file(&self) -> PathBuf {
        let name = self.state.best_model_file.as_deref().unwrap_or(&self.state.model_file);
        self.dir.join(CHECKPOINT_DIR).join(name)
    }

    /// SHA-256 of the selected weights' file.
    pub fn selected_sha256(&self) -> Result<String, TrainError> {
        let path = self.selected_file();
        let bytes = std::fs::read(&path).map_err(TrainError::io("read", &path))?;
        Ok(grefel_shards::hash::sha256_hex(&bytes))
    }

    /// The selected epoch's model, in evaluation mode, on `device`.
    pub fn model(&self, device: &grefel_model::burn::tensor::Device) -> Result<Grefel, TrainError> {
        let model = Grefel::new(self.config.model.clone(), device)?;
        Ok(checkpoint::load_best(&self.dir, &self.state, model)?.valid())
    }

    /// The class names of the run's view, in output order.
    pub fn classes(&self) -> Vec<String> {
        class_names(self.config.class_view)
    }

    /// The output the run selected its epoch by (`primary` or `corrected`): what a prediction
    /// reports as its label.
    pub fn selected_output(&self) -> &'static str {
        match self.selection() {
            Selection::Primary => "primary",
            Selection::Corrected => "corrected",
        }
    }

    /// Runs the selected epoch on `images` (evaluation rendering: the full image resized to the
    /// model's side, ImageNet normalisation) in batches of `batch_size`, at the trust the run was
    /// evaluated with. Images without points are refused when the model needs them.
    pub fn predict_images(
        &self,
        model: &Grefel,
        device: &grefel_model::burn::tensor::Device,
        images: Vec<FaceImage>,
        batch_size: usize,
    ) -> Result<Vec<ImagePrediction>, TrainError> {
        let landmarks = self.config.needs_landmarks();
        let mut samples = Vec::with_capacity(images.len());
        let mut decoded = Vec::with_capacity(images.len());
        for (i, img) in images.into_iter().enumerate() {
            if landmarks && img.landmarks.is_none() {
                return Err(TrainError::config("landmarks", format!("image {i} has no 68 points")));
            }
            samples.push(Sample {
                id: i.to_string(),
                label: 0,
                clean_label: 0,
                landmarks: img.landmarks,
                landmark_quality: None,
                soft: None,
                groups: Default::default(),
            });
            decoded.push((img.width, img.height, img.rgb));
        }
        let split = SplitData { samples, images: ImageStore::Decoded(decoded) };
        let classes = model.config.num_classes;
        let mut out = Vec::with_capacity(split.len());
        forward_split(model, &split, device, self.eval_trust(), batch_size, landmarks, 1, |o| {
            for k in 0..o.indices.len() {
                let row = |v: &[f32]| v[k * classes..(k + 1) * classes].to_vec();
                out.push(ImagePrediction {
                    logits: row(&o.logits),
                    primary: row(&o.p),
                    corrected: row(&o.y_hat),
                    kappa: [o.kappa[0][k], o.kappa[1][k], o.kappa[2][k]],
                });
            }
        })?;
        Ok(out)
    }

    /// Predicts `split` of `dataset` (default: the run's) in `data_dir` with the selected epoch
    /// at the trust it was evaluated with; the class view stays the run's, and a dataset that
    /// cannot fill it is refused.
    pub fn predict_split(
        &self,
        data_dir: &Path,
        dataset: Option<&str>,
        split: EvalSplit,
        options: &RunOptions,
    ) -> Result<SplitPredictions, TrainError> {
        let mut config = self.config.clone();
        if let Some(name) = dataset {
            config.dataset = DatasetName::new(name.to_string())
                .map_err(|e| TrainError::config("dataset", e.to_string()))?;
        }
        // Evaluation sees the dataset's own labels: no noise, no soft targets.
        config.noise = None;
        config.noise_file = None;
        config.soft_labels = false;
        let role = match split {
            EvalSplit::Test => Role::Evaluation,
            EvalSplit::Val => Role::Selection,
            EvalSplit::Train => Role::Train,
        };
        let loaded = data::load_split(&config, data_dir, options.cache_budget_bytes, role)?;
        let chosen = &loaded.split;
        let device = device_from_str(&options.device)?;
        let model = self.model(&device)?;
        let eval = evaluate(
            &model,
            chosen,
            &device,
            self.eval_trust(),
            config.eval_batch_size,
            config.needs_landmarks(),
            options.prefetch,
        )?;
        let predictions = eval.predictions(split.name(), chosen, class_names(config.class_view));
        let mut columns = BTreeMap::new();
        for column in GROUP_COLUMNS {
            let values: Vec<Option<String>> =
                chosen.samples.iter().map(|s| s.groups.get(column).flatten().map(str::to_string)).collect();
            if values.iter().any(Option::is_some) {
                columns.insert(column.to_string(), values);
            }
        }
        // Head and tail by the run's own training data: that of the evaluated dataset when it is
        // the run's, else the run's dataset's, when that is in the data folder.
        let train_counts = if config.dataset == self.config.dataset {
            Some(loaded.train_counts)
        } else {
            match data::train_class_counts(&self.config, data_dir) {
                Ok(counts) => Some(counts),
                Err(TrainError::MissingDataset { .. }) => None,
                Err(e) => return Err(e),
            }
        };
        Ok(SplitPredictions {
            dataset: config.dataset.to_string(),
            split,
            predictions,
            columns,
            train_counts,
        })
    }
}
