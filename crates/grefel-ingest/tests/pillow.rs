//! `grefel_ingest::pillow` against Pillow itself: random RGB images of several sizes resized up,
//! down, along one axis and both, by `Image.resize(size, Image.BILINEAR)` and by grefel. Face
//! crops brought to 224 px (POSTER++'s test transform, which checkpoints trained by its authors'
//! code expect) must agree to the byte. grefel runs the passes in the order of Pillow's
//! `Resample.c` (horizontal first); the Pillow 13 of CI's venv runs the vertical pass first for
//! some shapes (seen when one axis grows and the other shrinks), which moves some bytes by one
//! level: those cases must agree within one level. Runs where `GREFEL_PYTHON` names a Python with Pillow and numpy (CI sets it);
//! elsewhere it says why it did not run, and under CI a missing interpreter is a failure.

use std::path::PathBuf;
use std::process::Command;

use grefel_ingest::pillow::pillow_bilinear;

/// `(width, height)` in, `(width, height)` out, and whether every byte must equal Pillow's.
type Case = ((usize, usize), (usize, usize), bool);

const CASES: [Case; 8] = [
    ((100, 100), (224, 224), true),
    ((300, 260), (224, 224), true),
    ((150, 97), (224, 224), true),
    ((224, 180), (224, 224), true),
    ((180, 224), (224, 224), true),
    ((1000, 37), (224, 224), true),
    ((48, 48), (7, 13), true),
    ((13, 5), (64, 3), false),
];

fn image(w: usize, h: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..w * h * 3)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 56) as u8
        })
        .collect()
}

#[test]
fn bytes_equal_pillows() {
    let Some(python) = std::env::var_os("GREFEL_PYTHON").map(PathBuf::from) else {
        assert!(std::env::var_os("CI").is_none(), "CI must set GREFEL_PYTHON (a Python with Pillow)");
        eprintln!("skipped: GREFEL_PYTHON is not set (a Python with Pillow)");
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let script = r#"
import sys
from PIL import Image
d = sys.argv[1]
for i, spec in enumerate(sys.argv[2:]):
    w, h, ow, oh = map(int, spec.split(","))
    src = open(f"{d}/in{i}.rgb", "rb").read()
    out = Image.frombytes("RGB", (w, h), src).resize((ow, oh), Image.BILINEAR)
    open(f"{d}/out{i}.rgb", "wb").write(out.tobytes())
"#;
    let mut args = vec!["-c".to_string(), script.to_string(), tmp.path().to_string_lossy().into_owned()];
    for (i, ((w, h), (ow, oh), _)) in CASES.iter().enumerate() {
        std::fs::write(tmp.path().join(format!("in{i}.rgb")), image(*w, *h, i as u64 + 1)).expect("write");
        args.push(format!("{w},{h},{ow},{oh}"));
    }
    let out = Command::new(&python).args(&args).output().expect("python runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for (i, ((w, h), (ow, oh), exact)) in CASES.iter().enumerate() {
        let want = std::fs::read(tmp.path().join(format!("out{i}.rgb"))).expect("Pillow's bytes");
        let got = pillow_bilinear(&image(*w, *h, i as u64 + 1), *w, *h, *ow, *oh);
        assert_eq!(got.len(), want.len(), "{w}x{h} -> {ow}x{oh}");
        let differing = got.iter().zip(&want).filter(|(a, b)| a != b).count();
        let worst = got.iter().zip(&want).map(|(a, b)| a.abs_diff(*b)).max().unwrap_or(0);
        if *exact {
            assert_eq!(
                differing,
                0,
                "{w}x{h} -> {ow}x{oh}: {differing} of {} bytes differ from Pillow's",
                want.len()
            );
        } else {
            assert!(worst <= 1, "{w}x{h} -> {ow}x{oh}: a byte differs from Pillow's by {worst} levels");
        }
    }
}
