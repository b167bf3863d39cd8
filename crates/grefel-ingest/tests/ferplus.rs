//! FER+ on [`grefel_ingest::fixtures::ferplus`], a generated `fer2013new.csv` + `fer2013.csv`
//! with the traps of spec §6.2, §6.4 and §7.4: an empty name, a duplicated name, names that lag
//! their row index, unknown and not-a-face majorities, a tie, outlier removal, a malformed vote
//! row, a broken FER2013 row, and (separately) files with different row counts.

mod common;

use common::{counts, kept, read_back, run, settings, try_run, write_text};
use grefel_ingest::fixtures::{self, FERPLUS_ROWS};
use grefel_ingest::{IngestError, SkipReason};

#[test]
fn ferplus_majority_votes_and_join_by_position() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("ferplus");
    fixtures::ferplus(&root).expect("fixture");
    let out = tmp.path().join("out");
    let summary = run(&settings("ferplus", &root, &out));
    assert_eq!(summary.rows, 5, "{summary}");
    assert_eq!(summary.skips.get(SkipReason::IgnoredLabel), 4, "rows 1, 4, 5, 6: {summary}");
    assert_eq!(summary.skips.get(SkipReason::MalformedRow), 2, "rows 9, 10: {summary}");
    assert_eq!(summary.skips.total(), 6);
    assert_eq!(summary.ignored_files, 2);

    let (m, rows) = read_back(&out.join("ferplus"));
    assert_eq!(m.skipped, counts(&[("ignored_label", 4), ("malformed_row", 2)]));
    assert_eq!(
        kept(&rows),
        [
            ("ferplus:0".to_string(), "train", "neutral"),
            ("ferplus:2".to_string(), "train", "happy"),
            ("ferplus:3".to_string(), "train", "surprise"),
            ("ferplus:7".to_string(), "test", "anger"),
            ("ferplus:8".to_string(), "test", "contempt"),
        ]
    );
    assert_eq!(m.rows.by_split_label["test"]["contempt"], 1);
    // Joined by position: rows 2 and 3 (both named fer0000001.png) carry the pixels of FER2013
    // rows 2 and 3, not of row 1.
    for (id, r) in &rows {
        let row: u32 = id.trim_start_matches("ferplus:").parse().expect("row");
        assert_eq!(r.source_path, format!("fer2013.csv#{row}"));
        let img = image::load_from_memory(&r.image).expect("png").into_rgb8();
        let v = (10 * row) as u8;
        assert!(img.pixels().all(|p| p.0 == [v, v, v]), "{id}: the pixels of row {row}");
    }
    // Raw votes of the eight emotions, at canonical ids, normalised: 4 anger, 2 disgust, 1 fear,
    // 1 contempt out of 8 (unknown and NF left out).
    let soft = rows["ferplus:7"].soft_label.expect("soft label");
    let want = [0.0, 0.0, 0.0, 0.0, 0.125, 0.25, 0.5, 0.125, 0.0];
    assert!(soft.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-6), "{soft:?}");
    let soft = rows["ferplus:3"].soft_label.expect("soft label");
    assert!((soft[3] - 0.7).abs() < 1e-6 && (soft[4] - 0.3).abs() < 1e-6, "surprise, fear: {soft:?}");
}

#[test]
fn ferplus_row_count_mismatch_is_fatal() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("ferplus");
    fixtures::ferplus_with_fer2013_rows(&root, FERPLUS_ROWS - 1).expect("fixture");
    let err = try_run(&settings("ferplus", &root, &tmp.path().join("out"))).expect_err("mismatch");
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
    let err = try_run(&settings("ferplus", &root, &tmp.path().join("out"))).expect_err("mismatch");
    assert!(err.to_string().contains("fer2013/fer2013.csv has 12"), "{err}");

    // A header that does not name the ten vote columns is refused, not read as data.
    let plus = std::fs::read_to_string(root.join("fer2013new.csv")).expect("read");
    write_text(&root.join("fer2013new.csv"), &plus.replacen(",NF", ",not-a-face", 1));
    let err = try_run(&settings("ferplus", &root, &tmp.path().join("out"))).expect_err("header");
    assert!(matches!(err, IngestError::Malformed { line: 1, .. }) && err.to_string().contains("NF"), "{err}");
    write_text(&root.join("fer2013new.csv"), &plus);

    std::fs::remove_file(root.join("fer2013/fer2013.csv")).expect("rm");
    let err = try_run(&settings("ferplus", &root, &tmp.path().join("out"))).expect_err("missing");
    assert!(
        matches!(err, IngestError::MissingFile { .. }) && err.to_string().contains("fer2013.csv"),
        "{err}"
    );
}
