//! Every adapter's output trains, evaluates and reports: each fixture tree in its dataset's
//! official layout (`grefel_ingest::fixtures`, the trees `cargo xtask fixtures` writes) goes
//! through prepare → landmarks (the dlib predictor on the fixture's faces) → train (`tiny`, one
//! epoch), and the evaluation confusion matrix in `metrics.json` must count exactly the rows of
//! the dataset's evaluation split inside the class view, read back from the shards here.
//!
//! The evaluated split and the view of each dataset are written out below, independently of
//! `grefel_train::protocol`. The landmark stage needs the installed models (`cargo xtask
//! setup-landmarks`): without them these tests say they were skipped (under `CI` they fail).
//!
//! The tests run one at a time: the CPU backend's random stream is global to the process.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use grefel_artifacts::RunMetrics;
use grefel_artifacts::files::RUN_METRICS as METRICS_FILE;
use grefel_ingest::fixtures::{self, Fixture};
use grefel_ingest::{NoProgress as IngestQuiet, PrepareSettings, prepare};
use grefel_landmarks::boxes::BoxConfig;
use grefel_landmarks::models::{default_dlib68_path, default_rustface_path};
use grefel_landmarks::{LandmarkSettings, NoProgress as LandmarksQuiet, run_stage};
use grefel_schema::table::Split;
use grefel_shards::Manifest;
use grefel_train::config::LandmarkQualityRule;
use grefel_train::{NoProgress, RunStatus, TrainError, TrainSettings, train};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The installed landmark models, or `None` (the test is skipped; under CI it fails).
fn models(test: &str) -> Option<(PathBuf, PathBuf)> {
    let (dlib, face) = (default_dlib68_path(), default_rustface_path());
    if dlib.is_file() && face.is_file() {
        return Some((dlib, face));
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: the landmark models are absent ({}); CI must install them (`cargo xtask setup-landmarks`)",
        dlib.display()
    );
    eprintln!(
        "{test}: skipped: {} is absent (run `cargo xtask setup-landmarks`, or set GREFEL_MODELS)",
        dlib.display()
    );
    None
}

/// A fixture tree prepared (and its landmarks computed) under a temporary folder.
struct Prepared {
    _tmp: tempfile::TempDir,
    data: PathBuf,
    runs: PathBuf,
    name: &'static str,
}

fn fixture(name: &str) -> &'static Fixture {
    fixtures::by_name(name).unwrap_or_else(|| panic!("no fixture {name}"))
}

/// Writes fixture `name`, prepares it into `<tmp>/data/<name>/`; with `models`, runs the landmark
/// stage too.
fn prepared(name: &'static str, models: Option<&(PathBuf, PathBuf)>) -> Prepared {
    let tmp = tempfile::tempdir().expect("tempdir");
    let f = fixture(name);
    let root = tmp.path().join("raw").join(f.name).join(f.root);
    (f.build)(&root).expect("fixture tree");
    let data = tmp.path().join("data");
    let settings = PrepareSettings {
        dataset: Some(name.into()),
        adapter: f.adapter.into(),
        variant: None,
        root,
        out: data.clone(),
        rows_per_shard: 1024,
        image: Default::default(),
        split: Default::default(),
    };
    prepare(&settings.validate().expect("prepare settings"), &IngestQuiet).expect("prepare");
    if let Some((model, face_model)) = models {
        landmarks(&data, name, model, face_model);
    }
    let runs = tmp.path().join("runs");
    Prepared { _tmp: tmp, data, runs, name }
}

fn landmarks(data: &Path, name: &str, model: &Path, face_model: &Path) {
    let settings = LandmarkSettings {
        data: data.to_path_buf(),
        dataset: name.into(),
        model: model.to_path_buf(),
        face_model: face_model.to_path_buf(),
        recompute: false,
        boxes: BoxConfig::default(),
    };
    run_stage(&settings, &LandmarksQuiet).expect("landmark stage");
}

fn settings(name: &str) -> TrainSettings {
    let mut s = TrainSettings::new(name);
    s.preset = "tiny".into();
    s.epochs = 1;
    s.batch_size = 4;
    s.eval_batch_size = 8;
    s
}

/// Trains `s` on `p` and returns `metrics.json`.
fn train_metrics(p: &Prepared, s: TrainSettings) -> RunMetrics {
    let (config, _) = s.resolve(&p.data).unwrap_or_else(|e| panic!("{}: {e}", p.name));
    let result =
        train(&config, &p.data, &p.runs, "cpu", &NoProgress).unwrap_or_else(|e| panic!("{}: {e}", p.name));
    assert_eq!(result.status, RunStatus::Finished);
    grefel_artifacts::read_json(&result.run_dir.join(METRICS_FILE)).expect("metrics.json parses")
}

/// Rows per class name of `split` whose label is in `classes`, read from the shards.
fn rows_of(data: &Path, name: &str, split: Split, classes: &[&str]) -> BTreeMap<String, u64> {
    let dir = data.join(name);
    let manifest = Manifest::read(&dir).expect("manifest").expect("prepared");
    let mut counts = BTreeMap::new();
    for shard in &manifest.shards {
        for r in grefel_shards::samples::read_shard(&dir.join(&shard.path)).expect("shard") {
            if r.split == split && classes.contains(&r.label.name()) {
                *counts.entry(r.label.name().to_string()).or_insert(0) += 1;
            }
        }
    }
    counts
}

const BASIC7: &[&str] = &["neutral", "happy", "sad", "surprise", "fear", "disgust", "anger"];
const WITH_CONTEMPT8: &[&str] =
    &["neutral", "happy", "sad", "surprise", "fear", "disgust", "anger", "contempt"];
const WITH_OTHER8: &[&str] = &["neutral", "happy", "sad", "surprise", "fear", "disgust", "anger", "other"];

/// The whole chain on fixture `name`, whose protocol evaluates `split` in a view of `classes`.
fn end_to_end(test: &str, name: &'static str, split: Split, classes: &[&str]) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let Some(models) = models(test) else { return };
    let p = prepared(name, Some(&models));
    let m = train_metrics(&p, settings(name));
    assert_eq!(m.evaluation_split, split.as_str(), "{name}: {:?}", m.dataset);
    assert_eq!(m.provenance.class_names, classes, "{name}: the dataset's view");
    let expected = rows_of(&p.data, name, split, classes);
    let rows = &m.test.primary.confusion.counts;
    assert_eq!(rows.len(), classes.len());
    let mut got = BTreeMap::new();
    for (class, row) in classes.iter().zip(rows) {
        let n: u64 = row.iter().sum();
        if n > 0 {
            got.insert(class.to_string(), n);
        }
    }
    assert!(!expected.is_empty(), "{name}: the fixture has rows to evaluate");
    assert_eq!(got, expected, "{name}: the confusion matrix counts every evaluated row, once");
    let total: u64 = expected.values().sum();
    assert_eq!(m.test.primary.samples, total, "{name}");
    assert_eq!(m.dataset.samples["evaluation"], total, "{name}");
    assert_eq!(m.dataset.without_landmarks, 0, "{name}");
    let lm = m.dataset.landmarks.as_ref().expect("the geometry branch records its points");
    let in_view = m.dataset.samples.values().sum::<u64>() + m.dataset.unused.values().sum::<u64>();
    let from = lm.from_samples + lm.from_stage;
    assert_eq!(
        from, in_view,
        "{name}: every row in the view has points, from the samples table or the stage: {lm:?}"
    );
}

#[test]
fn rafdb_trains_and_evaluates_on_test() {
    end_to_end("rafdb_trains_and_evaluates_on_test", "rafdb", Split::Test, BASIC7);
}

#[test]
fn fergdb_trains_and_evaluates_on_test() {
    end_to_end("fergdb_trains_and_evaluates_on_test", "fergdb", Split::Test, BASIC7);
}

#[test]
fn jaffe_trains_and_evaluates_on_test() {
    end_to_end("jaffe_trains_and_evaluates_on_test", "jaffe", Split::Test, BASIC7);
}

#[test]
fn fer2013_trains_and_evaluates_on_private_test() {
    end_to_end("fer2013_trains_and_evaluates_on_private_test", "fer2013", Split::Test, BASIC7);
}

#[test]
fn ferplus_trains_and_evaluates_on_private_test() {
    end_to_end("ferplus_trains_and_evaluates_on_private_test", "ferplus", Split::Test, WITH_CONTEMPT8);
}

#[test]
fn affectnet_trains_and_evaluates_on_the_official_val() {
    for name in ["affectnet-csv", "affectnet-npy", "affectnet-folders"] {
        end_to_end("affectnet_trains_and_evaluates_on_the_official_val", name, Split::Val, WITH_CONTEMPT8);
    }
}

#[test]
fn affwild2_trains_and_evaluates_on_the_official_val() {
    end_to_end("affwild2_trains_and_evaluates_on_the_official_val", "affwild2", Split::Val, WITH_OTHER8);
}

/// A view the dataset cannot fill, a missing landmark stage, landmarks of other shards and an
/// older schema are each one clear error naming the fix, and leave no run folder.
#[test]
fn bad_inputs_are_clear_errors_and_write_nothing() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let p = prepared("rafdb", None);
    let no_run_folder = |p: &Prepared| assert!(!p.runs.exists(), "no run folder is written");
    let train_err = |s: TrainSettings| -> String {
        let err = match s.resolve(&p.data) {
            Err(e) => e,
            Ok((config, _)) => train(&config, &p.data, &p.runs, "cpu", &NoProgress).expect_err("must fail"),
        };
        err.to_string()
    };

    let mut contempt = settings("rafdb");
    contempt.class_view = Some(grefel_schema::ClassView::WithContempt8);
    let msg = train_err(contempt);
    assert!(msg.contains("contempt") && msg.contains("basic7"), "{msg}");

    // `tiny` needs landmarks; the fixture's rows have none and the stage has not run.
    let msg = train_err(settings("rafdb"));
    let command = format!("cargo xtask landmarks --dataset rafdb --data {}", p.data.display());
    assert!(msg.contains(&command), "{msg}");
    no_run_folder(&p);

    let mut schema = Manifest::read(&p.data.join("rafdb")).expect("read").expect("manifest");
    let original = schema.clone();
    schema.schema_version += 1;
    schema.write(&p.data.join("rafdb")).expect("write");
    let msg = train_err(settings("rafdb"));
    assert!(msg.contains("cargo xtask prepare --dataset rafdb") && msg.contains("v2"), "{msg}");
    original.write(&p.data.join("rafdb")).expect("restore");
    no_run_folder(&p);

    let Some((model, face)) = models("bad_inputs_are_clear_errors_and_write_nothing") else { return };
    landmarks(&p.data, "rafdb", &model, &face);
    // The dataset prepared again into other shards: the landmarks are of the old ones.
    let mut again = original.clone();
    again.content_hash = "0".repeat(64);
    again.write(&p.data.join("rafdb")).expect("write");
    let msg = train_err(settings("rafdb"));
    assert!(msg.contains("other shards") && msg.contains(&command), "{msg}");
    original.write(&p.data.join("rafdb")).expect("restore");
    no_run_folder(&p);

    // Every RAF-DB fixture point is predicted on the fallback box (no face in flat images):
    // dropping flagged rows leaves nothing to train on, and the error says why.
    let mut drop = settings("rafdb");
    drop.landmark_quality = LandmarkQualityRule::Drop;
    let msg = train_err(drop);
    assert!(msg.contains("dropped for flagged landmarks"), "{msg}");
    assert!(!msg.contains(" 0 dropped for flagged landmarks"), "{msg}");
    no_run_folder(&p);
}

/// EAC's noisy-label file format on the RAF-DB fixture, FER+ soft labels, JAFFE by poser.
#[test]
fn noise_files_soft_labels_and_subject_splits() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let Some(models) = models("noise_files_soft_labels_and_subject_splits") else { return };

    let p = prepared("rafdb", Some(&models));
    let file = p.data.join("noise01.txt");
    // Every training image of the fixture, each relabelled `surprise` (1); one test image and
    // one unknown name, which cannot apply.
    let lines = [
        "train_00001.jpg 1",
        "train_00002.jpg 1",
        "train_00006.jpg 1",
        "train_00007.jpg 1",
        "test_0001.jpg 4",
        "nosuch.jpg 2",
    ];
    std::fs::write(&file, lines.join("\n")).expect("noise file");
    let mut s = settings("rafdb");
    s.noise_file = Some(file.clone());
    let m = train_metrics(&p, s);
    let use_ = m.dataset.noise_file.as_ref().expect("the noise file's use is recorded");
    let train = m.dataset.samples["train"];
    assert_eq!(use_.name, "noise01.txt");
    assert_eq!(use_.matched, train, "{use_:?}");
    // The carved selection image, the test image and the unknown name do not apply.
    assert_eq!(use_.unknown_names + use_.matched, 6, "{use_:?}");
    assert!(m.provenance.run.train["noise_file"]["sha256"].is_string(), "the file's content names the run");
    let mut both = settings("rafdb");
    both.noise_file = Some(file);
    both.noise = Some(grefel_experiments::NoiseSpec {
        protocol: grefel_experiments::NoiseProtocol::Symmetric,
        rate: 0.2,
        seed: 0,
    });
    assert!(matches!(both.resolve(&p.data), Err(TrainError::InvalidConfig { field: "noise_file", .. })));

    let p = prepared("ferplus", Some(&models));
    let mut s = settings("ferplus");
    s.soft_labels = true;
    let m = train_metrics(&p, s);
    assert_eq!(m.dataset.soft_targets, Some(m.dataset.samples["train"]), "every FER+ row has votes");
    assert_eq!(m.provenance.run.train["soft_labels"], true);

    let p = prepared("jaffe", Some(&models));
    let mut s = settings("jaffe");
    s.split = grefel_train::protocol::SplitRule::Subject;
    let m = train_metrics(&p, s);
    assert_eq!(m.evaluation_split, "subject");
    assert_eq!(m.dataset.selection, "subject");
    let predictions: grefel_artifacts::Predictions = grefel_artifacts::read_json(
        &p.runs.join(&m.provenance.run_id).join(grefel_artifacts::files::PREDICTIONS),
    )
    .expect("predictions");
    let subject =
        |id: &str| id.trim_start_matches("jaffe:").split('.').next().unwrap_or_default().to_string();
    let evaluated: Vec<String> = predictions.sample_id.iter().map(|s| subject(s)).collect();
    assert!(!evaluated.is_empty());
    assert!(evaluated.iter().all(|s| *s == evaluated[0]), "one held-out poser: {evaluated:?}");
}

/// `paper-geometry` at 224 px trains one step on the RAF-DB fixture on the CPU backend (batch 2).
#[test]
fn paper_geometry_trains_one_step_at_224_px() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let Some(models) = models("paper_geometry_trains_one_step_at_224_px") else { return };
    let p = prepared("rafdb", Some(&models));
    let mut s = settings("rafdb");
    s.preset = "paper-geometry".into();
    s.batch_size = 2;
    s.eval_batch_size = 2;
    let m = train_metrics(&p, s);
    assert_eq!(m.iterations, 1, "three training rows at batch 2: one step (the leftover is dropped)");
    let loss = m.history[0].loss;
    assert!(loss.is_finite(), "{loss}");
    assert_eq!(m.provenance.run.train["model"]["image_size"], 224);
}
