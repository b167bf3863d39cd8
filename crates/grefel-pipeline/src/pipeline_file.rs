//! Declarative pipeline files (`pipelines/*.toml`): each table is one stage's raw settings,
//! validated once by that stage's crate. `[synth]` draws the synthetic dataset, `[prepare]`
//! normalises a dataset into shards, `[landmarks]` computes its 68 points, `[noise]` draws
//! noisy training labels, `[train]` is a training run's settings (and the base configuration of
//! every cell of a sweep), `[sweep]` runs a grid of cells instead of the one run, and
//! `[evaluate]` analyses the trained run by class and group.

use std::path::{Path, PathBuf};

use grefel_experiments::noise::NoiseSpec;
use serde::Deserialize;

use crate::PipelineError;
use crate::evaluate::EvaluateStage;

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
    /// Label noise of the training stage (and of a sweep's cells without a noise axis).
    #[serde(default)]
    pub noise: Option<NoiseSpec>,
    /// Train and evaluate a model on the prepared data.
    #[serde(default)]
    pub train: Option<grefel_train::TrainSettings>,
    /// Run a grid of training cells with `[train]` as their base, instead of one run.
    #[serde(default)]
    pub sweep: Option<SweepStage>,
    /// Evaluate the trained run by class and group.
    #[serde(default)]
    pub evaluate: Option<EvaluateStage>,
    /// The cluster a sweep's cells go to with `--executor slurm` (partition, time, GPUs per cell,
    /// …); the `--slurm-*` options override it field by field.
    #[serde(default)]
    pub slurm: Option<grefel_slurm::SlurmSettings>,
}

/// The `[sweep]` stage: a grid over `[train]`. Grids are text as on the command line (`k =
/// "4..12"`, `noise = "0.1,0.2,0.3"`) or arrays of numbers (`k = [4, 8]`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepStage {
    /// Anchors per class K (the rows).
    #[serde(default)]
    pub k: Option<Grid>,
    /// Label-noise rates (the columns; `[noise]` gives their protocol and seed).
    #[serde(default)]
    pub noise: Option<Grid>,
    /// Label-smoothing ε (the columns).
    #[serde(default)]
    pub smoothing: Option<Grid>,
    /// Further axes, `NAME=KEY=VALUES` or `KEY=VALUES` (as `cargo xtask sweep --axis`).
    #[serde(default)]
    pub axes: Vec<String>,
    /// Replicates: seeds `0..seeds` [default: 1].
    #[serde(default)]
    pub seeds: Option<u64>,
    /// Devices, each one worker [default: cpu].
    #[serde(default)]
    pub devices: Vec<String>,
    /// Cells at once on the CPU backend [default: the number of cores].
    #[serde(default)]
    pub jobs: Option<usize>,
    /// Columns every finished cell is evaluated by (`gender`, `race`, `age_group`, `subject`):
    /// per-group accuracy and gaps in `table_full.csv`, a gap table per column.
    #[serde(default)]
    pub by: Vec<String>,
    /// The sweep folder [default: `<runs>/sweeps/<pipeline name>-<plan id>`].
    #[serde(default)]
    pub out: Option<PathBuf>,
}

/// A grid in a pipeline file: text (`"4..12"`, `"0.1,0.2"`) or an array of numbers.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum Grid {
    /// As on the command line.
    Text(String),
    /// The values.
    Numbers(Vec<f64>),
}

impl Grid {
    /// The grid as command-line text.
    pub fn text(&self) -> String {
        match self {
            Grid::Text(t) => t.clone(),
            Grid::Numbers(v) => v.iter().map(|x| format!("{x}")).collect::<Vec<_>>().join(","),
        }
    }
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
        if let Some(t) = p.train.as_mut() {
            for f in t.noise_file.iter_mut().chain(t.init.values_mut()).chain(t.init_from.iter_mut()) {
                *f = base.join(&*f);
            }
        }
        if let Some(s) = p.sweep.as_mut()
            && let Some(o) = s.out.as_mut()
        {
            *o = base.join(&*o);
        }
        if let Some(spec) = &p.noise {
            spec.validate().map_err(|e| fail(format!("[noise]: {e}")))?;
            match p.train.as_mut() {
                None => {
                    return Err(fail(
                        "[noise] needs a [train] table (the run whose labels it replaces)".into(),
                    ));
                }
                Some(t) if t.noise.is_some() => {
                    return Err(fail(
                        "label noise is given twice, in [noise] and [train.noise]: keep one".into(),
                    ));
                }
                Some(t) if t.noise_file.is_some() => {
                    return Err(fail(
                        "[noise] and [train] noise_file both replace the training labels: keep one".into(),
                    ));
                }
                Some(t) => t.noise = Some(*spec),
            }
        }
        if p.sweep.is_some() && p.train.is_none() {
            return Err(fail("[sweep] needs a [train] table (the base configuration of its cells)".into()));
        }
        if p.evaluate.is_some() && (p.train.is_none() || p.sweep.is_some()) {
            return Err(fail(
                "[evaluate] analyses the run of [train]; with [sweep] the sweep's report covers the cells"
                    .into(),
            ));
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

    fn parse(text: &str) -> Result<Pipeline, String> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("p.toml");
        std::fs::write(&path, text).expect("write");
        Pipeline::load(&path, dir.path()).map_err(|e| e.to_string())
    }

    const TRAIN: &str = "[train]\ndataset = \"rafdb\"\n";

    #[test]
    fn noise_sweep_and_evaluate_tables() {
        let p = parse(&format!("[noise]\nprotocol = \"symmetric\"\nrate = 0.3\nseed = 2\n\n{TRAIN}"))
            .expect("noise");
        let noise = p.train.and_then(|t| t.noise).expect("[noise] sets the run's noise");
        assert_eq!((noise.rate, noise.seed), (0.3, 2));

        let twice = parse(&format!(
            "[noise]\nprotocol = \"symmetric\"\nrate = 0.3\nseed = 2\n\n{TRAIN}\n[train.noise]\nprotocol = \"symmetric\"\nrate = 0.1\nseed = 0\n"
        ));
        assert!(twice.expect_err("twice").contains("given twice"));
        let bad_rate = parse(&format!("[noise]\nprotocol = \"symmetric\"\nrate = 1.5\nseed = 0\n\n{TRAIN}"));
        assert!(bad_rate.expect_err("rate").contains("[noise]"));
        assert!(
            parse("[noise]\nprotocol = \"symmetric\"\nrate = 0.1\nseed = 0\n")
                .expect_err("no train")
                .contains("[train]")
        );

        let sweep = parse(&format!("{TRAIN}\n[sweep]\nk = [4, 8]\nnoise = \"0.1,0.2\"\naxes = [\"lr=optimizer.lr=0.001,0.01\"]\nseeds = 2\n"))
            .expect("sweep");
        let s = sweep.sweep.expect("[sweep]");
        assert_eq!(s.k.map(|g| g.text()).as_deref(), Some("4,8"));
        assert_eq!(s.noise.map(|g| g.text()).as_deref(), Some("0.1,0.2"));
        assert_eq!((s.axes.len(), s.seeds), (1, Some(2)));
        assert!(parse("[sweep]\nk = \"4..6\"\n").expect_err("no base").contains("[train]"));
        assert!(parse(&format!("{TRAIN}\n[sweep]\ngrid = 1\n")).expect_err("unknown key").contains("grid"));

        let evaluate = parse(&format!("{TRAIN}\n[evaluate]\nby = [\"gender\", \"race\"]\nresamples = 50\n"))
            .expect("evaluate");
        let e = evaluate.evaluate.expect("[evaluate]");
        assert_eq!((e.by.len(), e.resamples), (2, Some(50)));
        let both = parse(&format!("{TRAIN}\n[sweep]\nk = \"4..5\"\n\n[evaluate]\n"));
        assert!(both.expect_err("evaluate with sweep").contains("[evaluate]"));
    }
}
