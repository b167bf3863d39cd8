//! JAFFE on [`grefel_ingest::fixtures::jaffe`], a generated tree with the traps of docs/datasets.md §5 and
//! §7.4: a ratings row with no image, the `YN-HA2` typo, non-image files, a fear-excluded second
//! table, a malformed name and rating.
//!
//! Most images are PNG bytes in `.tiff` files (the driver decodes by content, not by extension:
//! `normalize::decode` guesses the format); one, [`JAFFE_TIFF`], is a real 8-bit grey TIFF like
//! the files JAFFE ships, which the `image` crate's `tiff` feature decodes.

mod common;

use common::{counts, kept, read_back, run, settings};
use grefel_ingest::SkipReason;
use grefel_ingest::fixtures::{self, JAFFE_TIFF};
use grefel_ingest::split::SplitConfig;

#[test]
fn jaffe_labels_subjects_ratings() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("jaffedbase");
    fixtures::jaffe(&root).expect("fixture");
    let out = tmp.path().join("out");
    let summary = run(&settings("jaffe", &root, &out));
    assert_eq!(summary.rows, 9, "{summary}");
    assert_eq!(summary.ignored_files, 3, "README, .DS_Store, AppleDouble copy");
    for (reason, n) in [
        (SkipReason::MissingFile, 1),   // ratings row 8 (KM-HA5) has no image
        (SkipReason::MalformedRow, 1),  // ratings row 54
        (SkipReason::UnknownLabel, 1),  // KM.XX1.9
        (SkipReason::MalformedName, 1), // KA.HA1.tiff
        (SkipReason::Undecodable, 1),   // NM.AN1.200.tiff
    ] {
        assert_eq!(summary.skips.get(reason), n, "{reason:?}: {summary}");
    }
    assert_eq!(summary.skips.total(), 5);

    let (m, rows) = read_back(&out.join("jaffe"));
    assert_eq!(
        m.skipped,
        counts(&[
            ("malformed_name", 1),
            ("malformed_row", 1),
            ("missing_file", 1),
            ("undecodable", 1),
            ("unknown_label", 1)
        ])
    );
    // No official split: each sample's split is the seeded draw for its id.
    let split = |id: &str| SplitConfig::default().assign(id).as_str();
    let want = [
        ("jaffe:KA.HA1.29", "happy"),
        ("jaffe:KA.NE1.26", "neutral"),
        ("jaffe:KL.SU1.150", "surprise"),
        ("jaffe:KM.AN1.34", "anger"),
        ("jaffe:KM.SA2.32", "sad"),
        ("jaffe:KR.AN2.55", "anger"),
        ("jaffe:MK.NE2.87", "neutral"),
        ("jaffe:UY.DI1.4", "disgust"),
        ("jaffe:YM.HA2.53", "happy"),
    ]
    .map(|(id, label)| (id.to_string(), split(id), label));
    assert_eq!(kept(&rows), want);
    let by_split = |s: &str| want.iter().filter(|w| w.1 == s).count();
    assert_eq!((by_split("train"), by_split("val"), by_split("test")), (5, 2, 2), "every split has rows");
    let subjects: Vec<&str> = rows.values().map(|r| r.subject.as_deref().expect("subject")).collect();
    assert_eq!(subjects, ["KA", "KA", "KL", "KM", "KM", "KR", "MK", "UY", "YM"]);
    assert_eq!(rows["jaffe:KA.HA1.29"].source_path, "KA.HA1.29.tiff");

    // The real TIFF (8-bit grey, as JAFFE ships) is decoded, not skipped as undecodable.
    let (tiff, grey) = JAFFE_TIFF;
    let bytes = std::fs::read(root.join(tiff)).expect("read the tiff");
    assert!(bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*"), "a real TIFF file");
    let r = &rows["jaffe:UY.DI1.4"];
    assert_eq!((r.source_path.as_str(), r.width, r.height), (tiff, 8, 8));
    let img = image::load_from_memory(&r.image).expect("stored png").into_rgb8();
    assert!(img.pixels().all(|p| p.0 == [grey; 3]), "the TIFF's pixels, losslessly");
    assert_eq!(r.soft_label, None, "no ratings row 4");

    // Row 53 is printed `YN-HA2`: it belongs to YM.HA2.53. Ratings / their sum, no neutral.
    let soft = rows["jaffe:YM.HA2.53"].soft_label.expect("soft label through the typo");
    let want = [0.0, 0.4, 0.1, 0.1, 0.2, 0.1, 0.1, 0.0, 0.0];
    assert!(soft.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-6), "{soft:?}");
    let soft = rows["jaffe:KA.HA1.29"].soft_label.expect("soft label");
    assert!((soft[1] - 0.45).abs() < 1e-6 && (soft[3] - 0.15).abs() < 1e-6, "{soft:?}");
    assert_eq!(rows["jaffe:KA.NE1.26"].soft_label, None, "row 26 names KA-NE2");
    assert_eq!(rows["jaffe:KL.SU1.150"].soft_label, None, "not rated");
}

#[test]
fn jaffe_without_ratings_and_reseeded() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("jaffe");
    fixtures::jaffe(&root).expect("fixture");
    std::fs::remove_file(root.join("README_FIRST.txt")).expect("rm");
    let mut s = settings("jaffe", &root, &tmp.path().join("out"));
    s.split = SplitConfig { seed: 7, train: 0.5, val: 0.0 };
    let summary = run(&s);
    assert_eq!(summary.rows, 9);
    assert_eq!(summary.skips.get(SkipReason::MissingFile), 0, "no table, no rows without images");
    let (_, rows) = read_back(&tmp.path().join("out/jaffe"));
    assert!(rows.values().all(|r| r.soft_label.is_none()));
    assert!(rows.values().all(|r| r.split == s.split.assign(&r.sample_id)));
}

#[test]
fn a_root_without_any_sample_is_a_fatal_error_naming_the_root() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("jaffe");
    std::fs::create_dir_all(&root).expect("mkdir");
    std::fs::write(root.join("README"), "not an image").expect("write");
    std::fs::write(root.join("KA.HA1.tiff"), "no repetition number").expect("write");
    let err =
        common::try_run(&settings("jaffe", &root, &tmp.path().join("out"))).expect_err("nothing to ingest");
    let msg = err.to_string();
    assert!(matches!(err, grefel_ingest::IngestError::NoSamples { .. }), "{msg}");
    assert!(msg.contains(&root.display().to_string()), "{msg}");
    assert!(msg.contains("malformed_name"), "the skip that explains it is named: {msg}");
    assert!(!tmp.path().join("out/jaffe").join("manifest.json").exists(), "nothing written");
}
