//! Running a frozen [`SweepPlan`]: workers take the next unfinished cell, one per device, or
//! several on a device whose runner keeps a cell's numbers independent of what else runs
//! ([`CellRunner::shares_device`]; the training runner does for the CPU backend, where each cell
//! has its own one-thread pool).
//!
//! A cell is finished when its record (`cells/<id>/cell.json`, written atomically, last) exists:
//! finished cells are never rerun. Unfinished cells run again (the training stage resumes from
//! its own checkpoints where it has them). A killed sweep therefore resumes where it stopped.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use grefel_artifacts::files::CELL_ERROR;
use grefel_artifacts::{Cell, CellMetrics, SweepPlan};

use crate::PipelineError;

/// Why a cell failed: any error, shown to the user with the cell.
pub type CellFailure = Box<dyn std::error::Error + Send + Sync>;

/// Runs one cell on one device and returns its record.
pub trait CellRunner: Sync {
    /// Trains and evaluates `cell` in `dir` on `device`.
    fn run(&self, cell: &Cell, dir: &Path, device: &str) -> Result<CellMetrics, CellFailure>;

    /// Whether several workers may run cells on `device` at once, each cell giving the numbers
    /// it gives alone. By default they may not: one worker per device.
    fn shares_device(&self, _device: &str) -> bool {
        false
    }
}

/// What [`run_plan`] did.
#[derive(Debug, Default)]
pub struct SweepSummary {
    /// Cells in the plan.
    pub cells: usize,
    /// Cells finished before this run (not rerun).
    pub already_done: usize,
    /// Cells this run finished.
    pub ran: usize,
    /// Cells that failed: their ids and errors.
    pub failed: Vec<(String, String)>,
}

/// Runs every unfinished cell of `plan` (frozen in `out`) with one worker per entry of
/// `workers` (a device name; a device may be listed several times only where
/// [`CellRunner::shares_device`] allows it).
pub fn run_plan(
    plan: &SweepPlan,
    out: &Path,
    workers: &[String],
    runner: &dyn CellRunner,
) -> Result<SweepSummary, PipelineError> {
    if workers.is_empty() {
        return Err(PipelineError::Request("a sweep needs at least one device".into()));
    }
    // Two workers on a device that does not isolate them would not reproduce a sequential run:
    // two cells sharing the CPU backend's thread pool split floating-point reductions
    // differently under contention (measured: losses 4.229 and 4.146 for the same cell).
    let mut seen = std::collections::BTreeSet::new();
    for d in workers {
        if !seen.insert(d.trim().to_ascii_lowercase()) && !runner.shares_device(d) {
            return Err(PipelineError::Request(format!(
                "device `{d}` is given twice: cells run one at a time on it (two cells sharing it \
                 would not reproduce the numbers of a sequential run)"
            )));
        }
    }
    plan.freeze(out)?;
    let mut todo: Vec<&Cell> = Vec::new();
    for cell in &plan.cells {
        if SweepPlan::finished(out, cell)?.is_none() {
            todo.push(cell);
        }
    }
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
                    let outcome = run_cell(out, cell, device, runner);
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

/// Runs one cell in its folder and records the outcome there: its record (`cell.json`) when it
/// finishes, removing an earlier failure's `error.txt`; `error.txt` with the message when it fails
/// (what `sweep-status` shows). Returns the error message of a failure.
pub fn run_cell(out: &Path, cell: &Cell, device: &str, runner: &dyn CellRunner) -> Result<(), String> {
    let dir = SweepPlan::cell_dir(out, cell);
    let outcome = std::fs::create_dir_all(&dir)
        .map_err(|e| format!("creating {}: {e}", dir.display()))
        .and_then(|()| runner.run(cell, &dir, device).map_err(|e| e.to_string()))
        .and_then(|record| record.write(&dir).map_err(|e| e.to_string()));
    let error_file = dir.join(CELL_ERROR);
    match &outcome {
        Ok(()) => {
            if let Err(e) = std::fs::remove_file(&error_file)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!("removing {}: {e}", error_file.display());
            }
        }
        Err(message) => {
            if let Err(e) = grefel_shards::atomic::write_bytes(&error_file, format!("{message}\n").as_bytes())
            {
                tracing::warn!("recording the failure in {}: {e}", error_file.display());
            }
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use grefel_artifacts::{Axis, Confusion, OutputMetrics, SplitMetrics};
    use serde_json::json;

    use super::*;

    fn plan() -> SweepPlan {
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
        SweepPlan::new(&base, axes).expect("plan")
    }

    /// A record whose test accuracy is `accuracy`.
    fn record(cell: &Cell, accuracy: f64) -> CellMetrics {
        let output = OutputMetrics {
            samples: 1,
            accuracy,
            mean_class_accuracy: accuracy,
            macro_f1: accuracy,
            nll: 0.0,
            ece: 0.0,
            confusion: Confusion::new(2),
            reliability: vec![],
        };
        let split = SplitMetrics { primary: output.clone(), corrected: output };
        CellMetrics {
            cell: cell.id.clone(),
            coords: cell.coords.clone().into_iter().collect::<BTreeMap<_, _>>(),
            run: "r".into(),
            classes: vec!["a".into(), "b".into()],
            test: split.clone(),
            val: split,
            best_epoch: 0,
            correction_rate: None,
            correction_rate_corrected: None,
            flipped: None,
            noise_realised_rate: None,
            seconds: 0.0,
            backend: Some("cpu".into()),
            precision: Some("fp32".into()),
        }
    }

    struct Fake {
        calls: Mutex<Vec<(String, String)>>,
        fail_on: Option<i64>,
    }

    impl CellRunner for Fake {
        fn run(&self, cell: &Cell, _dir: &Path, device: &str) -> Result<CellMetrics, CellFailure> {
            self.calls.lock().expect("lock").push((cell.id.clone(), device.into()));
            let k = cell.config["model"]["anchors_per_class"].as_i64().unwrap_or(0);
            if Some(k) == self.fail_on {
                return Err("boom".into());
            }
            Ok(record(cell, k as f64 / 10.0))
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
        use grefel_artifacts::sweep::set_key;
        let mut bad = json!({"a": 1});
        assert!(set_key(&mut bad, "a.b", json!(2)).is_err());
        assert!(set_key(&mut bad, "a..b", json!(2)).is_err());
        let mut unset = json!({"model": null});
        set_key(&mut unset, "model.loss.label_smoothing", json!(0.1)).expect("null becomes a table");
        assert_eq!(unset, json!({"model": {"loss": {"label_smoothing": 0.1}}}));
        let empty = Axis { name: "x".into(), key: "x".into(), values: vec![] };
        assert!(SweepPlan::new(&json!({}), vec![empty]).is_err());
    }

    #[test]
    fn resumes_without_rerunning_and_refuses_other_plans() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = plan();
        let failing = Fake { calls: Mutex::new(vec![]), fail_on: Some(5) };
        let s = run_plan(&p, dir.path(), &["cpu".into()], &failing).expect("run");
        assert_eq!((s.cells, s.already_done, s.ran, s.failed.len()), (6, 0, 3, 3));
        let error_file = SweepPlan::cell_dir(dir.path(), &p.cells[3]).join(CELL_ERROR);
        assert_eq!(std::fs::read_to_string(&error_file).expect("failure recorded"), "boom\n");
        let fixed = Fake { calls: Mutex::new(vec![]), fail_on: None };
        let devices = vec!["cpu".to_string(), "cuda:0".to_string()];
        let s = run_plan(&p, dir.path(), &devices, &fixed).expect("resume");
        assert_eq!((s.already_done, s.ran), (3, 3));
        assert!(!error_file.exists(), "a finished cell keeps no failure");
        let calls = fixed.calls.lock().expect("lock");
        assert_eq!(calls.len(), 3, "finished cells are never rerun");
        assert!(calls.iter().all(|(id, _)| p.cells[3..].iter().any(|c| &c.id == id)));
        drop(calls);
        let stored = SweepPlan::finished(dir.path(), &p.cells[4]).expect("readable").expect("finished");
        assert_eq!(stored, record(&p.cells[4], 0.5));
        let s = run_plan(&p, dir.path(), &devices, &fixed).expect("nothing left");
        assert_eq!((s.already_done, s.ran), (6, 0));

        let other = SweepPlan::new(&json!({"seed": 1}), p.axes.clone()).expect("plan");
        let e = run_plan(&other, dir.path(), &devices, &fixed).expect_err("different plan");
        assert!(e.to_string().contains("different plan"), "{e}");

        // A damaged record is an error naming the file, not a silent rerun.
        let path = SweepPlan::cell_dir(dir.path(), &p.cells[0]).join(grefel_artifacts::files::CELL_METRICS);
        std::fs::write(&path, "{}").expect("damage");
        let e = run_plan(&p, dir.path(), &devices, &fixed).expect_err("damaged record");
        assert!(e.to_string().contains("cell.json"), "{e}");
    }

    /// A runner that lets several workers share `cpu`.
    struct Sharing(Fake);

    impl CellRunner for Sharing {
        fn run(&self, cell: &Cell, dir: &Path, device: &str) -> Result<CellMetrics, CellFailure> {
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
        assert!(!dir.path().join(grefel_artifacts::files::PLAN).exists(), "no plan written");
    }
}
