//! The landmark stage: `<data>/<dataset>/` `samples` shards → `<data>/<dataset>/landmarks/`
//! `landmarks` shards (one per input shard, `part-NNNNN.parquet`, rows in input order) and a
//! manifest. A [`Stage`] of the stage engine ([`grefel_shards::stage`]), resumable and idempotent
//! like `prepare`: unchanged input, configuration and models with intact shards do nothing; each
//! output shard's plan key is the configuration and its input shard's path and hash, and its
//! statistics name the hashes of the models its rows used, so after a kill the finished shards
//! whose models are still current are kept and only the rest are written.
//!
//! Points per sample: the sample's own 68 points where it has them (`ground_truth` for the
//! synthetic dataset, `dataset` otherwise) unless `recompute` is set; else dlib's 68-point
//! predictor on the face box (see [`crate::boxes`]). Shards, and rows within a shard, run in
//! parallel.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Instant;

use grefel_schema::landmarks_table::{LANDMARKS_SCHEMA_VERSION, LANDMARKS_TABLE, LandmarkSource};
use grefel_schema::table::SAMPLES_TABLE;
use grefel_shards::hash::sha256_file;
use grefel_shards::manifest::{MANIFEST_FILE, Manifest, ShardEntry, content_hash};
use grefel_shards::progress::Progress;
use grefel_shards::stage::{self, Done, Layout, Options, Planned, Planning, Stage, Written};
use grefel_shards::{landmarks, samples};
use serde::{Deserialize, Serialize};

use crate::LandmarkError;
use crate::boxes::{BoxConfig, FaceModel};
use crate::models::{LoadedModel, SETUP_HINT, load_predictor};
use crate::sample::{Job, process};
use crate::stage_manifest::{InputInfo, LandmarkCounts, LandmarkManifest, ShardStats, StageSummary};

/// Version of the stage's logic, recorded in the configuration; bumping it rebuilds shards.
pub const STAGE_VERSION: u32 = 1;
/// Name of the output folder inside the dataset folder.
pub use grefel_shards::layout::LANDMARKS_DIR;
/// Datasets whose given points are exact (drawn, not annotated).
pub const GROUND_TRUTH_DATASETS: &[&str] = &["synthetic"];

/// Settings of one landmark run.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LandmarkSettings {
    /// The data folder holding `<dataset>/` (`data`).
    pub data: PathBuf,
    /// The dataset name.
    pub dataset: String,
    /// dlib's 68-point model.
    pub model: PathBuf,
    /// rustface's model.
    pub face_model: PathBuf,
    /// Predict with dlib even where the dataset gives 68 points.
    pub recompute: bool,
    /// Face box settings.
    pub boxes: BoxConfig,
}

impl LandmarkSettings {
    /// The input folder, `<data>/<dataset>`.
    pub fn input_dir(&self) -> PathBuf {
        self.layout().dir().to_path_buf()
    }

    /// The output folder, `<data>/<dataset>/landmarks`.
    pub fn output_dir(&self) -> PathBuf {
        self.layout().landmarks()
    }

    fn layout(&self) -> grefel_shards::DatasetLayout {
        grefel_shards::DataLayout::new(&self.data).dataset(&self.dataset)
    }

    /// The source recorded for points the dataset gives.
    pub fn given_source(&self) -> LandmarkSource {
        if GROUND_TRUTH_DATASETS.contains(&self.dataset.as_str()) {
            LandmarkSource::GroundTruth
        } else {
            LandmarkSource::Dataset
        }
    }

    /// The settings that determine the shards' content (paths excluded; models enter through
    /// their hashes, per shard).
    pub fn resolved(&self) -> serde_json::Value {
        serde_json::json!({
            "stage_version": STAGE_VERSION,
            "schema_version": LANDMARKS_SCHEMA_VERSION,
            "dataset": self.dataset,
            "recompute": self.recompute,
            "given_source": self.given_source().as_str(),
            "boxes": self.boxes,
        })
    }

    fn validate(&self) -> Result<(), LandmarkError> {
        grefel_schema::DatasetName::new(self.dataset.clone())
            .map_err(|e| LandmarkError::InvalidConfig { field: "dataset", reason: e.to_string() })?;
        self.boxes.validate()
    }
}

/// The models, loaded or hashed on first need.
/// Shards run in parallel: `loading` makes the first one to need a model load it while the
/// others wait, instead of each loading its own copy.
struct Models<'a> {
    settings: &'a LandmarkSettings,
    loading: Mutex<()>,
    dlib: OnceLock<LoadedModel>,
    face: OnceLock<FaceModel>,
    hashes: OnceLock<BTreeMap<String, String>>,
}

impl<'a> Models<'a> {
    fn new(settings: &'a LandmarkSettings) -> Self {
        Models {
            settings,
            loading: Mutex::new(()),
            dlib: OnceLock::new(),
            face: OnceLock::new(),
            hashes: OnceLock::new(),
        }
    }

    /// Holds the load lock (a panicked loader left nothing half-set: the cells are set whole).
    fn lock(&self) -> MutexGuard<'_, ()> {
        self.loading.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn dlib(&self) -> Result<&LoadedModel, LandmarkError> {
        if let Some(m) = self.dlib.get() {
            return Ok(m);
        }
        let _loading = self.lock();
        if let Some(m) = self.dlib.get() {
            return Ok(m);
        }
        let start = Instant::now();
        let loaded = load_predictor(&self.settings.model, Some(grefel_schema::table::NUM_LANDMARKS))?;
        tracing::info!(path = %loaded.path.display(), seconds = format!("{:.2}", start.elapsed().as_secs_f64()), "68-point model loaded");
        Ok(self.dlib.get_or_init(|| loaded))
    }

    fn face(&self) -> Result<&FaceModel, LandmarkError> {
        if let Some(m) = self.face.get() {
            return Ok(m);
        }
        let _loading = self.lock();
        if let Some(m) = self.face.get() {
            return Ok(m);
        }
        let path = &self.settings.face_model;
        if !path.is_file() {
            return Err(LandmarkError::MissingModel { path: path.clone(), hint: SETUP_HINT.into() });
        }
        let model = FaceModel::load(path)?;
        Ok(self.face.get_or_init(|| model))
    }

    /// SHA-256 of each model file present (`dlib68`, `rustface`).
    fn hashes(&self) -> Result<&BTreeMap<String, String>, LandmarkError> {
        if let Some(h) = self.hashes.get() {
            return Ok(h);
        }
        let _loading = self.lock();
        if let Some(h) = self.hashes.get() {
            return Ok(h);
        }
        let mut h = BTreeMap::new();
        for (name, path) in [("dlib68", &self.settings.model), ("rustface", &self.settings.face_model)] {
            if path.is_file() {
                let sha = match (name, self.dlib.get()) {
                    ("dlib68", Some(m)) => m.sha256.clone(),
                    _ => sha256_file(path)?,
                };
                h.insert(name.to_string(), sha);
            }
        }
        Ok(self.hashes.get_or_init(|| h))
    }

    /// Whether `used` (a shard's or manifest's model hashes) matches the files present now.
    fn still_current(&self, used: &BTreeMap<String, String>) -> Result<bool, LandmarkError> {
        if used.is_empty() {
            return Ok(true);
        }
        let now = self.hashes()?;
        Ok(used.iter().all(|(k, v)| now.get(k) == Some(v)))
    }
}

/// Runs the stage: see the module documentation.
pub fn run_stage(
    settings: &LandmarkSettings,
    progress: &dyn Progress,
) -> Result<StageSummary, LandmarkError> {
    run_stage_with(settings, Options::default(), progress)
}

/// [`run_stage`] with engine options (`force`: rebuild even over a malformed manifest).
pub fn run_stage_with(
    settings: &LandmarkSettings,
    options: Options,
    progress: &dyn Progress,
) -> Result<StageSummary, LandmarkError> {
    let start = Instant::now();
    settings.validate()?;
    let in_dir = settings.input_dir();
    let input = read_input(&in_dir)?;
    let layout = Layout {
        dir: settings.output_dir(),
        manifest: MANIFEST_FILE.into(),
        shard_dirs: Some(vec![String::new()]),
    };
    let stage = Landmarks { settings, in_dir, input, models: Models::new(settings), layout };
    let outcome = stage::run(&stage, options, progress)?;
    let m = outcome.manifest;
    Ok(StageSummary {
        dataset: settings.dataset.clone(),
        dir: stage.layout.dir,
        up_to_date: outcome.up_to_date,
        rows_read: stage.input.rows.total,
        shards_read: stage.input.shards.len() as u64,
        rows: m.rows,
        shards_written: outcome.written,
        shards_reused: outcome.reused,
        skipped: m.skipped,
        content_hash: m.content_hash,
        elapsed: start.elapsed(),
    })
}

/// The landmark stage as a [`Stage`]: the input is the `samples` manifest's content hash, a
/// shard is one input shard (`part-NNNNN.parquet` in input order).
struct Landmarks<'a> {
    settings: &'a LandmarkSettings,
    in_dir: PathBuf,
    /// The `samples` manifest, shards sorted by path.
    input: Manifest,
    models: Models<'a>,
    layout: Layout,
}

impl Stage for Landmarks<'_> {
    const NAME: &'static str = "landmarks";
    type Plan = ();
    type Unit = ShardEntry;
    type Stats = ShardStats;
    type Manifest = LandmarkManifest;
    type Error = LandmarkError;

    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn input(&self) -> &str {
        &self.input.content_hash
    }

    fn config(&self) -> serde_json::Value {
        self.settings.resolved()
    }

    fn is_current(&self, m: &LandmarkManifest) -> Result<bool, LandmarkError> {
        self.models.still_current(&m.models)
    }

    fn plan(&self) -> Result<Planning<(), ShardEntry>, LandmarkError> {
        let plan = self.input.shards.iter().enumerate().map(|(i, shard)| Planned {
            rel: format!("part-{i:05}.parquet"),
            identity: vec![shard.path.clone(), shard.sha256.clone()],
            rows: shard.rows,
            unit: shard.clone(),
        });
        Ok(((), plan.collect()))
    }

    fn reusable(&self, stats: &ShardStats) -> Result<bool, LandmarkError> {
        self.models.still_current(&stats.models)
    }

    fn write(
        &self,
        (): &(),
        shard: &Planned<ShardEntry>,
        path: &Path,
        key: &str,
    ) -> Result<Written<ShardStats>, LandmarkError> {
        write_shard(self, &shard.unit, path, key)
    }

    fn rows(stats: &ShardStats) -> u64 {
        stats.rows.total
    }

    fn manifest(
        &self,
        (): &(),
        config_hash: String,
        done: Vec<Done<ShardEntry, ShardStats>>,
    ) -> Result<LandmarkManifest, LandmarkError> {
        let (mut rows, mut skipped, mut models) =
            (LandmarkCounts::default(), BTreeMap::new(), BTreeMap::new());
        let mut entries = Vec::with_capacity(done.len());
        for Done { entry, stats, .. } in done {
            rows.merge(&stats.rows);
            for (k, n) in stats.skipped {
                *skipped.entry(k).or_default() += n;
            }
            models.extend(stats.models);
            entries.push(entry);
        }
        Ok(LandmarkManifest {
            table: LANDMARKS_TABLE.into(),
            schema_version: LANDMARKS_SCHEMA_VERSION,
            dataset: self.settings.dataset.clone(),
            stage_version: STAGE_VERSION,
            config: self.settings.resolved(),
            config_hash,
            input: InputInfo {
                dir: self.in_dir.display().to_string(),
                content_hash: self.input.content_hash.clone(),
                rows: self.input.rows.total,
                shards: self.input.shards.len() as u64,
            },
            models,
            rows,
            skipped,
            content_hash: content_hash(&entries),
            shards: entries,
        })
    }
}

fn read_input(dir: &Path) -> Result<Manifest, LandmarkError> {
    let input_err = |detail: String| LandmarkError::Input { dir: dir.into(), detail };
    let Some(mut m) = Manifest::read(dir)? else {
        return Err(input_err("no manifest.json: prepare the dataset first (`cargo xtask prepare`)".into()));
    };
    if m.table != SAMPLES_TABLE {
        return Err(input_err(format!("manifest describes table `{}`, not `{SAMPLES_TABLE}`", m.table)));
    }
    m.shards.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(m)
}

/// Computes one shard's rows from its input shard and writes them (uncommitted).
fn write_shard(
    stage: &Landmarks<'_>,
    input: &ShardEntry,
    path: &Path,
    key: &str,
) -> Result<Written<ShardStats>, LandmarkError> {
    let (settings, models, in_dir) = (stage.settings, &stage.models, stage.in_dir.as_path());
    let in_path = in_dir.join(&input.path);
    if sha256_file(&in_path)? != input.sha256 {
        return Err(LandmarkError::Input {
            dir: in_dir.into(),
            detail: format!("shard {} does not match its manifest; rerun `cargo xtask prepare`", input.path),
        });
    }
    let records = samples::read_shard(&in_path)?;
    let predicts = |r: &grefel_schema::table::SampleRecord| settings.recompute || r.landmarks.is_none();
    let predictor = match records.iter().any(predicts) {
        true => Some(&models.dlib()?.predictor),
        false => None,
    };
    let face = match records.iter().any(|r| predicts(r) && r.bbox.is_none()) {
        true => Some(models.face()?),
        false => None,
    };
    let job = Job { settings, predictor, face, given: settings.given_source() };
    let (rows, skipped) = process(&job, &records);
    let mut stats = ShardStats::default();
    for r in &rows {
        stats.rows.add(r);
    }
    stats.skipped = skipped;
    if predictor.is_some() {
        let hashes = models.hashes()?;
        let used = [("dlib68", true), ("rustface", face.is_some())];
        for (name, sha) in used.iter().filter(|(_, u)| *u).filter_map(|(n, _)| Some((*n, hashes.get(*n)?))) {
            stats.models.insert(name.to_string(), sha.clone());
        }
    }
    let meta = stage::shard_metadata(path, key, &stats)?;
    let (sha256, pending) = landmarks::write_shard_pending(path, &rows, &meta)?;
    tracing::debug!(shard = %path.display(), rows = rows.len(), "written");
    Ok(Written { stats, sha256, pending })
}
