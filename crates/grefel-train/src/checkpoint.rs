//! Checkpoints: after every epoch the model and the optimiser state are written in burn's
//! burnpack format (`Module::into_record`; the optimiser in burn's `ModuleOptimizer` record
//! layout, [`crate::adam`]) as
//! `checkpoints/epoch-NNNN.{model,optim}.bpk`, then `checkpoints/state.json` — the training
//! state, the provenance, and the SHA-256 of both files — replaces the previous one. Every file is
//! written atomically and `state.json` last, so a kill at any point leaves a consistent latest
//! checkpoint. Older epochs' files are removed, except the model of the best epoch.
//!
//! Floating-point values in `state.json` are written as strings (`"f64:0.1538…"`, Rust's
//! shortest round-trip form) and read back with Rust's correctly rounded parser: serde_json's
//! default float parser can be one ULP off, and a resumed run must carry bit-identical figures.

use std::path::{Path, PathBuf};

use grefel_artifacts::Provenance;
use grefel_model::burn::module::Module;
use grefel_model::burn::store::ModuleRecord;
use grefel_model::burn::tensor::{Bytes, Device};
use grefel_model::config::ModelConfig;
use grefel_model::{Grefel, with_seed};
use grefel_shards::{atomic, hash};
use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};

use crate::TrainError;
use crate::adam::Adam;

/// Folder of the checkpoints inside a run folder.
pub const CHECKPOINT_DIR: &str = "checkpoints";
/// The latest training state.
pub const STATE_FILE: &str = "state.json";

pub use grefel_artifacts::EpochLog;

/// The best epoch so far.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Best {
    /// Epoch (0-based).
    pub epoch: usize,
    /// Its validation accuracy on the selection output.
    pub val_accuracy: f64,
    /// Trust t the model was evaluated with.
    pub trust: f32,
}

/// Everything needed to resume, plus provenance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Epochs finished.
    pub epochs_done: usize,
    /// Optimiser steps taken.
    pub iteration: u64,
    /// The best epoch so far.
    pub best: Option<Best>,
    /// One entry per finished epoch.
    pub history: Vec<EpochLog>,
    /// Resolved configuration, class names, dataset hash, code version, seeds.
    pub provenance: Provenance,
    /// Model file of the latest epoch and its SHA-256.
    pub model_file: String,
    /// SHA-256 of the model file.
    pub model_sha256: String,
    /// Optimiser file of the latest epoch.
    pub optim_file: String,
    /// SHA-256 of the optimiser file.
    pub optim_sha256: String,
    /// Model file of the best epoch.
    pub best_model_file: Option<String>,
}

impl TrainState {
    /// The state before the first epoch.
    pub fn new(provenance: Provenance) -> Self {
        Self {
            epochs_done: 0,
            iteration: 0,
            best: None,
            history: Vec::new(),
            provenance,
            model_file: String::new(),
            model_sha256: String::new(),
            optim_file: String::new(),
            optim_sha256: String::new(),
            best_model_file: None,
        }
    }
}

/// Tag of a float written as a string in `state.json`.
const FLOAT_TAG: &str = "f64:";

/// Replaces every floating-point number of `v` by its tagged exact string form.
pub fn encode_floats(v: Value) -> Value {
    match v {
        Value::Number(n) if n.is_f64() => {
            Value::String(format!("{FLOAT_TAG}{:?}", n.as_f64().unwrap_or(f64::NAN)))
        }
        Value::Array(a) => Value::Array(a.into_iter().map(encode_floats).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, encode_floats(v))).collect()),
        other => other,
    }
}

/// Inverse of [`encode_floats`].
pub fn decode_floats(v: Value) -> Value {
    match v {
        Value::String(s) => {
            match s.strip_prefix(FLOAT_TAG).and_then(|x| x.parse::<f64>().ok()).and_then(Number::from_f64) {
                Some(n) => Value::Number(n),
                None => Value::String(s),
            }
        }
        Value::Array(a) => Value::Array(a.into_iter().map(decode_floats).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, decode_floats(v))).collect()),
        other => other,
    }
}

fn model_name(epoch: usize) -> String {
    format!("epoch-{epoch:04}.model.bpk")
}

fn optim_name(epoch: usize) -> String {
    format!("epoch-{epoch:04}.optim.bpk")
}

fn record_err(path: &Path) -> impl FnOnce(grefel_model::burn::store::RecordError) -> TrainError + '_ {
    move |e| TrainError::Checkpoint { path: path.into(), reason: e.to_string() }
}

/// Saves the model and optimiser after epoch `state.epochs_done − 1`, then `state.json`.
/// Fills the file fields of `state`.
pub fn save(run_dir: &Path, model: &Grefel, optim: &Adam, state: &mut TrainState) -> Result<(), TrainError> {
    let dir = run_dir.join(CHECKPOINT_DIR);
    let epoch = state.epochs_done.saturating_sub(1);
    let (mname, oname) = (model_name(epoch), optim_name(epoch));
    let (mpath, opath) = (dir.join(&mname), dir.join(&oname));
    let mbytes = model.clone().into_record().into_bytes().map_err(record_err(&mpath))?;
    let obytes = optim.to_bytes()?;
    atomic::write_bytes(&mpath, &mbytes)?;
    atomic::write_bytes(&opath, &obytes)?;
    state.model_sha256 = hash::sha256_hex(&mbytes);
    state.optim_sha256 = hash::sha256_hex(&obytes);
    state.model_file = mname.clone();
    state.optim_file = oname.clone();
    if state.best.as_ref().is_some_and(|b| b.epoch == epoch) {
        state.best_model_file = Some(mname.clone());
    }
    let spath = dir.join(STATE_FILE);
    let value =
        serde_json::to_value(&*state).map_err(|source| TrainError::Json { path: spath.clone(), source })?;
    grefel_artifacts::write_json(&spath, &encode_floats(value))?;
    // Clean up files no state refers to any more (best effort: stale files are harmless).
    let keep = [Some(mname), Some(oname), state.best_model_file.clone()];
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.ends_with(".bpk") && !keep.iter().flatten().any(|k| *k == name) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    atomic::remove_stale_temporaries(&dir)?;
    Ok(())
}

/// A model and optimiser, with the training state of the checkpoint they were loaded from.
pub struct Loaded {
    /// The training state (`None`: the run has no checkpoint, model and optimiser are fresh).
    pub state: Option<TrainState>,
    /// The model.
    pub model: Grefel,
    /// The optimiser.
    pub optim: Adam,
}

fn read_checked(path: PathBuf, sha256: &str) -> Result<Bytes, TrainError> {
    let bytes = std::fs::read(&path).map_err(TrainError::io("read", &path))?;
    if hash::sha256_hex(&bytes) != sha256 {
        return Err(TrainError::Checkpoint { path, reason: "content does not match state.json".into() });
    }
    Ok(Bytes::from_bytes_vec(bytes))
}

/// The training state of `run_dir`'s checkpoints (`None` when the run has none).
pub fn read_state(run_dir: &Path) -> Result<Option<TrainState>, TrainError> {
    let path = run_dir.join(CHECKPOINT_DIR).join(STATE_FILE);
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(TrainError::Io { op: "read", path, source: e }),
    };
    serde_json::from_slice::<Value>(&text)
        .and_then(|v| serde_json::from_value(decode_floats(v)))
        .map(Some)
        .map_err(|source| TrainError::Json { path, source })
}

/// Loads the latest checkpoint of `run_dir` into `model` and `optim` (freshly built from the same
/// configuration; the optimiser state goes onto `device`); returns them unchanged, with no state,
/// when the run has no checkpoint.
pub fn load_latest(
    run_dir: &Path,
    model: Grefel,
    mut optim: Adam,
    device: &Device,
) -> Result<Loaded, TrainError> {
    let dir = run_dir.join(CHECKPOINT_DIR);
    let Some(state) = read_state(run_dir)? else {
        return Ok(Loaded { state: None, model, optim });
    };
    let mpath = dir.join(&state.model_file);
    let record = ModuleRecord::from_bytes(read_checked(mpath.clone(), &state.model_sha256)?)
        .map_err(record_err(&mpath))?;
    let model = model.try_load_record(record).map_err(record_err(&mpath))?;
    let opath = dir.join(&state.optim_file);
    optim.load_bytes(read_checked(opath.clone(), &state.optim_sha256)?, device).map_err(|e| match e {
        TrainError::Optimizer(reason) => TrainError::Checkpoint { path: opath.clone(), reason },
        other => other,
    })?;
    Ok(Loaded { state: Some(state), model, optim })
}

/// The initial weights for `config` from `seed`, on `device`. They are always drawn on the
/// default CPU backend (Flex) and then loaded onto `device`, so one seed gives the same initial
/// network on every backend (libtorch CPU or CUDA included); only the training arithmetic differs.
pub fn initial_model(config: &ModelConfig, seed: u64, device: &Device) -> Result<Grefel, TrainError> {
    initial_model_with(config, &[], seed, device)
}

/// [`initial_model`] with the parts of `init` (pretrained trunk files) read into the drawn
/// weights before they move to `device`; each file's report is logged. A file that does not fill
/// its part, or does not fit it, is an error.
pub fn initial_model_with(
    config: &ModelConfig,
    init: &[crate::config::InitFile],
    seed: u64,
    device: &Device,
) -> Result<Grefel, TrainError> {
    let init_err = |e: &dyn std::fmt::Display| TrainError::Init { reason: e.to_string() };
    let cpu = Device::flex();
    let bytes = with_seed(&cpu, seed, || -> Result<_, TrainError> {
        let (model, reports) = drawn_with_trunks(config, init, &cpu)?;
        for report in reports {
            tracing::info!("initial weights: {report}");
        }
        model.into_record().into_bytes().map_err(|e| init_err(&e))
    })?;
    let record = ModuleRecord::from_bytes(bytes).map_err(|e| init_err(&e))?;
    // Under the seeding lock as well: a parameter drawn eagerly on `device` (and then replaced by
    // the record) must not draw from the stream of another run's initialisation.
    let model = with_seed(device, seed, || Grefel::new(config.clone(), device))?;
    model.try_load_record(record).map_err(|e| init_err(&e))
}

/// The initial weights of [`initial_model_with`] on the default CPU backend, with each trunk
/// file's report.
pub fn initial_model_reports(
    config: &ModelConfig,
    init: &[crate::config::InitFile],
    seed: u64,
) -> Result<(Grefel, Vec<grefel_weights::ImportReport>), TrainError> {
    let cpu = Device::flex();
    with_seed(&cpu, seed, || drawn_with_trunks(config, init, &cpu))
}

/// Draws the network (the caller holds the seeding lock) and reads the trunk files into it.
fn drawn_with_trunks(
    config: &ModelConfig,
    init: &[crate::config::InitFile],
    cpu: &Device,
) -> Result<(Grefel, Vec<grefel_weights::ImportReport>), TrainError> {
    let init_err = |e: &dyn std::fmt::Display| TrainError::Init { reason: e.to_string() };
    let mut model = Grefel::new(config.clone(), cpu)?;
    let mut reports = Vec::with_capacity(init.len());
    for file in init {
        let part = grefel_weights::Part::trunk(&file.part)
            .ok_or_else(|| TrainError::config("init", format!("`{}` is not a trunk", file.part)))?;
        let (loaded, report) = grefel_weights::import(model, part, &file.path).map_err(|e| init_err(&e))?;
        reports.push(report);
        model = loaded;
    }
    Ok((model, reports))
}

/// `model` with the selected weights of the run `from` (`init_from`: fine-tuning).
pub fn load_init_run(from: &crate::config::InitRun, model: Grefel) -> Result<Grefel, TrainError> {
    let source = crate::saved::SavedRun::open(&from.path)?;
    let path = source.selected_file();
    let bytes = std::fs::read(&path).map_err(TrainError::io("read", &path))?;
    if hash::sha256_hex(&bytes) != from.sha256 {
        return Err(TrainError::Checkpoint {
            path,
            reason: "the weights changed since the configuration was resolved".into(),
        });
    }
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes)).map_err(record_err(&path))?;
    let loaded = model.try_load_record(record).map_err(record_err(&path))?;
    tracing::info!("initial weights: the selected weights of {} ({})", from.path.display(), from.preset);
    Ok(loaded)
}

/// Loads the best epoch's weights of `run_dir` into `model`.
pub fn load_best(run_dir: &Path, state: &TrainState, model: Grefel) -> Result<Grefel, TrainError> {
    let dir = run_dir.join(CHECKPOINT_DIR);
    let name = state.best_model_file.as_deref().unwrap_or(&state.model_file);
    let path = dir.join(name);
    let bytes = std::fs::read(&path).map_err(TrainError::io("read", &path))?;
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes)).map_err(record_err(&path))?;
    model.try_load_record(record).map_err(record_err(&path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_round_trip_exactly_through_state_json() {
        let values: [f64; 6] =
            [0.15384615384615385, 1.9314512661070327, 0.999_000_012_874_603_3, 1e-300, 2.0 / 3.0, 0.1];
        let v = serde_json::json!({ "xs": values, "n": 3, "s": "text", "t": 0.5f32 });
        let text = serde_json::to_string(&encode_floats(v.clone())).expect("encode");
        let back = decode_floats(serde_json::from_str(&text).expect("parse"));
        assert_eq!(back, v);
        let xs: Vec<f64> = serde_json::from_value(back["xs"].clone()).expect("floats");
        assert!(xs.iter().zip(values).all(|(a, b)| a.to_bits() == b.to_bits()));
        assert_eq!(back["n"].as_u64(), Some(3), "integers stay integers");
    }
}
