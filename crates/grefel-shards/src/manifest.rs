//! Manifests: what a stage read, wrote and skipped.
//!
//! - [`StageManifest`]: what every stage's manifest shares (the shards it lists and the content
//!   hash over them), with [`read_file`], [`write_file`] and [`verify`] written once for all;
//! - [`Manifest`]: the per-dataset `manifest.json` of the ingest (`samples` shards).
//!
//! Manifests hold no timestamps or durations, so the same input gives the same bytes.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::hash::Fingerprint;
use crate::{ShardError, atomic};

/// File name of the manifest inside `<out>/<dataset>/`.
pub const MANIFEST_FILE: &str = "manifest.json";

/// One shard of the dataset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardEntry {
    /// Path relative to the dataset's output folder (`train/part-00000.parquet`).
    pub path: String,
    /// Rows in the shard.
    pub rows: u64,
    /// SHA-256 of the shard file.
    pub sha256: String,
}

/// Where the data came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// The dataset root as given.
    pub root: String,
    /// Files seen under the root.
    pub files: u64,
    /// SHA-256 over every file's relative path, size and modification time.
    pub fingerprint: String,
}

/// Row counts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowCounts {
    /// Rows in all shards.
    pub total: u64,
    /// Rows per split.
    pub by_split: BTreeMap<String, u64>,
    /// Rows per split and canonical label name.
    pub by_split_label: BTreeMap<String, BTreeMap<String, u64>>,
}

/// `manifest.json` of one prepared dataset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Table stored in the shards (`samples`).
    pub table: String,
    /// Version of that table's schema.
    pub schema_version: u32,
    /// Dataset name (the `dataset` column).
    pub dataset: String,
    /// Adapter that read the source (`fergdb`, …) and its version.
    pub adapter: String,
    /// Version of the adapter's logic; a change rebuilds.
    pub adapter_version: u32,
    /// The resolved ingest configuration.
    pub config: serde_json::Value,
    /// SHA-256 of the resolved configuration together with the adapter name and version.
    pub config_hash: String,
    /// The source.
    pub source: SourceInfo,
    /// Rows written.
    pub rows: RowCounts,
    /// Candidates not written, by reason.
    pub skipped: BTreeMap<String, u64>,
    /// Files under the root that are not samples (`.DS_Store`, label files, read-me files).
    pub ignored_files: u64,
    /// The shards, sorted by path.
    pub shards: Vec<ShardEntry>,
    /// SHA-256 over the shards' paths and hashes: equal hashes mean identical shards.
    pub content_hash: String,
}

/// The content hash of a set of shards (order-independent).
pub fn content_hash(shards: &[ShardEntry]) -> String {
    let mut sorted: Vec<&ShardEntry> = shards.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut fp = Fingerprint::new();
    for s in sorted {
        fp.part(&s.path).part(&s.sha256);
    }
    fp.finish()
}

/// What the stage engine reads from any stage's manifest (see [`StageManifest`]).
#[derive(Clone, Debug)]
pub struct Recorded<'a> {
    /// What identifies the input the shards were written from (a fingerprint or content hash).
    pub input: &'a str,
    /// The configuration hash, where the manifest records one (a noise draw's file name names
    /// its configuration instead).
    pub config_hash: Option<&'a str>,
    /// The shards, with paths relative to the manifest's folder.
    pub shards: Cow<'a, [ShardEntry]>,
    /// The content hash over the shards ([`content_hash`]), where the manifest records one.
    pub content_hash: Option<&'a str>,
}

impl<'a> Recorded<'a> {
    /// Gathers the parts.
    pub fn new(
        input: &'a str,
        config_hash: Option<&'a str>,
        shards: impl Into<Cow<'a, [ShardEntry]>>,
        content_hash: Option<&'a str>,
    ) -> Self {
        Recorded { input, config_hash, shards: shards.into(), content_hash }
    }
}

/// What every stage's manifest shares: the input and configuration it was written from, the
/// shards it lists and the content hash over them. The stage-specific fields are the
/// implementing type's own (its JSON layout is its own).
pub trait StageManifest: Serialize + DeserializeOwned {
    /// The shared part.
    fn recorded(&self) -> Recorded<'_>;
}

/// Reads a manifest; `Ok(None)` when there is none, [`ShardError::MalformedManifest`] (naming
/// the file and `--force`) when it is not valid JSON of `M`'s shape.
pub fn read_file<M: DeserializeOwned>(path: &Path) -> Result<Option<M>, ShardError> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(ShardError::Io { op: "read", path: path.into(), source }),
    };
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|source| ShardError::MalformedManifest { path: path.into(), source })
}

/// Writes a manifest atomically (pretty JSON, trailing newline).
pub fn write_file<M: Serialize>(path: &Path, manifest: &M) -> Result<(), ShardError> {
    let mut text = serde_json::to_vec_pretty(manifest).map_err(|source| ShardError::Encode {
        what: "manifest",
        path: path.into(),
        source,
    })?;
    text.push(b'\n');
    atomic::write_bytes(path, &text)
}

/// Whether every shard `manifest` lists exists under `dir` with its recorded hash, and the
/// recorded content hash (if any) is the one over those shards.
pub fn verify<M: StageManifest>(manifest: &M, dir: &Path) -> Result<bool, ShardError> {
    let Recorded { shards, content_hash: recorded, .. } = manifest.recorded();
    for s in shards.iter() {
        let path = dir.join(&s.path);
        if !path.is_file() || crate::hash::sha256_file(&path)? != s.sha256 {
            return Ok(false);
        }
    }
    Ok(recorded.is_none_or(|h| content_hash(&shards) == h))
}

impl StageManifest for Manifest {
    fn recorded(&self) -> Recorded<'_> {
        Recorded::new(
            &self.source.fingerprint,
            Some(&self.config_hash),
            &self.shards,
            Some(&self.content_hash),
        )
    }
}

impl Manifest {
    /// Reads `<dir>/manifest.json` ([`read_file`]).
    pub fn read(dir: &Path) -> Result<Option<Manifest>, ShardError> {
        read_file(&dir.join(MANIFEST_FILE))
    }

    /// Writes `<dir>/manifest.json` ([`write_file`]).
    pub fn write(&self, dir: &Path) -> Result<(), ShardError> {
        write_file(&dir.join(MANIFEST_FILE), self)
    }

    /// Checks that every listed shard exists under `dir` with its recorded hash ([`verify`]).
    pub fn verify_shards(&self, dir: &Path) -> Result<bool, ShardError> {
        verify(self, dir)
    }

    /// Total skipped candidates.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_read_verify() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("train")).expect("mkdir");
        std::fs::write(dir.path().join("train/a.parquet"), b"a").expect("write");
        let shards = vec![ShardEntry {
            path: "train/a.parquet".into(),
            rows: 1,
            sha256: crate::hash::sha256_hex(b"a"),
        }];
        let m = Manifest {
            table: "samples".into(),
            schema_version: 1,
            dataset: "t".into(),
            adapter: "fergdb".into(),
            adapter_version: 1,
            config: serde_json::json!({"k": 1}),
            config_hash: "c".into(),
            source: SourceInfo { root: "/r".into(), files: 2, fingerprint: "f".into() },
            rows: RowCounts::default(),
            skipped: [("zero_byte".to_string(), 2)].into(),
            ignored_files: 1,
            content_hash: content_hash(&shards),
            shards,
        };
        assert_eq!(Manifest::read(dir.path()).expect("read"), None);
        m.write(dir.path()).expect("write");
        let back = Manifest::read(dir.path()).expect("read").expect("present");
        assert_eq!(back, m);
        assert_eq!(back.skipped_total(), 2);
        assert!(back.verify_shards(dir.path()).expect("verify"));
        std::fs::write(dir.path().join("train/a.parquet"), b"b").expect("corrupt");
        assert!(!back.verify_shards(dir.path()).expect("verify"));
        std::fs::write(dir.path().join(MANIFEST_FILE), b"{").expect("corrupt");
        let err = Manifest::read(dir.path()).expect_err("malformed");
        assert!(matches!(err, ShardError::MalformedManifest { .. }), "{err}");
        let text = err.to_string();
        assert!(text.contains(MANIFEST_FILE) && text.contains("--force"), "{text}");
    }
}
