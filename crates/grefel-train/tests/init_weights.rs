//! `paper` trains from the pretrained trunks (`init`: the IR-50 file in face.evoLVe's flat naming
//! and the MobileFaceNet landmark file, both in PyTorch's legacy serialisation, written by
//! `bench/poster_mirror.py`), with the MobileFaceNet landmark branch on: one training step on the
//! CPU. The frozen trunks keep the files' weights, the files' hashes are part of the run's
//! identity, and a file that does not fit its part is refused before anything trains.
//!
//! Needs the PyTorch venv of `cargo xtask setup-libtorch`; without it the test says it is
//! skipped, and under CI it fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use grefel_ingest::split::SplitConfig;
use grefel_ingest::{NoProgress as IngestQuiet, PrepareSettings, prepare};
use grefel_model::burn::store::ModuleSnapshot;
use grefel_model::{Grefel, ModelConfig, device_from_str};
use grefel_synth::SynthConfig;
use grefel_train::saved::SavedRun;
use grefel_train::{NoProgress, RunOptions, RunStatus, TrainSettings, train_with};

/// The conv weights (frozen in training: BatchNorm statistics still move) of `model` under `prefix`.
fn conv_weights(model: &Grefel, prefix: &str) -> BTreeMap<String, Vec<u8>> {
    model
        .collect(None, None, true)
        .into_iter()
        .filter(|t| {
            t.name.starts_with(prefix)
                && ["conv.weight", "conv1.weight", "conv2.weight"].iter().any(|end| t.name.ends_with(end))
        })
        .map(|t| (t.name.clone(), t.to_bytes().expect("bytes").to_vec()))
        .collect()
}

#[test]
fn paper_trains_one_step_from_the_pretrained_trunks() {
    let Some(python) = grefel_model::device::torch_venv_python() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "the PyTorch venv is missing (CI must run setup-libtorch first)"
        );
        eprintln!("skipped: no PyTorch venv (run `cargo xtask setup-libtorch`)");
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let (ir50, mfn) = (tmp.path().join("ir50.pth"), tmp.path().join("mobilefacenet_model_best.pth.tar"));
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../bench/poster_mirror.py");
    let out = Command::new(&python)
        .arg(&script)
        .args(["--seed", "5", "--save-ir50"])
        .arg(&ir50)
        .arg("--save-mobilefacenet")
        .arg(&mfn)
        .output()
        .expect("run the mirror");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // 20 faces: 16 train (one batch of 16: one step), the rest for selection and evaluation.
    let raw = tmp.path().join("raw");
    let synth = SynthConfig { count: 20, image_size: 32, identities: 4, ..SynthConfig::default() };
    grefel_synth::generate(&synth, &raw).expect("synth");
    let data = tmp.path().join("data");
    let settings = PrepareSettings {
        dataset: Some("synthetic".into()),
        adapter: "fergdb".into(),
        variant: None,
        root: raw,
        out: data.clone(),
        rows_per_shard: 64,
        image: Default::default(),
        split: SplitConfig::default(),
    };
    prepare(&settings.validate().expect("prepare settings"), &IngestQuiet).expect("prepare");

    let settings = |init: &[(&str, &Path)]| {
        let mut s = TrainSettings::new("synthetic");
        s.preset = "paper".into();
        s.epochs = 1;
        s.batch_size = 16;
        s.eval_batch_size = 8;
        s.init = init.iter().map(|(p, f)| (p.to_string(), f.to_path_buf())).collect();
        s
    };
    let config = settings(&[("ir50", &ir50), ("mobilefacenet", &mfn)]).validate().expect("valid");
    assert_eq!(config.init.len(), 2);
    assert!(config.init.iter().all(|f| f.sha256.len() == 64), "{:?}", config.init);
    let runs = tmp.path().join("runs");
    let run = train_with(&config, &data, &runs, &RunOptions::default(), &NoProgress).expect("train");
    assert_eq!(run.status, RunStatus::Finished);
    let metrics = run.metrics.as_ref().expect("metrics");
    assert!(metrics.history.iter().all(|e| e.loss.is_finite()), "{:?}", metrics.history);
    let document = std::fs::read_to_string(run.run_dir.join("config.json")).expect("config.json");
    assert!(document.contains("mobilefacenet_model_best.pth.tar"), "the run names its init files");

    // The frozen trunks hold the files' weights after training.
    let device = device_from_str("cpu").expect("cpu");
    let trained = SavedRun::open(&run.run_dir).expect("open").model(&device).expect("model");
    let fresh = Grefel::new(ModelConfig::paper().with_num_classes(7), &device).expect("paper");
    let (from_files, _) = grefel_weights::import(fresh, grefel_weights::Part::Ir50, &ir50).expect("ir50");
    let (from_files, _) =
        grefel_weights::import(from_files, grefel_weights::Part::MobileFaceNet, &mfn).expect("mfn");
    for prefix in ["ir50.", "mobilefacenet."] {
        let (a, b) = (conv_weights(&trained, prefix), conv_weights(&from_files, prefix));
        assert!(!a.is_empty(), "{prefix}");
        assert_eq!(a, b, "{prefix} conv weights are the file's");
    }

    // The files are part of the identity; a file that does not fit its part is refused.
    let plain = settings(&[]).validate().expect("valid");
    assert!(plain.init.is_empty() && plain.resolved().get("init").is_none(), "no init: the ids of before");
    assert!(config.resolved().get("init").is_some(), "init files are part of the resolved configuration");
    let wrong = settings(&[("ir50", &mfn)]).validate().expect("valid settings");
    let e = train_with(&wrong, &data, &runs, &RunOptions::default(), &NoProgress).expect_err("wrong file");
    assert!(e.to_string().contains("applied 0 of"), "{e}");
    let e = settings(&[("vit", &ir50)]).validate().expect_err("no such part");
    assert!(e.to_string().contains("ir50, mobilefacenet"), "{e}");
    let mut geometry = settings(&[("mobilefacenet", &mfn)]);
    geometry.preset = "paper-geometry".into();
    assert!(geometry.validate().is_err(), "no MobileFaceNet branch to fill");

    // Fine-tuning (`init_from`): the run's selected weights are the starting point, their hash
    // is part of the identity, and the training goes on from them.
    let mut tuned = settings(&[]);
    tuned.init_from = Some(run.run_dir.clone());
    tuned.seed = 1;
    let tuned = tuned.validate().expect("valid");
    let from = tuned.init_from.clone().expect("init_from");
    let source = SavedRun::open(&run.run_dir).expect("open");
    assert_eq!(from.sha256, source.selected_sha256().expect("sha256"));
    assert_eq!(tuned.resolved()["init_from"]["sha256"], from.sha256.as_str());
    let fresh = Grefel::new(tuned.model.clone(), &device).expect("paper");
    let start = grefel_train::checkpoint::load_init_run(&from, fresh).expect("load");
    let all = |m: &Grefel| -> BTreeMap<String, Vec<u8>> {
        m.collect(None, None, true)
            .into_iter()
            .map(|t| (t.name.clone(), t.to_bytes().expect("b").to_vec()))
            .collect()
    };
    assert_eq!(all(&start), all(&trained), "the starting weights are the run's selected weights");
    let second = train_with(&tuned, &data, &runs, &RunOptions::default(), &NoProgress).expect("fine-tune");
    assert_eq!(second.status, RunStatus::Finished);
    assert_ne!(second.run_dir, run.run_dir);
    let mut eight = settings(&[]);
    eight.init_from = Some(run.run_dir.clone());
    eight.class_view = Some(grefel_schema::ClassView::WithContempt8);
    let e = eight.validate().expect_err("7 outputs into 8");
    assert!(e.to_string().contains("has 7 outputs"), "{e}");
}
