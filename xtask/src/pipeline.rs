//! Declarative pipeline files (`pipelines/*.toml`): each table is one stage's raw settings,
//! validated once by that stage's crate.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;

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

impl Pipeline {
    /// Reads a pipeline file; relative paths in it are taken relative to `base`.
    pub fn load(path: &Path, base: &Path) -> Result<Pipeline> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading pipeline {}", path.display()))?;
        let mut p: Pipeline =
            toml::from_str(&text).with_context(|| format!("parsing pipeline {}", path.display()))?;
        if let Some(s) = p.synth.as_mut() {
            s.root = base.join(&s.root);
        }
        if let Some(s) = p.prepare.as_mut() {
            s.root = base.join(&s.root);
            s.out = base.join(&s.out);
        }
        Ok(p)
    }
}
