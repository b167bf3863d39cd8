//! A sweep's files: the frozen plan (`plan.json`) and one record per finished cell
//! (`cells/<id>/cell.json`).
//!
//! The plan lists every cell with its coordinates and its fully resolved configuration; a cell's
//! id is the SHA-256 of that configuration, so cells are content-addressed and a plan is the same
//! bytes whenever the same grid is asked for.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use grefel_shards::hash::Fingerprint;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::files::{CELL_METRICS, CELLS_DIR, LEGACY_CELL_METRICS, PLAN};
use crate::io::{ArtifactError, read_json_if_exists, to_json_bytes, write_json};
use crate::metrics::SplitMetrics;

/// One axis of a grid: a dotted configuration key and its values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Axis {
    /// Short name used in tables and coordinates (`k`, `noise`, `eps`, `seed`).
    pub name: String,
    /// Dotted path of the configuration key (`model.anchors_per_class`).
    pub key: String,
    /// The values, in order.
    pub values: Vec<Value>,
}

/// One cell of a plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Cell {
    /// SHA-256 of the resolved configuration.
    pub id: String,
    /// Axis name → value.
    pub coords: BTreeMap<String, Value>,
    /// The fully resolved configuration (a training run's settings).
    pub config: Value,
}

/// A frozen sweep plan (`plan.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SweepPlan {
    /// The axes, outermost first.
    pub axes: Vec<Axis>,
    /// The cells, in grid order (last axis fastest).
    pub cells: Vec<Cell>,
}

/// Sets `value` at the dotted `key` of `config`, creating objects on the way (an absent or
/// `null` table, such as an unset optional section, becomes an empty one).
pub fn set_key(config: &mut Value, key: &str, value: Value) -> Result<(), ArtifactError> {
    let mut node = config;
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(ArtifactError::Plan(format!("configuration key `{key}` has an empty part")));
    }
    for (i, part) in parts.iter().enumerate() {
        if node.is_null() {
            *node = Value::Object(Default::default());
        }
        let obj = node.as_object_mut().ok_or_else(|| {
            ArtifactError::Plan(format!("`{}` in key `{key}` is not a table", parts[..i].join(".")))
        })?;
        if i + 1 == parts.len() {
            obj.insert((*part).to_string(), value);
            return Ok(());
        }
        node = obj.entry((*part).to_string()).or_insert_with(|| Value::Object(Default::default()));
    }
    Ok(())
}

/// The content id of a resolved configuration (keys are sorted: serde_json maps are ordered).
pub fn config_id(config: &Value) -> String {
    Fingerprint::new().part(config.to_string()).finish()
}

impl SweepPlan {
    /// Expands `base` over the grid of `axes`.
    pub fn new(base: &Value, axes: Vec<Axis>) -> Result<SweepPlan, ArtifactError> {
        if axes.iter().any(|a| a.values.is_empty()) {
            return Err(ArtifactError::Plan("every sweep axis needs at least one value".into()));
        }
        let mut cells = Vec::new();
        let total: usize = axes.iter().map(|a| a.values.len()).product();
        for mut flat in 0..total {
            let mut idx = vec![0; axes.len()];
            for (i, a) in axes.iter().enumerate().rev() {
                idx[i] = flat % a.values.len();
                flat /= a.values.len();
            }
            let mut config = base.clone();
            let mut coords = BTreeMap::new();
            for (a, &i) in axes.iter().zip(&idx) {
                set_key(&mut config, &a.key, a.values[i].clone())?;
                coords.insert(a.name.clone(), a.values[i].clone());
            }
            cells.push(Cell { id: config_id(&config), coords, config });
        }
        Ok(SweepPlan { axes, cells })
    }

    /// Writes the plan to `<out>/plan.json`, or checks that the one there is identical.
    pub fn freeze(&self, out: &Path) -> Result<(), ArtifactError> {
        let path = out.join(PLAN);
        let text = to_json_bytes(self, &path)?;
        match std::fs::read(&path) {
            Ok(existing) if existing == text => Ok(()),
            Ok(_) => Err(ArtifactError::Plan(format!(
                "{} holds a different plan; use another --out folder (or remove it) to run this grid",
                path.display()
            ))),
            Err(_) => Ok(grefel_shards::atomic::write_bytes(&path, &text)?),
        }
    }

    /// The folder of a cell.
    pub fn cell_dir(out: &Path, cell: &Cell) -> PathBuf {
        out.join(CELLS_DIR).join(&cell.id)
    }

    /// The record of a cell, if it is finished. A record under the legacy name is read too.
    pub fn finished(out: &Path, cell: &Cell) -> Result<Option<CellMetrics>, ArtifactError> {
        CellMetrics::read(&Self::cell_dir(out, cell))
    }
}

/// The record of a finished cell (`cells/<id>/cell.json`): what the report tabulates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CellMetrics {
    /// The cell id.
    pub cell: String,
    /// Its coordinates, as in the plan.
    pub coords: BTreeMap<String, Value>,
    /// The id of the training run inside the cell folder.
    pub run: String,
    /// Class names in output order.
    pub classes: Vec<String>,
    /// Metrics on the evaluated split.
    pub test: SplitMetrics,
    /// Metrics on the selection split.
    pub val: SplitMetrics,
    /// The selected epoch (0-based).
    pub best_epoch: usize,
    /// Share of flipped training labels p predicts as the clean label.
    pub correction_rate: Option<f64>,
    /// The same by ŷ.
    pub correction_rate_corrected: Option<f64>,
    /// Training labels flipped (`null` without label noise).
    pub flipped: Option<u64>,
    /// Realised share of flipped training labels.
    pub noise_realised_rate: Option<f64>,
    /// Wall time of the cell's training call, in seconds (one decimal).
    pub seconds: f64,
    /// The backend the run computed on (`cpu`, `libtorch-cpu`, `cuda`); absent in cells
    /// recorded before it was.
    #[serde(default)]
    pub backend: Option<String>,
    /// The run's precision (`fp32`, `tf32`, `bf16`).
    #[serde(default)]
    pub precision: Option<String>,
}

impl CellMetrics {
    /// Reads the record in a cell folder; `None` when the cell has not finished.
    pub fn read(cell_dir: &Path) -> Result<Option<CellMetrics>, ArtifactError> {
        if let Some(found) = read_json_if_exists(&cell_dir.join(CELL_METRICS))? {
            return Ok(Some(found));
        }
        read_json_if_exists(&cell_dir.join(LEGACY_CELL_METRICS))
    }

    /// Writes the record into a cell folder (atomically: the cell is finished once it exists).
    pub fn write(&self, cell_dir: &Path) -> Result<(), ArtifactError> {
        write_json(&cell_dir.join(CELL_METRICS), self)
    }
}
