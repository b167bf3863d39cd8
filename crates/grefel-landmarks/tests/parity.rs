//! Exact parity with dlib. The expected points are generated here, in the test's setup, by dlib
//! itself (the `dlib-bin` wheel, through `GREFEL_PYTHON`), on the public-domain photos in
//! `../shared/fixtures/faces`:
//!
//! - every photo at full size, as RGB and as grey PNG, with dlib's own HOG detector boxes
//!   (`run(img, 1, 0)`) and the whole-image rectangle;
//! - grey crops of 48 and 96 px around every HOG face (margins 1.2 and 1.5; also 256 px at 1.5),
//!   with the boxes [`grefel_landmarks::boxes`] gives them: the whole crop, the inset box and the
//!   rustface box.
//!
//! The Rust predictor must return the same integer points on every case. Inputs are written as
//! PNG first so both sides read identical pixels. Without the model, dlib or the photos the test
//! says why it is skipped; under CI that is a failure.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use grefel_landmarks::Rect;
use grefel_landmarks::boxes::{BoxConfig, FaceModel, inset_box};
use grefel_landmarks::intensity::{Intensity, load_intensity};
use grefel_landmarks::models::load_predictor;
use serde::{Deserialize, Serialize};

const SCRIPT: &str = r#"
import json, sys
import dlib
mode, model, cases_path, out_path = sys.argv[1:5]
cases = json.load(open(cases_path))
if mode == "detect":
    det = dlib.get_frontal_face_detector()
    out = {}
    for path in cases:
        rects, _, _ = det.run(dlib.load_rgb_image(path), 1, 0)
        out[path] = [[r.left(), r.top(), r.right(), r.bottom()] for r in rects]
else:
    sp = dlib.shape_predictor(model)
    images = {}
    out = []
    for case in cases:
        path = case["image"]
        if path not in images:
            images.clear()
            images[path] = dlib.load_grayscale_image(path) if case["gray"] else dlib.load_rgb_image(path)
        l, t, r, b = case["rect"]
        s = sp(images[path], dlib.rectangle(l, t, r, b))
        out.append([[s.part(i).x, s.part(i).y] for i in range(s.num_parts)])
json.dump(out, open(out_path, "w"))
"#;

#[derive(Debug, Serialize, Deserialize)]
struct Case {
    image: PathBuf,
    gray: bool,
    rect: [i64; 4],
    kind: String,
}

fn python(python: &Path, dir: &Path, mode: &str, model: &Path, input: &impl Serialize) -> serde_json::Value {
    let script = dir.join("dlib_reference.py");
    std::fs::write(&script, SCRIPT).expect("write script");
    let cases = dir.join(format!("{mode}_in.json"));
    let out = dir.join(format!("{mode}_out.json"));
    std::fs::write(&cases, serde_json::to_vec(input).expect("json")).expect("write cases");
    let run = Command::new(python).arg(&script).arg(mode).arg(model).arg(&cases).arg(&out).output();
    let run = run.unwrap_or_else(|e| panic!("running {}: {e}", python.display()));
    assert!(run.status.success(), "dlib {mode} failed: {}", String::from_utf8_lossy(&run.stderr));
    serde_json::from_slice(&std::fs::read(&out).expect("read output")).expect("parse output")
}

#[test]
fn parity_with_dlib_on_photos_and_crops() {
    let test = "parity_with_dlib_on_photos_and_crops";
    let Some(model_path) = common::model_or_skip(test) else { return };
    let Some(py) = common::dlib_python_or_skip(test) else { return };
    let Some(fixtures) = common::fixtures_or_skip(test) else { return };
    let face_model = common::face_model_or_skip(test).map(|p| FaceModel::load(&p).expect("rustface model"));
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();

    // Lossless inputs: every photo decoded once and stored as RGB and as grey PNG.
    let mut rgb_inputs = Vec::new();
    let mut gray_of = BTreeMap::new();
    for photo in common::photos(&fixtures) {
        let img = image::open(&photo).unwrap_or_else(|e| panic!("{}: {e}", photo.display()));
        let stem = photo.file_stem().and_then(|s| s.to_str()).expect("name").to_string();
        let rgb_path = dir.join(format!("{stem}.rgb.png"));
        let gray_path = dir.join(format!("{stem}.gray.png"));
        img.to_rgb8().save(&rgb_path).expect("save rgb");
        img.to_luma8().save(&gray_path).expect("save gray");
        gray_of.insert(rgb_path.clone(), gray_path);
        rgb_inputs.push(rgb_path);
    }
    assert!(rgb_inputs.len() >= 3, "expected the three fixture photos");

    let detections: BTreeMap<PathBuf, Vec<[i64; 4]>> =
        serde_json::from_value(python(&py, dir, "detect", &model_path, &rgb_inputs)).expect("detections");
    let mut cases = Vec::new();
    let cfg = BoxConfig::default();
    let mut detector = face_model.as_ref().map(|m| m.detector(&cfg));
    for (n, rgb) in rgb_inputs.iter().enumerate() {
        let gray_path = &gray_of[rgb];
        let gray = image::open(gray_path).expect("gray").to_luma8();
        let (w, h) = (i64::from(gray.width()), i64::from(gray.height()));
        let boxes = &detections[rgb];
        assert!(!boxes.is_empty(), "dlib found no face in {}", rgb.display());
        for (image, is_gray) in [(rgb, false), (gray_path, true)] {
            let mut add = |rect: [i64; 4], kind: &str| {
                cases.push(Case { image: image.clone(), gray: is_gray, rect, kind: kind.into() })
            };
            add([0, 0, w - 1, h - 1], "full");
            boxes.iter().for_each(|b| add(*b, "hog"));
        }
        for (f, b) in boxes.iter().enumerate() {
            for margin in [1.2, 1.5] {
                for size in [48u32, 96, 256].into_iter().filter(|&s| s < 256 || margin > 1.4) {
                    let c = common::crop(&gray, *b, margin, size);
                    let path = dir.join(format!("crop_{n}_{f}_m{margin}_s{size}.png"));
                    c.save(&path).expect("save crop");
                    let s = i64::from(size);
                    let mut add = |rect: Rect, kind: &str| {
                        cases.push(Case {
                            image: path.clone(),
                            gray: true,
                            rect: rect.corners(),
                            kind: kind.into(),
                        })
                    };
                    add(Rect::new(0, 0, s - 1, s - 1), "crop_full");
                    add(inset_box(size, size, cfg.inset_ratio), "crop_inset");
                    if let Some(r) = detector.as_mut().and_then(|d| d.detect(&c)) {
                        add(r, "crop_rustface");
                    }
                }
            }
        }
    }

    let expected: Vec<Vec<[i64; 2]>> =
        serde_json::from_value(python(&py, dir, "predict", &model_path, &cases)).expect("expected points");
    assert_eq!(expected.len(), cases.len());
    let model = load_predictor(&model_path, Some(68)).expect("model");
    let mut by_kind: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut mismatches = Vec::new();
    let mut loaded: Option<(PathBuf, image::GrayImage)> = None;
    for (case, want) in cases.iter().zip(&expected) {
        if loaded.as_ref().is_none_or(|(p, _)| *p != case.image) {
            loaded = Some((case.image.clone(), load_intensity(&case.image).expect("load")));
        }
        let img = &loaded.as_ref().expect("loaded").1;
        let [l, t, r, b] = case.rect;
        let got = model.predictor.predict(Intensity::of(img), Rect::new(l, t, r, b)).dlib_points();
        let entry = by_kind.entry(case.kind.as_str()).or_default();
        entry.0 += 1;
        if got != *want {
            entry.1 += 1;
            let first = got.iter().zip(want).position(|(g, w)| g != w).unwrap_or(0);
            mismatches.push(format!(
                "{} {:?} ({}): point {first} rust {:?} dlib {:?}",
                case.image.display(),
                case.rect,
                case.kind,
                got.get(first),
                want.get(first)
            ));
        }
    }
    let summary: Vec<String> = by_kind.iter().map(|(k, (n, bad))| format!("{k} {}/{n}", n - bad)).collect();
    let line = format!(
        "parity: {} cases, {} exact [{}]",
        cases.len(),
        cases.len() - mismatches.len(),
        summary.join(", ")
    );
    let _ = std::io::Write::write_all(&mut std::io::stderr(), format!("{line}\n").as_bytes());
    assert!(mismatches.is_empty(), "{line}\n{}", mismatches.join("\n"));
    assert!(cases.len() >= 200, "{line}: too few cases");
    if face_model.is_some() {
        assert!(
            by_kind.get("crop_rustface").is_some_and(|(n, _)| *n > 0),
            "rustface found no face in any crop"
        );
    }
}
