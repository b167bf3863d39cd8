//! Command-line overrides of a pipeline's `[train]` table.

use std::path::{Path, PathBuf};

use grefel_schema::ClassView;
use grefel_train::TrainSettings;

use crate::PipelineError;

/// Overrides of a pipeline's `[train]` table (`train --dataset … --preset …`, and every sweep).
#[derive(Clone, Debug, Default)]
pub struct TrainOverrides {
    /// Dataset.
    pub dataset: Option<String>,
    /// Preset.
    pub preset: Option<String>,
    /// Class view name.
    pub class_view: Option<String>,
    /// Epochs.
    pub epochs: Option<usize>,
    /// Root seed.
    pub seed: Option<u64>,
    /// Noisy-label file.
    pub noise_file: Option<PathBuf>,
    /// Pretrained trunk files by part (`--init ir50=FILE`), over the pipeline's `[train.init]`.
    pub init: Vec<(String, PathBuf)>,
    /// A run folder whose selected weights the training starts from (`--init-from DIR`).
    pub init_from: Option<PathBuf>,
}

impl TrainOverrides {
    /// The pipeline's settings (or defaults for `--dataset`) with the overrides applied. A
    /// dataset other than the pipeline's drops the pipeline's class view (it was chosen for the
    /// pipeline's dataset); `--class-view` sets one.
    pub fn apply(
        &self,
        base: Option<TrainSettings>,
        pipeline: &Path,
    ) -> Result<TrainSettings, PipelineError> {
        let mut settings = match (base, &self.dataset) {
            (Some(t), _) => t,
            (None, Some(d)) => TrainSettings::new(d.clone()),
            (None, None) => {
                return Err(PipelineError::PipelineFile {
                    path: pipeline.to_path_buf(),
                    reason: "no [train] table; pass --dataset NAME".into(),
                });
            }
        };
        if let Some(d) = &self.dataset
            && *d != settings.dataset
        {
            settings.dataset = d.clone();
            settings.class_view = None;
        }
        if let Some(v) = &self.class_view {
            settings.class_view = Some(parse_view(v)?);
        }
        if let Some(p) = &self.preset {
            settings.preset = p.clone();
        }
        if let Some(e) = self.epochs {
            settings.epochs = e;
        }
        if let Some(s) = self.seed {
            settings.seed = s;
        }
        if let Some(f) = &self.noise_file {
            settings.noise_file = Some(f.clone());
        }
        for (part, file) in &self.init {
            settings.init.insert(part.clone(), file.clone());
        }
        if let Some(dir) = &self.init_from {
            settings.init_from = Some(dir.clone());
        }
        Ok(settings)
    }
}

/// Parses a class view name (`basic7`, `with-contempt8`, `affectnet8`, …).
pub fn parse_view(name: &str) -> Result<ClassView, PipelineError> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).map_err(|_| {
        PipelineError::Request(format!(
            "class view `{name}`: expected basic7, with-contempt8 (affectnet8, ferplus8) or with-other8 (affwild2-8)"
        ))
    })
}
