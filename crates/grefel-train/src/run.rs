//! Run folders: `runs/<id>/` with `id` the first 16 hex digits of the SHA-256 of the run
//! document: everything that changes a run's numbers — the resolved training configuration
//! (precision included when it is not fp32), the dataset's content hash and the backend kind
//! (`cpu`, `libtorch-cpu`, `cuda`; not the device index: `cuda:0` and `cuda:1` are one run).
//!
//! Runs made before the backend was part of the document ([`legacy_run_id`]) are found, and reused
//! only by the backend they were recorded on (`timing.json`).
//! `config.json` is written first, `metrics.json` last: a folder whose metrics exist is a
//! finished run, and running it again does nothing.

use std::path::{Path, PathBuf};

use grefel_artifacts::files::{RUN_CONFIG, RUN_METRICS, RUN_TIMING};
use grefel_artifacts::io::to_json_bytes;
use grefel_artifacts::{RunDocument, RunMetrics, RunTiming, read_json_if_exists};
use grefel_shards::atomic;
use grefel_shards::hash::sha256_hex;

use crate::{TrainConfig, TrainError};

/// An opened run folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunDir {
    /// The folder.
    pub dir: PathBuf,
    /// Its id (16 hex digits).
    pub id: String,
}

/// The kind of backend a device string names: `cpu` (the default CPU backend), `libtorch-cpu`
/// or `cuda` (any index).
pub fn backend_kind(device: &str) -> &'static str {
    let d = device.trim().to_ascii_lowercase();
    if grefel_model::is_flex(&d) {
        "cpu"
    } else if d.starts_with("cuda") {
        "cuda"
    } else {
        "libtorch-cpu"
    }
}

/// The document that identifies a run: what is trained, on which exact data, on which backend.
pub fn run_document(config: &TrainConfig, dataset_content_hash: &str, backend: &str) -> RunDocument {
    RunDocument {
        train: config.resolved(),
        dataset_content_hash: dataset_content_hash.into(),
        backend: Some(backend.into()),
    }
}

/// The id a run of `config` had before the backend was part of the run document.
pub fn legacy_run_id(config: &TrainConfig, dataset_content_hash: &str) -> String {
    run_id(&RunDocument {
        train: config.resolved(),
        dataset_content_hash: dataset_content_hash.into(),
        backend: None,
    })
}

/// The backend a finished run recorded (`timing.json`'s device), if it says.
pub fn recorded_backend(dir: &Path) -> Option<&'static str> {
    let timing: RunTiming = read_json_if_exists(&dir.join(RUN_TIMING)).ok()??;
    Some(backend_kind(&timing.device))
}

/// Other runs under `runs_dir` of the same configuration and data on another backend: `(id,
/// backend)`, sorted by id.
pub fn same_config_elsewhere(runs_dir: &Path, document: &RunDocument) -> Vec<(String, String)> {
    let Ok(entries) = std::fs::read_dir(runs_dir) else { return Vec::new() };
    let mut out: Vec<(String, String)> = entries
        .flatten()
        .filter_map(|e| {
            // Folders that are not runs (or unreadable ones) are not runs of this configuration.
            let other: RunDocument = read_json_if_exists(&e.path().join(RUN_CONFIG)).ok()??;
            let same = other.train == document.train
                && other.dataset_content_hash == document.dataset_content_hash
                && other.backend != document.backend;
            let backend = other.backend.clone().or_else(|| {
                recorded_backend(&e.path())
                    .map(|b| format!("{b} (recorded before run ids named the backend)"))
            })?;
            same.then(|| (e.file_name().to_string_lossy().into_owned(), backend))
        })
        .collect();
    out.sort();
    out
}

/// The id of a run document: the hash of its canonical JSON form (keys sorted, so the id does not
/// depend on the order of the struct's fields).
pub fn run_id(document: &RunDocument) -> String {
    let canonical = serde_json::to_value(document).map(|v| v.to_string()).unwrap_or_default();
    sha256_hex(canonical.as_bytes())[..16].to_string()
}

/// Opens (creating if needed) the folder of `document` under `runs_dir`: writes `config.json`, or
/// checks that the one there is identical.
pub fn open(runs_dir: &Path, document: &RunDocument) -> Result<RunDir, TrainError> {
    let id = run_id(document);
    let dir = runs_dir.join(&id);
    let path = dir.join(RUN_CONFIG);
    // The canonical form (sorted keys), as the file has always been written.
    let canonical =
        serde_json::to_value(document).map_err(|source| TrainError::Json { path: path.clone(), source })?;
    let text = to_json_bytes(&canonical, &path)?;
    match std::fs::read(&path) {
        Ok(existing) if existing == text => {}
        Ok(_) => return Err(TrainError::RunConflict { dir }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => atomic::write_bytes(&path, &text)?,
        Err(e) => return Err(TrainError::Io { op: "read", path, source: e }),
    }
    Ok(RunDir { dir, id })
}

/// The metrics of a finished run; `None` when it has not finished. Metrics that do not parse are
/// an error (naming the file), not a silent retrain.
pub fn finished(dir: &Path) -> Result<Option<RunMetrics>, TrainError> {
    Ok(read_json_if_exists(&dir.join(RUN_METRICS))?)
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
        let doc = run_document(&cfg, "abc", "cpu");
        let a = open(runs.path(), &doc).expect("open");
        assert_eq!(a.id.len(), 16);
        assert_eq!(a, open(runs.path(), &doc).expect("reopen"), "same config, same folder");
        let again = TrainSettings::new("synthetic").validate().expect("valid");
        assert_eq!(
            run_id(&run_document(&again, "abc", "cpu")),
            a.id,
            "the id is a pure function of the config"
        );
        assert_ne!(run_id(&run_document(&cfg, "abc", "libtorch-cpu")), a.id, "the backend is part of the id");
        assert_ne!(legacy_run_id(&cfg, "abc"), a.id);
        assert_eq!(backend_kind("cuda:1"), backend_kind("cuda:0"));
        assert_eq!((backend_kind("cpu"), backend_kind("libtorch-cpu")), ("cpu", "libtorch-cpu"));
        let mut other = TrainSettings::new("synthetic");
        other.seed = 1;
        let other = run_document(&other.validate().expect("valid"), "abc", "cpu");
        assert_ne!(run_id(&other), a.id, "the seed is part of the id");
        assert_ne!(run_id(&run_document(&cfg, "abd", "cpu")), a.id, "so is the data");
        assert!(finished(&a.dir).expect("readable").is_none());
        std::fs::write(a.dir.join(RUN_METRICS), b"{}\n").expect("broken metrics");
        let e = finished(&a.dir).expect_err("broken metrics are an error");
        assert!(e.to_string().contains("metrics.json"), "{e}");
        std::fs::remove_file(a.dir.join(RUN_METRICS)).expect("remove");
        std::fs::write(a.dir.join(RUN_CONFIG), b"{}\n").expect("tamper");
        assert!(matches!(open(runs.path(), &doc), Err(TrainError::RunConflict { .. })));
        // The resolved configuration round-trips through the settings (a sweep cell's path).
        let back = TrainSettings::from_value(cfg.resolved()).expect("parse").validate().expect("valid");
        assert_eq!(back, cfg);
    }
}
