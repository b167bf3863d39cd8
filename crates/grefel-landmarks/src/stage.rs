//! The landmark stage: `<data>/<dataset>/` `samples` shards → `<data>/<dataset>/landmarks/`
//! `landmarks` shards (one per input shard, `part-NNNNN.parquet`, rows in input order) and a
//! manifest. Resumable and idempotent, like `prepare`:
//!
//! - unchanged input, configuration and models with intact shards: nothing is done;
//! - each output shard carries its plan key (configuration, input shard path and hash) and the
//!   hashes of the models its rows used in its Parquet metadata, so after a kill the finished
//!   shards are kept and only the rest are written; writes are atomic;
//! - shards no longer in the plan and temporaries of killed writers are removed.
//!
//! Points per sample: the sample's own 68 points where it has them (`ground_truth` for the
//! synthetic dataset, `dataset` otherwise) unless `recompute` is set; else dlib's 68-point
//! predictor on the face box (see [`crate::boxes`]). Rows within a shard run in parallel.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use grefel_schema::landmarks_table::{LANDMARKS_SCHEMA_VERSION, LANDMARKS_TABLE, LandmarkSource};
use grefel_schema::table::SAMPLES_TABLE;
use grefel_shards::hash::{Fingerprint, sha256_file};
use grefel_shards::manifest::{Manifest, ShardEntry, content_hash};
use grefel_shards::{atomic, landmarks, samples};
use serde::{Deserialize, Serialize};

use crate::LandmarkError;
use crate::boxes::{BoxConfig, FaceModel};
use crate::models::{LoadedModel, SETUP_HINT, load_predictor};
use crate::sample::{Job, process};
use crate::stage_manifest::{InputInfo, LandmarkCounts, LandmarkManifest, ShardStats, StageSummary};

/// Version of the stage's logic, recorded in the configuration; bumping it rebuilds shards.
pub const STAGE_VERSION: u32 = 1;
/// Name of the output folder inside the dataset folder.
pub const LANDMARKS_DIR: &str = "landmarks";
/// Datasets whose given points are exact (drawn, not annotated).
pub const GROUND_TRUTH_DATASETS: &[&str] = &["synthetic"];
const META_SHARD_KEY: &str = "grefel.shard_key";
const META_SHARD_STATS: &str = "grefel.shard_stats";

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
        self.data.join(&self.dataset)
    }

    /// The output folder, `<data>/<dataset>/landmarks`.
    pub fn output_dir(&self) -> PathBuf {
        self.input_dir().join(LANDMARKS_DIR)
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
        let ok = !self.dataset.is_empty()
            && self
                .dataset
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !ok {
            let reason = format!("`{}` must be lower-case letters, digits, `-` or `_`", self.dataset);
            return Err(LandmarkError::InvalidConfig { field: "dataset", reason });
        }
        self.boxes.validate()
    }
}

/// Progress reporting hooks (the command line draws a bar; tests pass [`NoProgress`]).
pub trait Progress: Sync {
    /// Work of `total` rows starts.
    fn begin(&self, total: u64);
    /// `n` more rows are done.
    fn advance(&self, n: u64);
    /// The work is over.
    fn end(&self);
}

/// Progress that reports nothing.
#[derive(Debug, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn begin(&self, _: u64) {}
    fn advance(&self, _: u64) {}
    fn end(&self) {}
}

/// The models, loaded or hashed on first need.
struct Models<'a> {
    settings: &'a LandmarkSettings,
    dlib: OnceLock<LoadedModel>,
    face: OnceLock<FaceModel>,
    hashes: OnceLock<BTreeMap<String, String>>,
}

impl Models<'_> {
    fn dlib(&self) -> Result<&LoadedModel, LandmarkError> {
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
    let start = Instant::now();
    settings.validate()?;
    let in_dir = settings.input_dir();
    let out_dir = settings.output_dir();
    let input = read_input(&in_dir)?;
    let config_hash = Fingerprint::new().part(settings.resolved().to_string()).finish();
    let models = Models { settings, dlib: OnceLock::new(), face: OnceLock::new(), hashes: OnceLock::new() };
    let mut summary = StageSummary {
        dataset: settings.dataset.clone(),
        dir: out_dir.clone(),
        up_to_date: false,
        rows_read: input.rows.total,
        shards_read: input.shards.len() as u64,
        rows: LandmarkCounts::default(),
        shards_written: 0,
        shards_reused: 0,
        skipped: BTreeMap::new(),
        content_hash: String::new(),
        elapsed: Default::default(),
    };

    if let Some(m) = LandmarkManifest::read(&out_dir)?
        && m.input.content_hash == input.content_hash
        && m.config_hash == config_hash
        && m.verify_shards(&out_dir)?
        && models.still_current(&m.models)?
    {
        tracing::info!(dataset = %settings.dataset, "input, configuration, models and shards unchanged");
        summary.up_to_date = true;
        summary.shards_reused = m.shards.len();
        summary.rows = m.rows;
        summary.skipped = m.skipped;
        summary.content_hash = m.content_hash;
        summary.elapsed = start.elapsed();
        return Ok(summary);
    }

    progress.begin(input.rows.total);
    let mut entries = Vec::with_capacity(input.shards.len());
    let mut used_models = BTreeMap::new();
    for (i, shard) in input.shards.iter().enumerate() {
        let rel = format!("part-{i:05}.parquet");
        let path = out_dir.join(&rel);
        let key = Fingerprint::new().part(&config_hash).part(&shard.path).part(&shard.sha256).finish();
        let (stats, sha256) = match finished_shard(&path, &key, &models)? {
            Some(done) => {
                summary.shards_reused += 1;
                done
            }
            None => {
                summary.shards_written += 1;
                write_shard(&path, &key, &in_dir, shard, settings, &models)?
            }
        };
        progress.advance(shard.rows);
        summary.rows.merge(&stats.rows);
        for (k, n) in &stats.skipped {
            *summary.skipped.entry(k.clone()).or_default() += n;
        }
        used_models.extend(stats.models.clone());
        entries.push(ShardEntry { path: rel, rows: stats.rows.total, sha256 });
    }
    progress.end();
    remove_unplanned(&out_dir, &entries)?;

    let manifest = LandmarkManifest {
        table: LANDMARKS_TABLE.into(),
        schema_version: LANDMARKS_SCHEMA_VERSION,
        dataset: settings.dataset.clone(),
        stage_version: STAGE_VERSION,
        config: settings.resolved(),
        config_hash,
        input: InputInfo {
            dir: in_dir.display().to_string(),
            content_hash: input.content_hash.clone(),
            rows: input.rows.total,
            shards: input.shards.len() as u64,
        },
        models: used_models,
        rows: summary.rows.clone(),
        skipped: summary.skipped.clone(),
        content_hash: content_hash(&entries),
        shards: entries,
    };
    manifest.write(&out_dir)?;
    summary.content_hash = manifest.content_hash;
    summary.elapsed = start.elapsed();
    Ok(summary)
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

/// A finished shard with the expected plan key whose models are still the ones present: its
/// stats and hash. Anything else means the shard is (re)written.
fn finished_shard(
    path: &Path,
    key: &str,
    models: &Models<'_>,
) -> Result<Option<(ShardStats, String)>, LandmarkError> {
    if !path.is_file() {
        return Ok(None);
    }
    let Ok(meta) = landmarks::read_metadata(path) else { return Ok(None) };
    if meta.get(META_SHARD_KEY).map(String::as_str) != Some(key) {
        return Ok(None);
    }
    let Some(stats) = meta.get(META_SHARD_STATS).and_then(|s| serde_json::from_str::<ShardStats>(s).ok())
    else {
        return Ok(None);
    };
    if !models.still_current(&stats.models)? {
        return Ok(None);
    }
    Ok(Some((stats, sha256_file(path)?)))
}

fn write_shard(
    path: &Path,
    key: &str,
    in_dir: &Path,
    input: &ShardEntry,
    settings: &LandmarkSettings,
    models: &Models<'_>,
) -> Result<(ShardStats, String), LandmarkError> {
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
    let stats_json = serde_json::to_string(&stats).map_err(|e| LandmarkError::Input {
        dir: in_dir.into(),
        detail: format!("encoding shard statistics: {e}"),
    })?;
    let meta: BTreeMap<String, String> =
        [(META_SHARD_KEY.to_string(), key.to_string()), (META_SHARD_STATS.to_string(), stats_json)].into();
    let sha = landmarks::write_shard(path, &rows, &meta)?;
    tracing::debug!(shard = %path.display(), rows = rows.len(), "written");
    Ok((stats, sha))
}

/// Removes `part-*.parquet` files that are not in the plan and temporaries of killed writers.
fn remove_unplanned(dir: &Path, entries: &[ShardEntry]) -> Result<(), LandmarkError> {
    let planned: HashSet<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    atomic::remove_stale_temporaries(dir)?;
    let Ok(listing) = std::fs::read_dir(dir) else { return Ok(()) };
    for entry in listing.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("part-") && name.ends_with(".parquet") && !planned.contains(name.as_str()) {
            tracing::info!(shard = %name, "removing a shard that is no longer in the plan");
            std::fs::remove_file(entry.path()).map_err(LandmarkError::io("remove", entry.path()))?;
        }
    }
    Ok(())
}
