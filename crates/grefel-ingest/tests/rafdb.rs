//! RAF-DB basic on a generated tree with the traps of spec §7.4: train and test names of different
//! widths, CRLF lines, a compound-subset label, a missing image, malformed lines, a duplicate.

mod common;

use std::path::Path;

use common::{counts, kept, read_back, run, settings, try_run, write_image, write_text};
use grefel_ingest::{IngestError, SkipReason};

/// The label file: every line ends in CRLF.
const LABELS: &[&str] = &[
    "train_00001.jpg 4",   // happy, with a manual annotation
    "train_00002.jpg 7",   // neutral
    "train_00003.jpg 8",   // compound-subset value: unknown_label
    "train_00004.jpg 1",   // no image: missing_file
    "train_00005.jpg 2 1", // three fields: malformed_row
    "train_00001.jpg 5",   // repeated name: duplicate_id
    "test_0001.jpg 1",     // surprise
    "test_0002.jpg\t6   ", // anger, tab and trailing blanks
    "test_0003.jpg happy", // not an integer: malformed_row
    "val_0001.jpg 3",      // neither train_ nor test_: malformed_name
    "",
];

/// Original images are 40×30, aligned ones 10×10 (100×100 in the real data).
fn build(root: &Path) {
    write_text(&root.join("EmoLabel/list_patition_label.txt"), &LABELS.join("\r\n"));
    for (stem, v) in [("train_00001", 10), ("train_00002", 20), ("train_00003", 30), ("test_0001", 40)] {
        write_image(&root.join(format!("Image/original/{stem}.jpg")), 40, 30, v, None);
        write_image(&root.join(format!("Image/aligned/{stem}_aligned.jpg")), 10, 10, v, None);
    }
    write_image(&root.join("Image/original/test_0002.jpg"), 40, 30, 50, None);
    write_image(&root.join("Image/aligned/test_0002_aligned.jpg"), 10, 10, 50, None);
    write_image(&root.join("Image/aligned/val_0001_aligned.jpg"), 10, 10, 60, None);
    // Eyes, nose tip, mouth corners in original pixels; female, Asian, 20-39.
    write_text(
        &root.join("Annotation/manual/train_00001_manu_attri.txt"),
        "12.0\t10.0\r\n28.0\t10.0\r\n20.0\t16.5\r\n14.0\t24.0\r\n26.0\t24.0\r\n1\r\n2\r\n2\r\n",
    );
    write_text(&root.join("README.txt"), "RAF-DB basic\n");
}

#[test]
fn rafdb_aligned_and_original() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("basic");
    build(&root);
    let out = tmp.path().join("out");
    let summary = run(&settings("rafdb", &root, &out));
    assert_eq!(summary.rows, 4, "{summary}");
    assert_eq!(summary.ignored_files, 3, "label file, annotation, README");
    for (reason, n) in [
        (SkipReason::UnknownLabel, 1),
        (SkipReason::MissingFile, 1),
        (SkipReason::MalformedRow, 2),
        (SkipReason::DuplicateId, 1),
        (SkipReason::MalformedName, 1),
    ] {
        assert_eq!(summary.skips.get(reason), n, "{reason:?}: {summary}");
    }
    assert_eq!(summary.skips.total(), 6);

    let (m, rows) = read_back(&out.join("rafdb"));
    assert_eq!(
        m.skipped,
        counts(&[
            ("duplicate_id", 1),
            ("malformed_name", 1),
            ("malformed_row", 2),
            ("missing_file", 1),
            ("unknown_label", 1)
        ])
    );
    assert_eq!(m.config["variant"], "aligned");
    assert_eq!(
        kept(&rows),
        [
            ("rafdb:test_0001.jpg".to_string(), "test", "surprise"),
            ("rafdb:test_0002.jpg".to_string(), "test", "anger"),
            ("rafdb:train_00001.jpg".to_string(), "train", "happy"),
            ("rafdb:train_00002.jpg".to_string(), "train", "neutral"),
        ]
    );
    assert_eq!(m.rows.by_split_label["train"]["happy"], 1);
    assert_eq!(m.rows.by_split_label["test"]["anger"], 1);
    let r = &rows["rafdb:train_00001.jpg"];
    assert_eq!(r.source_path, "Image/aligned/train_00001_aligned.jpg");
    assert_eq!((r.width, r.height, r.subject.as_deref()), (10, 10, None));
    assert_eq!(r.attributes.landmarks5, None, "manual points are original-image pixels");
    assert_eq!(r.attributes.gender.as_deref(), Some("female"));
    assert_eq!(r.attributes.race.as_deref(), Some("asian"));
    assert_eq!(r.attributes.age_group.as_deref(), Some("20-39"));
    assert_eq!(rows["rafdb:train_00002.jpg"].attributes, Default::default(), "no annotation file");

    // The original images, stored at 20×20: the manual points follow the resize.
    let mut s = settings("rafdb", &root, &out);
    s.variant = Some("original".into());
    s.dataset = Some("rafdb-original".into());
    s.image.size = Some(20);
    let summary = run(&s);
    assert_eq!((summary.rows, summary.skips.total()), (4, 6), "{summary}");
    let (m, rows) = read_back(&out.join("rafdb-original"));
    assert_eq!(m.config["variant"], "original");
    let r = &rows["rafdb-original:train_00001.jpg"];
    assert_eq!(r.source_path, "Image/original/train_00001.jpg");
    assert_eq!((r.width, r.height), (20, 20));
    let want = [[6.0, 20.0 / 3.0], [14.0, 20.0 / 3.0], [10.0, 11.0], [7.0, 16.0], [13.0, 16.0]];
    let got = r.attributes.landmarks5.expect("landmarks5 for the original variant");
    for (g, w) in got.iter().zip(want) {
        assert!((g[0] - w[0]).abs() < 1e-4 && (g[1] - w[1]).abs() < 1e-4, "{got:?}");
    }
    assert_eq!(r.attributes.gender.as_deref(), Some("female"));
}

#[test]
fn rafdb_config_and_missing_label_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("basic");
    build(&root);
    let mut s = settings("rafdb", &root, out.path());
    s.variant = Some("aligned_224".into());
    assert!(matches!(s.clone().validate(), Err(IngestError::InvalidConfig { field: "variant", .. })));

    // The label file one level down (`RAF-DB/basic/…`) is found.
    let s = settings("rafdb", tmp.path(), out.path());
    assert_eq!(run(&s).rows, 4);

    std::fs::remove_file(root.join("EmoLabel/list_patition_label.txt")).expect("rm");
    let s = settings("rafdb", &root, out.path());
    let err = try_run(&s).expect_err("no label file");
    let msg = err.to_string();
    assert!(matches!(err, IngestError::MissingFile { .. }), "{msg}");
    assert!(msg.contains("EmoLabel/list_patition_label.txt") && msg.contains("label"), "{msg}");
}

/// Writes the fixture to `$GREFEL_FIXTURE_OUT/rafdb` for a command-line run.
#[test]
#[ignore = "writes the fixture for a manual `cargo xtask prepare --dataset rafdb` run"]
fn write_rafdb_fixture() {
    if let Some(dir) = common::fixture_out() {
        build(&dir.join("rafdb"));
    }
}
