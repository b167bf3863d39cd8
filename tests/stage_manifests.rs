//! The stage engine's one behaviour on a malformed manifest, for every stage that runs on it
//! (prepare, landmarks, noise draws): a clear error naming the file and `--force`, and the
//! forced run rebuilds the same bytes.

use std::path::Path;

use grefel_experiments::noise::{Draw, NoiseProtocol, NoiseSpec, draw_paths};
use grefel_ingest::normalize::ImageConfig;
use grefel_ingest::split::SplitConfig;
use grefel_ingest::{NoProgress, Options, PrepareSettings, prepare_with};
use grefel_landmarks::boxes::BoxConfig;
use grefel_landmarks::{LandmarkSettings, run_stage_with};
use grefel_schema::{Expression, Label};
use grefel_shards::manifest::MANIFEST_FILE;
use grefel_synth::{SynthConfig, generate};

const FORCE: Options = Options { force: true };

/// The error's text with the file's path replaced, so that the stages' messages compare.
fn shape(err: &str, path: &Path) -> String {
    let path = path.display().to_string();
    assert!(err.contains(&path), "the error names {path}: {err}");
    assert!(err.contains("--force"), "the error names --force: {err}");
    err.replace(&path, "<manifest>")
}

#[test]
fn malformed_manifest_is_one_error_and_force_rebuilds() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let raw = tmp.path().join("raw");
    let data = tmp.path().join("data");
    let synth = SynthConfig { seed: 5, count: 60, image_size: 32, identities: 3, ..SynthConfig::default() };
    generate(&synth, &raw).expect("synth");
    let cfg = PrepareSettings {
        dataset: Some("synthetic".into()),
        adapter: "fergdb".into(),
        variant: None,
        root: raw,
        out: data.clone(),
        rows_per_shard: 16,
        image: ImageConfig::default(),
        split: SplitConfig::default(),
    }
    .validate()
    .expect("valid");
    let landmarks = LandmarkSettings {
        data: data.clone(),
        dataset: "synthetic".into(),
        // The synthetic set's own points: no model is read.
        model: tmp.path().join("absent.dat"),
        face_model: tmp.path().join("absent.bin"),
        recompute: false,
        boxes: BoxConfig::default(),
    };
    let dataset_dir = data.join("synthetic");
    let train: Vec<(String, Label)> =
        (0..50).map(|i| (format!("synthetic:{i:03}"), Label::Class(Expression::BASIC[i % 7]))).collect();
    let spec = NoiseSpec { protocol: NoiseProtocol::Symmetric, rate: 0.2, seed: 1 };
    let draw = Draw {
        dataset_dir: &dataset_dir,
        dataset: "synthetic",
        content_hash: "h",
        view: "basic7",
        classes: &Expression::BASIC,
        train: &train,
        spec: &spec,
    };
    let noise = |options| draw.materialise(options);

    let prepared = prepare_with(&cfg, Options::default(), &NoProgress).expect("prepare");
    let computed = run_stage_with(&landmarks, Options::default(), &NoProgress).expect("landmarks");
    let (key, drawn) = noise(Options::default()).expect("noise");

    let samples_manifest = dataset_dir.join(MANIFEST_FILE);
    let landmarks_manifest = dataset_dir.join("landmarks").join(MANIFEST_FILE);
    let (_, draw_summary) = draw_paths(&dataset_dir, &key);
    let corrupt = |path: &Path| std::fs::write(path, b"{\"table\": ").expect("corrupt the manifest");
    let mut errors = Vec::new();

    // Each stage in turn: the one error, then a forced run rebuilds from scratch to the same
    // bytes, and the next run is up to date again.
    corrupt(&samples_manifest);
    let err = prepare_with(&cfg, Options::default(), &NoProgress).expect_err("prepare");
    errors.push(shape(&err.to_string(), &samples_manifest));
    let again = prepare_with(&cfg, FORCE, &NoProgress).expect("forced prepare");
    assert!(!again.up_to_date);
    assert_eq!((again.shards_reused, again.content_hash.as_str()), (0, prepared.content_hash.as_str()));
    assert!(prepare_with(&cfg, Options::default(), &NoProgress).expect("prepare").up_to_date);

    corrupt(&landmarks_manifest);
    let err = run_stage_with(&landmarks, Options::default(), &NoProgress).expect_err("landmarks");
    errors.push(shape(&err.to_string(), &landmarks_manifest));
    let again = run_stage_with(&landmarks, FORCE, &NoProgress).expect("forced landmarks");
    assert!(!again.up_to_date);
    assert_eq!((again.shards_reused, again.content_hash.as_str()), (0, computed.content_hash.as_str()));
    assert!(run_stage_with(&landmarks, Options::default(), &NoProgress).expect("landmarks").up_to_date);

    corrupt(&draw_summary);
    errors.push(shape(&noise(Options::default()).expect_err("noise").to_string(), &draw_summary));
    assert_eq!(noise(FORCE).expect("forced noise"), (key.clone(), drawn.clone()));
    assert_eq!(noise(Options::default()).expect("noise"), (key, drawn));

    assert!(errors.iter().all(|e| e == &errors[0]), "one behaviour: {errors:#?}");
}
