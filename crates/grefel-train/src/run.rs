//! Run folders: `runs/<id>/` with `id` the first 16 hex digits of the SHA-256 of the run
//! document (the resolved training configuration and the dataset's content hash).
//! `config.json` is written first, `metrics.json` last: a folder whose metrics exist is a
//! finished run, and running it again does nothing.

use std::path::{Path, PathBuf};

use grefel_shards::atomic;
use grefel_shards::hash::sha256_hex;
use serde_json::{Value, json};

use crate::{TrainConfig, TrainError};

/// The resolved configuration of the run (written first).
pub const CONFIG_FILE: &str = "config.json";
/// The evaluation results (written last; their presence means the run is finished).
pub const METRICS_FILE: &str = "metrics.json";
/// Per-sample test predictions of both outputs.
pub const PREDICTIONS_FILE: &str = "predictions.json";
/// Wall times and throughput (kept out of `metrics.json`, which is reproducible to the byte).
pub const TIMING_FILE: &str = "timing.json";

/// An opened run folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunDir {
    /// The folder.
    pub dir: PathBuf,
    /// Its id (16 hex digits).
    pub id: String,
}

/// The document that identifies a run: what is trained, on which exact data.
pub fn run_document(config: &TrainConfig, dataset_content_hash: &str) -> Value {
    json!({ "train": config.resolved(), "dataset_content_hash": dataset_content_hash })
}

/// The id of a run document.
pub fn run_id(document: &Value) -> String {
    sha256_hex(document.to_string().as_bytes())[..16].to_string()
}

/// Pretty JSON with a trailing newline.
pub fn to_json_bytes(value: &impl serde::Serialize, path: &Path) -> Result<Vec<u8>, TrainError> {
    let mut text =
        serde_json::to_vec_pretty(value).map_err(|source| TrainError::Json { path: path.into(), source })?;
    text.push(b'\n');
    Ok(text)
}

/// Writes `value` as pretty JSON to `path`, atomically.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<(), TrainError> {
    let bytes = to_json_bytes(value, path)?;
    Ok(atomic::write_bytes(path, &bytes)?)
}

/// Opens (creating if needed) the folder of `document` under `runs_dir`: writes `config.json`, or
/// checks that the one there is identical.
pub fn open(runs_dir: &Path, document: &Value) -> Result<RunDir, TrainError> {
    let id = run_id(document);
    let dir = runs_dir.join(&id);
    let path = dir.join(CONFIG_FILE);
    let text = to_json_bytes(document, &path)?;
    match std::fs::read(&path) {
        Ok(existing) if existing == text => {}
        Ok(_) => return Err(TrainError::RunConflict { dir }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => atomic::write_bytes(&path, &text)?,
        Err(e) => return Err(TrainError::Io { op: "read", path, source: e }),
    }
    Ok(RunDir { dir, id })
}

/// The metrics of a finished run, if it is finished.
pub fn finished(dir: &Path) -> Option<Value> {
    let text = std::fs::read(dir.join(METRICS_FILE)).ok()?;
    serde_json::from_slice(&text).ok()
}

/// The code version: `git describe --always --dirty` of the source tree when git can tell,
/// else the crate version.
pub fn code_version() -> String {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::process::Command::new("git")
        .arg("-C")
        .arg(here)
        .args(["describe", "--always", "--dirty", "--tags"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .map_or_else(|| format!("grefel-train {}", env!("CARGO_PKG_VERSION")), |g| format!("git {g}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TrainSettings;

    #[test]
    fn same_config_same_dir_and_conflicts_are_refused() {
        let runs = tempfile::tempdir().expect("tempdir");
        let cfg = TrainSettings::new("synthetic").validate().expect("valid");
        let doc = run_document(&cfg, "abc");
        let a = open(runs.path(), &doc).expect("open");
        assert_eq!(a.id.len(), 16);
        assert_eq!(a, open(runs.path(), &doc).expect("reopen"), "same config, same folder");
        let again = TrainSettings::new("synthetic").validate().expect("valid");
        assert_eq!(run_id(&run_document(&again, "abc")), a.id, "the id is a pure function of the config");
        let mut other = TrainSettings::new("synthetic");
        other.seed = 1;
        let other = run_document(&other.validate().expect("valid"), "abc");
        assert_ne!(run_id(&other), a.id, "the seed is part of the id");
        assert_ne!(run_id(&run_document(&cfg, "abd")), a.id, "so is the data");
        assert!(finished(&a.dir).is_none());
        std::fs::write(a.dir.join(CONFIG_FILE), b"{}\n").expect("tamper");
        assert!(matches!(open(runs.path(), &doc), Err(TrainError::RunConflict { .. })));
        // The resolved configuration round-trips through the settings (a sweep cell's path).
        let back = TrainSettings::from_value(cfg.resolved()).expect("parse").validate().expect("valid");
        assert_eq!(back, cfg);
    }
}
