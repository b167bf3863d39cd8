//! POSTER++ weights through the command line, as a user chains it: `bench/poster_mirror.py`
//! (this project's PyTorch mirror of POSTER_V2's network, with its module names) saves random
//! weights as POSTER's training script saves a checkpoint (zip, `module.` keys, pickled
//! `RecorderMeter` objects) and as the two trunk files (legacy serialisation, flat IR-50
//! naming). Aligned face crops of several sizes go through POSTER's test transform in Python
//! (PIL `Resize((224, 224))`, `ToTensor`, ImageNet `Normalize`) into the mirror, and as files
//! through `import-checkpoint` then `predict --aligned`: the logits agree within 1e-4 (in the
//! checkpoint's class order, RAF-DB's). `export --names poster` loads strictly into the mirror
//! and gives its logits; its tensors are the checkpoint's, and importing it again gives the same
//! tensors.
//!
//! Needs the PyTorch venv of `setup-libtorch` and a Python with Pillow (`GREFEL_PYTHON`, which
//! `.ci/run` sets up); without them the test says it is skipped, and under CI it fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use grefel_model::burn::store::burn_pack::Tensor;
use grefel_model::burn::store::{ModuleStore, PytorchStore};

const XTASK: &str = env!("CARGO_BIN_EXE_xtask");
/// POSTER's RAF-DB order, that of the mirror's classifier here.
const RAF_ORDER: [&str; 7] = ["surprise", "fear", "disgust", "happy", "sad", "anger", "neutral"];
/// grefel's order (basic7).
const GREFEL_ORDER: [&str; 7] = ["neutral", "happy", "sad", "surprise", "fear", "disgust", "anger"];

fn pillow_python() -> Option<PathBuf> {
    let python = PathBuf::from(std::env::var_os("GREFEL_PYTHON")?);
    let ok =
        Command::new(&python).args(["-c", "import PIL, numpy"]).output().is_ok_and(|o| o.status.success());
    ok.then_some(python)
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn xtask(args: &[&str]) -> Output {
    let out = Command::new(XTASK).args(args).env("GREFEL_LOG", "warn").output().expect("xtask runs");
    assert!(out.status.success(), "xtask {args:?}:\n{}", text(&out));
    out
}

fn run(python: &Path, args: &[&str]) {
    let out = Command::new(python).args(args).output().expect("python runs");
    assert!(out.status.success(), "{} {args:?}:\n{}", python.display(), text(&out));
}

fn mirror(python: &Path, args: &[&str]) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../bench/poster_mirror.py");
    let mut all = vec![script.to_str().expect("utf-8 path")];
    all.extend_from_slice(args);
    run(python, &all);
}

/// Writes the crops (PNG, smooth random content, several sizes, one in a sub-folder) and their
/// POSTER test-transform tensors (`input.bin`, in sorted path order) with Pillow.
const INPUTS: &str = r#"
import sys, os, numpy as np
from PIL import Image
root, out = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(11)
sizes = {"a.png": (100, 100), "b.png": (224, 224), "sub/c.png": (300, 260), "d.png": (150, 97)}
mean = np.array([0.485, 0.456, 0.406], dtype=np.float32)
std = np.array([0.229, 0.224, 0.225], dtype=np.float32)
xs = []
for name in sorted(sizes):
    w, h = sizes[name]
    coarse = rng.integers(0, 256, size=(h // 8 + 2, w // 8 + 2, 3)).astype(np.uint8)
    img = Image.fromarray(coarse).resize((w, h), Image.BICUBIC)
    noise = rng.integers(-12, 13, size=(h, w, 3))
    img = Image.fromarray(np.clip(np.asarray(img).astype(np.int32) + noise, 0, 255).astype(np.uint8))
    path = os.path.join(root, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    img.save(path)
    t = Image.open(path).convert("RGB").resize((224, 224), Image.BILINEAR)
    x = np.asarray(t).astype(np.float32) / np.float32(255)
    x = (x - mean) / std
    xs.append(np.ascontiguousarray(x.transpose(2, 0, 1), dtype=np.float32))
np.stack(xs).astype("<f4").tofile(out)
print(" ".join(sorted(sizes)))
"#;

fn read_logits(path: &Path) -> Vec<Vec<f32>> {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("logits")).expect("json");
    v["logits"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r.as_array().expect("row").iter().map(|x| x.as_f64().expect("number") as f32).collect())
        .collect()
}

/// Every tensor of a PyTorch checkpoint (its `state_dict`, without `module.`) or a safetensors
/// file: `key -> (dtype, shape, bytes)`.
fn tensors(path: &Path) -> BTreeMap<String, (String, Vec<usize>, Vec<u8>)> {
    let all: Vec<(String, Tensor)> = if grefel_weights::safetensors::is_safetensors(path) {
        grefel_weights::safetensors::read(path).expect("safetensors").into_iter().collect()
    } else {
        let mut store = PytorchStore::from_file(path).map_indices_contiguous(false);
        let all = store.get_all_tensors().expect("pytorch file").clone();
        all.into_iter()
            .filter_map(|(k, t)| {
                let key = k.strip_prefix("state_dict.")?;
                Some((key.strip_prefix("module.").unwrap_or(key).to_string(), t))
            })
            .collect()
    };
    all.into_iter()
        .map(|(k, t)| {
            (k, (format!("{:?}", t.dtype), t.shape.to_vec(), t.to_bytes().expect("bytes").to_vec()))
        })
        .collect()
}

#[test]
fn a_poster_checkpoint_imported_predicts_pytorchs_logits_and_exports_back() {
    let (Some(torch), Some(pillow)) = (grefel_model::device::torch_venv_python(), pillow_python()) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "the PyTorch venv or the Pillow Python (GREFEL_PYTHON) is missing; CI sets both up"
        );
        eprintln!("skipped: needs the PyTorch venv (setup-libtorch) and GREFEL_PYTHON with Pillow");
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let p = |name: &str| tmp.path().join(name);
    let s = |name: &str| p(name).to_string_lossy().into_owned();
    mirror(
        &torch,
        &[
            "--classes",
            "7",
            "--seed",
            "5",
            "--save-checkpoint",
            &s("poster.pth"),
            "--save-ir50",
            &s("ir50.pth"),
            "--save-mobilefacenet",
            &s("mobilefacenet_model_best.pth.tar"),
        ],
    );
    run(&pillow, &["-c", INPUTS, &s("faces"), &s("input.bin")]);
    std::fs::write(p("faces/broken.png"), b"\x89PNG\r\n\x1a\nnot really").expect("broken file");
    mirror(
        &torch,
        &[
            "--load-state-dict",
            &s("poster.pth"),
            "--input",
            &s("input.bin"),
            "--logits-out",
            &s("torch.json"),
        ],
    );
    let want = read_logits(&p("torch.json"));
    assert_eq!(want.len(), 4);

    // The checkpoint over the two trunk files, as a run folder.
    let out = xtask(&[
        "import-checkpoint",
        "--preset",
        "poster",
        "--init",
        &format!("ir50={}", s("ir50.pth")),
        "--init",
        &format!("mobilefacenet={}", s("mobilefacenet_model_best.pth.tar")),
        "--checkpoint",
        &s("poster.pth"),
        "--out",
        &s("run"),
    ]);
    let said = text(&out);
    for line in [
        "ir50 <- ",
        "applied 247/247",
        "mobilefacenet <- ",
        "applied 273/273",
        "checkpoint <- ",
        "applied 615/615",
    ] {
        assert!(said.contains(line), "`{line}` not in:\n{said}");
    }
    assert!(said.contains("module.VIT.CON1.weight (1)") && said.contains("missing: none"), "{said}");
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p("run/import.json")).expect("import.json"))
            .expect("json");
    assert_eq!(record["class_order"], serde_json::json!(RAF_ORDER), "{record}");

    // predict --aligned on the files: PyTorch's logits, in grefel's class order.
    xtask(&["predict", "--run", &s("run"), "--input", &s("faces"), "--aligned", "--out", &s("preds.jsonl")]);
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(p("preds.jsonl"))
        .expect("records")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    let by_name = |name: &str| {
        lines
            .iter()
            .find(|r| r["path"].as_str().is_some_and(|path| path.ends_with(name)))
            .unwrap_or_else(|| panic!("no record of {name}: {lines:?}"))
    };
    assert!(by_name("broken.png")["error"].is_string(), "{lines:?}");
    let mut worst = 0f32;
    for (i, name) in ["a.png", "b.png", "d.png", "sub/c.png"].iter().enumerate() {
        let record = by_name(name);
        let logits: Vec<f32> = record["logits"]
            .as_array()
            .expect("logits")
            .iter()
            .map(|v| v.as_f64().expect("f") as f32)
            .collect();
        for (k, class) in RAF_ORDER.iter().enumerate() {
            let j = GREFEL_ORDER.iter().position(|c| c == class).expect("class");
            worst = worst.max((logits[j] - want[i][k]).abs());
        }
        let best = (0..7).max_by(|&a, &b| want[i][a].total_cmp(&want[i][b])).expect("argmax");
        assert_eq!(record["label"], RAF_ORDER[best], "{name}: {record}");
    }
    eprintln!("max |grefel predict - PyTorch| over 4 images x 7 logits = {worst:e}");
    assert!(worst <= 1e-4, "max |grefel - PyTorch| = {worst:e}");

    // export --names poster: strict into the mirror, the same logits; the checkpoint's tensors.
    let said = text(&xtask(&["export", "--run", &s("run"), "--out", &s("export.safetensors")]));
    assert!(said.contains("747 tensors (615 from the network, 132 kept"), "{said}");
    mirror(
        &torch,
        &[
            "--load-state-dict",
            &s("export.safetensors"),
            "--input",
            &s("input.bin"),
            "--logits-out",
            &s("torch-export.json"),
        ],
    );
    assert_eq!(read_logits(&p("torch-export.json")), want, "the exported weights compute the same logits");
    let original = tensors(&p("poster.pth"));
    let exported = tensors(&p("export.safetensors"));
    assert_eq!(original.len(), 747);
    assert_eq!(original.keys().collect::<Vec<_>>(), exported.keys().collect::<Vec<_>>());
    for (key, t) in &original {
        assert!(exported[key] == *t, "{key} differs after export");
    }

    // Export then import: the same tensors (and a run made only from the trunk files fills both
    // trunks and nothing more).
    xtask(&[
        "import-checkpoint",
        "--preset",
        "poster",
        "--checkpoint",
        &s("export.safetensors"),
        "--out",
        &s("again"),
    ]);
    xtask(&["export", "--run", &s("again"), "--out", &s("again.safetensors")]);
    assert!(tensors(&p("again.safetensors")) == exported, "export → import → export changed a tensor");
    let grefel_names =
        text(&xtask(&["export", "--run", &s("again"), "--names", "grefel", "--out", &s("g.safetensors")]));
    assert!(grefel_names.contains("0 filled"), "{grefel_names}");
    assert!(tensors(&p("g.safetensors")).contains_key("ir50.stem.bn.running_var"));
    let said = text(&xtask(&[
        "import-checkpoint",
        "--preset",
        "poster",
        "--init",
        &format!("ir50={}", s("ir50.pth")),
        "--out",
        &s("trunk-only"),
    ]));
    assert!(said.contains("applied 247/247") && said.contains("body.*.res_layer"), "{said}");

    // Refusals, with nothing written: a wrong part, the wrong class count, an existing run.
    let refused = |args: &[&str]| {
        let out = Command::new(XTASK).args(args).env("GREFEL_LOG", "warn").output().expect("xtask");
        assert!(!out.status.success(), "xtask {args:?} should fail:\n{}", text(&out));
        text(&out)
    };
    let e = refused(&[
        "import-checkpoint",
        "--preset",
        "poster",
        "--init",
        &format!("ir50={}", s("mobilefacenet_model_best.pth.tar")),
        "--out",
        &s("wrong"),
    ]);
    assert!(e.contains("applied 0 of the 247"), "{e}");
    assert!(!p("wrong/import.json").exists());
    let e = refused(&[
        "import-checkpoint",
        "--preset",
        "poster-8",
        "--checkpoint",
        &s("poster.pth"),
        "--out",
        &s("eight"),
    ]);
    assert!(e.contains("head.out"), "{e}");
    let e = refused(&[
        "import-checkpoint",
        "--preset",
        "poster",
        "--checkpoint",
        &s("poster.pth"),
        "--out",
        &s("run"),
    ]);
    assert!(e.contains("already a run folder"), "{e}");
}
