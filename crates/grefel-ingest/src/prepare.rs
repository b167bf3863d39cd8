//! The ingest: scan, plan shards, load and normalise in parallel, write `samples` shards and the
//! manifest. It is a [`Stage`] of the stage engine ([`grefel_shards::stage`]), which makes it
//! resumable and idempotent: unchanged input and configuration with intact shards do nothing;
//! each shard's plan key is the configuration and its sample ids, and the journal records the
//! source fingerprint (sample ids say nothing about image bytes), so after a kill the finished
//! shards are kept and only the rest are written.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use grefel_schema::table::{Attributes, SAMPLES_SCHEMA_VERSION, SAMPLES_TABLE, SampleRecord, Split};
use grefel_shards::manifest::{MANIFEST_FILE, Manifest, RowCounts, SourceInfo, content_hash};
use grefel_shards::progress::Progress;
use grefel_shards::samples;
use grefel_shards::stage::{self, Done, Layout, Options, Planned, Planning, Stage, Written};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::IngestError;
use crate::adapter::{Adapter, Candidate, ImageSource, ScanContext, adapter_by_name};
use crate::normalize::{ImageConfig, normalize, normalize_encoded};
use crate::skip::{SkipReason, Skips};
use crate::source::DatasetRoot;
use crate::split::SplitConfig;

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
        let dataset = grefel_schema::DatasetName::new(dataset)
            .map_err(|e| IngestError::InvalidConfig { field: "dataset", reason: e.to_string() })?
            .to_string();
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
    prepare_with(cfg, Options::default(), progress)
}

/// [`prepare`] with engine options (`force`: rebuild even over a malformed manifest).
pub fn prepare_with(
    cfg: &PrepareConfig,
    options: Options,
    progress: &dyn Progress,
) -> Result<PrepareSummary, IngestError> {
    let start = Instant::now();
    let root = DatasetRoot::open(&cfg.dataset, &cfg.root, cfg.adapter.expected_root())?;
    let fingerprint = root.fingerprint();
    // A detected layout variant is part of the configuration: detect before hashing, so that a run
    // with `variant` unset and one naming the detected variant hash (and record) the same.
    cfg.adapter.resolve(&root)?;
    let layout = Layout {
        dir: cfg.dataset_dir(),
        manifest: MANIFEST_FILE.into(),
        shard_dirs: Some(Split::ALL.iter().map(|s| s.as_str().to_string()).collect()),
    };
    let ingest = Ingest { cfg, root, fingerprint, layout };
    let outcome = stage::run(&ingest, options, progress)?;
    let m = outcome.manifest;
    Ok(PrepareSummary {
        dataset: cfg.dataset.clone(),
        dir: ingest.layout.dir,
        up_to_date: outcome.up_to_date,
        files_read: ingest.root.files.len() as u64,
        rows: m.rows.total,
        rows_by_split: m.rows.by_split,
        shards_written: outcome.written,
        shards_reused: outcome.reused,
        skips: Skips::from_map(&m.skipped).unwrap_or_default(),
        ignored_files: m.ignored_files,
        content_hash: m.content_hash,
        elapsed: start.elapsed(),
    })
}

/// The ingest as a [`Stage`]: the input is the dataset root's fingerprint, a shard is a run of
/// candidates of one split in (split, id) order.
struct Ingest<'a> {
    cfg: &'a PrepareConfig,
    root: DatasetRoot,
    fingerprint: String,
    layout: Layout,
}

/// What the scan found.
struct Scanned {
    /// Deduplicated, sorted by (split, id).
    candidates: Vec<Candidate>,
    skips: Skips,
    ignored_files: u64,
}

/// One shard's candidates: `candidates[range]`, all of `split`.
struct Chunk {
    split: Split,
    range: Range<usize>,
}

impl Stage for Ingest<'_> {
    const NAME: &'static str = "prepare";
    type Plan = Scanned;
    type Unit = Chunk;
    type Stats = ShardStats;
    type Manifest = Manifest;
    type Error = IngestError;

    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn input(&self) -> &str {
        &self.fingerprint
    }

    fn config(&self) -> serde_json::Value {
        self.cfg.resolved()
    }

    fn plan(&self) -> Result<Planning<Scanned, Chunk>, IngestError> {
        let cfg = self.cfg;
        tracing::info!(dataset = %cfg.dataset, adapter = cfg.adapter.name(), files = self.root.files.len(), "scanning");
        let scan = cfg.adapter.scan(&self.root, &ScanContext { dataset: &cfg.dataset, split: &cfg.split })?;
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
        let plan = plan_shards(&candidates, cfg.rows_per_shard);
        Ok((Scanned { candidates, skips, ignored_files: scan.ignored_files }, plan))
    }

    fn write(
        &self,
        plan: &Scanned,
        shard: &Planned<Chunk>,
        path: &Path,
        key: &str,
    ) -> Result<Written<ShardStats>, IngestError> {
        let items = &plan.candidates[shard.unit.range.clone()];
        let loaded: Vec<Result<SampleRecord, SkipReason>> =
            items.par_iter().map(|c| load(c, &self.root, self.cfg)).collect();
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
        let meta = stage::shard_metadata(path, key, &stats)?;
        let (sha256, pending) = samples::write_shard_pending(path, &records, &meta)?;
        Ok(Written { stats, sha256, pending })
    }

    fn rows(stats: &ShardStats) -> u64 {
        stats.rows
    }

    fn manifest(
        &self,
        plan: &Scanned,
        config_hash: String,
        done: Vec<Done<Chunk, ShardStats>>,
    ) -> Result<Manifest, IngestError> {
        let cfg = self.cfg;
        let mut skips = plan.skips.clone();
        let mut rows = RowCounts::default();
        let mut entries = Vec::with_capacity(done.len());
        for Done { shard, entry, stats, .. } in done {
            skips.merge(&Skips::from_map(&stats.skipped).map_err(|detail| {
                IngestError::Shard(grefel_shards::ShardError::Invalid {
                    path: self.layout.dir.join(&entry.path),
                    table: SAMPLES_TABLE,
                    detail,
                })
            })?);
            let split = shard.unit.split.as_str().to_string();
            rows.total += stats.rows;
            *rows.by_split.entry(split.clone()).or_default() += stats.rows;
            let per_label = rows.by_split_label.entry(split).or_default();
            for (l, n) in &stats.labels {
                *per_label.entry(l.clone()).or_default() += n;
            }
            entries.push(entry);
        }
        Ok(Manifest {
            table: SAMPLES_TABLE.into(),
            schema_version: SAMPLES_SCHEMA_VERSION,
            dataset: cfg.dataset.clone(),
            adapter: cfg.adapter.name().into(),
            adapter_version: cfg.adapter.version(),
            config: cfg.resolved(),
            config_hash,
            source: SourceInfo {
                root: cfg.root.display().to_string(),
                files: self.root.files.len() as u64,
                fingerprint: self.fingerprint.clone(),
            },
            rows,
            skipped: skips.to_map(),
            ignored_files: plan.ignored_files,
            content_hash: content_hash(&entries),
            shards: entries,
        })
    }
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

fn plan_shards(candidates: &[Candidate], rows_per_shard: usize) -> Vec<Planned<Chunk>> {
    // Candidates are sorted by (split, id), so each split is one contiguous run.
    let mut plan = Vec::new();
    let mut start = 0;
    while start < candidates.len() {
        let split = candidates[start].split;
        let end =
            candidates[start..].iter().position(|c| c.split != split).map_or(candidates.len(), |p| start + p);
        for (i, first) in (start..end).step_by(rows_per_shard).enumerate() {
            let range = first..(first + rows_per_shard).min(end);
            // Content-derived only (no file times), so equal input gives byte-identical shards.
            let ids = candidates[range.clone()].iter().map(|c| c.sample_id.as_str()).collect::<Vec<_>>();
            plan.push(Planned {
                rel: format!("{}/part-{i:05}.parquet", split.as_str()),
                identity: vec![ids.join("\n")],
                rows: range.len() as u64,
                unit: Chunk { split, range },
            });
        }
        start = end;
    }
    plan
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
