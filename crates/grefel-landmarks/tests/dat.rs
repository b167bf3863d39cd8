//! The `.dat` reader and serializer: a tiny model written by the project's own serializer reads
//! back identically; malformed files (truncated at every length, trailing bytes, bad version,
//! out-of-range indices, inconsistent lengths, any single corrupted byte) are refused with an
//! error, never a panic; and where the real 68-point model is installed, it parses with the
//! published structure and re-serializes to the very same bytes.

mod common;

use grefel_landmarks::dat::read_shape_predictor;
use grefel_landmarks::model::{Cascade, RegressionTree, ShapePredictor, SplitFeature};
use grefel_landmarks::serialize::write_shape_predictor;
use grefel_landmarks::{DatError, Predictor};
use grefel_schema::rng::SeedRng;

/// A small but complete model: 3 landmarks, 2 cascades of 3 depth-2 trees, 4 feature pixels.
fn tiny_model() -> ShapePredictor {
    let mut rng = SeedRng::new(7);
    let mut f = |scale: f64| ((rng.unit() - 0.5) * scale) as f32;
    let parts = 3;
    let cascades = (0..2)
        .map(|_| {
            let trees = (0..3)
                .map(|t| RegressionTree {
                    splits: (0..3)
                        .map(|i| SplitFeature { idx1: (i + t) % 4, idx2: (i + t + 1) % 4, thresh: f(64.0) })
                        .collect(),
                    leaf_values: (0..4 * 2 * parts).map(|_| f(0.1)).collect(),
                })
                .collect();
            Cascade { trees, anchors: vec![0, 1, 2, 1], deltas: (0..4).map(|_| [f(0.4), f(0.4)]).collect() }
        })
        .collect();
    ShapePredictor { initial_shape: vec![0.2, 0.3, 0.8, 0.3, 0.5, 0.9], cascades }
}

#[test]
fn tiny_model_round_trips() {
    let model = tiny_model();
    let bytes = write_shape_predictor(&model);
    assert_eq!(&bytes[..2], &[0x01, 0x01], "version 1 first");
    let back = read_shape_predictor(&bytes).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, model);
    assert_eq!(write_shape_predictor(&back), bytes, "re-writing gives the same bytes");
    Predictor::new(back).expect("valid for inference");
}

#[test]
fn every_truncation_is_an_error() {
    let bytes = write_shape_predictor(&tiny_model());
    for len in 0..bytes.len() {
        let err = read_shape_predictor(&bytes[..len]).expect_err("truncated file accepted");
        assert!(
            matches!(err, DatError::Truncated { .. } | DatError::Length { .. }),
            "prefix of {len} bytes: unexpected error {err}"
        );
    }
}

#[test]
fn trailing_bytes_are_an_error() {
    let mut bytes = write_shape_predictor(&tiny_model());
    let end = bytes.len();
    bytes.extend_from_slice(&[0x01, 0x00]);
    match read_shape_predictor(&bytes) {
        Err(DatError::Trailing { offset, count }) => assert_eq!((offset, count), (end, 2)),
        other => panic!("expected a trailing-bytes error, got {other:?}"),
    }
}

#[test]
fn structural_defects_are_errors() {
    let write = write_shape_predictor;
    // Version 2.
    let mut bytes = write(&tiny_model());
    bytes[1] = 2;
    assert!(matches!(read_shape_predictor(&bytes), Err(DatError::Version { found: 2, .. })));
    // An anchor naming landmark 3 of 3.
    let mut m = tiny_model();
    m.cascades[1].anchors[2] = 3;
    let err = read_shape_predictor(&write(&m)).expect_err("anchor out of range");
    assert!(matches!(err, DatError::Index { index: 3, bound: 3, .. }), "{err}");
    // A split reading feature 4 of a pool of 4.
    let mut m = tiny_model();
    m.cascades[0].trees[2].splits[1].idx2 = 4;
    let err = read_shape_predictor(&write(&m)).expect_err("feature index out of range");
    assert!(err.to_string().contains("cascade 0 tree 2"), "{err}");
    // One delta fewer than anchors.
    let mut m = tiny_model();
    m.cascades[0].deltas.pop();
    assert!(matches!(read_shape_predictor(&write(&m)), Err(DatError::Length { .. })));
    // A leaf of the wrong length: the serializer writes what it is given, the reader refuses it.
    let mut m = tiny_model();
    m.cascades[0].trees[0].leaf_values.truncate(3 * 6 + 5);
    assert!(matches!(read_shape_predictor(&write(&m)), Err(DatError::Length { .. })));
    // An odd-length initial shape.
    let mut m = tiny_model();
    m.initial_shape.pop();
    assert!(read_shape_predictor(&write(&m)).is_err());
    // A non-finite threshold.
    let mut m = tiny_model();
    m.cascades[1].trees[1].splits[0].thresh = f32::INFINITY;
    assert!(matches!(read_shape_predictor(&write(&m)), Err(DatError::NotFinite { .. })));
    // Empty input.
    assert!(matches!(read_shape_predictor(&[]), Err(DatError::Truncated { .. })));
}

#[test]
fn any_corrupted_byte_is_handled() {
    let bytes = write_shape_predictor(&tiny_model());
    let mut refused = 0;
    for i in 0..bytes.len() {
        for flip in [0x01u8, 0x0F, 0x80, 0xFF] {
            let mut b = bytes.clone();
            b[i] ^= flip;
            // Ok (a different but valid model) or Err, never a panic; an accepted model must be
            // usable for inference.
            match read_shape_predictor(&b) {
                Ok(m) => {
                    Predictor::new(m).expect("an accepted model validates");
                }
                Err(_) => refused += 1,
            }
        }
    }
    assert!(refused > bytes.len(), "most corruptions are refused ({refused})");
}

#[test]
fn real_model_parses_and_round_trips() {
    let Some(path) = common::model_or_skip("real_model_parses_and_round_trips") else { return };
    let bytes = std::fs::read(&path).expect("read model");
    let model = read_shape_predictor(&bytes).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(model.num_parts(), 68);
    assert_eq!(model.cascades.len(), 15);
    for c in &model.cascades {
        assert_eq!(c.trees.len(), 500);
        assert_eq!(c.anchors.len(), 500);
        assert!(c.trees.iter().all(|t| t.splits.len() == 15 && t.num_leaves() == 16));
    }
    let first = model.cascades[0].trees[0].splits[0];
    assert_eq!((first.idx1, first.idx2), (39, 132));
    assert_eq!(first.thresh, (9_055_412f64 * 2f64.powi(-18)) as f32);
    let d = model.cascades[0].deltas[0];
    assert!((d[0] + 0.049_370).abs() < 1e-6 && (d[1] - 0.073_124).abs() < 1e-6, "{d:?}");
    assert!(write_shape_predictor(&model) == bytes, "re-serialising the real model gives its bytes");
}
