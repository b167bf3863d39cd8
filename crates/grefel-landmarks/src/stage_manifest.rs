//! The landmark stage's `landmarks/manifest.json`, per-shard statistics and run summary.
//!
//! Like the `samples` manifest it holds no timestamps or durations: the same input,
//! configuration and models give the same bytes.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use grefel_schema::landmarks_table::LandmarkRecord;
use grefel_shards::ShardError;
use grefel_shards::manifest::{self, MANIFEST_FILE, Recorded, ShardEntry, StageManifest};
use serde::{Deserialize, Serialize};

/// Counts of rows by split, point source, box source and quality flag.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LandmarkCounts {
    /// Rows in all shards.
    pub total: u64,
    /// Rows per split.
    pub by_split: BTreeMap<String, u64>,
    /// Rows per point source (`ground_truth`, `dataset`, `dlib68`).
    pub by_source: BTreeMap<String, u64>,
    /// Rows per box source (`dataset`, `rustface`, `inset`, `points`).
    pub by_box_source: BTreeMap<String, u64>,
    /// Rows per quality flag.
    pub by_quality: BTreeMap<String, u64>,
}

impl LandmarkCounts {
    /// Counts one row.
    pub fn add(&mut self, r: &LandmarkRecord) {
        self.total += 1;
        *self.by_split.entry(r.split.as_str().into()).or_default() += 1;
        *self.by_source.entry(r.source.as_str().into()).or_default() += 1;
        *self.by_box_source.entry(r.box_source.as_str().into()).or_default() += 1;
        *self.by_quality.entry(r.quality.as_str().into()).or_default() += 1;
    }

    /// Adds another set of counts.
    pub fn merge(&mut self, other: &LandmarkCounts) {
        self.total += other.total;
        for (mine, theirs) in [
            (&mut self.by_split, &other.by_split),
            (&mut self.by_source, &other.by_source),
            (&mut self.by_box_source, &other.by_box_source),
            (&mut self.by_quality, &other.by_quality),
        ] {
            for (k, n) in theirs {
                *mine.entry(k.clone()).or_default() += n;
            }
        }
    }
}

/// Statistics of one shard, stored in its Parquet metadata so a resumed run can trust a
/// finished shard without reading its rows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardStats {
    /// Row counts.
    pub rows: LandmarkCounts,
    /// Input rows not written, by reason.
    pub skipped: BTreeMap<String, u64>,
    /// SHA-256 of each model file the shard's rows were computed with (`dlib68`, `rustface`).
    pub models: BTreeMap<String, String>,
}

/// What the stage read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputInfo {
    /// The `samples` dataset folder.
    pub dir: String,
    /// The `samples` manifest's content hash.
    pub content_hash: String,
    /// Rows in the input shards.
    pub rows: u64,
    /// Input shards.
    pub shards: u64,
}

/// `<data>/<dataset>/landmarks/manifest.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LandmarkManifest {
    /// Table stored in the shards (`landmarks`).
    pub table: String,
    /// Version of that table's schema.
    pub schema_version: u32,
    /// Dataset name.
    pub dataset: String,
    /// Version of the stage's logic; a change rebuilds.
    pub stage_version: u32,
    /// The resolved configuration.
    pub config: serde_json::Value,
    /// SHA-256 of the resolved configuration.
    pub config_hash: String,
    /// The input.
    pub input: InputInfo,
    /// SHA-256 of each model file used (`dlib68`, `rustface`); empty when no row needed one.
    pub models: BTreeMap<String, String>,
    /// Rows written.
    pub rows: LandmarkCounts,
    /// Input rows not written, by reason.
    pub skipped: BTreeMap<String, u64>,
    /// The shards, sorted by path (relative to the `landmarks` folder).
    pub shards: Vec<ShardEntry>,
    /// SHA-256 over the shards' paths and hashes.
    pub content_hash: String,
}

impl StageManifest for LandmarkManifest {
    fn recorded(&self) -> Recorded<'_> {
        Recorded::new(
            &self.input.content_hash,
            Some(&self.config_hash),
            &self.shards,
            Some(&self.content_hash),
        )
    }
}

impl LandmarkManifest {
    /// Reads `<dir>/manifest.json`; `Ok(None)` when there is none, an error naming the file and
    /// `--force` when it is not a landmark manifest of this shape
    /// ([`grefel_shards::manifest::read_file`]).
    pub fn read(dir: &Path) -> Result<Option<LandmarkManifest>, ShardError> {
        manifest::read_file(&dir.join(MANIFEST_FILE))
    }

    /// Writes `<dir>/manifest.json` atomically (pretty JSON, trailing newline).
    pub fn write(&self, dir: &Path) -> Result<(), ShardError> {
        manifest::write_file(&dir.join(MANIFEST_FILE), self)
    }

    /// Whether every listed shard exists under `dir` with its recorded hash.
    pub fn verify_shards(&self, dir: &Path) -> Result<bool, ShardError> {
        manifest::verify(self, dir)
    }
}

/// What a landmark run did.
#[derive(Clone, Debug)]
pub struct StageSummary {
    /// Dataset name.
    pub dataset: String,
    /// The folder written (`<data>/<dataset>/landmarks`).
    pub dir: PathBuf,
    /// True when input, configuration, models and shards were unchanged and nothing was done.
    pub up_to_date: bool,
    /// Input rows.
    pub rows_read: u64,
    /// Input shards.
    pub shards_read: u64,
    /// Rows in the output.
    pub rows: LandmarkCounts,
    /// Shards written by this run.
    pub shards_written: usize,
    /// Finished shards kept from an earlier, interrupted run.
    pub shards_reused: usize,
    /// Input rows not written, by reason.
    pub skipped: BTreeMap<String, u64>,
    /// Content hash of the output shards.
    pub content_hash: String,
    /// Wall time.
    pub elapsed: Duration,
}

fn counts(map: &BTreeMap<String, u64>) -> String {
    map.iter().map(|(k, n)| format!("{k}={n}")).collect::<Vec<_>>().join(" ")
}

impl fmt::Display for StageSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hash = self.content_hash.get(..12).unwrap_or(&self.content_hash);
        let secs = self.elapsed.as_secs_f64();
        if self.up_to_date {
            return write!(
                f,
                "landmarks {}: up to date, nothing to do ({} rows [{}], content {hash}, {secs:.1}s)",
                self.dataset,
                self.rows.total,
                counts(&self.rows.by_source),
            );
        }
        let skipped: u64 = self.skipped.values().sum();
        write!(
            f,
            "landmarks {}: read {} rows in {} shards, wrote {} rows in {} shards ({} reused) [{}], boxes [{}], quality [{}], skipped {skipped}{}, content {hash}, {secs:.1}s -> {}",
            self.dataset,
            self.rows_read,
            self.shards_read,
            self.rows.total,
            self.shards_written + self.shards_reused,
            self.shards_reused,
            counts(&self.rows.by_source),
            counts(&self.rows.by_box_source),
            counts(&self.rows.by_quality),
            if skipped > 0 { format!(" ({})", counts(&self.skipped)) } else { String::new() },
            self.dir.display(),
        )
    }
}
