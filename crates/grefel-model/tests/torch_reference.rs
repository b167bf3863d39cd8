//! `bench/torch_grefel.py` (the PyTorch eager baseline of `cargo xtask bench train`) builds the
//! same network as this crate: for every preset, built from the preset's resolved
//! configuration, its parameter counts (total, trainable, and per block) equal ours. Needs the
//! PyTorch venv of `cargo xtask setup-libtorch` (`GREFEL_TORCH_VENV`, default
//! `~/.cache/grefel-torch`); without it the test says it is skipped, and under CI it fails.

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

use grefel_model::{Grefel, ModelConfig, PRESET_NAMES, device_from_str, parameter_counts};

#[test]
fn the_pytorch_reference_builds_the_same_network_for_every_preset() {
    let Some(python) = grefel_model::device::torch_venv_python() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "the PyTorch venv is missing (CI must run setup-libtorch first)"
        );
        let _ = writeln!(std::io::stderr(), "skipped: no PyTorch venv (run `cargo xtask setup-libtorch`)");
        return;
    };
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../bench/torch_grefel.py");
    let dir = tempfile::tempdir().expect("tempdir");
    let device = device_from_str("cpu").expect("cpu");
    for preset in PRESET_NAMES {
        let cfg = ModelConfig::preset(preset).expect("preset");
        let counts = parameter_counts(&Grefel::new(cfg.clone(), &device).expect("builds"));
        let mut summary = serde_json::to_value(&counts).expect("counts");
        summary["config"] = serde_json::to_value(&cfg).expect("config");
        let file = dir.path().join(format!("{preset}.json"));
        std::fs::write(&file, summary.to_string()).expect("write");
        let out = Command::new(&python)
            .arg(&script)
            .arg("--summary-json")
            .arg(&file)
            .arg("--check-params")
            .output()
            .expect("run the reference");
        assert!(
            out.status.success(),
            "{preset}: the reference's parameter counts differ from grefel's ({} total):\n{}{}",
            counts.total,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
