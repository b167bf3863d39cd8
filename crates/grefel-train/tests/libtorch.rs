//! The libtorch backend (`--features tch`, `cargo xtask setup-libtorch` first): a short training
//! run on `libtorch-cpu` finishes with finite, in-range metrics, and two runs with one seed give
//! identical metrics. CI builds the feature and runs this test.

#![cfg(feature = "tch")]

use std::path::Path;

use grefel_ingest::split::SplitConfig;
use grefel_ingest::{NoProgress as IngestQuiet, PrepareSettings, prepare};
use grefel_synth::SynthConfig;
use grefel_train::{NoProgress, RunStatus, TrainSettings, train};

fn prepare_synthetic(root: &Path) {
    let raw = root.join("raw");
    let synth = SynthConfig { count: 120, image_size: 32, identities: 4, ..SynthConfig::default() };
    grefel_synth::generate(&synth, &raw).expect("draw the synthetic set");
    let settings = PrepareSettings {
        dataset: Some("synthetic".into()),
        adapter: "fergdb".into(),
        variant: None,
        root: raw,
        out: root.join("data"),
        rows_per_shard: 64,
        image: Default::default(),
        split: SplitConfig::default(),
    };
    prepare(&settings.validate().expect("valid prepare settings"), &IngestQuiet).expect("prepare");
}

#[test]
fn short_training_on_libtorch_cpu() {
    let tmp = tempfile::tempdir().expect("tempdir");
    prepare_synthetic(tmp.path());
    let mut s = TrainSettings::new("synthetic");
    s.preset = "micro".into();
    s.epochs = 2;
    s.batch_size = 8;
    s.eval_batch_size = 32;
    let cfg = s.validate().expect("valid settings");
    let data = tmp.path().join("data");
    let a = train(&cfg, &data, &tmp.path().join("runs-a"), "libtorch-cpu", &NoProgress).expect("train");
    assert_eq!(a.status, RunStatus::Finished);
    for output in ["primary", "corrected"] {
        let m = &a.metrics["test"][output];
        let acc = m["accuracy"].as_f64().expect("accuracy");
        let nll = m["nll"].as_f64().expect("nll");
        assert!((0.0..=1.0).contains(&acc), "{output} accuracy {acc}");
        assert!(nll.is_finite() && nll > 0.0, "{output} nll {nll}");
    }
    let history = a.metrics["history"].as_array().expect("history");
    assert_eq!(history.len(), 2);
    assert!(history.iter().all(|e| e["loss"].as_f64().is_some_and(f64::is_finite)));

    let b = train(&cfg, &data, &tmp.path().join("runs-b"), "libtorch-cpu", &NoProgress).expect("train again");
    assert_eq!(a.metrics["test"], b.metrics["test"], "one seed, one backend: the same numbers");
}
