//! The stage engine: one driver for every stage that derives Parquet shards from an input (the
//! ingest, the landmark stage, the noise draws). A [`Stage`] says what its input and
//! configuration are, how it plans its shards, how it writes one and what its manifest holds;
//! [`run`] does the rest, the same way for all:
//!
//! - **plan by content**: the configuration hash is the SHA-256 of the stage's resolved
//!   configuration; unchanged input and configuration with intact shards: nothing is done;
//! - **per-shard reuse**: each shard carries its plan key (configuration hash and the shard's
//!   input identity) and statistics in its Parquet metadata, so after a kill the finished shards
//!   are kept without reading their rows, and only the rest are written;
//! - **journal**: `.<stage>-journal.json` records the input and configuration the folder's shards
//!   were written from; when it differs, the shards are all removed before any is trusted;
//! - **atomic commit**: shards are written in parallel to temporaries, synced and renamed by one
//!   committer thread (no compute thread waits for the disk); the manifest comes last;
//! - **cleanup**: shards no longer in the plan and temporaries of killed writers are removed;
//! - **manifests**: a malformed manifest is an error naming the file and `--force`
//!   ([`ShardError::MalformedManifest`]); [`Options::force`] rebuilds everything.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use rayon::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::hash::{Fingerprint, sha256_file};
use crate::manifest::{self, ShardEntry, StageManifest};
use crate::progress::Progress;
use crate::{ShardError, atomic, table_io};

/// Shard metadata key of the plan key.
pub const META_SHARD_KEY: &str = "grefel.shard_key";
/// Shard metadata key of the shard's statistics (JSON).
pub const META_SHARD_STATS: &str = "grefel.shard_stats";

/// How a run treats what is already on disk.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Ignore the manifest (even a malformed one) and the finished shards: rebuild everything.
    pub force: bool,
}

/// Where a stage writes.
#[derive(Clone, Debug)]
pub struct Layout {
    /// The output folder.
    pub dir: PathBuf,
    /// The manifest's file name inside `dir`.
    pub manifest: String,
    /// The sub-folders of `dir` that hold the shards (`""`: `dir` itself) when the stage owns the
    /// folder: a journal then guards resumption, and unplanned `.parquet` files and temporaries
    /// there are removed. `None` when other outputs share the folder (noise draws): no journal,
    /// nothing removed.
    pub shard_dirs: Option<Vec<String>>,
}

/// One planned shard.
#[derive(Clone, Debug)]
pub struct Planned<U> {
    /// Path relative to the output folder.
    pub rel: String,
    /// What identifies the shard's input (sample ids, an input shard's path and hash), hashed
    /// after the configuration hash into the shard's plan key.
    pub identity: Vec<String>,
    /// Progress units (rows) the shard stands for.
    pub rows: u64,
    /// The stage's own description of the shard's input.
    pub unit: U,
}

/// A shard written to its temporary path, not yet committed.
#[derive(Debug)]
pub struct Written<S> {
    /// The shard's statistics (also in its metadata, see [`shard_metadata`]).
    pub stats: S,
    /// SHA-256 of the file.
    pub sha256: String,
    /// The file, waiting to be synced and renamed into place.
    pub pending: atomic::Pending,
}

/// A planned shard once done (written or reused).
#[derive(Debug)]
pub struct Done<U, S> {
    /// The plan.
    pub shard: Planned<U>,
    /// The shard's manifest entry.
    pub entry: ShardEntry,
    /// The shard's statistics.
    pub stats: S,
    /// Whether the shard was finished before and kept.
    pub reused: bool,
}

/// What [`Stage::plan`] returns: what planning found, and the shards.
pub type Planning<P, U> = (P, Vec<Planned<U>>);

/// A stage that derives shards from an input: see the module documentation.
pub trait Stage: Sync {
    /// The stage's name, in logs, progress and the journal's file name (`prepare`, `landmarks`).
    const NAME: &'static str;
    /// What planning found, beyond the shards (the ingest's scan; a noise draw).
    type Plan: Sync;
    /// The stage's description of one shard's input.
    type Unit: Send + Sync;
    /// Statistics of one shard, stored in its metadata.
    type Stats: Serialize + DeserializeOwned + Send;
    /// The manifest.
    type Manifest: StageManifest;
    /// The stage's error.
    type Error: From<ShardError> + Send;

    /// Where the stage writes.
    fn layout(&self) -> &Layout;
    /// What identifies the input (a fingerprint or content hash); recorded in the journal.
    fn input(&self) -> &str;
    /// The resolved configuration that determines the output (paths excluded).
    fn config(&self) -> serde_json::Value;
    /// Whether a manifest written from this input and configuration is current for reasons of
    /// the stage's own (landmarks: the models it used are still the ones present; default: yes).
    fn is_current(&self, _manifest: &Self::Manifest) -> Result<bool, Self::Error> {
        Ok(true)
    }
    /// Plans the shards.
    fn plan(&self) -> Result<Planning<Self::Plan, Self::Unit>, Self::Error>;
    /// Whether a finished shard whose plan key matches may be kept (default: yes).
    fn reusable(&self, _stats: &Self::Stats) -> Result<bool, Self::Error> {
        Ok(true)
    }
    /// Writes one shard at `path` (through [`atomic`], uncommitted), with [`shard_metadata`] of
    /// `key` and its statistics.
    fn write(
        &self,
        plan: &Self::Plan,
        shard: &Planned<Self::Unit>,
        path: &Path,
        key: &str,
    ) -> Result<Written<Self::Stats>, Self::Error>;
    /// Rows a shard holds, from its statistics.
    fn rows(stats: &Self::Stats) -> u64;
    /// The manifest of a finished run; `done` is sorted by path.
    fn manifest(
        &self,
        plan: &Self::Plan,
        config_hash: String,
        done: Vec<Done<Self::Unit, Self::Stats>>,
    ) -> Result<Self::Manifest, Self::Error>;
}

/// What a run did.
#[derive(Debug)]
pub struct Outcome<P, M> {
    /// The manifest (read back when up to date, else written).
    pub manifest: M,
    /// True when input, configuration and shards were unchanged and nothing was done.
    pub up_to_date: bool,
    /// Shards written by this run.
    pub written: usize,
    /// Finished shards kept (all of them when up to date).
    pub reused: usize,
    /// What planning found; `None` when up to date (nothing was planned).
    pub plan: Option<P>,
}

/// The metadata a shard is written with: its plan key and statistics.
pub fn shard_metadata<S: Serialize>(
    path: &Path,
    key: &str,
    stats: &S,
) -> Result<BTreeMap<String, String>, ShardError> {
    let stats = serde_json::to_string(stats).map_err(|source| ShardError::Encode {
        what: "shard statistics",
        path: path.into(),
        source,
    })?;
    Ok([(META_SHARD_KEY.to_string(), key.to_string()), (META_SHARD_STATS.to_string(), stats)].into())
}

/// Runs `stage`: see the module documentation.
pub fn run<S: Stage>(
    stage: &S,
    options: Options,
    progress: &dyn Progress,
) -> Result<Outcome<S::Plan, S::Manifest>, S::Error> {
    let layout = stage.layout();
    let manifest_path = layout.dir.join(&layout.manifest);
    let config_hash = Fingerprint::new().part(stage.config().to_string()).finish();
    if options.force {
        tracing::info!(stage = S::NAME, dir = %layout.dir.display(), "forced: rebuilding");
    } else if let Some(m) = manifest::read_file::<S::Manifest>(&manifest_path)?
        && let recorded = m.recorded()
        && recorded.input == stage.input()
        && recorded.config_hash.is_none_or(|h| h == config_hash)
        && manifest::verify(&m, &layout.dir)?
        && stage.is_current(&m)?
    {
        tracing::info!(stage = S::NAME, dir = %layout.dir.display(), "input, configuration and shards unchanged");
        let reused = m.recorded().shards.len();
        return Ok(Outcome { manifest: m, up_to_date: true, written: 0, reused, plan: None });
    }

    let (plan, shards) = stage.plan()?;
    if layout.shard_dirs.is_some() {
        start_journal::<S>(layout, stage.input(), &config_hash)?;
    }
    tracing::debug!(stage = S::NAME, shards = shards.len(), "planned");
    progress.begin(S::NAME, shards.iter().map(|s| s.rows).sum());
    let mut done = write_all(stage, &plan, shards, &config_hash, options, progress)?;
    progress.end();
    done.sort_by(|a, b| a.entry.path.cmp(&b.entry.path));
    let planned: HashSet<&str> = done.iter().map(|d| d.entry.path.as_str()).collect();
    remove_unplanned(layout, &planned)?;
    let (written, reused) =
        done.iter().fold((0, 0), |(w, r), d| if d.reused { (w, r + 1) } else { (w + 1, r) });
    let manifest = stage.manifest(&plan, config_hash, done)?;
    manifest::write_file(&manifest_path, &manifest)?;
    Ok(Outcome { manifest, up_to_date: false, written, reused, plan: Some(plan) })
}

/// A shard of stage `S` once done.
type DoneOf<S> = Done<<S as Stage>::Unit, <S as Stage>::Stats>;

/// Writes (or reuses) every planned shard. Shards run in parallel (each one's rows too, through
/// rayon's work stealing), so one shard's encoding overlaps the next one's computing; a written
/// shard is synced and renamed into place by one committer thread, and every shard is in place
/// when this returns.
fn write_all<S: Stage>(
    stage: &S,
    plan: &S::Plan,
    shards: Vec<Planned<S::Unit>>,
    config_hash: &str,
    options: Options,
    progress: &dyn Progress,
) -> Result<Vec<DoneOf<S>>, S::Error> {
    let dir = &stage.layout().dir;
    let (done, committed) = std::thread::scope(|scope| {
        let (to_commit, pending) = mpsc::channel::<atomic::Pending>();
        let committer = scope.spawn(move || {
            let mut first_error = None;
            for shard in pending {
                if let Err(e) = shard.commit() {
                    first_error.get_or_insert(e);
                }
            }
            first_error.map_or(Ok(()), Err)
        });
        let done: Result<Vec<DoneOf<S>>, S::Error> = shards
            .into_par_iter()
            .map(|shard| {
                let path = dir.join(&shard.rel);
                let mut key = Fingerprint::new();
                key.part(config_hash);
                for part in &shard.identity {
                    key.part(part);
                }
                let key = key.finish();
                let finished = if options.force { None } else { finished(stage, &path, &key)? };
                let (stats, sha256, reused) = match finished {
                    Some((stats, sha256)) => (stats, sha256, true),
                    None => {
                        let written = stage.write(plan, &shard, &path, &key)?;
                        // Only a panicked committer drops the receiver: commit here then.
                        if let Err(mpsc::SendError(pending)) = to_commit.send(written.pending) {
                            pending.commit()?;
                        }
                        (written.stats, written.sha256, false)
                    }
                };
                progress.advance(shard.rows);
                let entry = ShardEntry { path: shard.rel.clone(), rows: S::rows(&stats), sha256 };
                Ok(Done { shard, entry, stats, reused })
            })
            .collect();
        drop(to_commit);
        let committed = committer.join().unwrap_or_else(|_| {
            Err(ShardError::Io {
                op: "commit shards",
                path: dir.clone(),
                source: std::io::Error::other("the committing thread panicked"),
            })
        });
        (done, committed)
    });
    let done = done?;
    committed?;
    Ok(done)
}

/// A finished shard's statistics and SHA-256.
type Kept<S> = (<S as Stage>::Stats, String);

/// A finished shard with the expected plan key that the stage may keep: its statistics and hash.
/// Anything else (absent, another key, an unreadable footer) means the shard is (re)written.
fn finished<S: Stage>(stage: &S, path: &Path, key: &str) -> Result<Option<Kept<S>>, S::Error> {
    if !path.is_file() {
        return Ok(None);
    }
    let Ok(meta) = table_io::read_metadata(path) else { return Ok(None) };
    if meta.get(META_SHARD_KEY).map(String::as_str) != Some(key) {
        return Ok(None);
    }
    let Some(stats) = meta.get(META_SHARD_STATS).and_then(|s| serde_json::from_str(s).ok()) else {
        return Ok(None);
    };
    if !stage.reusable(&stats)? {
        return Ok(None);
    }
    Ok(Some((stats, sha256_file(path)?)))
}

/// The input and configuration that the shards in a stage's folder were written from.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Journal {
    fingerprint: String,
    config_hash: String,
}

/// Makes finished shards trustworthy for resumption: when the folder's shards were written from
/// another input or configuration (or nobody knows), they are all removed before the journal
/// names the current ones. Shards present while the journal matches were written from exactly
/// this input.
fn start_journal<S: Stage>(layout: &Layout, input: &str, config_hash: &str) -> Result<(), ShardError> {
    let path = layout.dir.join(format!(".{}-journal.json", S::NAME));
    let want = Journal { fingerprint: input.into(), config_hash: config_hash.into() };
    let have: Option<Journal> = std::fs::read(&path).ok().and_then(|b| serde_json::from_slice(&b).ok());
    if have.as_ref() == Some(&want) {
        return Ok(());
    }
    remove_unplanned(layout, &HashSet::new())?;
    let bytes = serde_json::to_vec_pretty(&want).map_err(|source| ShardError::Encode {
        what: "journal",
        path: path.clone(),
        source,
    })?;
    atomic::write_bytes(&path, &bytes)
}

/// Removes, in a folder the stage owns, the `.parquet` files that are not `planned` (left by an
/// earlier, larger run) and the temporaries of killed writers.
fn remove_unplanned(layout: &Layout, planned: &HashSet<&str>) -> Result<(), ShardError> {
    let Some(shard_dirs) = &layout.shard_dirs else { return Ok(()) };
    atomic::remove_stale_temporaries(&layout.dir)?;
    for sub in shard_dirs {
        let folder = layout.dir.join(sub);
        atomic::remove_stale_temporaries(&folder)?;
        let Ok(listing) = std::fs::read_dir(&folder) else { continue };
        for entry in listing.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = if sub.is_empty() { name.clone() } else { format!("{sub}/{name}") };
            if name.ends_with(".parquet") && !planned.contains(rel.as_str()) {
                tracing::info!(shard = %rel, "removing a shard that is no longer in the plan");
                std::fs::remove_file(entry.path()).map_err(ShardError::io("remove", entry.path()))?;
            }
        }
    }
    Ok(())
}
