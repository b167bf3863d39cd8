//! FER+ on [`grefel_ingest::fixtures::ferplus`], a generated FERPlus checkout with both label
//! sources: the official `data/FER2013*/label.csv` files (the default) and `fer2013new.csv` +
//! `fer2013.csv` with their traps: an empty name, a duplicated name, names that lag their row
//! index, unknown and not-a-face majorities, a tie, outlier removal, a malformed vote row, a
//! broken FER2013 row, other vote versions, and (separately) files with different row counts.

mod common;

use common::{counts, kept, read_back, run, settings, try_run, write_text};
use grefel_ingest::fixtures::{self, FERPLUS_ROWS};
use grefel_ingest::{IngestError, SkipReason};

/// `(split, label)` of every kept row, and its grey value.
fn grey(r: &grefel_schema::table::SampleRecord) -> u8 {
    let img = image::load_from_memory(&r.image).expect("png").into_rgb8();
    let v = img.get_pixel(0, 0).0[0];
    assert!(img.pixels().all(|p| p.0 == [v, v, v]), "{}: one grey value", r.sample_id);
    v
}

#[test]
fn ferplus_official_label_files_by_default() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("ferplus");
    fixtures::ferplus(&root).expect("fixture");
    let out = tmp.path().join("out");
    let summary = run(&settings("ferplus", &root, &out));
    assert_eq!(summary.rows, 6, "{summary}");
    assert_eq!(summary.ignored_files, 5, "three label.csv, two CSVs: {summary}");
    let (m, rows) = read_back(&out.join("ferplus"));
    assert_eq!(m.config["variant"], "label-csv", "the manifest records the source");
    assert_eq!(
        m.skipped,
        counts(&[("duplicate_id", 1), ("ignored_label", 2), ("malformed_row", 2), ("missing_file", 1)])
    );
    assert_eq!(
        kept(&rows),
        [
            ("ferplus:fer0000000.png".to_string(), "train", "neutral"),
            ("ferplus:fer0000001.png".to_string(), "train", "surprise"),
            ("ferplus:fer0000004.png".to_string(), "val", "happy"),
            ("ferplus:fer0000006.png".to_string(), "test", "anger"),
            ("ferplus:fer0000007.png".to_string(), "test", "contempt"),
            ("ferplus:fer0000008.png".to_string(), "train", "happy"),
        ]
    );
    // The generated PNG where it exists; else the FER2013 row fer2013new.csv names (the last
    // of a repeated name: fer0000001.png is rows 2 and 3, row 3 stays).
    let r = &rows["ferplus:fer0000008.png"];
    assert_eq!((r.source_path.as_str(), grey(r)), ("data/FER2013Train/fer0000008.png", 200));
    for (name, row) in
        [("fer0000000", 0), ("fer0000001", 3), ("fer0000004", 5), ("fer0000006", 7), ("fer0000007", 8)]
    {
        let r = &rows[&format!("ferplus:{name}.png")];
        assert_eq!(r.source_path, format!("fer2013.csv#{name}.png"));
        assert_eq!(grey(r), (10 * row) as u8, "{name}: the pixels of FER2013 row {row}");
    }
    // Official soft targets: votes ≤ 1 dropped, anger 4 and disgust 2 of 6.
    let soft = rows["ferplus:fer0000006.png"].soft_label.expect("soft label");
    let want = [0.0, 0.0, 0.0, 0.0, 0.0, 1.0 / 3.0, 2.0 / 3.0, 0.0, 0.0];
    assert!(soft.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-6), "{soft:?}");
    let soft = rows["ferplus:fer0000000.png"].soft_label.expect("soft label");
    assert!((soft[0] - 0.6).abs() < 1e-6 && (soft[1] - 0.4).abs() < 1e-6, "neutral, happy: {soft:?}");
}

#[test]
fn ferplus_fer2013new_majority_votes_duplicates_and_join_by_position() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("ferplus");
    fixtures::ferplus(&root).expect("fixture");
    let out = tmp.path().join("out");
    let mut s = settings("ferplus", &root, &out);
    s.variant = Some("fer2013new".into());
    let summary = run(&s);
    assert_eq!(summary.rows, 4, "{summary}");
    assert_eq!(summary.skips.get(SkipReason::IgnoredLabel), 4, "rows 1, 4, 5, 6: {summary}");
    assert_eq!(summary.skips.get(SkipReason::MalformedRow), 2, "rows 9, 10: {summary}");
    assert_eq!(summary.skips.get(SkipReason::DuplicateId), 1, "row 2, whose name row 3 repeats: {summary}");
    assert_eq!(summary.skips.total(), 7);

    let (m, rows) = read_back(&out.join("ferplus"));
    assert_eq!(m.config["variant"], "fer2013new");
    assert_eq!(m.skipped, counts(&[("duplicate_id", 1), ("ignored_label", 4), ("malformed_row", 2)]));
    assert_eq!(
        kept(&rows),
        [
            ("ferplus:0".to_string(), "train", "neutral"),
            ("ferplus:3".to_string(), "train", "surprise"),
            ("ferplus:7".to_string(), "test", "anger"),
            ("ferplus:8".to_string(), "test", "contempt"),
        ]
    );
    assert_eq!(m.rows.by_split_label["test"]["contempt"], 1);
    // Joined by position: row 3 (named fer0000001.png, like row 2) carries the pixels of FER2013
    // row 3, not of row 1.
    for (id, r) in &rows {
        let row: u32 = id.trim_start_matches("ferplus:").parse().expect("row");
        assert_eq!(r.source_path, format!("fer2013.csv#{row}"));
        assert_eq!(grey(r), (10 * row) as u8, "{id}: the pixels of row {row}");
    }
    // The official target: 4 anger, 2 disgust after outlier removal (fear, contempt, unknown and
    // NF had one vote each).
    let soft = rows["ferplus:7"].soft_label.expect("soft label");
    let want = [0.0, 0.0, 0.0, 0.0, 0.0, 1.0 / 3.0, 2.0 / 3.0, 0.0, 0.0];
    assert!(soft.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-6), "{soft:?}");
    let soft = rows["ferplus:3"].soft_label.expect("soft label");
    assert!((soft[3] - 0.7).abs() < 1e-6 && (soft[4] - 0.3).abs() < 1e-6, "surprise, fear: {soft:?}");
}

#[test]
fn ferplus_row_count_mismatch_is_fatal() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("ferplus");
    fixtures::ferplus_with_fer2013_rows(&root, FERPLUS_ROWS - 1).expect("fixture");
    let settings = |root: &std::path::Path, out: &std::path::Path| {
        let mut s = common::settings("ferplus", root, out);
        s.variant = Some("fer2013new".into());
        s
    };
    let err = try_run(&settings(&root, &tmp.path().join("out"))).expect_err("mismatch");
    let msg = err.to_string();
    assert!(matches!(err, IngestError::Malformed { .. }), "{msg}");
    assert!(
        msg.contains("fer2013new.csv") && msg.contains("fer2013.csv has 10") && msg.contains("11"),
        "{msg}"
    );
    assert!(!tmp.path().join("out/ferplus/manifest.json").exists());

    // One row too many is as fatal; fer2013.csv in fer2013/ is found.
    std::fs::remove_file(root.join("fer2013.csv")).expect("rm");
    write_text(&root.join("fer2013/fer2013.csv"), &fixtures::ferplus_fer2013_csv(FERPLUS_ROWS + 1));
    let err = try_run(&settings(&root, &tmp.path().join("out"))).expect_err("mismatch");
    assert!(err.to_string().contains("fer2013/fer2013.csv has 12"), "{err}");

    // A header that does not name the ten vote columns is refused, not read as data.
    let plus = std::fs::read_to_string(root.join("fer2013new.csv")).expect("read");
    write_text(&root.join("fer2013new.csv"), &plus.replacen(",NF", ",not-a-face", 1));
    let err = try_run(&settings(&root, &tmp.path().join("out"))).expect_err("header");
    assert!(matches!(err, IngestError::Malformed { line: 1, .. }) && err.to_string().contains("NF"), "{err}");
    write_text(&root.join("fer2013new.csv"), &plus);

    std::fs::remove_file(root.join("fer2013/fer2013.csv")).expect("rm");
    let err = try_run(&settings(&root, &tmp.path().join("out"))).expect_err("missing");
    assert!(
        matches!(err, IngestError::MissingFile { .. }) && err.to_string().contains("fer2013.csv"),
        "{err}"
    );
}
