//! Sweeps: a grid over configuration keys, frozen into a plan before anything runs, executed cell
//! by cell, resumable after a kill, parallel over devices.
//!
//! - The plan (`<out>/plan.json`) lists every cell: its coordinates and its fully resolved
//!   configuration; the cell id is the SHA-256 of that configuration, so a cell is
//!   content-addressed. A sweep whose plan file exists resumes it, and refuses a different plan
//!   in the same folder.
//! - A cell is finished when `<out>/cells/<id>/metrics.json` exists (written atomically, last):
//!   finished cells are never rerun. Unfinished cells run again (the training stage resumes from
//!   its own checkpoints where it has them).
//! - Workers take the next unfinished cell: one per device, or several on a device whose runner
//!   keeps a cell's numbers independent of what else runs ([`CellRunner::shares_device`]; the
//!   training runner does for the CPU backend, where each cell has its own one-thread pool).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use grefel_shards::hash::Fingerprint;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ExperimentError;

/// File name of the frozen plan.
pub const PLAN_FILE: &str = "plan.json";
/// File name of a finished cell's metrics.
pub const METRICS_FILE: &str = "metrics.json";

/// One axis of a grid: a dotted configuration key and its values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Axis {
    /// Short name used in tables and coordinates (`k`, `noise`, `eps`, `seed`).
    pub name: String,
    /// Dotted path of the configuration key (`model.anchors_per_class`).
    pub key: String,
    /// The values, in order.
    pub values: Vec<Value>,
}

/// One cell of a plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// SHA-256 of the resolved configuration.
    pub id: String,
    /// Axis name → value.
    pub coords: BTreeMap<String, Value>,
    /// The fully resolved configuration.
    pub config: Value,
}

/// A frozen sweep plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The axes, outermost first.
    pub axes: Vec<Axis>,
    /// The cells, in grid order (last axis fastest).
    pub cells: Vec<Cell>,
}

/// Sets `value` at the dotted `key` of `config`, creating objects on the way (an absent or
/// `null` table, such as an unset optional section, becomes an empty one).
pub fn set_key(config: &mut Value, key: &str, value: Value) -> Result<(), ExperimentError> {
    let mut node = config;
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(ExperimentError::Sweep(format!("configuration key `{key}` has an empty part")));
    }
    for (i, part) in parts.iter().enumerate() {
        if node.is_null() {
            *node = Value::Object(Default::default());
        }
        let obj = node.as_object_mut().ok_or_else(|| {
            ExperimentError::Sweep(format!("`{}` in key `{key}` is not a table", parts[..i].join(".")))
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

impl Plan {
    /// Expands `base` over the grid of `axes`.
    pub fn new(base: &Value, axes: Vec<Axis>) -> Result<Plan, ExperimentError> {
        if axes.iter().any(|a| a.values.is_empty()) {
            return Err(ExperimentError::Sweep("every sweep axis needs at least one value".into()));
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
        Ok(Plan { axes, cells })
    }

    /// Writes the plan to `<out>/plan.json`, or checks that the one there is identical.
    pub fn freeze(&self, out: &Path) -> Result<(), ExperimentError> {
        let path = out.join(PLAN_FILE);
        let mut text = serde_json::to_vec_pretty(self)
            .map_err(|e| ExperimentError::Sweep(format!("serialising the plan: {e}")))?;
        text.push(b'\n');
        match std::fs::read(&path) {
            Ok(existing) if existing == text => Ok(()),
            Ok(_) => Err(ExperimentError::Sweep(format!(
                "{} holds a different plan; use another --out folder (or remove it) to run this grid",
                path.display()
            ))),
            Err(_) => Ok(grefel_shards::atomic::write_bytes(&path, &text)?),
        }
    }

    /// The folder of a cell.
    pub fn cell_dir(out: &Path, cell: &Cell) -> PathBuf {
        out.join("cells").join(&cell.id)
    }

    /// The metrics of a finished cell, if it is finished.
    pub fn finished(out: &Path, cell: &Cell) -> Option<Value> {
        let text = std::fs::read(Self::cell_dir(out, cell).join(METRICS_FILE)).ok()?;
        serde_json::from_slice(&text).ok()
    }
}

/// Runs one cell on one device and returns its metrics.
pub trait CellRunner: Sync {
    /// Trains and evaluates `cell` in `dir` on `device`.
    fn run(&self, cell: &Cell, dir: &Path, device: &str) -> Result<Value, String>;

    /// Whether several workers may run cells on `device` at once, each cell giving the numbers
    /// it gives alone. By default they may not: one worker per device.
    fn shares_device(&self, _device: &str) -> bool {
        false
    }
}

/// What [`run_plan`] did.
#[derive(Debug, Default, PartialEq)]
pub struct SweepSummary {
    /// Cells in the plan.
    pub cells: usize,
    /// Cells finished before this run (not rerun).
    pub already_done: usize,
    /// Cells this run finished.
    pub ran: usize,
    /// Cells that failed, with their errors.
    pub failed: Vec<(String, String)>,
}

/// Runs every unfinished cell of `plan` (frozen in `out`) with one worker per entry of
/// `workers` (a device name; a device may be listed several times only where
/// [`CellRunner::shares_device`] allows it).
pub fn run_plan(
    plan: &Plan,
    out: &Path,
    workers: &[String],
    runner: &dyn CellRunner,
) -> Result<SweepSummary, ExperimentError> {
    if workers.is_empty() {
        return Err(ExperimentError::Sweep("a sweep needs at least one device".into()));
    }
    // Two workers on a device that does not isolate them would not reproduce a sequential run:
    // two cells sharing the CPU backend's thread pool split floating-point reductions
    // differently under contention (measured: losses 4.229 and 4.146 for the same cell).
    let mut seen = std::collections::BTreeSet::new();
    for d in workers {
        if !seen.insert(d.trim().to_ascii_lowercase()) && !runner.shares_device(d) {
            return Err(ExperimentError::Sweep(format!(
                "device `{d}` is given twice: cells run one at a time on it (two cells sharing it \
                 would not reproduce the numbers of a sequential run)"
            )));
        }
    }
    plan.freeze(out)?;
    let todo: Vec<&Cell> = plan.cells.iter().filter(|c| Plan::finished(out, c).is_none()).collect();
    let summary = Mutex::new(SweepSummary {
        cells: plan.cells.len(),
        already_done: plan.cells.len() - todo.len(),
        ..SweepSummary::default()
    });
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for device in workers {
            let (todo, next, summary) = (&todo, &next, &summary);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(cell) = todo.get(i) else { break };
                    let dir = Plan::cell_dir(out, cell);
                    let outcome = std::fs::create_dir_all(&dir)
                        .map_err(|e| format!("creating {}: {e}", dir.display()))
                        .and_then(|()| runner.run(cell, &dir, device))
                        .and_then(|metrics| {
                            let mut text = serde_json::to_vec_pretty(&metrics).map_err(|e| e.to_string())?;
                            text.push(b'\n');
                            grefel_shards::atomic::write_bytes(&dir.join(METRICS_FILE), &text)
                                .map_err(|e| e.to_string())
                        });
                    let mut s = summary.lock().unwrap_or_else(|p| p.into_inner());
                    match outcome {
                        Ok(()) => s.ran += 1,
                        Err(e) => s.failed.push((cell.id.clone(), e)),
                    }
                }
            });
        }
    });
    Ok(summary.into_inner().unwrap_or_else(|p| p.into_inner()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan() -> Plan {
        let base = json!({"model": {"anchors_per_class": 10, "dim": 128}, "seed": 0});
        let axes = vec![
            Axis {
                name: "k".into(),
                key: "model.anchors_per_class".into(),
                values: vec![json!(4), json!(5)],
            },
            Axis {
                name: "noise".into(),
                key: "noise.rate".into(),
                values: vec![json!(0.1), json!(0.2), json!(0.3)],
            },
        ];
        Plan::new(&base, axes).expect("plan")
    }

    struct Fake {
        calls: Mutex<Vec<(String, String)>>,
        fail_on: Option<i64>,
    }

    impl CellRunner for Fake {
        fn run(&self, cell: &Cell, _dir: &Path, device: &str) -> Result<Value, String> {
            self.calls.lock().expect("lock").push((cell.id.clone(), device.into()));
            let k = cell.config["model"]["anchors_per_class"].as_i64().unwrap_or(0);
            if Some(k) == self.fail_on {
                return Err("boom".into());
            }
            Ok(json!({"accuracy": k as f64 / 10.0}))
        }
    }

    #[test]
    fn grid_ids_and_keys() {
        let p = plan();
        assert_eq!(p.cells.len(), 6);
        assert_eq!(p.cells[1].coords["noise"], json!(0.2));
        assert_eq!(p.cells[3].config["model"]["anchors_per_class"], json!(5));
        assert_eq!(p.cells[3].config["noise"]["rate"], json!(0.1));
        assert_eq!(p.cells[3].config["model"]["dim"], json!(128), "untouched keys are kept");
        let ids: std::collections::BTreeSet<&str> = p.cells.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids.len(), 6);
        assert_eq!(p, plan(), "ids are content-derived and stable");
        let mut bad = json!({"a": 1});
        assert!(set_key(&mut bad, "a.b", json!(2)).is_err());
        assert!(set_key(&mut bad, "a..b", json!(2)).is_err());
        let mut unset = json!({"model": null});
        set_key(&mut unset, "model.loss.label_smoothing", json!(0.1)).expect("null becomes a table");
        assert_eq!(unset, json!({"model": {"loss": {"label_smoothing": 0.1}}}));
        assert!(
            Plan::new(&json!({}), vec![Axis { name: "x".into(), key: "x".into(), values: vec![] }]).is_err()
        );
    }

    #[test]
    fn resumes_without_rerunning_and_refuses_other_plans() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = plan();
        let failing = Fake { calls: Mutex::new(vec![]), fail_on: Some(5) };
        let s = run_plan(&p, dir.path(), &["cpu".into()], &failing).expect("run");
        assert_eq!((s.cells, s.already_done, s.ran, s.failed.len()), (6, 0, 3, 3));
        let fixed = Fake { calls: Mutex::new(vec![]), fail_on: None };
        let devices = vec!["cpu".to_string(), "cuda:0".to_string()];
        let s = run_plan(&p, dir.path(), &devices, &fixed).expect("resume");
        assert_eq!((s.already_done, s.ran), (3, 3));
        let calls = fixed.calls.lock().expect("lock");
        assert_eq!(calls.len(), 3, "finished cells are never rerun");
        assert!(calls.iter().all(|(id, _)| p.cells[3..].iter().any(|c| &c.id == id)));
        assert_eq!(Plan::finished(dir.path(), &p.cells[4]), Some(json!({"accuracy": 0.5})));
        let s = run_plan(&p, dir.path(), &devices, &fixed).expect("nothing left");
        assert_eq!((s.already_done, s.ran), (6, 0));

        let other = Plan::new(&json!({"seed": 1}), p.axes.clone()).expect("plan");
        let e = run_plan(&other, dir.path(), &devices, &fixed).expect_err("different plan");
        assert!(e.to_string().contains("different plan"), "{e}");
    }

    /// A runner that lets several workers share `cpu`.
    struct Sharing(Fake);

    impl CellRunner for Sharing {
        fn run(&self, cell: &Cell, dir: &Path, device: &str) -> Result<Value, String> {
            std::thread::sleep(std::time::Duration::from_millis(20));
            self.0.run(cell, dir, device)
        }

        fn shares_device(&self, device: &str) -> bool {
            device == "cpu"
        }
    }

    #[test]
    fn several_workers_share_a_device_that_allows_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let runner = Sharing(Fake { calls: Mutex::new(vec![]), fail_on: None });
        let workers = vec!["cpu".to_string(); 3];
        let s = run_plan(&plan(), dir.path(), &workers, &runner).expect("run");
        assert_eq!((s.cells, s.ran, s.failed.len()), (6, 6, 0));
        let calls = runner.0.calls.lock().expect("lock");
        let ids: std::collections::BTreeSet<&str> = calls.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!((calls.len(), ids.len()), (6, 6), "each cell ran exactly once");
        drop(calls);
        let e = run_plan(&plan(), dir.path(), &["cuda:0".to_string(), "cuda:0".to_string()], &runner)
            .expect_err("cuda:0 is not shareable");
        assert!(e.to_string().contains("given twice"), "{e}");
    }

    #[test]
    fn a_device_given_twice_is_refused_before_anything_runs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fake = Fake { calls: Mutex::new(vec![]), fail_on: None };
        let devices = vec!["cpu".to_string(), " CPU".to_string()];
        let e = run_plan(&plan(), dir.path(), &devices, &fake).expect_err("duplicate device");
        assert!(e.to_string().contains("given twice"), "{e}");
        assert!(fake.calls.lock().expect("lock").is_empty());
        assert!(!dir.path().join(PLAN_FILE).exists(), "no plan written");
    }
}
