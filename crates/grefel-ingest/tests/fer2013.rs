//! FER2013 on [`grefel_ingest::fixtures::fer2013`], a generated `fer2013/fer2013.csv` (the Kaggle
//! tarball's folder) with the traps of docs/datasets.md §6.1 and §8: a quoted pixels field, CRLF lines, a row with 2,303 values, a pixel value
//! out of range, unknown emotions.

mod common;

use common::{counts, kept, read_back, run, settings, try_run, write_text};
use grefel_ingest::fixtures;
use grefel_ingest::{IngestError, SkipReason};

/// `n` copies of `v`, space-separated.
fn pixels(v: u32, n: usize) -> String {
    vec![v.to_string(); n].join(" ")
}

#[test]
fn fer2013_rows_splits_and_traps() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("kaggle");
    fixtures::fer2013(&root).expect("fixture");
    let out = tmp.path().join("out");
    let summary = run(&settings("fer2013", &root, &out));
    assert_eq!(summary.rows, 5, "{summary}");
    assert_eq!(summary.skips.get(SkipReason::MalformedRow), 3, "{summary}");
    assert_eq!(summary.skips.get(SkipReason::UnknownLabel), 2, "{summary}");
    assert_eq!(summary.skips.total(), 5);
    assert_eq!(summary.ignored_files, 2, "the CSV and the README");

    let (m, rows) = read_back(&out.join("fer2013"));
    assert_eq!(m.skipped, counts(&[("malformed_row", 3), ("unknown_label", 2)]));
    assert_eq!(
        kept(&rows),
        [
            ("fer2013:0".to_string(), "train", "anger"),
            ("fer2013:1".to_string(), "train", "happy"),
            ("fer2013:4".to_string(), "val", "fear"),
            ("fer2013:5".to_string(), "test", "surprise"),
            ("fer2013:9".to_string(), "test", "neutral"),
        ]
    );
    assert_eq!(m.rows.by_split, counts(&[("test", 2), ("train", 2), ("val", 1)]));
    for (id, r) in &rows {
        let row: u32 = id.trim_start_matches("fer2013:").parse().expect("row");
        assert_eq!(r.source_path, format!("fer2013/fer2013.csv#{row}"));
        assert_eq!((r.width, r.height, r.subject.as_deref()), (48, 48, None));
        let img = image::load_from_memory(&r.image).expect("png").into_rgb8();
        let v = (10 * row) as u8;
        assert!(img.pixels().all(|p| p.0 == [v, v, v]), "{id}: the pixels of row {row}");
    }
}

#[test]
fn fer2013_without_header_and_missing_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("flat");
    write_text(&root.join("fer2013.csv"), &format!("6,{},PrivateTest\n\n", pixels(1, 2304)));
    let summary = run(&settings("fer2013", &root, &tmp.path().join("out")));
    assert_eq!((summary.rows, summary.skips.total()), (1, 0), "{summary}");

    std::fs::remove_file(root.join("fer2013.csv")).expect("rm");
    let err = try_run(&settings("fer2013", &root, &tmp.path().join("out"))).expect_err("missing");
    assert!(
        matches!(err, IngestError::MissingFile { .. }) && err.to_string().contains("fer2013.csv"),
        "{err}"
    );
}
