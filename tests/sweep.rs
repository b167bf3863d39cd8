//! End-to-end test of a sweep: synthetic data → prepare → a frozen K × noise plan of training
//! runs (the `micro` preset) → the report. A clean sweep and a sweep interrupted after two cells
//! and then resumed give byte-identical tables and plots, the resumed run doing only the
//! unfinished cells; two CPU workers give the same report as one; noisy cells carry a correction
//! rate, clean ones do not.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use grefel_artifacts::{Axis, Cell, CellMetrics, SweepPlan};
use grefel_ingest::normalize::ImageConfig;
use grefel_ingest::split::SplitConfig;
use grefel_ingest::{NoProgress, PrepareSettings, prepare};
use grefel_pipeline::cell::TrainCellRunner;
use grefel_pipeline::execute::{CellFailure, CellRunner, run_plan};
use grefel_synth::{SynthConfig, generate};
use serde_json::json;

fn prepared(root: &Path) -> PathBuf {
    let raw = root.join("raw");
    let synth = SynthConfig { seed: 3, count: 160, image_size: 32, identities: 4, ..SynthConfig::default() };
    generate(&synth, &raw).expect("synth");
    let data = root.join("data");
    let settings = PrepareSettings {
        dataset: Some("synthetic".into()),
        adapter: "fergdb".into(),
        variant: None,
        root: raw,
        out: data.clone(),
        rows_per_shard: 64,
        image: ImageConfig::default(),
        split: SplitConfig::default(),
    };
    prepare(&settings.validate().expect("valid"), &NoProgress).expect("prepare");
    data
}

fn plan() -> SweepPlan {
    let base = json!({
        "dataset": "synthetic",
        "preset": "micro",
        "epochs": 1,
        "batch_size": 8,
        "eval_batch_size": 64,
        "noise": { "protocol": "symmetric", "rate": 0.0, "seed": 0 },
    });
    let axes = vec![
        Axis {
            name: "k".into(),
            key: "model.reliability.anchors_per_class".into(),
            values: vec![json!(2), json!(3)],
        },
        Axis { name: "noise".into(), key: "noise.rate".into(), values: vec![json!(0.0), json!(0.3)] },
        Axis { name: "seed".into(), key: "seed".into(), values: vec![json!(0)] },
    ];
    SweepPlan::new(&base, axes).expect("plan")
}

fn report_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let report = dir.join("report");
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(&report).expect("report dir") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("name").to_string_lossy().into_owned();
        out.insert(name, std::fs::read(&path).expect("read"));
    }
    out
}

/// Finishes at most `budget` cells, then fails the rest (an interrupted sweep).
struct Interrupted<'a> {
    inner: &'a TrainCellRunner<'static>,
    budget: usize,
    calls: AtomicUsize,
}

impl CellRunner for Interrupted<'_> {
    fn run(&self, cell: &Cell, dir: &Path, device: &str) -> Result<CellMetrics, CellFailure> {
        if self.calls.fetch_add(1, Ordering::SeqCst) >= self.budget {
            return Err("interrupted".into());
        }
        self.inner.run(cell, dir, device)
    }
}

#[test]
fn clean_and_resumed_sweeps_give_identical_reports() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = prepared(tmp.path());
    let runner = TrainCellRunner::new(&data);
    let devices = vec!["cpu".to_string()];
    let plan = plan();
    assert_eq!(plan.cells.len(), 4);

    let clean = tmp.path().join("clean");
    let s = run_plan(&plan, &clean, &devices, &runner).expect("clean sweep");
    assert_eq!((s.cells, s.already_done, s.ran, s.failed.len()), (4, 0, 4, 0), "{:?}", s.failed);
    let summary = grefel_report::render(&clean, &grefel_report::ReportConfig::PAPER).expect("report");
    assert_eq!(summary.cells_finished, 4);
    assert!(summary.missing.is_empty());
    let table = std::fs::read_to_string(&summary.table_csv).expect("table.csv");
    assert!(
        table.starts_with("k,noise=0,noise=0.3\n") || table.starts_with("k,noise=0.0,noise=0.3\n"),
        "{table}"
    );
    assert_eq!(table.lines().count(), 3, "{table}");

    // Noisy cells record how many labels flipped and the correction rate; clean cells do not.
    for cell in &plan.cells {
        let m = SweepPlan::finished(&clean, cell).expect("readable").expect("finished");
        assert_eq!(m.cell, cell.id);
        let rate = cell.coords["noise"].as_f64().expect("rate");
        if rate > 0.0 {
            assert!(m.flipped.is_some_and(|n| n > 0), "{m:?}");
            let r = m.correction_rate.expect("correction rate");
            assert!((0.0..=1.0).contains(&r));
        } else {
            assert_eq!(m.flipped, Some(0), "{m:?}");
            assert!(m.correction_rate.is_none(), "{m:?}");
        }
        let acc = m.test.primary.accuracy;
        assert!((0.0..=1.0).contains(&acc));
        assert_eq!(m.test.primary.reliability.len(), 15);
    }

    // An interrupted sweep: two cells finish, two fail; the report renders the gaps.
    let resumed = tmp.path().join("resumed");
    let interrupted = Interrupted { inner: &runner, budget: 2, calls: AtomicUsize::new(0) };
    let s = run_plan(&plan, &resumed, &devices, &interrupted).expect("interrupted sweep");
    assert_eq!((s.ran, s.failed.len()), (2, 2));
    let partial =
        grefel_report::render(&resumed, &grefel_report::ReportConfig::PAPER).expect("partial report");
    assert_eq!(partial.missing.len(), 2);

    // The rerun does only the unfinished cells, and the report equals the clean one byte for byte.
    let s = run_plan(&plan, &resumed, &devices, &runner).expect("resumed sweep");
    assert_eq!((s.already_done, s.ran, s.failed.len()), (2, 2, 0));
    grefel_report::render(&resumed, &grefel_report::ReportConfig::PAPER).expect("report");
    let (a, b) = (report_files(&clean), report_files(&resumed));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (name, bytes) in &a {
        assert!(bytes == &b[name], "{name} differs between the clean and the resumed sweep");
    }

    // Two CPU workers (each cell on a one-thread pool of its own) give the same report.
    assert!(runner.shares_device("cpu") && !runner.shares_device("cuda:0"));
    let parallel = tmp.path().join("parallel");
    let s = run_plan(&plan, &parallel, &["cpu".to_string(), "cpu".to_string()], &runner).expect("parallel");
    assert_eq!((s.ran, s.failed.len()), (4, 0), "{:?}", s.failed);
    grefel_report::render(&parallel, &grefel_report::ReportConfig::PAPER).expect("report");
    let c = report_files(&parallel);
    for (name, bytes) in &a {
        assert!(bytes == &c[name], "{name} differs between one and two CPU workers");
    }

    // A different plan in the same folder is refused.
    let mut other = plan.clone();
    other.cells.truncate(1);
    assert!(run_plan(&other, &clean, &devices, &runner).is_err());
}

/// A pipeline file's `[noise]` and `[sweep]` tables, run as `cargo xtask run` runs them: the
/// noise stage draws the base configuration's labels, the sweep's cells take their noise protocol
/// and seed from `[noise]` and their K and rate from the grid, the report is written under
/// `<runs>/sweeps/<pipeline name>-<plan id>/`, and a second run finds every cell done.
#[test]
fn a_pipeline_file_runs_its_noise_and_sweep_tables() {
    use grefel_pipeline::Pipeline;
    use grefel_pipeline::stages::{RunRequest, run_pipeline};

    let tmp = tempfile::tempdir().expect("tempdir");
    let data = prepared(tmp.path());
    let runs = tmp.path().join("runs");
    let path = tmp.path().join("grid.toml");
    std::fs::write(
        &path,
        "[noise]\nprotocol = \"class-dependent\"\nrate = 0.2\nseed = 5\n\n\
         [train]\ndataset = \"synthetic\"\npreset = \"micro\"\nepochs = 1\nbatch_size = 8\neval_batch_size = 64\n\n\
         [sweep]\nk = [2, 3]\nnoise = \"0.0,0.3\"\njobs = 1\nby = [\"subject\"]\n",
    )
    .expect("pipeline");
    let pipeline = Pipeline::load(&path, tmp.path()).expect("load");
    let request =
        RunRequest { path: path.clone(), runs: runs.clone(), default_data: data, device: "cpu".into() };
    let quiet = grefel_shards::progress::NoProgress;
    let lines = run_pipeline(&pipeline, &request, &quiet).expect("run");
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].starts_with("noise: class-dependent rate 0.2 seed 5"), "{}", lines[0]);
    assert!(lines[1].contains("4 cells = k 2,3 × noise 0.0,0.3 × seed 0"), "{}", lines[1]);
    assert!(lines[2].contains("(0 already done, 4 ran, 0 failed)"), "{}", lines[2]);

    let sweeps: Vec<PathBuf> =
        std::fs::read_dir(runs.join("sweeps")).expect("sweeps").flatten().map(|e| e.path()).collect();
    assert_eq!(sweeps.len(), 1, "{sweeps:?}");
    let dir = &sweeps[0];
    assert!(dir.file_name().is_some_and(|n| n.to_string_lossy().starts_with("grid-")), "{}", dir.display());
    let plan: SweepPlan = grefel_artifacts::read_json(&dir.join("plan.json")).expect("plan");
    for cell in &plan.cells {
        assert_eq!(cell.config["noise"]["protocol"], "class-dependent", "{}", cell.id);
        assert_eq!(cell.config["noise"]["seed"], 5, "{}", cell.id);
    }
    let table = std::fs::read_to_string(dir.join("report/table.csv")).expect("table");
    assert_eq!(table.lines().next(), Some("k,noise=0,noise=0.3"), "{table}");

    // `by = ["subject"]`: every cell evaluated by identity; its gap in `table_full.csv` and in
    // the gap table, equal to the cell's own evaluation.
    let full = std::fs::read_to_string(dir.join("report/table_full.csv")).expect("full");
    let gaps = std::fs::read_to_string(dir.join("report/gap_subject.csv")).expect("gap table");
    assert_eq!(gaps.lines().next(), Some("k,noise=0,noise=0.3"), "{gaps}");
    assert_eq!(gaps.lines().count(), 3, "{gaps}");
    for cell in &plan.cells {
        let record = CellMetrics::read(&dir.join("cells").join(&cell.id)).expect("record").expect("finished");
        let evaluation: grefel_artifacts::Evaluation = grefel_artifacts::read_json(
            &dir.join("cells")
                .join(&cell.id)
                .join(&record.run)
                .join("evaluation/synthetic-test/evaluation.json"),
        )
        .expect("the cell's evaluation");
        let subjects = &evaluation.groups["subject"];
        assert!(subjects.len() >= 2, "{subjects:?}");
        let (k, noise) = (&cell.coords["k"], cell.coords["noise"].as_f64().expect("rate"));
        let noise = if noise == 0.0 { "0".to_string() } else { noise.to_string() };
        let line = format!(
            "{k},{noise},accuracy_gap[subject],{:.4},0.0000,1",
            evaluation.gaps["subject"].accuracy_gap * 100.0
        );
        assert!(full.lines().any(|l| l == line), "{line} in\n{full}");
        for value in subjects.keys() {
            let prefix = format!("{k},{noise},accuracy[subject={value}],");
            assert!(full.lines().any(|l| l.starts_with(&prefix)), "{prefix} in\n{full}");
        }
        let row = gaps.lines().find(|l| l.starts_with(&format!("{k},"))).expect("gap row");
        let column = if noise == "0" { 1 } else { 2 };
        assert_eq!(
            row.split(',').nth(column),
            Some(format!("{:.2}", evaluation.gaps["subject"].accuracy_gap * 100.0).as_str()),
            "{row}"
        );
    }

    let again = run_pipeline(&pipeline, &request, &quiet).expect("rerun");
    assert!(again[2].contains("(4 already done, 0 ran, 0 failed)"), "{}", again[2]);
    assert_eq!(std::fs::read_to_string(dir.join("report/table.csv")).expect("table"), table);
    assert_eq!(std::fs::read_to_string(dir.join("report/table_full.csv")).expect("full"), full);
}
