//! `evaluate` on a real layout and against an independent implementation.
//!
//! 1. A RAF-DB fixture tree whose manual annotations cover every image goes through a pipeline
//!    file with `[prepare]`, `[landmarks]`, `[train]` and `[evaluate]` (by gender, race and age
//!    group), as `cargo xtask run` runs it. The group sample counts must equal those of the tree
//!    (read from the fixture's annotation table here), the sample-weighted mean of the group
//!    accuracies must equal the overall accuracy, and a rerun must write the same bytes. Refused
//!    requests (an unknown column, a column the dataset lacks, an unknown split) say why.
//! 2. The overall, per-class and per-group metrics of `analyse` agree with scikit-learn's (and
//!    numpy's NLL and ECE) on the same predictions to 1e-9, through `GREFEL_PYTHON`.
//!
//! Both need something installed (the landmark models; scikit-learn): without it they say they
//! were skipped, and under `CI` they fail.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use grefel_artifacts::files::{EVALUATION, RUN_METRICS};
use grefel_artifacts::{Evaluation, read_json};
use grefel_ingest::fixtures::{RAFDB_ATTRIBUTES, rafdb_attributed};
use grefel_landmarks::models::{default_dlib68_path, default_rustface_path};
use grefel_pipeline::stages::{RunRequest, run_pipeline};
use grefel_pipeline::{EvaluateRequest, Pipeline, evaluate_run};
use grefel_report::{AnalysisInput, BootstrapOptions, analyse};
use grefel_schema::SeedRng;
use grefel_train::RunOptions;
use grefel_train::saved::{EvalSplit, SavedRun};

fn skip_or_fail(test: &str, why: &str) {
    assert!(std::env::var_os("CI").is_none(), "{test}: {why}; CI must provide it");
    eprintln!("{test}: skipped: {why}");
}

fn close(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() <= 1e-9, "{what}: {a} vs {b}");
}

const GENDER: [&str; 3] = ["male", "female", "unsure"];
const RACE: [&str; 3] = ["caucasian", "african-american", "asian"];
const AGE: [&str; 5] = ["0-3", "4-19", "20-39", "40-69", "70+"];

/// `column -> value -> samples` of the fixture's annotations for the given sample ids.
fn expected_groups(ids: &[String]) -> BTreeMap<String, BTreeMap<String, u64>> {
    let mut out: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for id in ids {
        let name = id.rsplit(':').next().unwrap_or(id);
        let (_, [g, r, a]) = RAFDB_ATTRIBUTES
            .iter()
            .find(|(stem, _)| name.starts_with(stem))
            .unwrap_or_else(|| panic!("sample {id} has no annotation in the fixture"));
        for (column, value) in
            [("gender", GENDER[*g as usize]), ("race", RACE[*r as usize]), ("age_group", AGE[*a as usize])]
        {
            *out.entry(column.into()).or_default().entry(value.into()).or_default() += 1;
        }
    }
    out
}

fn check_groups(e: &Evaluation, ids: &[String]) {
    let expected = expected_groups(ids);
    for (column, groups) in &e.groups {
        let counts: BTreeMap<String, u64> = groups.iter().map(|(v, g)| (v.clone(), g.samples)).collect();
        assert_eq!(&counts, &expected[column], "{column}: group sizes against the tree");
        let n: u64 = groups.values().map(|g| g.samples).sum();
        assert_eq!(n, e.overall.metrics.samples, "{column}: every sample in one group");
        let weighted: f64 = groups.values().map(|g| g.accuracy * g.samples as f64).sum::<f64>() / n as f64;
        close(weighted, e.overall.metrics.accuracy, "weighted mean of the group accuracies");
    }
    assert_eq!(e.groups.keys().collect::<Vec<_>>(), ["age_group", "gender", "race"]);
}

fn find_run(runs: &Path) -> PathBuf {
    let mut found = Vec::new();
    let mut stack = vec![runs.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("runs").flatten() {
            let p = entry.path();
            if p.join(RUN_METRICS).is_file() {
                found.push(p);
            } else if p.is_dir() {
                stack.push(p);
            }
        }
    }
    assert_eq!(found.len(), 1, "{found:?}");
    found.remove(0)
}

#[test]
fn rafdb_groups_match_the_tree_and_rerun_identically() {
    let test = "rafdb_groups_match_the_tree_and_rerun_identically";
    if !(default_dlib68_path().is_file() && default_rustface_path().is_file()) {
        return skip_or_fail(test, "the landmark models are absent (`cargo xtask setup-landmarks`)");
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("RAF-DB/basic");
    rafdb_attributed(&root).expect("fixture");
    let (data, runs) = (tmp.path().join("data"), tmp.path().join("runs"));
    let path = tmp.path().join("rafdb.toml");
    let text = format!(
        "[prepare]\nadapter = \"rafdb\"\nroot = {:?}\nout = {:?}\n\n[landmarks]\n\n[train]\ndataset = \"rafdb\"\npreset = \"tiny\"\nepochs = 1\nbatch_size = 2\n\n[evaluate]\nby = [\"gender\", \"race\", \"age_group\"]\nresamples = 200\n",
        root.display().to_string(),
        data.display().to_string()
    );
    std::fs::write(&path, text).expect("pipeline");
    let pipeline = Pipeline::load(&path, tmp.path()).expect("pipeline file");
    let request = RunRequest {
        path: path.clone(),
        runs: runs.clone(),
        default_data: data.clone(),
        device: "cpu".into(),
    };
    let lines = run_pipeline(&pipeline, &request, &grefel_shards::progress::NoProgress).expect("run");
    assert!(lines.last().is_some_and(|l| l.contains(EVALUATION)), "{lines:?}");

    let run = find_run(&runs);
    let json = run.join("evaluation/rafdb-test").join(EVALUATION);
    let first = std::fs::read(&json).expect("evaluation.json");
    let e: Evaluation = read_json(&json).expect("evaluation");
    assert_eq!((e.dataset.as_str(), e.split.as_str(), e.bootstrap.resamples), ("rafdb", "test", 200));
    let saved = SavedRun::open(&run).expect("saved run");
    let test_ids = saved
        .predict_split(&data, None, EvalSplit::Test, &RunOptions::default())
        .expect("predict")
        .predictions
        .sample_id;
    assert_eq!(test_ids.len(), 2, "the fixture's two test images");
    check_groups(&e, &test_ids);
    for name in [
        "per_class.csv",
        "groups.md",
        "groups.tex",
        "confusion.png",
        "groups_gender.svg",
        "recall_vs_frequency.svg",
    ] {
        assert!(json.with_file_name(name).is_file(), "{name} written");
    }
    // Head and tail by the training split's counts: happy, neutral, disgust, sad trained on.
    let trained: u64 = e.per_class.iter().filter_map(|c| c.train_samples).sum();
    assert!(trained >= 2, "training counts {:?}", e.per_class);

    // Again, as `cargo xtask evaluate`: the same bytes.
    let request = |split: &str, by: &[&str]| EvaluateRequest {
        run: run.clone(),
        data: data.clone(),
        dataset: None,
        split: Some(split.into()),
        output: None,
        by: by.iter().map(|s| s.to_string()).collect(),
        out: None,
        bootstrap: BootstrapOptions { resamples: 200, ..Default::default() },
        device: "cpu".into(),
    };
    evaluate_run(&request("test", &["gender", "race", "age_group"])).expect("again");
    assert_eq!(std::fs::read(&json).expect("again"), first, "evaluation.json is byte-identical on rerun");

    // The training split (clean labels), grouped the same way.
    let train = evaluate_run(&request("train", &["gender", "race", "age_group"])).expect("train split");
    let train_ids = saved
        .predict_split(&data, None, EvalSplit::Train, &RunOptions::default())
        .expect("predict")
        .predictions
        .sample_id;
    check_groups(&train.evaluation, &train_ids);

    // Refused requests.
    let err = |r: EvaluateRequest| evaluate_run(&r).expect_err("refused").to_string();
    let unknown = err(request("test", &["hair"]));
    assert!(unknown.contains("hair") && unknown.contains("age_group"), "{unknown}");
    let lacking = err(request("test", &["subject"]));
    assert!(lacking.contains("subject") && lacking.contains("gender, race"), "{lacking}");
    let split = err(request("holdout", &[]));
    assert!(split.contains("holdout") && split.contains("val"), "{split}");
}

const SKLEARN: &str = r#"
import json, sys
import numpy as np
from sklearn.metrics import (accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score,
                             precision_recall_fscore_support)
d = json.load(open(sys.argv[1]))
y = np.array(d["labels"])
p = np.array(d["probs"], dtype=np.float32)
c = p.shape[1]
pred = p.argmax(axis=1)
def block(idx):
    yt, yp = y[idx], pred[idx]
    return {"accuracy": accuracy_score(yt, yp), "balanced": balanced_accuracy_score(yt, yp),
            "macro_f1": f1_score(yt, yp, average="macro", zero_division=0)}
out = block(np.arange(len(y)))
pr, rc, f1, sup = precision_recall_fscore_support(y, pred, labels=list(range(c)), zero_division=0)
out.update({"precision": pr.tolist(), "recall": rc.tolist(), "f1": f1.tolist(), "support": sup.tolist(),
            "confusion": confusion_matrix(y, pred, labels=list(range(c))).tolist()})
pt = p[np.arange(len(y)), y].astype(np.float64)
out["nll"] = float(-np.log(np.maximum(pt, 1e-12)).mean())
conf = p.max(axis=1).astype(np.float64)
bins = np.clip(np.ceil(conf * 15).astype(int), 1, 15) - 1
ece = 0.0
for b in range(15):
    m = bins == b
    if m.any():
        ece += m.sum() / len(y) * abs((pred[m] == y[m]).mean() - conf[m].mean())
out["ece"] = ece
groups = {}
for i, g in enumerate(d["group"]):
    groups.setdefault(g if g is not None else "unknown", []).append(i)
out["groups"] = {g: block(np.array(idx)) for g, idx in groups.items()}
json.dump(out, open(sys.argv[2], "w"))
"#;

#[test]
fn metrics_agree_with_scikit_learn() {
    let test = "metrics_agree_with_scikit_learn";
    let Some(python) = std::env::var_os("GREFEL_PYTHON").map(PathBuf::from) else {
        return skip_or_fail(test, "GREFEL_PYTHON is not set (a Python with scikit-learn)");
    };
    let has_sklearn = std::process::Command::new(&python)
        .args(["-c", "import sklearn, numpy"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_sklearn {
        return skip_or_fail(test, "scikit-learn is not installed in GREFEL_PYTHON");
    }
    // 700 samples, 7 classes with a long tail; right 60 % of the time; class 6 is never
    // predicted (precision 0 by convention) and class 5 has no sample in group `c`.
    let (n, c) = (700usize, 7usize);
    let mut rng = SeedRng::new(11);
    let weights = [0.35, 0.2, 0.15, 0.12, 0.1, 0.05, 0.03];
    let mut labels = Vec::new();
    let mut probs = Vec::new();
    let mut group = Vec::new();
    for i in 0..n {
        let u = rng.unit();
        let mut acc = 0.0;
        let label = weights.iter().position(|w| {
            acc += w;
            u < acc
        });
        let label = label.unwrap_or(c - 1);
        let mut p: Vec<f32> = (0..c).map(|_| rng.unit() as f32 * 0.2).collect();
        let target = if rng.unit() < 0.6 { label } else { rng.below(c as u64 - 1) as usize };
        p[target.min(5)] += 1.0 + rng.unit() as f32;
        let sum: f32 = p.iter().sum();
        probs.push(p.iter().map(|x| x / sum).collect::<Vec<f32>>());
        let g = match i % 4 {
            0 => None,
            1 => Some("a"),
            2 => Some("b"),
            _ if label == 5 => Some("a"),
            _ => Some("c"),
        };
        group.push(g.map(str::to_string));
        labels.push(label);
    }
    let classes: Vec<String> = (0..c).map(|k| format!("class{k}")).collect();
    let columns = BTreeMap::from([("group".to_string(), group.clone())]);
    let e = analyse(
        &AnalysisInput {
            run: "r",
            preset: "tiny",
            dataset: "d",
            split: "test",
            output: "corrected",
            classes: &classes,
            labels: &labels,
            probs: &probs,
            columns: &columns,
            train_counts: None,
        },
        BootstrapOptions { resamples: 0, ..Default::default() },
    )
    .expect("analyse");

    let tmp = tempfile::tempdir().expect("tempdir");
    let (input, output) = (tmp.path().join("in.json"), tmp.path().join("out.json"));
    let payload = serde_json::json!({ "labels": labels, "probs": probs, "group": group });
    std::fs::write(&input, payload.to_string()).expect("input");
    let script = tmp.path().join("sk.py");
    std::fs::write(&script, SKLEARN).expect("script");
    let status =
        std::process::Command::new(&python).arg(&script).arg(&input).arg(&output).status().expect("python");
    assert!(status.success(), "the scikit-learn script failed");
    let sk: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&output).expect("out")).expect("json");
    let f = |v: &serde_json::Value| v.as_f64().expect("number");

    let m = &e.overall.metrics;
    close(m.accuracy, f(&sk["accuracy"]), "accuracy");
    close(m.mean_class_accuracy, f(&sk["balanced"]), "mean class accuracy");
    close(m.macro_f1, f(&sk["macro_f1"]), "macro-F1");
    close(m.nll, f(&sk["nll"]), "NLL");
    close(m.ece, f(&sk["ece"]), "ECE");
    let confusion: Vec<Vec<u64>> = serde_json::from_value(sk["confusion"].clone()).expect("confusion");
    assert_eq!(m.confusion.counts, confusion);
    for (k, class) in e.per_class.iter().enumerate() {
        close(class.precision, f(&sk["precision"][k]), &format!("precision of {k}"));
        close(class.recall, f(&sk["recall"][k]), &format!("recall of {k}"));
        close(class.f1, f(&sk["f1"][k]), &format!("F1 of {k}"));
        assert_eq!(class.support, sk["support"][k].as_u64().expect("support"));
    }
    assert_eq!(e.per_class[6].predicted, 0, "class 6 is never predicted");
    for (value, g) in &e.groups["group"] {
        let s = &sk["groups"][value];
        close(g.accuracy, f(&s["accuracy"]), &format!("{value} accuracy"));
        close(g.mean_class_accuracy, f(&s["balanced"]), &format!("{value} mean class accuracy"));
        close(g.macro_f1, f(&s["macro_f1"]), &format!("{value} macro-F1"));
    }
    assert_eq!(e.groups["group"].len(), 4, "a, b, c and unknown");
}
