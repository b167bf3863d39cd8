//! RAF-DB basic on [`grefel_ingest::fixtures::rafdb`], a generated tree with the traps of
//! docs/datasets.md §7.4: train and test names of different widths, CRLF lines, a
//! compound-subset label, a missing image, malformed lines, a duplicate.

mod common;

use common::{counts, kept, read_back, run, settings, try_run};
use grefel_ingest::fixtures;
use grefel_ingest::{IngestError, SkipReason};

#[test]
fn rafdb_aligned_and_original() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("basic");
    fixtures::rafdb(&root).expect("fixture");
    let out = tmp.path().join("out");
    let summary = run(&settings("rafdb", &root, &out));
    assert_eq!(summary.rows, 6, "{summary}");
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
            ("rafdb:train_00006.jpg".to_string(), "train", "disgust"),
            ("rafdb:train_00007.jpg".to_string(), "train", "sad"),
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
    assert_eq!((summary.rows, summary.skips.total()), (6, 6), "{summary}");
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
    fixtures::rafdb(&root).expect("fixture");
    let mut s = settings("rafdb", &root, out.path());
    s.variant = Some("aligned_224".into());
    assert!(matches!(s.clone().validate(), Err(IngestError::InvalidConfig { field: "variant", .. })));

    // The label file one level down (`RAF-DB/basic/…`) is found.
    let s = settings("rafdb", tmp.path(), out.path());
    assert_eq!(run(&s).rows, 6);

    std::fs::remove_file(root.join("EmoLabel/list_patition_label.txt")).expect("rm");
    let s = settings("rafdb", &root, out.path());
    let err = try_run(&s).expect_err("no label file");
    let msg = err.to_string();
    assert!(matches!(err, IngestError::MissingFile { .. }), "{msg}");
    assert!(msg.contains("EmoLabel/list_patition_label.txt") && msg.contains("label"), "{msg}");
}
