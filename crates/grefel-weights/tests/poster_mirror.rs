//! POSTER++ weights in, the same logits out: `bench/poster_mirror.py` (this project's PyTorch
//! mirror of POSTER_V2's network, with POSTER's module names) draws random weights and saves them
//! as POSTER's training script saves a checkpoint (zip serialisation, DataParallel `module.` keys,
//! pickled `RecorderMeter` objects beside the weights) and as the two trunk files (legacy
//! serialisation; the IR-50 in face.evoLVe's flat `body.N` naming, the MobileFaceNet file as a
//! `.pth.tar` dict), and computes its logits on an input. grefel imports the files into the
//! `poster` preset and must give PyTorch's logits within 1e-4 on the CPU.
//!
//! Needs the PyTorch venv of `cargo xtask setup-libtorch` (`GREFEL_TORCH_VENV`, default
//! `~/.cache/grefel-torch`); without it the test says it is skipped, and under CI it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use burn::store::ModuleSnapshot;
use grefel_model::burn::module::Module;
use grefel_model::burn::tensor::{Tensor, TensorData};
use grefel_model::{Grefel, ModelConfig, device_from_str};
use grefel_weights::{Part, WeightsError, import};

const BATCH: usize = 2;
const SIDE: usize = 224;

/// A normalised-looking input, the same on both sides: a fixed linear congruential sequence.
fn input() -> Vec<f32> {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    (0..BATCH * 3 * SIDE * SIDE)
        .map(|_| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 4.0 - 2.0
        })
        .collect()
}

/// Runs the mirror with `args`; panics with its output when it fails.
fn mirror(python: &Path, args: &[&str]) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../bench/poster_mirror.py");
    let out = Command::new(python).arg(&script).args(args).output().expect("run the mirror");
    assert!(
        out.status.success(),
        "poster_mirror.py {args:?}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn logits(model: &Grefel, x: &[f32]) -> Vec<f32> {
    let device = device_from_str("cpu").expect("cpu");
    let images = Tensor::<4>::from_data(TensorData::new(x.to_vec(), [BATCH, 3, SIDE, SIDE]), &device);
    let out = model.forward(images, None, 0.0).expect("forward");
    out.logits.into_data().try_to_vec::<f32>().expect("f32 logits")
}

/// The bytes of every tensor of `model` under `prefix`, by path.
fn tensors(model: &Grefel, prefix: &str) -> Vec<(String, Vec<u8>)> {
    model
        .collect(None, None, true)
        .into_iter()
        .filter(|t| t.name.starts_with(prefix))
        .map(|t| (t.name.clone(), t.to_bytes().expect("bytes").to_vec()))
        .collect()
}

#[test]
fn a_poster_checkpoint_and_the_trunk_files_give_pytorchs_logits() {
    let Some(python) = grefel_model::device::torch_venv_python() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "the PyTorch venv is missing (CI must run setup-libtorch first)"
        );
        eprintln!("skipped: no PyTorch venv (run `cargo xtask setup-libtorch`)");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let x = input();
    let bytes: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path("input.bin"), bytes).expect("input");
    mirror(
        &python,
        &[
            "--classes",
            "7",
            "--seed",
            "3",
            "--save-checkpoint",
            &path("poster.pth"),
            "--save-ir50",
            &path("ir50.pth"),
            "--save-mobilefacenet",
            &path("mobilefacenet_model_best.pth.tar"),
            "--input",
            &path("input.bin"),
            "--logits-out",
            &path("torch.json"),
        ],
    );
    let torch: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path("torch.json")).expect("logits")).expect("json");
    let want: Vec<f32> = torch["logits"]
        .as_array()
        .expect("rows")
        .iter()
        .flat_map(|r| r.as_array().expect("row").iter().map(|v| v.as_f64().expect("number") as f32))
        .collect();
    assert_eq!(want.len(), BATCH * 7);

    // The whole checkpoint: every tensor but the reliability head's, then PyTorch's logits.
    let device = device_from_str("cpu").expect("cpu");
    let fresh = || Grefel::new(ModelConfig::poster(), &device).expect("poster builds");
    let (model, report) = import(fresh(), Part::Checkpoint, Path::new(&path("poster.pth"))).expect("import");
    assert_eq!(report.applied, report.expected, "{report}");
    assert!(report.missing.is_empty(), "{report}");
    let unused: Vec<&str> = report.unused.iter().map(|(p, _)| p.as_str()).collect();
    assert!(unused.contains(&"module.VIT.CON1.weight"), "{unused:?}");
    let model = model.valid();
    let got = logits(&model, &x);
    let diff = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    eprintln!("{report}\nmax |grefel - PyTorch| over {} logits = {diff:e}", got.len());
    assert!(diff <= 1e-4, "max |grefel - PyTorch| = {diff:e}\ngrefel {got:?}\ntorch  {want:?}");

    // The trunk files (legacy serialisation; flat IR-50 naming; the landmark file's state_dict):
    // the same trunk tensors as the checkpoint's.
    let (trunks, ir50) = import(fresh(), Part::Ir50, Path::new(&path("ir50.pth"))).expect("ir50");
    let (trunks, mfn) =
        import(trunks, Part::MobileFaceNet, Path::new(&path("mobilefacenet_model_best.pth.tar")))
            .expect("mfn");
    eprintln!("{ir50}\n{mfn}");
    assert_eq!((ir50.applied, mfn.applied), (ir50.expected, mfn.expected), "{ir50}\n{mfn}");
    assert!(ir50.unused.iter().any(|(p, _)| p.starts_with("body.*")), "the 512-channel stage: {ir50}");
    for prefix in ["ir50.", "mobilefacenet."] {
        assert_eq!(tensors(&trunks, prefix), tensors(&model, prefix), "{prefix}");
    }

    // Never a silent partial load: a file of another part, and an 8-class head.
    let e = import(fresh(), Part::Ir50, Path::new(&path("mobilefacenet_model_best.pth.tar")))
        .expect_err("wrong part");
    assert!(matches!(e, WeightsError::TooFew { applied: 0, .. }), "{e}");
    let eight = Grefel::new(ModelConfig::poster_8(), &device).expect("poster-8");
    let e = import(eight, Part::Checkpoint, Path::new(&path("poster.pth"))).expect_err("7 classes into 8");
    assert!(matches!(e, WeightsError::Mismatch { .. }) && e.to_string().contains("head.out"), "{e}");
    let e = import(fresh(), Part::Checkpoint, Path::new(&path("input.bin"))).expect_err("not a checkpoint");
    assert!(matches!(e, WeightsError::Read { .. }), "{e}");
}
