//! The ingest driver: scan, plan shards, load and normalise in parallel, write shards and the
//! manifest. Resumable and idempotent:
//!
//! - unchanged input and configuration with intact shards: nothing is done;
//! - each shard carries its plan key (configuration and sample ids) in its Parquet metadata, and a
//!   journal records the source state the folder's shards were written from, so after a kill the
//!   finished shards are kept and only the rest are written;
//! - shards no longer in the plan and temporaries of killed writers are removed.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use grefel_schema::table::{Attributes, SAMPLES_SCHEMA_VERSION, SAMPLES_TABLE, SampleRecord, Split};
use grefel_shards::hash::Fingerprint;
use grefel_shards::manifest::{Manifest, RowCounts, ShardEntry, SourceInfo, content_hash};
use grefel_shards::{atomic, samples};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::IngestError;
use crate::adapter::{Adapter, Candidate, ImageSource, ScanContext, adapter_by_name};
use crate::normalize::{ImageConfig, normalize, normalize_encoded};
use crate::skip::{SkipReason, Skips};
use crate::source::DatasetRoot;
use crate::split::SplitConfig;

const META_SHARD_KEY: &str = "grefel.shard_key";
const META_SHARD_STATS: &str = "grefel.shard_stats";
/// Records which source state the shards of a folder were written from (see [`start_journal`]).
const JOURNAL_FILE: &str = ".prepare-journal.json";

/// Raw `prepare` settings, as read from a pipeline file or the command line.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrepareSettings {
    /// Output dataset name (`<out>/<dataset>/`, the `dataset` column); defaults to the adapter.
    #[serde(default)]
    pub dataset: Option<String>,
    /// Adapter name (`fergdb`, …).
    pub adapter: String,
    /// Layout variant, for datasets distributed in several forms (`None`: default or detected).
    #[serde(default)]
    pub variant: Option<String>,
    /// Dataset root.
    pub root: PathBuf,
    /// Output folder.
    pub out: PathBuf,
    /// Maximum rows per shard.
    #[serde(default = "default_rows_per_shard")]
    pub rows_per_shard: usize,
    /// Stored image format.
    #[serde(default)]
    pub image: ImageConfig,
    /// Seeded split, for datasets without an official one.
    #[serde(default)]
    pub split: SplitConfig,
}

fn default_rows_per_shard() -> usize {
    1024
}

/// Validated `prepare` configuration.
pub struct PrepareConfig {
    /// Output dataset name.
    pub dataset: String,
    /// The adapter.
    pub adapter: Box<dyn Adapter>,
    /// Dataset root.
    pub root: PathBuf,
    /// Output folder (`<out>/<dataset>/` is written).
    pub out: PathBuf,
    /// Maximum rows per shard.
    pub rows_per_shard: usize,
    /// Stored image format.
    pub image: ImageConfig,
    /// Seeded split.
    pub split: SplitConfig,
}

impl PrepareSettings {
    /// Validates the settings once.
    pub fn validate(self) -> Result<PrepareConfig, IngestError> {
        let adapter = adapter_by_name(&self.adapter, self.variant.as_deref())?;
        let dataset = self.dataset.unwrap_or_else(|| adapter.name().to_string());
        let name_ok = !dataset.is_empty()
            && dataset
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !name_ok {
            return Err(IngestError::InvalidConfig {
                field: "dataset",
                reason: format!("`{dataset}` must be lower-case letters, digits, `-` or `_`"),
            });
        }
        if self.rows_per_shard == 0 {
            return Err(IngestError::InvalidConfig {
                field: "rows_per_shard",
                reason: "must be at least 1".into(),
            });
        }
        if let Some(s) = self.image.size
            && !(8..=4096).contains(&s)
        {
            return Err(IngestError::InvalidConfig {
                field: "image.size",
                reason: format!("{s} is not in 8..=4096"),
            });
        }
        self.split.validate()?;
        Ok(PrepareConfig {
            dataset,
            adapter,
            root: self.root,
            out: self.out,
            rows_per_shard: self.rows_per_shard,
            image: self.image,
            split: self.split,
        })
    }
}

impl PrepareConfig {
    /// The folder this run writes: `<out>/<dataset>/`.
    pub fn dataset_dir(&self) -> PathBuf {
        self.out.join(&self.dataset)
    }

    /// The resolved settings that determine the shards' content (paths excluded). A detected
    /// layout variant is included once [`Adapter::resolve`] has run on the root ([`prepare`] runs
    /// it first).
    pub fn resolved(&self) -> serde_json::Value {
        serde_json::json!({
            "dataset": self.dataset,
            "adapter": self.adapter.name(),
            "adapter_version": self.adapter.version(),
            "variant": self.adapter.variant(),
            "schema_version": SAMPLES_SCHEMA_VERSION,
            "rows_per_shard": self.rows_per_shard,
            "image": self.image,
            "split": self.split,
        })
    }

    fn config_hash(&self) -> String {
        Fingerprint::new().part(self.resolved().to_string()).finish()
    }
}

/// Progress reporting hooks (the command line draws a bar; tests pass [`NoProgress`]).
pub trait Progress: Sync {
    /// Work of `total` units starts.
    fn begin(&self, total: u64);
    /// `n` more units are done.
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

/// What a `prepare` run did.
#[derive(Debug, Clone)]
pub struct PrepareSummary {
    /// Dataset name.
    pub dataset: String,
    /// The folder written.
    pub dir: PathBuf,
    /// True when input, configuration and shards were unchanged and nothing was done.
    pub up_to_date: bool,
    /// Files seen under the root.
    pub files_read: u64,
    /// Rows in the shards.
    pub rows: u64,
    /// Rows per split.
    pub rows_by_split: BTreeMap<String, u64>,
    /// Shards written by this run.
    pub shards_written: usize,
    /// Finished shards kept from an earlier, interrupted run.
    pub shards_reused: usize,
    /// Skips by reason.
    pub skips: Skips,
    /// Non-sample files under the root.
    pub ignored_files: u64,
    /// Content hash of the shards.
    pub content_hash: String,
    /// Wall time.
    pub elapsed: Duration,
}

impl fmt::Display for PrepareSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let splits = self.rows_by_split.iter().map(|(s, n)| format!("{s}={n}")).collect::<Vec<_>>().join(" ");
        if self.up_to_date {
            write!(
                f,
                "prepare {}: up to date, nothing to do ({} rows [{splits}], {} files checked, content {}, {:.1}s)",
                self.dataset,
                self.rows,
                self.files_read,
                &self.content_hash[..12],
                self.elapsed.as_secs_f64()
            )
        } else {
            write!(
                f,
                "prepare {}: read {} files, wrote {} rows [{splits}] in {} shards ({} reused), skipped {} ({}), ignored {} non-image files, content {}, {:.1}s -> {}",
                self.dataset,
                self.files_read,
                self.rows,
                self.shards_written + self.shards_reused,
                self.shards_reused,
                self.skips.total(),
                self.skips.describe(),
                self.ignored_files,
                &self.content_hash[..12],
                self.elapsed.as_secs_f64(),
                self.dir.display()
            )
        }
    }
}

/// Statistics of one shard, stored in its metadata.
#[derive(Debug, Default, Serialize, Deserialize)]
struct ShardStats {
    rows: u64,
    labels: BTreeMap<String, u64>,
    skipped: BTreeMap<String, u64>,
}

/// Runs the ingest: see the module documentation.
pub fn prepare(cfg: &PrepareConfig, progress: &dyn Progress) -> Result<PrepareSummary, IngestError> {
    let start = Instant::now();
    let root = DatasetRoot::open(&cfg.dataset, &cfg.root, cfg.adapter.expected_root())?;
    let fingerprint = root.fingerprint();
    // A detected layout variant is part of the configuration: detect before hashing, so that a run
    // with `variant` unset and one naming the detected variant hash (and record) the same.
    cfg.adapter.resolve(&root)?;
    let config_hash = cfg.config_hash();
    let dir = cfg.dataset_dir();

    if let Some(m) = Manifest::read(&dir)?
        && m.source.fingerprint == fingerprint
        && m.config_hash == config_hash
        && m.verify_shards(&dir)?
    {
        tracing::info!(dataset = %cfg.dataset, "input, configuration and shards unchanged");
        return Ok(PrepareSummary {
            dataset: cfg.dataset.clone(),
            dir,
            up_to_date: true,
            files_read: root.files.len() as u64,
            rows: m.rows.total,
            rows_by_split: m.rows.by_split.clone(),
            shards_written: 0,
            shards_reused: m.shards.len(),
            skips: Skips::from_map(&m.skipped).unwrap_or_default(),
            ignored_files: m.ignored_files,
            content_hash: m.content_hash,
            elapsed: start.elapsed(),
        });
    }

    tracing::info!(dataset = %cfg.dataset, adapter = cfg.adapter.name(), files = root.files.len(), "scanning");
    let scan = cfg.adapter.scan(&root, &ScanContext { dataset: &cfg.dataset, split: &cfg.split })?;
    let mut skips = scan.skips;
    if scan.candidates.is_empty() {
        return Err(IngestError::NoSamples {
            dataset: cfg.dataset.clone(),
            root: cfg.root.clone(),
            expected: cfg.adapter.expected_root(),
            skipped: format!("skipped {}", skips.describe()),
        });
    }
    let candidates = dedupe(scan.candidates, &mut skips);

    start_journal(&dir, &fingerprint, &config_hash)?;
    let plan = plan_shards(&candidates, cfg.rows_per_shard);
    tracing::debug!(candidates = candidates.len(), shards = plan.len(), "scanned");
    progress.begin(candidates.len() as u64);
    // Shards are written in parallel (each one's images too, through rayon's work stealing), so
    // one shard's Parquet encoding overlaps the next one's decoding; totals are summed in plan
    // order afterwards. A written shard is synced and renamed into place by one committer thread,
    // so no compute thread waits for the disk; every shard is in place before the manifest.
    let (done, committed) = std::thread::scope(|scope| {
        let (to_commit, pending) = std::sync::mpsc::channel::<atomic::Pending>();
        let committer = scope.spawn(move || {
            let mut first_error = None;
            for shard in pending {
                if let Err(e) = shard.commit() {
                    first_error.get_or_insert(e);
                }
            }
            first_error.map_or(Ok(()), Err)
        });
        let done: Result<Vec<(ShardStats, String, bool)>, IngestError> = plan
            .par_iter()
            .map(|shard| {
                let path = dir.join(&shard.rel);
                // Content-derived only (no file times), so equal input gives byte-identical shards.
                let key = Fingerprint::new()
                    .part(&config_hash)
                    .part(shard.items.iter().map(|c| c.sample_id.as_str()).collect::<Vec<_>>().join("\n"))
                    .finish();
                let result = match finished_shard(&path, &key)? {
                    Some((stats, sha256)) => (stats, sha256, true),
                    None => {
                        let (stats, sha256, written) =
                            write_planned_shard(&path, &key, shard.items, &root, cfg)?;
                        // Only a panicked committer drops the receiver: commit here then.
                        if let Err(std::sync::mpsc::SendError(written)) = to_commit.send(written) {
                            written.commit()?;
                        }
                        (stats, sha256, false)
                    }
                };
                progress.advance(shard.items.len() as u64);
                Ok(result)
            })
            .collect();
        drop(to_commit);
        let committed = committer.join().unwrap_or_else(|_| {
            Err(grefel_shards::ShardError::Io {
                op: "commit shards",
                path: dir.clone(),
                source: std::io::Error::other("the committing thread panicked"),
            })
        });
        (done, committed)
    });
    let done = done?;
    committed?;
    let mut entries = Vec::with_capacity(plan.len());
    let mut rows = RowCounts::default();
    let (mut written, mut reused) = (0, 0);
    for (shard, (stats, sha256, was_reused)) in plan.iter().zip(done) {
        let path = dir.join(&shard.rel);
        if was_reused {
            reused += 1;
        } else {
            written += 1;
        }
        skips.merge(&Skips::from_map(&stats.skipped).map_err(|detail| shard_error(&path, detail))?);
        let split = shard.split.as_str().to_string();
        rows.total += stats.rows;
        *rows.by_split.entry(split.clone()).or_default() += stats.rows;
        let per_label = rows.by_split_label.entry(split).or_default();
        for (l, n) in &stats.labels {
            *per_label.entry(l.clone()).or_default() += n;
        }
        entries.push(ShardEntry { path: shard.rel.clone(), rows: stats.rows, sha256 });
    }
    progress.end();
    remove_unplanned(&dir, &entries)?;

    entries.sort_by(|a, b| a.path.cmp(&b.path));
    let manifest = Manifest {
        table: SAMPLES_TABLE.into(),
        schema_version: SAMPLES_SCHEMA_VERSION,
        dataset: cfg.dataset.clone(),
        adapter: cfg.adapter.name().into(),
        adapter_version: cfg.adapter.version(),
        config: cfg.resolved(),
        config_hash,
        source: SourceInfo {
            root: cfg.root.display().to_string(),
            files: root.files.len() as u64,
            fingerprint,
        },
        rows,
        skipped: skips.to_map(),
        ignored_files: scan.ignored_files,
        content_hash: content_hash(&entries),
        shards: entries,
    };
    manifest.write(&dir)?;
    Ok(PrepareSummary {
        dataset: cfg.dataset.clone(),
        dir,
        up_to_date: false,
        files_read: root.files.len() as u64,
        rows: manifest.rows.total,
        rows_by_split: manifest.rows.by_split,
        shards_written: written,
        shards_reused: reused,
        skips,
        ignored_files: manifest.ignored_files,
        content_hash: manifest.content_hash,
        elapsed: start.elapsed(),
    })
}

/// The source and configuration that the shards in a dataset folder were written from.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Journal {
    fingerprint: String,
    config_hash: String,
}

/// Makes finished shards trustworthy for resumption: when the folder's shards were written from
/// another source state or configuration (or nobody knows), they are all removed before the
/// journal names the current state. Shards present while the journal matches were written from
/// exactly this input.
fn start_journal(dir: &Path, fingerprint: &str, config_hash: &str) -> Result<(), IngestError> {
    let path = dir.join(JOURNAL_FILE);
    let want = Journal { fingerprint: fingerprint.into(), config_hash: config_hash.into() };
    let have: Option<Journal> = std::fs::read(&path).ok().and_then(|b| serde_json::from_slice(&b).ok());
    if have.as_ref() == Some(&want) {
        return Ok(());
    }
    remove_unplanned(dir, &[])?;
    let bytes = serde_json::to_vec_pretty(&want).map_err(|e| shard_error(&path, e.to_string()))?;
    atomic::write_bytes(&path, &bytes)?;
    Ok(())
}

/// Drops repeated ids (each counted as a duplicate; the first in scan order is kept) and sorts
/// the rest by (split, id).
fn dedupe(mut candidates: Vec<Candidate>, skips: &mut Skips) -> Vec<Candidate> {
    // A stable sort keeps scan order among equal ids.
    candidates.sort_by(|a, b| a.sample_id.cmp(&b.sample_id));
    let before = candidates.len();
    candidates.dedup_by(|b, a| a.sample_id == b.sample_id);
    for _ in candidates.len()..before {
        skips.add(SkipReason::DuplicateId);
    }
    candidates.sort_by(|a, b| (a.split, &a.sample_id).cmp(&(b.split, &b.sample_id)));
    candidates
}

struct PlannedShard<'a> {
    split: Split,
    rel: String,
    items: &'a [Candidate],
}

fn plan_shards(candidates: &[Candidate], rows_per_shard: usize) -> Vec<PlannedShard<'_>> {
    // Candidates are sorted by (split, id), so each split is one contiguous run.
    let mut plan = Vec::new();
    let mut start = 0;
    while start < candidates.len() {
        let split = candidates[start].split;
        let end =
            candidates[start..].iter().position(|c| c.split != split).map_or(candidates.len(), |p| start + p);
        for (i, chunk) in candidates[start..end].chunks(rows_per_shard).enumerate() {
            plan.push(PlannedShard {
                split,
                rel: format!("{}/part-{i:05}.parquet", split.as_str()),
                items: chunk,
            });
        }
        start = end;
    }
    plan
}

fn shard_error(path: &Path, detail: String) -> IngestError {
    IngestError::Shard(grefel_shards::ShardError::Invalid { path: path.into(), table: SAMPLES_TABLE, detail })
}

/// A finished shard with the expected plan key: its stats and hash. Anything else (absent, a
/// different key, unreadable footer) means the shard is (re)written.
fn finished_shard(path: &Path, key: &str) -> Result<Option<(ShardStats, String)>, IngestError> {
    if !path.is_file() {
        return Ok(None);
    }
    let Ok(meta) = samples::read_metadata(path) else {
        return Ok(None);
    };
    if meta.get(META_SHARD_KEY).map(String::as_str) != Some(key) {
        return Ok(None);
    }
    let Some(stats) = meta.get(META_SHARD_STATS).and_then(|s| serde_json::from_str(s).ok()) else {
        return Ok(None);
    };
    Ok(Some((stats, grefel_shards::hash::sha256_file(path)?)))
}

fn write_planned_shard(
    path: &Path,
    key: &str,
    items: &[Candidate],
    root: &DatasetRoot,
    cfg: &PrepareConfig,
) -> Result<(ShardStats, String, atomic::Pending), IngestError> {
    let loaded: Vec<Result<SampleRecord, SkipReason>> =
        items.par_iter().map(|c| load(c, root, cfg)).collect();
    let mut stats = ShardStats::default();
    let mut skips = Skips::default();
    let mut records = Vec::with_capacity(items.len());
    for r in loaded {
        match r {
            Ok(rec) => {
                *stats.labels.entry(rec.label.name().to_string()).or_default() += 1;
                records.push(rec);
            }
            Err(reason) => skips.add(reason),
        }
    }
    stats.rows = records.len() as u64;
    stats.skipped = skips.to_map();
    let stats_json = serde_json::to_string(&stats).map_err(|e| shard_error(path, e.to_string()))?;
    let meta: BTreeMap<String, String> =
        [(META_SHARD_KEY.to_string(), key.to_string()), (META_SHARD_STATS.to_string(), stats_json)].into();
    let (sha, written) = samples::write_shard_pending(path, &records, &meta)?;
    Ok((stats, sha, written))
}

/// Loads, decodes and normalises one candidate.
fn load(c: &Candidate, root: &DatasetRoot, cfg: &PrepareConfig) -> Result<SampleRecord, SkipReason> {
    let normalized = match &c.image {
        ImageSource::File(rel) => {
            let path = root.resolve(rel)?;
            let bytes = std::fs::read(&path).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => SkipReason::MissingFile,
                _ => SkipReason::Unreadable,
            })?;
            if bytes.is_empty() {
                return Err(SkipReason::ZeroByte);
            }
            normalize_encoded(&bytes, c.crop, &cfg.image)
        }
        ImageSource::Gray { width, height, pixels } => {
            let img = image::GrayImage::from_raw(*width, *height, pixels.clone())
                .map(image::DynamicImage::ImageLuma8)
                .ok_or(SkipReason::MalformedRow)?;
            normalize(img, c.crop, &cfg.image)
        }
    };
    let n = normalized.map_err(|e| match e {
        crate::normalize::NormalizeError::BadCrop(..) => SkipReason::BadBox,
        crate::normalize::NormalizeError::Decode(_) => SkipReason::Undecodable,
    })?;
    let bbox = c.bbox.map(|[l, t, r, b]| {
        let [l, t] = n.map_point([l, t]);
        let [r, b] = n.map_point([r, b]);
        [l, t, r, b]
    });
    let landmarks = c.landmarks.as_ref().map(|pts| {
        let mut out = pts.clone();
        for p in out.iter_mut() {
            *p = n.map_point(*p);
        }
        out
    });
    let attributes = Attributes {
        landmarks5: c.attributes.landmarks5.map(|pts| pts.map(|p| n.map_point(p))),
        ..c.attributes.clone()
    };
    Ok(SampleRecord {
        sample_id: c.sample_id.clone(),
        dataset: cfg.dataset.clone(),
        split: c.split,
        label: c.label,
        image: n.png,
        width: n.width,
        height: n.height,
        source_path: c.source_path.clone(),
        subject: c.subject.clone(),
        bbox,
        landmarks,
        soft_label: c.soft_label,
        attributes,
    })
}

/// Removes shards that are not in the plan (left by an earlier, larger run) and temporaries of
/// killed writers.
fn remove_unplanned(dir: &Path, entries: &[ShardEntry]) -> Result<(), IngestError> {
    let planned: HashSet<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    atomic::remove_stale_temporaries(dir)?;
    for split in Split::ALL {
        let sub = dir.join(split.as_str());
        atomic::remove_stale_temporaries(&sub)?;
        let Ok(listing) = std::fs::read_dir(&sub) else { continue };
        for entry in listing.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = format!("{}/{name}", split.as_str());
            if name.ends_with(".parquet") && !planned.contains(rel.as_str()) {
                tracing::info!(shard = %rel, "removing a shard that is no longer in the plan");
                std::fs::remove_file(entry.path()).map_err(|source| IngestError::Io {
                    dataset: String::new(),
                    path: entry.path(),
                    source,
                })?;
            }
        }
    }
    Ok(())
}
