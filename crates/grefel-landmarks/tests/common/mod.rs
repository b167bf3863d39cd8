//! Helpers shared by the integration tests: finding the installed models, a Python with dlib and
//! the public-domain photos, or saying why a test is skipped. Under CI (`CI` set) a missing
//! prerequisite is a failure, so CI always runs these tests.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use grefel_landmarks::models::{default_dlib68_path, default_rustface_path};

/// Reports a skip on the real stderr (not captured by the test harness, so it shows in every
/// run), or fails under CI.
pub fn skip(test: &str, reason: &str) {
    assert!(std::env::var_os("CI").is_none(), "{test}: {reason} (CI must provide it)");
    let _ = writeln!(std::io::stderr(), "{test}: skipped: {reason}");
}

/// The installed 68-point model, or `None` after reporting the skip.
pub fn model_or_skip(test: &str) -> Option<PathBuf> {
    let path = default_dlib68_path();
    if path.is_file() {
        return Some(path);
    }
    let reason =
        format!("{} is absent (run `cargo xtask setup-landmarks`, or set GREFEL_MODELS)", path.display());
    skip(test, &reason);
    None
}

/// The installed rustface model, or `None` after reporting the skip.
pub fn face_model_or_skip(test: &str) -> Option<PathBuf> {
    let path = default_rustface_path();
    if path.is_file() {
        return Some(path);
    }
    skip(test, &format!("{} is absent (run `cargo xtask setup-landmarks`)", path.display()));
    None
}

/// `GREFEL_PYTHON` when it imports dlib and numpy (the `dlib-bin` wheel), or `None` after
/// reporting the skip.
pub fn dlib_python_or_skip(test: &str) -> Option<PathBuf> {
    let Some(python) = std::env::var_os("GREFEL_PYTHON").map(PathBuf::from) else {
        skip(test, "GREFEL_PYTHON is not set (a Python with `pip install dlib-bin numpy`)");
        return None;
    };
    let ok =
        Command::new(&python).args(["-c", "import dlib, numpy"]).output().is_ok_and(|o| o.status.success());
    if !ok {
        skip(
            test,
            &format!("{} cannot import dlib and numpy (`pip install dlib-bin numpy`)", python.display()),
        );
        return None;
    }
    Some(python)
}

/// The public-domain photos: `GREFEL_FACES` when set, else `../shared/fixtures/faces` beside the
/// workspace; `None` after reporting the skip. `.ci/faces.sh` rebuilds the folder from the
/// registry packages the photos come from.
pub fn fixtures_or_skip(test: &str) -> Option<PathBuf> {
    let dir = match std::env::var_os("GREFEL_FACES") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/faces"),
    };
    if dir.join("skimage_astronaut.png").is_file() {
        return Some(dir);
    }
    skip(test, &format!("the face photos are not at {} (set GREFEL_FACES, see .ci/faces.sh)", dir.display()));
    None
}

/// The photos in the fixture folder, sorted by name.
pub fn photos(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("list fixtures")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "png" || e == "jpg"))
        .collect();
    out.sort();
    out
}

/// Bilinear sample of a grey image at continuous pixel-centre coordinates `(x, y)` (pixel `i`
/// centred on `i`), black outside.
pub fn bilinear(img: &image::GrayImage, x: f64, y: f64) -> f64 {
    let (w, h) = (i64::from(img.width()), i64::from(img.height()));
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let px = |xi: i64, yi: i64| {
        if xi < 0 || yi < 0 || xi >= w || yi >= h {
            0.0
        } else {
            f64::from(img.get_pixel(xi as u32, yi as u32)[0])
        }
    };
    let (xi, yi) = (x0 as i64, y0 as i64);
    let top = px(xi, yi) * (1.0 - fx) + px(xi + 1, yi) * fx;
    let bottom = px(xi, yi + 1) * (1.0 - fx) + px(xi + 1, yi + 1) * fx;
    top * (1.0 - fy) + bottom * fy
}

/// A square crop of `img` centred on the dlib rectangle `[l, t, r, b]`, of side
/// `margin · (r − l)`, resampled bilinearly to `size × size`.
pub fn crop(img: &image::GrayImage, rect: [i64; 4], margin: f64, size: u32) -> image::GrayImage {
    let [l, t, r, b] = rect.map(|v| v as f64);
    let (cx, cy) = ((l + r) / 2.0, (t + b) / 2.0);
    let side = margin * (r - l);
    let step = side / f64::from(size);
    image::GrayImage::from_fn(size, size, |i, j| {
        let x = cx - side / 2.0 + (f64::from(i) + 0.5) * step;
        let y = cy - side / 2.0 + (f64::from(j) + 0.5) * step;
        image::Luma([bilinear(img, x, y).round().clamp(0.0, 255.0) as u8])
    })
}
