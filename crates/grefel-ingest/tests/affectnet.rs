//! The AffectNet adapter end to end: generated trees in the three owner-derived layouts (CSV,
//! `.npy`, folder-per-class; [`grefel_ingest::fixtures::affectnet_csv`] and its siblings) with the
//! traps of docs/datasets.md §7.4, run through `prepare`, read back.

use std::collections::BTreeMap;
use std::path::Path;

use grefel_ingest::fixtures::{self, AFFECTNET_CSV_HEADER, affectnet_hash as hash};
use grefel_ingest::normalize::ImageConfig;
use grefel_ingest::split::SplitConfig;
use grefel_ingest::{IngestError, NoProgress, PrepareSettings, PrepareSummary, SkipReason, prepare};
use grefel_schema::table::SampleRecord;
use grefel_shards::Manifest;
use grefel_shards::hash::Fingerprint;
use grefel_shards::samples::read_shard;

fn settings(root: &Path, out: &Path, variant: Option<&str>) -> PrepareSettings {
    PrepareSettings {
        dataset: None,
        adapter: "affectnet".into(),
        variant: variant.map(str::to_string),
        root: root.into(),
        out: out.into(),
        rows_per_shard: 3,
        image: ImageConfig { size: Some(10), ..ImageConfig::default() },
        split: SplitConfig::default(),
    }
}

fn try_run(s: &PrepareSettings) -> Result<(PrepareSummary, Option<String>), IngestError> {
    let cfg = s.clone().validate()?;
    let summary = prepare(&cfg, &NoProgress)?;
    Ok((summary, cfg.adapter.variant()))
}

fn run(s: &PrepareSettings) -> (PrepareSummary, Option<String>) {
    try_run(s).unwrap_or_else(|e| panic!("{e}"))
}

/// The manifest and the rows by sample id.
fn read_back(dir: &Path) -> (Manifest, BTreeMap<String, SampleRecord>) {
    let m = Manifest::read(dir).expect("manifest").expect("manifest present");
    let rows = m
        .shards
        .iter()
        .flat_map(|s| read_shard(&dir.join(&s.path)).expect("read shard"))
        .map(|r| (r.sample_id.clone(), r))
        .collect();
    (m, rows)
}

/// `(split, label, sample_id)` of every row.
fn kept(rows: &BTreeMap<String, SampleRecord>) -> Vec<(&'static str, &'static str, String)> {
    let mut v: Vec<_> =
        rows.values().map(|r| (r.split.as_str(), r.label.name(), r.sample_id.clone())).collect();
    v.sort();
    v
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|&(k, n)| (k.to_string(), n)).collect()
}

fn write_text(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

#[test]
fn csv_release_with_traps() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("AffectNet");
    fixtures::affectnet_csv(&root).expect("fixture");
    let out = tmp.path().join("out");
    let (summary, variant) = run(&settings(&root, &out, None));
    assert_eq!(variant.as_deref(), Some("csv"), "detected");
    let (m, rows) = read_back(&out.join("affectnet"));
    let id = |c: char, ext: &str, sub: u8| format!("affectnet:{sub}/{}.{ext}", hash(c));
    let want = vec![
        ("train", "contempt", id('b', "png", 1)),
        ("train", "happy", id('a', "jpg", 1)),
        ("train", "other", id('c', "JPG", 2)),
        ("train", "sad", id('j', "png", 1)),
        ("val", "anger", id('g', "png", 1)),
        ("val", "neutral", id('f', "jpg", 2)),
    ];
    assert_eq!(kept(&rows), want);
    let skips = [
        ("bad_box", 2),
        ("duplicate_id", 1),
        ("ignored_label", 2),
        ("malformed_row", 1),
        ("missing_file", 1),
        ("path_escapes_root", 1),
        ("unknown_label", 1),
    ];
    assert_eq!(m.skipped, counts(&skips));
    assert_eq!(summary.skips.get(SkipReason::IgnoredLabel), 2);
    assert_eq!(summary.skips.get(SkipReason::BadBox), 2);
    assert_eq!(summary.skips.get(SkipReason::PathEscapesRoot), 1);
    assert_eq!(summary.skips.total(), 9);
    assert_eq!(summary.ignored_files, 3, "two lists and the read-me");
    assert_eq!(m.config["variant"], "csv");
    assert_eq!(m.rows.by_split_label["train"]["happy"], 1);

    // Crop and resize: the 20×20 box at (10, 5) becomes the 10×10 image (scale 0.5).
    let a = &rows[&id('a', "jpg", 1)];
    assert_eq!((a.width, a.height), (10, 10));
    assert_eq!(a.source_path, format!("Manually_Annotated/Manually_Annotated_Images/1/{}.jpg", hash('a')));
    assert_eq!(a.bbox, Some([0.0, 0.0, 10.0, 10.0]));
    let lm = a.landmarks.as_ref().expect("landmarks");
    assert_eq!(lm[0], [2.0, 2.0], "(14, 9) - (10, 5), halved");
    assert_eq!(lm[67], [9.5, 9.5], "(29, 24) - (10, 5), halved");
    assert_eq!((a.attributes.valence, a.attributes.arousal), (Some(0.5), Some(-0.25)));
    let px = image::load_from_memory(&a.image).expect("png").into_rgb8();
    let p = px.get_pixel(5, 5).0;
    assert!(p[1] > 150 && p[0] < 60, "the stored image is the green face box: {p:?}");
    let b = &rows[&id('b', "png", 1)];
    assert_eq!((b.landmarks.is_none(), b.bbox), (true, Some([0.0, 0.0, 10.0, 10.0])));
    assert_eq!(b.subject, None);
    let g = &rows[&id('g', "png", 1)];
    assert_eq!((g.attributes.valence, g.attributes.arousal), (Some(-0.5), Some(0.5)));

    // Rerun: nothing to do.
    let (again, _) = run(&settings(&root, &out, None));
    assert!(again.up_to_date, "{again}");
    // The explicit variant reads the same rows.
    let (explicit, v) = run(&settings(&root, &tmp.path().join("out2"), Some("csv")));
    assert_eq!(v.as_deref(), Some("csv"));
    assert_eq!(explicit.skips, summary.skips);
    let (_, rows2) = read_back(&tmp.path().join("out2/affectnet"));
    assert_eq!(rows2, rows);
}

#[test]
fn npy_release_with_traps() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("AffectNet");
    fixtures::affectnet_npy(&root).expect("fixture");
    let out = tmp.path().join("out");
    let mut s = settings(&root, &out, None);
    s.image.size = Some(12);
    let (summary, variant) = run(&s);
    assert_eq!(variant.as_deref(), Some("npy"), "detected");
    let (m, rows) = read_back(&out.join("affectnet"));
    let want: Vec<(&str, &str, String)> = [
        ("train", "contempt", "affectnet:train/5"),
        ("train", "happy", "affectnet:train/0"),
        ("train", "surprise", "affectnet:train/1"),
        ("val", "neutral", "affectnet:val/0"),
    ]
    .iter()
    .map(|&(s, l, i)| (s, l, i.to_string()))
    .collect();
    assert_eq!(kept(&rows), want);
    assert_eq!(m.skipped, counts(&[("ignored_label", 1), ("malformed_row", 2), ("missing_file", 1)]));
    assert_eq!(summary.skips.get(SkipReason::MalformedRow), 2);
    assert_eq!(summary.ignored_files, 13, "the .npy files");
    assert_eq!(m.config["variant"], "npy");
    let r = &rows["affectnet:train/0"];
    assert_eq!(r.source_path, "train_set/images/0.jpg");
    assert_eq!((r.width, r.height), (12, 12));
    assert_eq!((r.attributes.valence, r.attributes.arousal), (Some(0.25), Some(-0.5)));
    assert_eq!(r.landmarks.as_ref().map(|p| p[0]), Some([6.0, 3.0]), "(12, 6) at scale 0.5");
    let c = &rows["affectnet:train/5"];
    assert_eq!(c.landmarks.as_ref().map(|p| p[1]), Some([1.0, 1.5]), "(2, 3) from the 68×2 array");
    assert_eq!(c.attributes.valence, None, "no _val file");
}

#[test]
fn class_folders() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("AffectNet");
    fixtures::affectnet_folders(&root).expect("fixture");
    let out = tmp.path().join("out");
    let (summary, variant) = run(&settings(&root, &out, None));
    assert_eq!(variant.as_deref(), Some("folders"), "detected");
    let (m, rows) = read_back(&out.join("affectnet"));
    let want: Vec<(&str, &str, String)> = [
        ("test", "anger", "affectnet:test/6/g.png"),
        ("train", "contempt", "affectnet:train/7/c.JPG"),
        ("train", "happy", "affectnet:train/1/b.png"),
        ("train", "neutral", "affectnet:train/0/a.jpg"),
        ("val", "surprise", "affectnet:valid/3/f.jpg"),
    ]
    .iter()
    .map(|&(s, l, i)| (s, l, i.to_string()))
    .collect();
    assert_eq!(kept(&rows), want);
    assert_eq!(m.skipped, counts(&[("ignored_label", 1), ("malformed_name", 1), ("unknown_label", 1)]));
    assert_eq!(summary.ignored_files, 1, ".DS_Store");
    assert_eq!(m.config["variant"], "folders");
}

/// The detected variant is part of the hashed configuration: a run naming it explicitly finds the
/// detecting run's shards up to date, the manifest's hash is the hash of its recorded
/// configuration, and a configuration prepared twice hashes the same both times.
#[test]
fn detected_variant_is_hashed_like_an_explicit_one() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("AffectNet");
    fixtures::affectnet_folders(&root).expect("fixture");
    let out = tmp.path().join("out");
    let (first, _) = run(&settings(&root, &out, None));
    assert!(!first.up_to_date, "{first}");
    let (m1, _) = read_back(&out.join("affectnet"));
    assert_eq!(m1.config["variant"], "folders");
    assert_eq!(
        m1.config_hash,
        Fingerprint::new().part(m1.config.to_string()).finish(),
        "hash of the recorded config"
    );

    let (explicit, v) = run(&settings(&root, &out, Some("folders")));
    assert_eq!(v.as_deref(), Some("folders"));
    assert!(explicit.up_to_date, "explicit --variant folders after detection: {explicit}");
    let (m2, _) = read_back(&out.join("affectnet"));
    assert_eq!((m2.config_hash, m2.config), (m1.config_hash.clone(), m1.config.clone()));
    let (again, _) = run(&settings(&root, &out, None));
    assert!(again.up_to_date, "detection after the explicit run: {again}");

    // One validated configuration (one adapter, whose detection outlives the first run).
    let cfg = settings(&root, &tmp.path().join("out2"), None).validate().expect("valid");
    let a = prepare(&cfg, &NoProgress).expect("first run");
    let b = prepare(&cfg, &NoProgress).expect("second run");
    assert!(!a.up_to_date && b.up_to_date, "{b}");
    let (m3, _) = read_back(&tmp.path().join("out2/affectnet"));
    assert_eq!(m3.config_hash, m1.config_hash);
}

#[test]
fn variants_and_fatal_errors() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("AffectNet");
    fixtures::affectnet_csv(&root).expect("fixture");
    let out = tmp.path().join("out");

    // An unknown variant is a configuration error naming the known ones.
    let err = settings(&root, &out, Some("yolo")).validate().err().expect("unknown variant");
    assert!(matches!(err, IngestError::InvalidConfig { field: "variant", .. }), "{err}");
    assert!(err.to_string().contains("yolo") && err.to_string().contains("csv, npy, folders"), "{err}");

    // A variant whose files are absent names the missing path.
    let err = try_run(&settings(&root, &out, Some("npy"))).expect_err("no npy files");
    assert!(matches!(err, IngestError::MissingFile { .. }), "{err}");
    assert!(err.to_string().contains("train_set") && err.to_string().contains("_exp.npy"), "{err}");
    let err = try_run(&settings(&root, &out, Some("folders"))).expect_err("no class folders");
    assert!(err.to_string().contains("train") && err.to_string().contains("0..7"), "{err}");

    // A missing label list is fatal and named.
    std::fs::remove_file(root.join("Manually_Annotated_file_lists/validation.csv")).expect("rm");
    let err = try_run(&settings(&root, &out, Some("csv"))).expect_err("no validation.csv");
    assert!(matches!(err, IngestError::MissingFile { .. }), "{err}");
    assert!(err.to_string().contains("Manually_Annotated_file_lists/validation.csv"), "{err}");

    // A header-only list is fine (no rows from it).
    write_text(
        &root.join("Manually_Annotated_file_lists/validation.csv"),
        &format!("{AFFECTNET_CSV_HEADER}\r\n"),
    );
    let (summary, _) = run(&settings(&root, &out, Some("csv")));
    assert_eq!(summary.rows_by_split.get("val"), None);
    assert_eq!(summary.rows, 4);

    // A header without a needed column is fatal, with the file and line.
    write_text(
        &root.join("Manually_Annotated_file_lists/validation.csv"),
        "subDirectory_filePath,expression\n",
    );
    let err = try_run(&settings(&root, &out, Some("csv"))).expect_err("bad header");
    assert!(err.to_string().contains("validation.csv:1") && err.to_string().contains("face_x"), "{err}");

    // Nothing recognisable: the root is named with what was expected.
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let err = try_run(&settings(&empty, &out, None)).expect_err("no layout");
    assert!(err.to_string().contains("empty") && err.to_string().contains("training"), "{err}");

    // A missing root.
    let err = try_run(&settings(&tmp.path().join("nowhere"), &out, None)).expect_err("missing root");
    assert!(matches!(err, IngestError::MissingRoot { .. }), "{err}");
    assert!(err.to_string().contains("nowhere") && err.to_string().contains("Manually_Annotated"), "{err}");
}
