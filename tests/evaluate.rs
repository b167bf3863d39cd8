//! `evaluate` on a real layout and against an independent implementation.
//!
//! 1. A RAF-DB fixture tree whose manual annotations cover every image goes through a pipeline
//!    file with `[prepare]`, `[landmarks]`, `[train]` and `[evaluate]` (by gender, race and age
//!    group), as `cargo xtask run` runs it. The group sample counts must equal those of the tree
//!    (read from the fixture's annotation table here), the sample-weighted mean of the group
//!    accuracies must equal the overall accuracy, and a rerun must write the same bytes. Refused
//!    requests (an unknown column, a column the dataset lacks, an unknown split, a dataset that
//!    cannot fill the run's class view) say why.
//! 2. The overall, per-class and per-group metrics of `analyse` agree with scikit-learn's (and
//!    numpy's NLL and ECE) on the same predictions to 1e-9, through `GREFEL_PYTHON`.
//!
//! 3. `predict` on the three public-domain photos (faces found in each, the group photo's many),
//!    bad files among them (an `error` record each), and on the tree's aligned crops, where it must
//!    give what evaluation gives on the same samples.
//!
//! All need something installed (the landmark models; scikit-learn): without it they say they
//! were skipped, and under `CI` they fail.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use grefel_artifacts::files::{EVALUATION, RUN_METRICS};
use grefel_artifacts::{Evaluation, read_json};
use grefel_ingest::fixtures::{RAFDB_ATTRIBUTES, rafdb_attributed};
use grefel_landmarks::models::{default_dlib68_path, default_rustface_path};
use grefel_pipeline::predict::{PredictRequest, predict};
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

/// A RAF-DB fixture tree (manual attributes on every image) through `[prepare]`, `[landmarks]`,
/// `[train]` (tiny, one epoch) and `[evaluate]` as `cargo xtask run` runs them; returns the
/// pipeline's lines, the tree, the data folder and the run folder.
fn rafdb_run(tmp: &Path) -> (Vec<String>, PathBuf, PathBuf, PathBuf) {
    let root = tmp.join("RAF-DB/basic");
    rafdb_attributed(&root).expect("fixture");
    let (data, runs) = (tmp.join("data"), tmp.join("runs"));
    let path = tmp.join("rafdb.toml");
    let text = format!(
        "[prepare]\nadapter = \"rafdb\"\nroot = {:?}\nout = {:?}\n\n[landmarks]\n\n[train]\ndataset = \"rafdb\"\npreset = \"tiny\"\nepochs = 1\nbatch_size = 2\n\n[evaluate]\nby = [\"gender\", \"race\", \"age_group\"]\nresamples = 200\n",
        root.display().to_string(),
        data.display().to_string()
    );
    std::fs::write(&path, text).expect("pipeline");
    let pipeline = Pipeline::load(&path, tmp).expect("pipeline file");
    let request = RunRequest {
        path: path.clone(),
        runs: runs.clone(),
        default_data: data.clone(),
        device: "cpu".into(),
    };
    let lines = run_pipeline(&pipeline, &request, &grefel_shards::progress::NoProgress).expect("run");
    let run = find_run(&runs);
    (lines, root, data, run)
}

#[test]
fn rafdb_groups_match_the_tree_and_rerun_identically() {
    let test = "rafdb_groups_match_the_tree_and_rerun_identically";
    if !(default_dlib68_path().is_file() && default_rustface_path().is_file()) {
        return skip_or_fail(test, "the landmark models are absent (`cargo xtask setup-landmarks`)");
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let (lines, _, data, run) = rafdb_run(tmp.path());
    assert!(lines.last().is_some_and(|l| l.contains(EVALUATION)), "{lines:?}");

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

    // A run whose class view another dataset cannot fill: FER+ (eight classes, contempt among
    // them) evaluated on RAF-DB (no contempt label) is refused, naming what is missing.
    let ferplus = tmp.path().join("FERPlus");
    grefel_ingest::fixtures::ferplus(&ferplus).expect("FER+ fixture");
    let path = tmp.path().join("ferplus.toml");
    let text = format!(
        "[prepare]\nadapter = \"ferplus\"\nroot = {:?}\nout = {:?}\n\n[landmarks]\n\n[train]\ndataset = \"ferplus\"\npreset = \"tiny\"\nepochs = 1\nbatch_size = 2\n",
        ferplus.display().to_string(),
        data.display().to_string()
    );
    std::fs::write(&path, text).expect("pipeline");
    let pipeline = Pipeline::load(&path, tmp.path()).expect("pipeline file");
    let runs = tmp.path().join("runs-ferplus");
    let request8 = RunRequest { path, runs: runs.clone(), default_data: data.clone(), device: "cpu".into() };
    run_pipeline(&pipeline, &request8, &grefel_shards::progress::NoProgress).expect("FER+ run");
    let on_rafdb =
        EvaluateRequest { run: find_run(&runs), dataset: Some("rafdb".into()), ..request("test", &[]) };
    let view = err(on_rafdb);
    assert!(view.contains("contempt") && view.contains("rafdb"), "{view}");
}

/// The public-domain photos (`GREFEL_FACES`, else `../shared/fixtures/faces`).
fn faces_dir() -> PathBuf {
    match std::env::var_os("GREFEL_FACES") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/faces"),
    }
}

fn records(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).expect("records");
    text.lines().map(|l| serde_json::from_str(l).expect("one JSON object per line")).collect()
}

fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array().expect("array").iter().map(|x| x.as_f64().expect("number")).collect()
}

/// `predict` on the RAF-DB run: the three photos (one a group photo) and three bad files in a
/// folder; then the fixture's aligned test crops with `--aligned`, which must give what
/// evaluation gives on the same samples (the same path from the image on).
#[test]
fn predict_finds_faces_in_photos_and_matches_evaluation_on_crops() {
    let test = "predict_finds_faces_in_photos_and_matches_evaluation_on_crops";
    if !(default_dlib68_path().is_file() && default_rustface_path().is_file()) {
        return skip_or_fail(test, "the landmark models are absent (`cargo xtask setup-landmarks`)");
    }
    let faces = faces_dir();
    let photos =
        ["facedetect_grace_hopper_512x512.jpg", "rustface_test_solvay1927.png", "skimage_astronaut.png"];
    if !photos.iter().all(|p| faces.join(p).is_file()) {
        return skip_or_fail(test, &format!("the face photos are not in {} (.ci/faces.sh)", faces.display()));
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let (_, root, data, run) = rafdb_run(tmp.path());
    let input = tmp.path().join("photos");
    std::fs::create_dir_all(input.join("group")).expect("input");
    for p in photos {
        let to = if p.contains("solvay") { input.join("group").join(p) } else { input.join(p) };
        std::fs::copy(faces.join(p), to).expect("copy");
    }
    std::fs::write(input.join("empty.jpg"), b"").expect("empty");
    std::fs::write(input.join("notes.txt"), b"not an image").expect("text");
    std::fs::write(input.join("clip.mp4"), b"\0\0\0\x18ftypmp42").expect("video");

    let out = tmp.path().join("faces.jsonl");
    let annotated = tmp.path().join("annotated");
    let mut request = PredictRequest::new(run.clone(), vec![input.clone()]);
    request.out = Some(out.clone());
    request.annotate = Some(annotated.clone());
    request.data = Some(data.clone());
    let outcome = predict(&request, &grefel_shards::progress::NoProgress).expect("predict");
    assert_eq!(
        outcome.image_settings,
        Some(data.join("rafdb/manifest.json")),
        "crops stored as the dataset's images"
    );
    assert_eq!((outcome.files, outcome.errors, outcome.annotated), (6, 3, 3), "{}", outcome.summary());
    let rows = records(&out);
    assert_eq!(rows.len(), outcome.faces + outcome.errors + outcome.without_face);
    let classes = outcome.classes.clone();
    assert_eq!(classes.len(), 7);
    let mut per_photo: BTreeMap<&str, usize> = BTreeMap::new();
    for row in &rows {
        let path = row["path"].as_str().expect("path");
        if let Some(error) = row.get("error") {
            let error = error.as_str().expect("error text");
            assert!(
                ["empty.jpg", "notes.txt", "clip.mp4"].iter().any(|b| path.ends_with(b)),
                "{path}: {error}"
            );
            if path.ends_with("clip.mp4") {
                assert!(error.contains("video"), "{error}");
            }
            continue;
        }
        let photo = photos.iter().find(|p| path.ends_with(*p)).expect("a photo");
        *per_photo.entry(photo).or_default() += 1;
        let probs = floats(&row["probs"]);
        assert_eq!(probs.len(), 7);
        assert!(
            (probs.iter().sum::<f64>() - 1.0).abs() < 1e-5,
            "{path}: probs sum {}",
            probs.iter().sum::<f64>()
        );
        let best = (0..7).fold(0, |b, i| if probs[i] > probs[b] { i } else { b });
        assert_eq!(row["label"].as_str(), Some(classes[best].as_str()));
        assert_eq!(floats(&row["logits"]).len(), 7);
        assert_eq!(floats(&row["box"]).len(), 4);
        for k in ["kappa_p", "kappa_m", "kappa_alpha"] {
            let v = row["reliability"][k].as_f64().expect("kappa");
            assert!((0.0..=1.0).contains(&v), "{k} = {v}");
        }
    }
    assert_eq!(per_photo.len(), 3, "faces in every photo: {per_photo:?}");
    assert!(per_photo["rustface_test_solvay1927.png"] >= 10, "the group photo: {per_photo:?}");
    eprintln!("{test}: faces per photo {per_photo:?}");
    // The annotated photos: the same size as the photo, with boxes drawn, in the input's layout.
    for p in photos {
        let sub = if p.contains("solvay") { Path::new("group").join(p) } else { PathBuf::from(p) };
        let drawn = image::open(annotated.join(&sub).with_extension("png")).expect("annotated").to_rgb8();
        let photo = image::open(faces.join(p)).expect("photo").to_rgb8();
        assert_eq!(drawn.dimensions(), photo.dimensions());
        let changed = drawn.pixels().zip(photo.pixels()).filter(|(a, b)| a != b).count();
        assert!(changed > 100, "{p}: {changed} pixels drawn");
    }
    // Again into CSV and Parquet: the same records; and the JSON lines are the same bytes.
    let first = std::fs::read(&out).expect("jsonl");
    predict(&PredictRequest { annotate: None, ..request.clone() }, &grefel_shards::progress::NoProgress)
        .expect("again");
    assert_eq!(std::fs::read(&out).expect("jsonl"), first, "a rerun writes the same bytes");
    for ext in ["csv", "parquet"] {
        let file = tmp.path().join(format!("faces.{ext}"));
        predict(
            &PredictRequest { out: Some(file.clone()), annotate: None, ..request.clone() },
            &grefel_shards::progress::NoProgress,
        )
        .expect(ext);
        let n = if ext == "csv" {
            let text = std::fs::read_to_string(&file).expect("csv");
            let header = text.lines().next().expect("header");
            assert!(header.starts_with("path,face,left,top,right,bottom,faces,error,label"), "{header}");
            assert!(header.contains("p_happy") && header.contains("kappa_alpha"), "{header}");
            text.lines().count() - 1
        } else {
            grefel_shards::table_io::read_batches(&file).expect("parquet").iter().map(|b| b.num_rows()).sum()
        };
        assert_eq!(n, rows.len(), "{ext} rows");
    }
    // A path that does not exist is refused before anything runs.
    let missing = PredictRequest::new(run.clone(), vec![tmp.path().join("nowhere")]);
    let err = predict(&missing, &grefel_shards::progress::NoProgress).expect_err("missing input").to_string();
    assert!(err.contains("nowhere"), "{err}");

    // The fixture's aligned test crops: what evaluation computes on those samples.
    let crops = tmp.path().join("crops");
    std::fs::create_dir_all(&crops).expect("crops");
    for entry in std::fs::read_dir(root.join("Image/aligned")).expect("aligned").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("test_") {
            std::fs::copy(entry.path(), crops.join(&name)).expect("copy");
        }
    }
    let crops_out = tmp.path().join("crops.jsonl");
    let mut aligned = PredictRequest::new(run.clone(), vec![crops]);
    aligned.aligned = true;
    aligned.out = Some(crops_out.clone());
    let outcome = predict(&aligned, &grefel_shards::progress::NoProgress).expect("aligned");
    assert_eq!((outcome.files, outcome.faces, outcome.errors), (2, 2, 0));
    let saved = SavedRun::open(&run).expect("saved run");
    let expected =
        saved.predict_split(&data, None, EvalSplit::Test, &RunOptions::default()).expect("evaluation");
    for (i, row) in records(&crops_out).iter().enumerate() {
        assert!(row.get("face").is_none() && row.get("box").is_none(), "{row}");
        for (key, want) in
            [("primary", &expected.predictions.primary[i]), ("corrected", &expected.predictions.corrected[i])]
        {
            let got = floats(&row[key]);
            for (g, w) in got.iter().zip(want) {
                assert!((g - f64::from(*w)).abs() < 1e-6, "{key} of crop {i}: {got:?} vs {want:?}");
            }
        }
    }
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
