//! The Aff-Wild2 EXPR adapter end to end: a generated tree in the ABAW layout
//! ([`grefel_ingest::fixtures::affwild2`]) with the traps of docs/datasets.md §7.4 (`-1` lines, a missing
//! frame, a `_left`/`_right` pair, two `cropped_aligned*` folders, label 7), run through `prepare`
//! and read back; and a large listing scanned directly.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use grefel_ingest::adapter::{Adapter, ScanContext};
use grefel_ingest::affwild2::AffWild2;
use grefel_ingest::fixtures;
use grefel_ingest::normalize::ImageConfig;
use grefel_ingest::source::{DatasetRoot, SourceFile};
use grefel_ingest::split::SplitConfig;
use grefel_ingest::{IngestError, NoProgress, PrepareSettings, PrepareSummary, SkipReason, prepare};
use grefel_schema::table::SampleRecord;
use grefel_shards::Manifest;
use grefel_shards::samples::read_shard;

const HEADER: &str = "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other";

fn settings(root: &Path, out: &Path) -> PrepareSettings {
    PrepareSettings {
        dataset: None,
        adapter: "affwild2".into(),
        variant: None,
        root: root.into(),
        out: out.into(),
        rows_per_shard: 4,
        image: ImageConfig::default(),
        split: SplitConfig::default(),
    }
}

fn try_run(s: &PrepareSettings) -> Result<PrepareSummary, IngestError> {
    prepare(&s.clone().validate()?, &NoProgress)
}

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

fn write_frame(path: &Path, value: u8) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    image::RgbImage::from_pixel(8, 8, image::Rgb([value, value, value]))
        .save_with_format(path, image::ImageFormat::Jpeg)
        .expect("write frame");
}

fn write_text(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

/// The grey value of a stored image's centre.
fn grey(r: &SampleRecord) -> u8 {
    image::load_from_memory(&r.image).expect("png").into_rgb8().get_pixel(4, 4).0[0]
}

#[test]
fn expr_release_with_traps() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("Aff-Wild2");
    fixtures::affwild2(&root).expect("fixture");
    let out = tmp.path().join("out");
    let summary = try_run(&settings(&root, &out)).unwrap_or_else(|e| panic!("{e}"));
    let (m, rows) = read_back(&out.join("affwild2"));
    let got: Vec<(&str, &str, &str, Option<&str>)> = rows
        .values()
        .map(|r| (r.sample_id.as_str(), r.split.as_str(), r.label.name(), r.subject.as_deref()))
        .collect();
    let want = vec![
        ("affwild2:vidA/00001", "train", "neutral", Some("vidA")),
        ("affwild2:vidA/00004", "train", "other", Some("vidA")),
        ("affwild2:vidA/00005", "train", "anger", Some("vidA")),
        ("affwild2:vidB/00001", "val", "fear", Some("vidB")),
        ("affwild2:video2_left/00001", "train", "sad", Some("video2_left")),
        ("affwild2:video2_left/00002", "train", "surprise", Some("video2_left")),
        ("affwild2:video2_right/00001", "train", "disgust", Some("video2_right")),
    ];
    assert_eq!(got, want);
    let skipped: BTreeMap<String, u64> = [
        ("duplicate_id", 1),
        ("ignored_label", 2),
        ("malformed_row", 1),
        ("missing_file", 1),
        ("unknown_label", 1),
    ]
    .iter()
    .map(|&(k, n)| (k.to_string(), n))
    .collect();
    assert_eq!(m.skipped, skipped);
    assert_eq!(summary.skips.get(SkipReason::IgnoredLabel), 2);
    assert_eq!(summary.skips.get(SkipReason::MissingFile), 1);
    assert_eq!(summary.skips.get(SkipReason::DuplicateId), 1);
    assert_eq!(summary.ignored_files, 6, "five annotation files and the read-me");
    assert_eq!(m.rows.by_split["train"], 6);
    assert_eq!(m.rows.by_split["val"], 1);
    assert!(rows.values().all(|r| r.label.name() != "contempt"), "7 is other, never contempt");

    // Line k is frame k; the first crop folder wins; left and right are separate videos.
    let near = |got: u8, want: u8| got.abs_diff(want) <= 3;
    let row = |id: &str| &rows[id];
    assert!(near(grey(row("affwild2:vidA/00001")), 10));
    let dup = row("affwild2:vidA/00004");
    assert_eq!(dup.source_path, "cropped_aligned/vidA/00004.jpg");
    assert!(near(grey(dup), 40), "{}", grey(dup));
    let merged = row("affwild2:vidA/00005");
    assert_eq!(merged.source_path, "cropped_aligned_new_50_vids/vidA/00005.jpg");
    assert!(near(grey(merged), 50));
    assert!(near(grey(row("affwild2:video2_left/00002")), 120));
    assert!(near(grey(row("affwild2:video2_right/00001")), 210));
    assert_eq!((dup.width, dup.height), (8, 8));

    let again = try_run(&settings(&root, &out)).expect("rerun");
    assert!(again.up_to_date, "{again}");
}

#[test]
fn older_release_names_and_fatal_errors() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("affwild");
    // FG-2020 names: EXPR_Set/Training_Set, no `Other` in the header.
    write_frame(&root.join("data/cropped_aligned/v1/00001.jpg"), 30);
    write_frame(&root.join("data/cropped_aligned/v1/00002.jpg"), 31);
    let ann = root.join("annotations/EXPR_Set");
    write_text(
        &ann.join("Training_Set/v1.txt"),
        "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise\n4\n6\n",
    );
    write_text(
        &ann.join("Validation_Set/v2.txt"),
        "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise\n0\n",
    );
    let out = tmp.path().join("out");
    let summary = try_run(&settings(&root, &out)).unwrap_or_else(|e| panic!("{e}"));
    let (m, rows) = read_back(&out.join("affwild2"));
    let got: Vec<(&str, &str)> = rows.values().map(|r| (r.sample_id.as_str(), r.label.name())).collect();
    assert_eq!(got, [("affwild2:v1/00001", "happy"), ("affwild2:v1/00002", "surprise")]);
    assert_eq!(summary.skips.get(SkipReason::MissingFile), 1, "v2 has no frames");
    assert_eq!(m.skipped.len(), 1);

    // No Validation_Set: fatal, naming what is missing.
    std::fs::remove_dir_all(ann.join("Validation_Set")).expect("rm");
    let err = try_run(&settings(&root, &out)).expect_err("no validation set");
    assert!(matches!(err, IngestError::MissingFile { .. }), "{err}");
    assert!(err.to_string().contains("Validation_Set") && err.to_string().contains("EXPR"), "{err}");

    // A missing root.
    let err = try_run(&settings(&tmp.path().join("nowhere"), &out)).expect_err("missing root");
    assert!(matches!(err, IngestError::MissingRoot { .. }), "{err}");
    assert!(err.to_string().contains("nowhere") && err.to_string().contains("cropped_aligned"), "{err}");
}

/// A listing of 300,000 frames (not on disk: the adapter never touches frame files while
/// scanning) is scanned in one pass.
#[test]
fn large_listing_scans_quickly() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (videos, frames) = (30u32, 10_000u32);
    let mut files = Vec::new();
    for v in 0..videos {
        let rel = format!("annotations/EXPR_Recognition_Challenge/Train_Set/vid{v:03}.txt");
        let body: String = (0..frames).map(|k| format!("{}\n", i64::from((k + v) % 9) - 1)).collect();
        write_text(&tmp.path().join(&rel), &format!("{HEADER}\n{body}"));
        files.push(SourceFile { rel, len: 1, mtime_ns: 0, escapes_root: false });
        for k in 1..=frames {
            let rel = format!("cropped_aligned/vid{v:03}/{k:05}.jpg");
            files.push(SourceFile { rel, len: 1, mtime_ns: 0, escapes_root: false });
        }
    }
    let rel = "annotations/EXPR_Recognition_Challenge/Validation_Set/vid999.txt".to_string();
    write_text(&tmp.path().join(&rel), &format!("{HEADER}\n0\n"));
    files.push(SourceFile { rel, len: 1, mtime_ns: 0, escapes_root: false });
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    let root =
        DatasetRoot { dataset: "affwild2".into(), given: tmp.path().into(), path: tmp.path().into(), files };
    let split = SplitConfig::default();
    let start = Instant::now();
    let scan = AffWild2.scan(&root, &ScanContext { dataset: "affwild2", split: &split }).expect("scan");
    let elapsed = start.elapsed();
    eprintln!("scanned {} frames in {elapsed:?}", videos * frames);
    // Values cycle through -1..=7: one in nine lines is -1.
    let ignored = scan.skips.get(SkipReason::IgnoredLabel);
    assert_eq!(scan.candidates.len() as u64 + ignored, u64::from(videos * frames));
    assert_eq!(scan.skips.get(SkipReason::MissingFile), 1, "vid999 has no frames");
    assert!(ignored > 0 && scan.candidates.iter().all(|c| c.subject.is_some()));
    assert!(elapsed.as_secs() < 60, "{elapsed:?}");
}
