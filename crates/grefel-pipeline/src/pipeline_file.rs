//! Declarative pipeline files (`pipelines/*.toml`): each table is one stage's raw settings,
//! validated once by that stage's crate. `[synth]` draws the synthetic dataset, `[prepare]`
//! normalises a dataset into shards, `[landmarks]` computes its 68 points, `[train]` is a
//! training run's settings (and the base configuration of every cell of a sweep).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::PipelineError;

/// A pipeline file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pipeline {
    /// Draw the synthetic dataset first.
    #[serde(default)]
    pub synth: Option<SynthStage>,
    /// Prepare a dataset into shards.
    #[serde(default)]
    pub prepare: Option<grefel_ingest::PrepareSettings>,
    /// Compute 68-point landmarks of the prepared dataset.
    #[serde(default)]
    pub landmarks: Option<LandmarksStage>,
    /// Train and evaluate a model on the prepared data.
    #[serde(default)]
    pub train: Option<grefel_train::TrainSettings>,
}

/// The `[synth]` stage.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SynthStage {
    /// Where the FERG-DB-layout tree is written.
    pub root: PathBuf,
    /// The generator's settings.
    #[serde(default)]
    pub generator: grefel_synth::SynthConfig,
}

/// The `[landmarks]` stage: the landmark stage on `[prepare]`'s output.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LandmarksStage {
    /// Predict with dlib even where the dataset gives 68 points.
    #[serde(default)]
    pub recompute: bool,
    /// dlib's 68-point model [default: the installed one, `cargo xtask setup-landmarks`].
    #[serde(default)]
    pub model: Option<PathBuf>,
    /// rustface's model [default: the installed one].
    #[serde(default)]
    pub face_model: Option<PathBuf>,
}

impl Pipeline {
    /// Reads a pipeline file; relative paths in it are taken relative to `base`.
    pub fn load(path: &Path, base: &Path) -> Result<Pipeline, PipelineError> {
        let fail = |reason: String| PipelineError::PipelineFile { path: path.to_path_buf(), reason };
        let text = std::fs::read_to_string(path).map_err(|e| fail(format!("reading: {e}")))?;
        let mut p: Pipeline = toml::from_str(&text).map_err(|e| fail(format!("parsing: {e}")))?;
        if let Some(s) = p.synth.as_mut() {
            s.root = base.join(&s.root);
        }
        if let Some(s) = p.prepare.as_mut() {
            s.root = base.join(&s.root);
            s.out = base.join(&s.out);
        }
        if let Some(l) = p.landmarks.as_mut() {
            for m in [&mut l.model, &mut l.face_model].into_iter().flatten() {
                *m = base.join(&*m);
            }
        }
        if let Some(t) = p.train.as_mut()
            && let Some(f) = t.noise_file.as_mut()
        {
            *f = base.join(&*f);
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every dataset pipeline parses, names its adapter's dataset, runs the landmark stage, and
    /// its training settings are valid for that adapter's protocol.
    #[test]
    fn dataset_pipelines_are_valid() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        for adapter in grefel_ingest::adapter::ADAPTERS {
            let path = root.join(format!("pipelines/{adapter}.toml"));
            let p = Pipeline::load(&path, &root).unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
            let prepare = p.prepare.as_ref().unwrap_or_else(|| panic!("{adapter}: no [prepare]"));
            assert_eq!(prepare.adapter, *adapter);
            assert!(p.landmarks.is_some(), "{adapter}: no [landmarks]");
            let train = p.train.clone().unwrap_or_else(|| panic!("{adapter}: no [train]"));
            assert_eq!(train.dataset, prepare.dataset.clone().unwrap_or_else(|| adapter.to_string()));
            let config = train.validate_for(adapter).unwrap_or_else(|e| panic!("{adapter}: {e}"));
            assert!(config.needs_landmarks(), "{adapter}: the geometry branch");
        }
    }
}
