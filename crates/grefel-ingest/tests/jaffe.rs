//! JAFFE on a generated tree with the traps of spec §5 and §7.4: a ratings row with no image, the
//! `YN-HA2` typo, non-image files, a fear-excluded second table, a malformed name and rating.
//!
//! The images are PNG bytes in `.tiff` files: the driver decodes by content, not by extension
//! (`normalize::decode` guesses the format), and the workspace builds `image` without its `tiff`
//! feature, which real JAFFE files need.

mod common;

use std::path::Path;

use common::{counts, kept, read_back, run, settings, write_image, write_text};
use grefel_ingest::SkipReason;
use grefel_ingest::split::SplitConfig;
use image::ImageFormat;

const README: &str = "\
The JAFFE images ...\r
\r
Semantic ratings (fear included)\r
# HAP SAD SUR ANG DIS FEA PIC\r
8 2.00 2.00 2.00 2.00 2.00 2.00 KM-HA5\r
26 1.50 1.50 2.50 1.50 1.50 1.50 KA-NE2\r
29 4.50 1.00 1.50 1.00 1.00 1.00 KA-HA1\r
53 4.00 1.00 1.00 1.00 1.00 2.00 YN-HA2\r
54 1.00 oops 1.00 1.00 1.00 1.00 YM-HA3\r
\r
Fear excluded\r
# HAP SAD SUR ANG DIS PIC\r
29 4.00 1.00 1.00 1.00 1.00 KA-HA1\r
";

fn build(root: &Path) {
    let png = Some(ImageFormat::Png);
    for (name, v) in [
        ("KA.HA1.29.tiff", 10),  // happy, rated
        ("KA.NE1.26.tiff", 20),  // neutral; its ratings row names KA-NE2: not attached
        ("YM.HA2.53.tiff", 30),  // happy; rated as `YN-HA2`
        ("KL.SU1.150.tiff", 40), // surprise, no ratings row
        ("KM.XX1.9.tiff", 50),   // unknown code: unknown_label
        ("KA.HA1.tiff", 60),     // no row number: malformed_name
    ] {
        write_image(&root.join(name), 8, 8, v, png);
    }
    write_text(&root.join("NM.AN1.200.tiff"), "not an image"); // undecodable
    write_text(&root.join("README_FIRST.txt"), README);
    write_text(&root.join(".DS_Store"), "\0\0");
    write_text(&root.join("._KA.HA1.29.tiff"), "AppleDouble");
}

#[test]
fn jaffe_labels_subjects_ratings() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("jaffedbase");
    build(&root);
    let out = tmp.path().join("out");
    let summary = run(&settings("jaffe", &root, &out));
    assert_eq!(summary.rows, 4, "{summary}");
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
        ("jaffe:YM.HA2.53", "happy"),
    ]
    .map(|(id, label)| (id.to_string(), split(id), label));
    assert_eq!(kept(&rows), want);
    let subjects: Vec<&str> = rows.values().map(|r| r.subject.as_deref().expect("subject")).collect();
    assert_eq!(subjects, ["KA", "KA", "KL", "YM"]);
    assert_eq!(rows["jaffe:KA.HA1.29"].source_path, "KA.HA1.29.tiff");

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
    build(&root);
    std::fs::remove_file(root.join("README_FIRST.txt")).expect("rm");
    let mut s = settings("jaffe", &root, &tmp.path().join("out"));
    s.split = SplitConfig { seed: 7, train: 0.5, val: 0.0 };
    let summary = run(&s);
    assert_eq!(summary.rows, 4);
    assert_eq!(summary.skips.get(SkipReason::MissingFile), 0, "no table, no rows without images");
    let (_, rows) = read_back(&tmp.path().join("out/jaffe"));
    assert!(rows.values().all(|r| r.soft_label.is_none()));
    assert!(rows.values().all(|r| r.split == s.split.assign(&r.sample_id)));
}

/// Writes the fixture to `$GREFEL_FIXTURE_OUT/jaffe` for a command-line run.
#[test]
#[ignore = "writes the fixture for a manual `cargo xtask prepare --dataset jaffe` run"]
fn write_jaffe_fixture() {
    if let Some(dir) = common::fixture_out() {
        build(&dir.join("jaffe"));
    }
}
