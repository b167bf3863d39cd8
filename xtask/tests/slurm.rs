//! Sweeps on Slurm (`--executor slurm`), run by the command line against a real scheduler: the
//! single-node cluster `.ci/slurm.sh` starts (CI starts it before the tests). Without `sbatch`
//! the Slurm tests say they were skipped; under `CI` they fail instead.
//!
//! Each test draws a small synthetic dataset (160 faces of 32 px) through a pipeline file of its
//! own and sweeps the `micro` preset for one epoch per cell.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const XTASK: &str = env!("CARGO_BIN_EXE_xtask");

/// Whether a Slurm controller answers here; under `CI` it must.
fn slurm_up(test: &str) -> bool {
    let answers = Command::new("sinfo").args(["-h", "-o", "%T"]).output().is_ok_and(|o| o.status.success());
    if !answers {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: no Slurm controller answers (`sinfo`); CI must start one: bash .ci/slurm.sh start DIR"
        );
        eprintln!(
            "{test}: skipped: no Slurm here (start one with `bash .ci/slurm.sh start DIR`, then export SLURM_CONF)"
        );
    }
    answers
}

/// A pipeline file drawing and preparing a small synthetic dataset under `root`, with the sweep's
/// base training configuration and a `[slurm]` table (the array's throttle, an extra option).
fn pipeline(root: &Path) -> PathBuf {
    let r = root.display();
    let text = format!(
        "[synth]\nroot = \"{r}/raw\"\n\n[synth.generator]\nseed = 3\ncount = 160\nimage_size = 32\nidentities = 4\n\n\
         [prepare]\ndataset = \"synthetic\"\nadapter = \"fergdb\"\nroot = \"{r}/raw\"\nout = \"{r}/data\"\nrows_per_shard = 64\n\n\
         [train]\ndataset = \"synthetic\"\npreset = \"micro\"\nepochs = 1\nbatch_size = 8\neval_batch_size = 64\n\n\
         [slurm]\nmax_parallel = 2\nargs = [\"--comment=grefel-test\"]\n"
    );
    let path = root.join("grid.toml");
    std::fs::write(&path, text).expect("pipeline file");
    path
}

fn xtask(args: &[&str]) -> Output {
    Command::new(XTASK).args(args).env("GREFEL_LOG", "warn").output().expect("xtask runs")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// `sweep-anchors --k 4..5 --noise 0.1,0.3` with extra arguments, into `out`.
fn anchors(grid: &Path, out: &Path, extra: &[&str]) -> Output {
    let (g, o) = (grid.to_str().expect("utf-8"), out.to_str().expect("utf-8"));
    let mut args = vec!["sweep-anchors", "--k", "4..5", "--noise", "0.1,0.3", "--pipeline", g, "--out", o];
    args.extend_from_slice(extra);
    xtask(&args)
}

fn slurm_record(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("slurm.json")).expect("slurm.json");
    serde_json::from_str(&text).expect("slurm.json is JSON")
}

fn cell_ids(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("plan.json")).expect("plan.json");
    let plan: serde_json::Value = serde_json::from_str(&text).expect("plan");
    plan["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .map(|c| c["id"].as_str().expect("id").to_string())
        .collect()
}

/// A cell array gives the local sweep's table to the byte; a rerun submits only what is missing,
/// never a cell still queued; a refused submission changes nothing.
#[test]
fn a_slurm_sweep_gives_the_local_table_and_resubmits_only_missing_cells() {
    if !slurm_up("a_slurm_sweep_gives_the_local_table_and_resubmits_only_missing_cells") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let grid = pipeline(tmp.path());
    let local = tmp.path().join("local");
    let out = anchors(&grid, &local, &["--jobs", "1"]);
    assert!(out.status.success(), "{}", text(&out));
    let table = std::fs::read(local.join("report/table.csv")).expect("local table");

    let sweep = tmp.path().join("slurm");
    let out = anchors(&grid, &sweep, &["--executor", "slurm", "--wait"]);
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("submitted 4 cells as array job"), "{shown}");
    assert!(shown.contains("4 cells: 4 done, 0 running, 0 pending, 0 failed"), "{shown}");
    let last = String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or_default().to_string();
    assert_eq!(PathBuf::from(&last), sweep.join("report/table.csv"), "the last line is the table");
    assert_eq!(std::fs::read(sweep.join("report/table.csv")).expect("slurm table"), table, "byte-identical");

    let record = slurm_record(&sweep);
    let first = &record["submissions"][0];
    let job = first["array_job"].as_u64().expect("array job id");
    assert_eq!(first["cells"].as_object().map(|c| c.len()), Some(4), "{record}");
    let script =
        std::fs::read_to_string(sweep.join(first["script"].as_str().expect("script"))).expect("script");
    // The pipeline's [slurm] table.
    assert!(script.lines().any(|l| l == "#SBATCH --array=0,1,2,3%2"), "{script}");
    assert!(script.lines().any(|l| l == "#SBATCH --comment=grefel-test"), "{script}");
    let ids = cell_ids(&sweep);
    for (task, id) in ids.iter().enumerate() {
        let log = sweep.join("cells").join(id).join(format!("slurm-{job}_{task}.log"));
        let log = std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
        assert!(log.contains(&format!("sweep-cell {task} ({id}): finished")), "{log}");
    }

    // One cell lost: only it is submitted, and the table is the same bytes. The command line
    // overrides the pipeline's [slurm] table.
    std::fs::remove_dir_all(sweep.join("cells").join(&ids[2])).expect("remove a cell");
    let out = anchors(&grid, &sweep, &["--executor", "slurm", "--wait", "--slurm-max-parallel", "3"]);
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("submitted 1 cell as array job") && shown.contains("(3 already done)"), "{shown}");
    let record = slurm_record(&sweep);
    let second = &record["submissions"][1];
    assert_eq!(second["cells"], serde_json::json!({ "2": ids[2] }), "{record}");
    let script =
        std::fs::read_to_string(sweep.join(second["script"].as_str().expect("script"))).expect("script");
    assert!(script.lines().any(|l| l == "#SBATCH --array=2%3"), "{script}");
    assert_eq!(std::fs::read(sweep.join("report/table.csv")).expect("table"), table, "byte-identical");

    // A refused submission (no such partition): the scheduler's message, exit non-zero, nothing
    // recorded, the finished cells as they were.
    std::fs::remove_dir_all(sweep.join("cells").join(&ids[1])).expect("remove a cell");
    let before = std::fs::read(sweep.join("cells").join(&ids[0]).join("cell.json")).expect("record");
    let out = anchors(&grid, &sweep, &["--executor", "slurm", "--slurm-partition", "nosuch"]);
    assert!(!out.status.success());
    let shown = text(&out);
    assert!(shown.contains("sbatch --parsable") && shown.contains("nosuch"), "{shown}");
    assert_eq!(slurm_record(&sweep)["submissions"].as_array().map(Vec::len), Some(2));
    assert_eq!(std::fs::read(sweep.join("cells").join(&ids[0]).join("cell.json")).expect("record"), before);

    // Held jobs stay queued: a rerun submits nothing twice; released, they finish the table.
    let held = tmp.path().join("held");
    let out = anchors(&grid, &held, &["--executor", "slurm", "--slurm-arg=--hold"]);
    let shown = text(&out);
    assert!(out.status.success() && shown.contains("submitted 4 cells"), "{shown}");
    let out = anchors(&grid, &held, &["--executor", "slurm"]);
    let shown = text(&out);
    assert!(
        shown.contains("nothing to submit: 0 of 4 cells already done, 4 still queued or running"),
        "{shown}"
    );
    let status = xtask(&["sweep-status", held.to_str().expect("utf-8")]);
    let shown = text(&status);
    assert_eq!(shown.lines().filter(|l| l.contains("pending") && l.contains(" job ")).count(), 4, "{shown}");
    let record = slurm_record(&held);
    assert_eq!(record["submissions"].as_array().map(Vec::len), Some(1), "{record}");
    let jobs =
        ["array_job", "report_job"].map(|k| record["submissions"][0][k].as_u64().expect("id").to_string());
    let release = Command::new("scontrol").args(["release", &jobs.join(",")]).output().expect("scontrol");
    assert!(release.status.success(), "{}", text(&release));
    let out = anchors(&grid, &held, &["--executor", "slurm", "--wait"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(std::fs::read(held.join("report/table.csv")).expect("table"), table, "byte-identical");
}

/// A cell that fails (a learning rate that makes the loss non-finite) is reported by
/// `sweep-status` with its error and log; the report job still tables the other cell, and the
/// command exits non-zero.
#[test]
fn a_failing_cell_is_reported_with_its_log_and_the_others_are_tabled() {
    if !slurm_up("a_failing_cell_is_reported_with_its_log_and_the_others_are_tabled") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let grid = pipeline(tmp.path());
    let sweep = tmp.path().join("sweep");
    let (g, o) = (grid.to_str().expect("utf-8"), sweep.to_str().expect("utf-8"));
    let args = ["sweep", "--axis", "lr=optimizer.lr=0.001,1e30", "--pipeline", g, "--out", o];
    let out = xtask(&[&args[..], &["--executor", "slurm", "--wait"]].concat());
    let shown = text(&out);
    assert!(!out.status.success(), "{shown}");
    assert!(shown.contains("1 of 2 cells failed"), "{shown}");
    let table = std::fs::read_to_string(sweep.join("report/table.csv")).expect("the report job's table");
    let row = table.lines().find(|l| l.starts_with("0.001,")).expect("the good cell's row");
    assert!(row.split(',').nth(1).is_some_and(|v| v.parse::<f64>().is_ok()), "{table}");

    let status = xtask(&["sweep-status", o]);
    assert!(status.status.success());
    let shown = text(&status);
    let failed = shown.lines().find(|l| l.contains(" failed ")).unwrap_or_else(|| panic!("{shown}"));
    assert!(failed.contains("lr=1e+30") && failed.contains("non-finite loss"), "{shown}");
    assert!(shown.lines().any(|l| l.starts_with("      | ") && l.contains("Error: cell 1")), "{shown}");
    assert!(shown.contains("2 cells: 1 done, 0 running, 0 pending, 1 failed"), "{shown}");
}

/// Without `sbatch` on PATH: the message names it, exit non-zero, and no sweep folder is written.
#[test]
fn without_sbatch_a_slurm_sweep_writes_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let grid = pipeline(tmp.path());
    let sweep = tmp.path().join("sweep");
    let (g, o) = (grid.to_str().expect("utf-8"), sweep.to_str().expect("utf-8"));
    let out = Command::new(XTASK)
        .args([
            "sweep-anchors",
            "--k",
            "4..5",
            "--noise",
            "0.1",
            "--pipeline",
            g,
            "--out",
            o,
            "--executor",
            "slurm",
        ])
        .env("PATH", tmp.path().join("no-such-bin"))
        .env("GREFEL_LOG", "warn")
        .output()
        .expect("xtask runs");
    assert!(!out.status.success());
    assert!(text(&out).contains("`sbatch` was not found on PATH"), "{}", text(&out));
    assert!(!sweep.exists(), "no sweep folder");

    let out = xtask(&["sweep-anchors", "--k", "4", "--noise", "0.1", "--pipeline", g, "--out", o, "--wait"]);
    assert!(!out.status.success() && text(&out).contains("need --executor slurm"), "{}", text(&out));
    let out = xtask(&["sweep-status", o]);
    assert!(!out.status.success() && text(&out).contains("not a sweep folder"), "{}", text(&out));
}

/// `sweep-status` of a local sweep: the finished cell, the failed one with its error (its
/// `error.txt`), and a cell interrupted before its record.
#[test]
fn a_local_sweep_has_a_status_too() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let grid = pipeline(tmp.path());
    let sweep = tmp.path().join("sweep");
    let (g, o) = (grid.to_str().expect("utf-8"), sweep.to_str().expect("utf-8"));
    let out =
        xtask(&["sweep", "--axis", "lr=optimizer.lr=0.001,1e30", "--pipeline", g, "--out", o, "--jobs", "1"]);
    assert!(!out.status.success() && text(&out).contains("1 of 2 cells failed"), "{}", text(&out));
    let ids = cell_ids(&sweep);
    let error =
        std::fs::read_to_string(sweep.join("cells").join(&ids[1]).join("error.txt")).expect("error.txt");
    assert!(error.contains("non-finite loss"), "{error}");

    let status = xtask(&["sweep-status", o]);
    let shown = text(&status);
    assert!(status.status.success(), "{shown}");
    let line = |prefix: &str| line_of(&shown, prefix);
    assert!(line("0 ").contains("done") && line("0 ").contains("test acc"), "{shown}");
    assert!(line("1 ").contains("failed") && line("1 ").contains("non-finite loss"), "{shown}");
    assert!(shown.contains("2 cells: 1 done, 0 running, 0 pending, 1 failed, 0 not run"), "{shown}");

    // A cell whose record is gone but whose run folder remains: interrupted (a rerun resumes it).
    std::fs::remove_file(sweep.join("cells").join(&ids[0]).join("cell.json")).expect("remove the record");
    let shown = text(&xtask(&["sweep-status", o]));
    assert!(line_of(&shown, "0 ").contains("interrupted"), "{shown}");
}

fn line_of(text: &str, prefix: &str) -> String {
    text.lines().find(|l| l.trim_start().starts_with(prefix)).unwrap_or_default().to_string()
}
