//! End-to-end tests of `grefel_report::render` on sweeps generated into a temporary directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use grefel_report::{FIGURE_HEIGHT, FIGURE_WIDTH, Metric, ReportConfig, ReportError, render};
use serde_json::{Value, json};

const CLASSES: [&str; 7] = ["neutral", "happy", "sad", "surprise", "fear", "disgust", "anger"];

/// Test accuracy of (k, noise, seed) in the fixture grid. Means by hand (percent):
/// k=4: 81.00 ± 1.41 | 70.00 ± 0.00; k=5: 86.00 ± 1.41 | 76.00 ± 2.83;
/// k=6: 83.50 ± 0.71 | 76.50 ± 0.71. Best per column: k=5 (noise 0.1), k=6 (noise 0.3).
fn accuracy(k: u64, noise: f64, seed: u64) -> f64 {
    let pair = match (k, noise == 0.1) {
        (4, true) => [0.80, 0.82],
        (4, false) => [0.70, 0.70],
        (5, true) => [0.85, 0.87],
        (5, false) => [0.74, 0.78],
        (6, true) => [0.84, 0.83],
        _ => [0.77, 0.76],
    };
    pair[seed as usize]
}

fn split_metrics(acc: f64, ece: f64, shift: u64) -> Value {
    let counts: Vec<Vec<u64>> = (0..7u64)
        .map(|t| {
            (0..7u64)
                .map(|p| {
                    if p == t {
                        8 + t + shift
                    } else if p == (t + 1) % 7 {
                        2
                    } else {
                        0
                    }
                })
                .collect()
        })
        .collect();
    let reliability: Vec<Value> = (0..15u64)
        .map(|b| {
            if b < 5 {
                json!({"count": 0, "correct": 0, "confidence": 0.0})
            } else {
                let mid = (b as f64 + 0.5) / 15.0;
                json!({"count": 10, "correct": (b - 3).min(10), "confidence": 10.0 * mid})
            }
        })
        .collect();
    json!({
        "samples": 615, "accuracy": acc, "mean_class_accuracy": acc - 0.05, "macro_f1": acc - 0.06,
        "nll": 0.6, "ece": ece, "confusion": {"counts": counts}, "reliability": reliability,
        "extra_field_to_ignore": [1, 2, 3]
    })
}

fn metrics(id: &str, coords: &Value, acc: f64, seed: u64, correction_rate: Option<f64>) -> Value {
    let ece = 0.05 + 0.01 * seed as f64;
    json!({
        "cell": id, "coords": coords, "classes": CLASSES,
        "test": {"primary": split_metrics(acc, ece, seed), "corrected": split_metrics(acc, ece, seed)},
        "val": {"primary": split_metrics(acc, ece, seed), "corrected": split_metrics(acc, ece, seed)},
        "run": "0123456789abcdef", "best_epoch": 1, "correction_rate": correction_rate,
        "correction_rate_corrected": correction_rate, "flipped": correction_rate.map(|_| 12),
        "noise_realised_rate": correction_rate.map(|_| 0.1), "seconds": 31.5
    })
}

fn write_json(path: &Path, value: &Value) {
    std::fs::create_dir_all(path.parent().expect("fixture paths have a parent")).expect("create dirs");
    std::fs::write(path, serde_json::to_string_pretty(value).expect("serialise")).expect("write fixture");
}

fn metrics_path(dir: &Path, id: &str) -> PathBuf {
    dir.join("cells").join(id).join(grefel_report::CELL_METRICS)
}

/// k = 4, 5, 6 x noise = 0.1, 0.3 x seed = 0, 1, every cell finished. Returns the cell ids in
/// plan order (k-major, then noise, then seed).
fn grid_fixture(dir: &Path) -> Vec<String> {
    let mut cells = Vec::new();
    let mut ids = Vec::new();
    for k in [4u64, 5, 6] {
        for noise in [0.1, 0.3] {
            for seed in [0u64, 1] {
                let id = format!("{:064x}", 0xabc0 + ids.len());
                let coords = json!({"k": k, "noise": noise, "seed": seed});
                let rate = 0.6 + 0.1 * seed as f64;
                write_json(
                    &metrics_path(dir, &id),
                    &metrics(&id, &coords, accuracy(k, noise, seed), seed, Some(rate)),
                );
                cells.push(json!({"id": id, "coords": coords, "config": {"noise": noise, "seed": seed}}));
                ids.push(id);
            }
        }
    }
    let plan = json!({
        "axes": [
            {"name": "k", "key": "model.reliability.anchors_per_class", "values": [4, 5, 6]},
            {"name": "noise", "key": "noise", "values": [0.1, 0.3]},
            {"name": "seed", "key": "seed", "values": [0, 1]}
        ],
        "cells": cells
    });
    write_json(&dir.join("plan.json"), &plan);
    ids
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join("report").join(name)).expect("report file exists")
}

fn all_report_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir.join("report"))
        .expect("report dir")
        .map(|e| {
            let e = e.expect("dir entry");
            (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).expect("read"))
        })
        .collect()
}

#[test]
fn table_csv_is_exact() {
    let tmp = tempfile::tempdir().expect("tempdir");
    grid_fixture(tmp.path());
    let summary = render(tmp.path(), &ReportConfig::PAPER).expect("render");
    assert_eq!(summary.table_csv, tmp.path().join("report/table.csv"));
    assert_eq!(
        read(tmp.path(), "table.csv"),
        "k,noise=0.1,noise=0.3\n4,81.00,70.00\n5,86.00,76.00\n6,83.50,76.50\n"
    );
}

#[test]
fn full_table_has_hand_computed_mean_and_sample_std() {
    let tmp = tempfile::tempdir().expect("tempdir");
    grid_fixture(tmp.path());
    let summary = render(tmp.path(), &ReportConfig::PAPER).expect("render");
    let full = read(tmp.path(), "table_full.csv");
    let lines: Vec<&str> = full.lines().collect();
    assert_eq!(lines[0], "k,noise,metric,mean,std,n");
    // 6 grid points x 5 metrics.
    assert_eq!(lines.len(), 1 + 6 * 5);
    assert_eq!(
        &lines[1..6],
        [
            "4,0.1,accuracy,81.0000,1.4142,2",
            "4,0.1,mean_class_accuracy,76.0000,1.4142,2",
            "4,0.1,macro_f1,75.0000,1.4142,2",
            "4,0.1,ece,5.5000,0.7071,2",
            "4,0.1,correction_rate,65.0000,7.0711,2",
        ]
    );
    assert!(full.contains("\n5,0.3,accuracy,76.0000,2.8284,2\n"), "{full}");
    assert!(full.contains("\n4,0.3,accuracy,70.0000,0.0000,2\n"), "{full}");

    let stat = summary.table.entries[1][1].get(Metric::Accuracy).expect("k=5 noise=0.3");
    assert!((stat.mean - 76.0).abs() < 1e-9);
    assert!((stat.std - 8f64.sqrt()).abs() < 1e-9);
    assert_eq!(stat.n, 2);
    assert_eq!(summary.table.rows, ["4", "5", "6"]);
    assert_eq!(summary.table.columns, ["noise=0.1", "noise=0.3"]);
}

#[test]
fn markdown_bolds_the_best_entry_of_each_column() {
    let tmp = tempfile::tempdir().expect("tempdir");
    grid_fixture(tmp.path());
    let summary = render(tmp.path(), &ReportConfig::PAPER).expect("render");
    let expected = "\
| k | noise=0.1 | noise=0.3 |
| --- | ---: | ---: |
| 4 | 81.00 ± 1.41 | 70.00 ± 0.00 |
| 5 | **86.00 ± 1.41** | 76.00 ± 2.83 |
| 6 | 83.50 ± 0.71 | **76.50 ± 0.71** |
| mean | 83.50 | 74.17 |
";
    assert_eq!(read(tmp.path(), "table.md"), expected);
    assert_eq!(summary.table.to_markdown(), expected);
}

#[test]
fn latex_is_a_booktabs_tabular() {
    let tmp = tempfile::tempdir().expect("tempdir");
    grid_fixture(tmp.path());
    render(tmp.path(), &ReportConfig::PAPER).expect("render");
    let expected = "\
\\begin{tabular}{lrr}
\\toprule
k & noise=0.1 & noise=0.3 \\\\
\\midrule
4 & 81.00 $\\pm$ 1.41 & 70.00 $\\pm$ 0.00 \\\\
5 & \\textbf{86.00 $\\pm$ 1.41} & 76.00 $\\pm$ 2.83 \\\\
6 & 83.50 $\\pm$ 0.71 & \\textbf{76.50 $\\pm$ 0.71} \\\\
\\midrule
mean & 83.50 & 74.17 \\\\
\\bottomrule
\\end{tabular}
";
    assert_eq!(read(tmp.path(), "table.tex"), expected);
}

#[test]
fn rendering_twice_and_elsewhere_gives_identical_bytes() {
    let first = tempfile::tempdir().expect("tempdir");
    grid_fixture(first.path());
    let summary = render(first.path(), &ReportConfig::PAPER).expect("first render");
    let before = all_report_files(first.path());
    let names: Vec<&str> = before.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "accuracy_vs_k.png",
            "accuracy_vs_k.svg",
            "confusion_best.png",
            "confusion_best.svg",
            "reliability_best.png",
            "reliability_best.svg",
            "table.csv",
            "table.md",
            "table.tex",
            "table_full.csv",
        ],
        "no .tmp file is left behind"
    );
    assert_eq!(summary.files.len(), 10);

    render(first.path(), &ReportConfig::PAPER).expect("second render");
    assert_eq!(all_report_files(first.path()), before);

    let second = tempfile::tempdir().expect("tempdir");
    grid_fixture(second.path());
    render(second.path(), &ReportConfig::PAPER).expect("render elsewhere");
    assert_eq!(all_report_files(second.path()), before);
}

#[test]
fn figures_decode_with_the_documented_size() {
    let tmp = tempfile::tempdir().expect("tempdir");
    grid_fixture(tmp.path());
    render(tmp.path(), &ReportConfig::PAPER).expect("render");
    for name in ["accuracy_vs_k", "confusion_best", "reliability_best"] {
        let path = tmp.path().join("report").join(format!("{name}.png"));
        let image = image::open(&path).expect("PNG decodes").to_rgb8();
        assert_eq!(image.dimensions(), (FIGURE_WIDTH, FIGURE_HEIGHT), "{name}");
        let inked = image.pixels().filter(|p| p.0 != [255, 255, 255]).count();
        assert!(inked > 5_000, "{name}: only {inked} non-white pixels");
        let svg = read(tmp.path(), &format!("{name}.svg"));
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"960\" height=\"720\""));
        assert!(svg.ends_with("</svg>\n"));
    }
    let confusion = read(tmp.path(), "confusion_best.svg");
    for class in CLASSES {
        assert!(confusion.contains(&format!(">{class}</text>")), "{class} missing from the confusion axes");
    }
    // Best grid point: k=5, noise=0.1, pooled over both seeds; "neutral" row of seed 0 is
    // [8, 2, 0, ...] and of seed 1 [9, 2, 0, ...]: 17 / 21 = 0.81.
    assert!(confusion.contains("k=5 noise=0.1 (2 seeds, row-normalised)"), "{confusion}");
    assert!(confusion.contains(">0.81</text>"));
    let reliability = read(tmp.path(), "reliability_best.svg");
    assert!(reliability.contains("reliability, k=5 noise=0.1: ECE "), "{reliability}");
    let legend = read(tmp.path(), "accuracy_vs_k.svg");
    assert!(legend.contains(">noise=0.1</text>") && legend.contains(">noise=0.3</text>"));
}

#[test]
fn summary_names_the_best_grid_point_in_one_line() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ids = grid_fixture(tmp.path());
    let summary = render(tmp.path(), &ReportConfig::PAPER).expect("render");
    assert_eq!(summary.best.row, "5");
    assert_eq!(summary.best.column.as_deref(), Some("noise=0.1"));
    assert_eq!(summary.best.cells, [ids[4].clone(), ids[5].clone()]);
    assert!((summary.best.accuracy.mean - 86.0).abs() < 1e-9);
    assert_eq!((summary.cells_planned, summary.cells_finished), (12, 12));
    assert!(summary.missing.is_empty());
    let line = summary.to_string();
    assert!(!line.contains('\n'));
    assert!(
        line.starts_with(
            "report: 12/12 cells finished (0 missing) on unrecorded, best k=5 noise=0.1 at 86.00% over 2 seeds"
        ),
        "{line}"
    );
}

#[test]
fn missing_cells_are_reported_and_left_as_gaps() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ids = grid_fixture(tmp.path());
    // Both seeds of k=6 noise=0.3 and seed 1 of k=4 noise=0.1 have not finished.
    for id in [&ids[10], &ids[11], &ids[1]] {
        std::fs::remove_file(metrics_path(tmp.path(), id)).expect("remove metrics");
    }
    let summary = render(tmp.path(), &ReportConfig::PAPER).expect("render with gaps");
    assert_eq!(summary.missing, [ids[1].clone(), ids[10].clone(), ids[11].clone()]);
    assert_eq!((summary.cells_finished, summary.cells_planned), (9, 12));
    assert!(summary.to_string().contains("9/12 cells finished (3 missing)"));

    assert_eq!(
        read(tmp.path(), "table.csv"),
        "k,noise=0.1,noise=0.3\n4,80.00,70.00\n5,86.00,76.00\n6,83.50,\n"
    );
    let md = read(tmp.path(), "table.md");
    assert!(md.contains("| 4 | 80.00 | 70.00 ± 0.00 |"), "one seed prints the mean alone: {md}");
    assert!(md.contains("| 6 | 83.50 ± 0.71 | — |"), "{md}");
    assert!(md.contains("| 5 | **86.00 ± 1.41** | **76.00 ± 2.83** |"), "{md}");
    assert!(read(tmp.path(), "table.tex").contains("6 & 83.50 $\\pm$ 0.71 & --- \\\\\n"));
    let full = read(tmp.path(), "table_full.csv");
    assert!(full.contains("\n4,0.1,accuracy,80.0000,0.0000,1\n"), "{full}");
    assert!(!full.contains("\n6,0.3,"), "{full}");
    assert!(summary.table.accuracy(2, 1).is_none());
}

#[test]
fn ties_go_to_the_first_grid_point_in_plan_order() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ids = grid_fixture(tmp.path());
    // Make k=4 noise=0.3 (plan positions 2, 3) score 86.00 too: it comes before k=5 noise=0.1.
    for (i, seed) in [(2usize, 0u64), (3, 1)] {
        let coords = json!({"k": 4, "noise": 0.3, "seed": seed});
        let acc = [0.85, 0.87][seed as usize];
        write_json(&metrics_path(tmp.path(), &ids[i]), &metrics(&ids[i], &coords, acc, seed, Some(0.5)));
    }
    let summary = render(tmp.path(), &ReportConfig::PAPER).expect("render");
    assert_eq!((summary.best.row.as_str(), summary.best.column.as_deref()), ("4", Some("noise=0.3")));
}

#[test]
fn a_single_non_seed_axis_gives_one_accuracy_column() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut cells = Vec::new();
    for (i, eps) in [0.05, 0.1].into_iter().enumerate() {
        let id = format!("cell-{i}");
        let coords = json!({"eps": eps});
        write_json(&metrics_path(tmp.path(), &id), &metrics(&id, &coords, 0.5 + eps, 0, None));
        cells.push(json!({"id": id, "coords": coords, "config": {}}));
    }
    write_json(
        &tmp.path().join("plan.json"),
        &json!({"axes": [{"name": "eps", "key": "eps", "values": [0.05, 0.1]}], "cells": cells}),
    );
    let summary = render(tmp.path(), &ReportConfig::PAPER).expect("render");
    assert_eq!(read(tmp.path(), "table.csv"), "eps,accuracy\n0.05,55.00\n0.1,60.00\n");
    let full = read(tmp.path(), "table_full.csv");
    assert!(full.starts_with("eps,metric,mean,std,n\n0.05,accuracy,55.0000,0.0000,1\n"), "{full}");
    assert!(!full.contains("correction_rate"), "clean cells have no correction rate: {full}");
    assert_eq!(summary.best.column, None);
    assert!(summary.to_string().contains("best eps=0.1 at 60.00% over 1 seed,"), "{summary}");
}

#[test]
fn malformed_metrics_json_is_an_error_naming_the_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ids = grid_fixture(tmp.path());
    let path = metrics_path(tmp.path(), &ids[3]);
    std::fs::write(&path, "{\"cell\": ").expect("corrupt metrics");
    let err = render(tmp.path(), &ReportConfig::PAPER).expect_err("corrupt metrics must fail");
    assert!(matches!(&err, ReportError::Json { path: p, .. } if *p == path), "{err:?}");
    assert!(err.to_string().contains(&path.display().to_string()), "{err}");
}

#[test]
fn metrics_in_percent_or_of_another_cell_are_rejected() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ids = grid_fixture(tmp.path());
    let path = metrics_path(tmp.path(), &ids[0]);
    let coords = json!({"k": 4, "noise": 0.1, "seed": 0});
    write_json(&path, &metrics(&ids[0], &coords, 81.0, 0, None));
    let err = render(tmp.path(), &ReportConfig::PAPER).expect_err("percent accuracy must fail");
    let text = err.to_string();
    assert!(
        text.contains(&path.display().to_string()) && text.contains("test.primary.accuracy = 81"),
        "{text}"
    );

    write_json(&path, &metrics(&ids[1], &coords, 0.8, 0, None));
    let err = render(tmp.path(), &ReportConfig::PAPER).expect_err("foreign metrics must fail");
    assert!(matches!(&err, ReportError::Metrics { path: p, .. } if *p == path), "{err:?}");
}

#[test]
fn malformed_plans_are_errors_naming_the_plan() {
    let tmp = tempfile::tempdir().expect("tempdir");
    grid_fixture(tmp.path());
    let plan = tmp.path().join("plan.json");

    std::fs::write(&plan, "[1, 2").expect("corrupt plan");
    let err = render(tmp.path(), &ReportConfig::PAPER).expect_err("corrupt plan must fail");
    assert!(matches!(&err, ReportError::Json { path, .. } if *path == plan), "{err:?}");
    assert!(err.to_string().contains("plan.json"), "{err}");

    let three_axes = json!({
        "axes": [
            {"name": "k", "key": "k", "values": [4]}, {"name": "noise", "key": "noise", "values": [0.1]},
            {"name": "lr", "key": "lr", "values": [0.001]}, {"name": "seed", "key": "seed", "values": [0]}
        ],
        "cells": []
    });
    write_json(&plan, &three_axes);
    let err = render(tmp.path(), &ReportConfig::PAPER).expect_err("three axes must fail");
    assert!(matches!(&err, ReportError::Plan { path, .. } if *path == plan), "{err:?}");
    assert!(err.to_string().contains("3 non-seed axes (k, noise, lr)"), "{err}");

    let off_grid = json!({
        "axes": [{"name": "k", "key": "k", "values": [4, 5]}],
        "cells": [{"id": "a", "coords": {"k": 7}, "config": {}}]
    });
    write_json(&plan, &off_grid);
    let err = render(tmp.path(), &ReportConfig::PAPER).expect_err("off-grid cell must fail");
    assert!(err.to_string().contains("cell `a` has k = 7, which is not a value of that axis"), "{err}");

    let escaping_id = json!({
        "axes": [{"name": "k", "key": "k", "values": [4]}],
        "cells": [{"id": "../x", "coords": {"k": 4}, "config": {}}]
    });
    write_json(&plan, &escaping_id);
    let err = render(tmp.path(), &ReportConfig::PAPER).expect_err("path-like id must fail");
    assert!(matches!(err, ReportError::Plan { .. }), "{err:?}");

    std::fs::remove_file(&plan).expect("remove plan");
    let err = render(tmp.path(), &ReportConfig::PAPER).expect_err("missing plan must fail");
    assert!(matches!(&err, ReportError::Read { path, .. } if *path == plan), "{err:?}");
}

#[test]
fn a_sweep_without_finished_cells_is_an_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ids = grid_fixture(tmp.path());
    for id in &ids {
        std::fs::remove_file(metrics_path(tmp.path(), id)).expect("remove metrics");
    }
    let err = render(tmp.path(), &ReportConfig::PAPER).expect_err("nothing finished");
    assert!(matches!(err, ReportError::NothingFinished { planned: 12, .. }), "{err:?}");
    assert!(!tmp.path().join("report").exists());
}

/// The summary names the backend and precision of the cells; cells of different arithmetic are
/// said in the summary and in the first line of `table.md`, and the other tables do not change.
#[test]
fn backends_are_stated_and_mixtures_flagged() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ids = grid_fixture(tmp.path());
    let summary = render(tmp.path(), &ReportConfig::PAPER).expect("render");
    assert_eq!(summary.arithmetic, [("unrecorded".to_string(), 12)]);
    let csv = read(tmp.path(), "table.csv");
    let mark = |id: &str, backend: &str| {
        let path = metrics_path(tmp.path(), id);
        let mut m: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        m["backend"] = json!(backend);
        m["precision"] = json!("fp32");
        write_json(&path, &m);
    };
    for id in &ids {
        mark(id, "cpu");
    }
    let summary = render(tmp.path(), &ReportConfig::PAPER).expect("render");
    assert!(summary.to_string().contains("finished (0 missing) on cpu fp32,"), "{summary}");
    assert!(!read(tmp.path(), "table.md").starts_with('>'));
    mark(&ids[3], "cuda");
    let summary = render(tmp.path(), &ReportConfig::PAPER).expect("render");
    assert_eq!(summary.arithmetic, [("cpu fp32".to_string(), 11), ("cuda fp32".to_string(), 1)]);
    assert!(summary.to_string().contains("DIFFERENT backends (cpu fp32: 11, cuda fp32: 1)"), "{summary}");
    let md = read(tmp.path(), "table.md");
    assert!(md.starts_with("> The cells ran on different backends"), "{md}");
    assert_eq!(read(tmp.path(), "table.csv"), csv, "the numbers' table is the same");
}
