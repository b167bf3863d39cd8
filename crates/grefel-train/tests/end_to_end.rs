//! End-to-end training on a small synthetic dataset: finite losses, run files, determinism
//! (two runs, identical `metrics.json` bytes), resume after an interruption, reruns as no-ops,
//! and the optional paths (noisy labels, SAM, class-balanced epochs, val carve-out).
//!
//! The tests of this binary run one at a time: the CPU backend's random stream is global to the
//! process, so two trainings at once would draw from each other's stream.

use std::path::Path;
use std::sync::Mutex;

use grefel_artifacts::files::{
    PREDICTIONS as PREDICTIONS_FILE, RUN_CONFIG as CONFIG_FILE, RUN_METRICS as METRICS_FILE,
};
use grefel_experiments::{NoiseProtocol, NoiseSpec};
use grefel_ingest::split::SplitConfig;
use grefel_ingest::{NoProgress as IngestQuiet, PrepareSettings, prepare};
use grefel_synth::SynthConfig;
use grefel_train::{NoProgress, RunOptions, RunStatus, TrainConfig, TrainSettings, train, train_with};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn prepare_synthetic(root: &Path, name: &str, count: usize, split: SplitConfig) {
    let raw = root.join("raw").join(name);
    let synth = SynthConfig { count, identities: 4, ..SynthConfig::default() };
    grefel_synth::generate(&synth, &raw).expect("draw the synthetic set");
    let settings = PrepareSettings {
        dataset: Some(name.into()),
        adapter: "fergdb".into(),
        variant: None,
        root: raw,
        out: root.join("data"),
        rows_per_shard: 64,
        image: Default::default(),
        split,
    };
    prepare(&settings.validate().expect("valid prepare settings"), &IngestQuiet).expect("prepare");
}

fn config(dataset: &str, edit: impl FnOnce(&mut TrainSettings)) -> TrainConfig {
    let mut s = TrainSettings::new(dataset);
    s.preset = "tiny".into();
    s.epochs = 2;
    s.batch_size = 16;
    s.eval_batch_size = 32;
    s.optimizer.lr = 1e-3;
    edit(&mut s);
    s.validate().expect("valid training settings")
}

fn metrics_bytes(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join(METRICS_FILE)).expect("metrics.json")
}

#[test]
fn training_is_deterministic_resumable_and_idempotent() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let tmp = tempfile::tempdir().expect("tempdir");
    prepare_synthetic(tmp.path(), "synthetic", 160, SplitConfig::default());
    let data = tmp.path().join("data");
    let cfg = config("synthetic", |_| {});

    let a = train(&cfg, &data, &tmp.path().join("runs-a"), "cpu", &NoProgress).expect("train a");
    assert_eq!(a.status, RunStatus::Finished);
    for file in [CONFIG_FILE, METRICS_FILE, PREDICTIONS_FILE] {
        assert!(a.run_dir.join(file).is_file(), "{file} missing");
    }
    let am = a.metrics.as_ref().expect("finished runs have metrics");
    assert_eq!(am.history.len(), 2);
    for epoch in &am.history {
        assert!(epoch.loss.is_finite(), "loss {}", epoch.loss);
    }
    for (output, m) in [("primary", &am.test.primary), ("corrected", &am.test.corrected)] {
        assert!((0.0..=1.0).contains(&m.accuracy), "{output} accuracy {}", m.accuracy);
        assert!(m.nll.is_finite() && m.ece.is_finite());
        assert_eq!(m.confusion.total(), m.samples);
    }
    assert_eq!(am.provenance.class_names[6], "anger");
    // The file on disk is the typed document (floats aside, which serde_json parses to within
    // one unit in the last place).
    let stored: grefel_artifacts::RunMetrics =
        grefel_artifacts::read_json(&a.run_dir.join(METRICS_FILE)).expect("metrics.json parses");
    assert_eq!(stored.test.primary.confusion, am.test.primary.confusion);
    assert_eq!(
        (stored.best_epoch, stored.iterations, &stored.provenance.run_id),
        (am.best_epoch, am.iterations, &am.provenance.run_id)
    );

    let b = train(&cfg, &data, &tmp.path().join("runs-b"), "cpu", &NoProgress).expect("train b");
    assert_eq!(a.run_id, b.run_id, "same configuration, same run id");
    assert_eq!(metrics_bytes(&a.run_dir), metrics_bytes(&b.run_dir), "one seed, identical metrics.json");

    let again = train(&cfg, &data, &tmp.path().join("runs-a"), "cpu", &NoProgress).expect("rerun");
    assert_eq!(again.status, RunStatus::AlreadyFinished, "a finished run is a no-op");
    assert!(again.summary_line().contains("nothing to do"));

    let stop = RunOptions { stop_after_epochs: Some(1), ..RunOptions::default() };
    let runs_c = tmp.path().join("runs-c");
    let first = train_with(&cfg, &data, &runs_c, &stop, &NoProgress).expect("first half");
    assert_eq!(first.status, RunStatus::Stopped { epochs_done: 1 });
    assert!(!first.run_dir.join(METRICS_FILE).exists(), "metrics.json only when finished");
    let second = train_with(&cfg, &data, &runs_c, &RunOptions::default(), &NoProgress).expect("resume");
    assert_eq!(second.status, RunStatus::Finished);
    assert_eq!(
        metrics_bytes(&a.run_dir),
        metrics_bytes(&second.run_dir),
        "resumed run equals uninterrupted run"
    );

    let other = config("synthetic", |s| s.seed = 1);
    let c = train(&other, &data, &tmp.path().join("runs-a"), "cpu", &NoProgress).expect("seed 1");
    assert_ne!(c.run_id, a.run_id);
    assert_ne!(metrics_bytes(&a.run_dir), metrics_bytes(&c.run_dir), "another seed, other numbers");

    // A run folder made before run ids named the backend (its id is the legacy one, its
    // timing.json records the device): found and reused by its own backend, never by another.
    let legacy_runs = tmp.path().join("runs-legacy");
    let content =
        grefel_shards::Manifest::read(&data.join("synthetic")).expect("read").expect("manifest").content_hash;
    let legacy_id = grefel_train::run::legacy_run_id(&cfg, &content);
    let copy = |device: &str| {
        let dir = legacy_runs.join(&legacy_id);
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::copy(a.run_dir.join(METRICS_FILE), dir.join(METRICS_FILE)).expect("metrics");
        let timing = grefel_artifacts::RunTiming { device: device.into(), ..Default::default() };
        grefel_artifacts::write_json(&dir.join(grefel_artifacts::files::RUN_TIMING), &timing)
            .expect("timing");
    };
    copy("cpu");
    let reused = train(&cfg, &data, &legacy_runs, "cpu", &NoProgress).expect("legacy");
    assert_eq!((reused.status, reused.run_id.as_str()), (RunStatus::AlreadyFinished, legacy_id.as_str()));
    copy("libtorch-cpu");
    let fresh = train(&cfg, &data, &legacy_runs, "cpu", &NoProgress).expect("not the libtorch run");
    assert_eq!((fresh.status, fresh.run_id.as_str()), (RunStatus::Finished, a.run_id.as_str()));

    let bf16 = config("synthetic", |s| s.precision = grefel_model::Precision::Bf16);
    let refused = train(&bf16, &data, &tmp.path().join("runs-a"), "cpu", &NoProgress);
    let message = refused.expect_err("bf16 on the Flex CPU backend is refused").to_string();
    assert!(message.contains("bf16 needs a libtorch device"), "{message}");
}

#[test]
fn noise_sam_balanced_sampling_and_val_carve_out() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let tmp = tempfile::tempdir().expect("tempdir");
    prepare_synthetic(tmp.path(), "noval", 300, SplitConfig { seed: 0, train: 0.85, val: 0.0 });
    let data = tmp.path().join("data");
    let cfg = config("noval", |s| {
        s.epochs = 1;
        s.noise = Some(NoiseSpec { protocol: NoiseProtocol::Symmetric, rate: 0.2, seed: 3 });
        s.optimizer.sam = true;
        s.sampling.balanced = true;
        s.sampling.per_class = 8;
        s.sampling.replacement = true;
    });
    let r = train(&cfg, &data, &tmp.path().join("runs"), "cpu", &NoProgress).expect("train");
    assert_eq!(r.status, RunStatus::Finished);
    let rm = r.metrics.as_ref().expect("metrics");
    let d = &rm.dataset;
    assert!(d.val_carved_from_train, "no val split: one is carved from train");
    let key = d.noise_key.as_deref().expect("noise key");
    assert!(key.starts_with("symmetric-r0.200-s3-basic7-"), "{key}");
    let rate = d.noise_realised_rate.expect("rate");
    assert!((rate - 0.2).abs() < 0.02, "realised noise {rate}");
    assert!(data.join(format!("noval/noise/{key}.parquet")).is_file(), "the draw is materialised");
    let h = &rm.history[0];
    let presented = h.samples;
    assert!(
        presented.is_multiple_of(8) && presented >= 6 * 8,
        "balanced epochs: per_class of each class ({presented})"
    );
    assert!(h.loss.is_finite());
    let carved = d.samples["selection"];
    assert!(carved > 0 && carved < d.samples["train"]);
}
