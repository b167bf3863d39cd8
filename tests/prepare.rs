//! End-to-end tests of `prepare`: synthetic data through the FERG-DB adapter into shards, reruns,
//! resumption after an interrupted run, changed input, the FERG-DB traps, and (where Python with
//! pyarrow is available) reading the shards with pyarrow.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use grefel_ingest::normalize::ImageConfig;
use grefel_ingest::split::SplitConfig;
use grefel_ingest::{NoProgress, PrepareSettings, PrepareSummary, SkipReason, prepare};
use grefel_schema::Label;
use grefel_schema::table::{SampleRecord, Split};
use grefel_shards::Manifest;
use grefel_shards::samples::read_shard;
use grefel_synth::{SynthConfig, generate};

fn settings(root: &Path, out: &Path, dataset: &str, rows_per_shard: usize) -> PrepareSettings {
    PrepareSettings {
        dataset: Some(dataset.into()),
        adapter: "fergdb".into(),
        variant: None,
        root: root.into(),
        out: out.into(),
        rows_per_shard,
        image: ImageConfig::default(),
        split: SplitConfig::default(),
    }
}

fn run(s: &PrepareSettings) -> PrepareSummary {
    let cfg = s.clone().validate().unwrap_or_else(|e| panic!("{e}"));
    prepare(&cfg, &NoProgress).unwrap_or_else(|e| panic!("{e}"))
}

fn small_synth() -> SynthConfig {
    SynthConfig { seed: 5, count: 140, image_size: 32, identities: 4, ..SynthConfig::default() }
}

fn all_rows(dir: &Path) -> Vec<SampleRecord> {
    let m = Manifest::read(dir).expect("manifest").expect("present");
    m.shards.iter().flat_map(|s| read_shard(&dir.join(&s.path)).expect("read shard")).collect()
}

fn shard_bytes(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let m = Manifest::read(dir).expect("manifest").expect("present");
    m.shards.iter().map(|s| (s.path.clone(), std::fs::read(dir.join(&s.path)).expect("read"))).collect()
}

#[test]
fn synthetic_prepare_end_to_end() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let raw = tmp.path().join("raw");
    let out = tmp.path().join("out");
    let synth = small_synth();
    generate(&synth, &raw).expect("synth");
    let s = settings(&raw, &out, "synthetic", 32);
    let first = run(&s);
    assert!(!first.up_to_date);
    assert_eq!(first.rows, 140);
    assert_eq!(first.skips.total(), 0);
    assert_eq!(first.ignored_files, 2, "the landmark table and the stamp are not samples");
    let dir = out.join("synthetic");
    let rows = all_rows(&dir);
    assert_eq!(rows.len(), 140);

    // Every basic label in train; train and test both present; ids unique.
    let train_labels: BTreeSet<i16> =
        rows.iter().filter(|r| r.split == Split::Train).map(|r| r.label.id()).collect();
    assert_eq!(train_labels, (0..7).collect());
    assert!(rows.iter().any(|r| r.split == Split::Test));
    let ids: BTreeSet<&str> = rows.iter().map(|r| r.sample_id.as_str()).collect();
    assert_eq!(ids.len(), rows.len());

    // Labels and landmarks agree with the generator, sample by sample.
    let by_path: BTreeMap<String, usize> =
        (0..synth.count).map(|i| (grefel_synth::sample_path(&synth, i), i)).collect();
    for r in rows.iter().take(20) {
        let i = by_path[&r.source_path];
        let truth = grefel_synth::render_sample(&synth, i);
        assert_eq!(r.label, Label::Class(truth.expression), "{}", r.sample_id);
        assert_eq!(r.subject.as_deref(), Some(&r.source_path[..3]));
        assert_eq!((r.width, r.height), (32, 32));
        let lm = r.landmarks.as_ref().expect("synthetic rows carry ground-truth landmarks");
        for (got, want) in lm.iter().zip(truth.landmarks.iter()) {
            assert!((got[0] - want[0]).abs() < 2e-3 && (got[1] - want[1]).abs() < 2e-3, "{got:?} {want:?}");
        }
        // The stored image is the drawn image, losslessly.
        let decoded = image::load_from_memory(&r.image).expect("png").into_rgb8();
        assert_eq!(decoded.as_raw(), truth.image.as_raw());
    }

    // Manifest counts agree with the rows.
    let m = Manifest::read(&dir).expect("manifest").expect("present");
    assert_eq!(m.rows.total, 140);
    for split in Split::ALL {
        let n = rows.iter().filter(|r| r.split == split).count() as u64;
        assert_eq!(m.rows.by_split.get(split.as_str()).copied().unwrap_or(0), n);
    }
    let happy_train =
        rows.iter().filter(|r| r.split == Split::Train && r.label.name() == "happy").count() as u64;
    assert_eq!(m.rows.by_split_label["train"]["happy"], happy_train);
    assert!(m.shards.iter().all(|s| s.rows <= 32), "bounded rows per shard");
    assert_eq!(m.content_hash, first.content_hash);

    // Second run: a no-op that says so, shards untouched.
    let before = shard_bytes(&dir);
    let second = run(&s);
    assert!(second.up_to_date, "{second}");
    assert!(second.to_string().contains("up to date"));
    assert_eq!(second.content_hash, first.content_hash);
    assert_eq!(shard_bytes(&dir), before);

    // Another output folder, same input: identical shards.
    let other = run(&settings(&raw, &tmp.path().join("out2"), "synthetic", 32));
    assert_eq!(other.content_hash, first.content_hash);
}

#[test]
fn interrupted_run_resumes_to_the_same_shards() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let raw = tmp.path().join("raw");
    let out = tmp.path().join("out");
    generate(&small_synth(), &raw).expect("synth");
    let s = settings(&raw, &out, "synthetic", 16);
    let full = run(&s);
    let dir = out.join("synthetic");
    let m = Manifest::read(&dir).expect("manifest").expect("present");
    assert!(m.shards.len() >= 6);

    // What a kill leaves: no manifest, some shards missing, a half-written temporary.
    std::fs::remove_file(dir.join("manifest.json")).expect("rm manifest");
    std::fs::remove_file(dir.join(&m.shards[1].path)).expect("rm shard");
    std::fs::remove_file(dir.join(&m.shards[4].path)).expect("rm shard");
    let tmp_file = dir.join("train/part-00003.parquet.999.grefel-tmp");
    std::fs::write(&tmp_file, b"PAR1 half").expect("temporary");
    let resumed = run(&s);
    assert!(!resumed.up_to_date);
    assert_eq!(resumed.shards_written, 2, "{resumed}");
    assert_eq!(resumed.shards_reused, m.shards.len() - 2);
    assert_eq!(resumed.content_hash, full.content_hash);
    assert!(!tmp_file.exists(), "stale temporaries are removed");

    // A shard from another plan (different settings) is rewritten, not trusted.
    let other_plan = settings(&raw, &out, "synthetic", 20);
    let changed = run(&other_plan);
    assert_eq!(changed.shards_reused, 0);
    let back = run(&s);
    assert_eq!(back.content_hash, full.content_hash);
    let m2 = Manifest::read(&dir).expect("manifest").expect("present");
    let files: usize = Split::ALL
        .iter()
        .map(|sp| std::fs::read_dir(dir.join(sp.as_str())).map(|d| d.count()).unwrap_or(0))
        .sum();
    assert_eq!(files, m2.shards.len(), "shards from the other plan are removed");

    // A corrupted shard is detected on the next run and rebuilt.
    std::fs::write(dir.join(&m2.shards[0].path), b"garbage").expect("corrupt");
    let repaired = run(&s);
    assert!(!repaired.up_to_date);
    assert_eq!(repaired.content_hash, full.content_hash);

    // Redrawing the same tree (new file times, same bytes) rebuilds to the same content hash.
    std::fs::remove_dir_all(&raw).expect("rm raw");
    generate(&small_synth(), &raw).expect("synth again");
    let redrawn = run(&s);
    assert!(!redrawn.up_to_date);
    assert_eq!(redrawn.shards_reused, 0);
    assert_eq!(redrawn.content_hash, full.content_hash);

    // Input that changes between a kill and the rerun is never served from the old shards.
    std::fs::remove_file(dir.join("manifest.json")).expect("rm manifest");
    let first_train = read_shard(&dir.join("train/part-00000.parquet")).expect("read");
    let victim = raw.join(&first_train[0].source_path);
    let blank = image::RgbImage::from_pixel(32, 32, image::Rgb([1, 2, 3]));
    blank.save_with_format(&victim, image::ImageFormat::Png).expect("overwrite");
    let changed = run(&s);
    assert_eq!(changed.shards_reused, 0, "{changed}");
    assert_ne!(changed.content_hash, full.content_hash);
    let row = &read_shard(&dir.join("train/part-00000.parquet")).expect("read")[0];
    let decoded = image::load_from_memory(&row.image).expect("png").into_rgb8();
    assert_eq!(decoded.as_raw(), blank.as_raw());
}

fn write_png(path: &Path, img: &image::DynamicImage) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    img.save_with_format(path, image::ImageFormat::Png).expect("save");
}

fn ferg_fixture(root: &Path) {
    let rgb = |v: u8| {
        image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(12, 10, image::Rgb([v, v / 2, 9])))
    };
    for (k, v) in [(1, 10u8), (10, 20), (2, 30)] {
        write_png(&root.join(format!("aia/aia_joy/aia_joy_{k}.png")), &rgb(v));
    }
    write_png(&root.join("aia/aia_anger/aia_anger_1.png"), &rgb(40));
    write_png(&root.join("ray/ray_sadness/ray_sadness_1.png"), &rgb(50));
    // RGBA with transparency: composited on the background.
    let mut rgba = image::RgbaImage::from_pixel(12, 10, image::Rgba([255, 255, 255, 0]));
    rgba.put_pixel(0, 0, image::Rgba([200, 100, 50, 255]));
    write_png(&root.join("ray/ray_fear/ray_fear_1.png"), &image::DynamicImage::ImageRgba8(rgba));
    // Traps.
    std::fs::write(root.join("aia/.DS_Store"), b"\0\0\0\x01Bud1").expect("ds_store");
    std::fs::write(root.join("README.txt"), b"FERG-DB").expect("readme");
    std::fs::write(root.join("aia/aia_joy/aia_joy_3.png"), b"").expect("zero byte");
    std::fs::write(root.join("aia/aia_joy/aia_joy_4.png"), b"\x89PNG\r\n\x1a\ntruncated").expect("corrupt");
    write_png(&root.join("aia/aia_joyful/aia_joyful_1.png"), &rgb(60));
    write_png(&root.join("aia/aia_joy/aia_joy_final.png"), &rgb(70));
}

#[test]
fn fergdb_traps_are_counted() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("FERG_DB_256");
    ferg_fixture(&root);
    #[cfg(unix)]
    {
        write_png(
            &tmp.path().join("secret.png"),
            &image::DynamicImage::ImageRgb8(image::RgbImage::new(4, 4)),
        );
        std::os::unix::fs::symlink(tmp.path().join("secret.png"), root.join("ray/ray_fear/ray_fear_2.png"))
            .expect("symlink");
    }
    let mut s = settings(&root, &tmp.path().join("out"), "fergdb", 4);
    s.image = ImageConfig { size: Some(16), background: [10, 20, 30] };
    let summary = run(&s);
    let rows = all_rows(&tmp.path().join("out/fergdb"));
    let mut got: Vec<(String, &str)> = rows.iter().map(|r| (r.source_path.clone(), r.label.name())).collect();
    got.sort();
    let want = [
        ("aia/aia_anger/aia_anger_1.png", "anger"),
        ("aia/aia_joy/aia_joy_1.png", "happy"),
        ("aia/aia_joy/aia_joy_10.png", "happy"),
        ("aia/aia_joy/aia_joy_2.png", "happy"),
        ("ray/ray_fear/ray_fear_1.png", "fear"),
        ("ray/ray_sadness/ray_sadness_1.png", "sad"),
    ];
    assert_eq!(got, want.map(|(p, l)| (p.to_string(), l)));
    assert_eq!(summary.skips.get(SkipReason::ZeroByte), 1);
    assert_eq!(summary.skips.get(SkipReason::Undecodable), 1);
    assert_eq!(summary.skips.get(SkipReason::UnknownLabel), 1);
    assert_eq!(summary.skips.get(SkipReason::MalformedName), 1);
    #[cfg(unix)]
    assert_eq!(summary.skips.get(SkipReason::PathEscapesRoot), 1);
    assert_eq!(summary.ignored_files, 2, ".DS_Store and README.txt");
    let m = Manifest::read(&tmp.path().join("out/fergdb")).expect("manifest").expect("present");
    assert_eq!(m.skipped.get("zero_byte"), Some(&1));
    assert_eq!(m.skipped.get("undecodable"), Some(&1));
    assert!(summary.to_string().contains("undecodable=1"), "{summary}");

    for r in &rows {
        assert_eq!((r.width, r.height), (16, 16));
        assert_eq!(r.subject.as_deref(), Some(&r.source_path[..3]));
        assert!(r.sample_id.starts_with("fergdb:"));
    }
    let fear = rows.iter().find(|r| r.label.name() == "fear").expect("fear row");
    let img = image::load_from_memory(&fear.image).expect("png");
    assert_eq!(img.color(), image::ColorType::Rgb8, "alpha removed");
    assert_eq!(img.into_rgb8().get_pixel(15, 15).0, [10, 20, 30], "transparent pixels take the background");

    // Changed input rebuilds: one more image.
    write_png(
        &root.join("ray/ray_sadness/ray_sadness_2.png"),
        &image::DynamicImage::ImageRgb8(image::RgbImage::new(5, 5)),
    );
    let again = run(&s);
    assert!(!again.up_to_date);
    assert_eq!(again.rows, summary.rows + 1);
}

#[test]
fn fatal_errors_are_clear() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let missing = settings(&tmp.path().join("nowhere"), &tmp.path().join("out"), "fergdb", 8);
    let err = prepare(&missing.clone().validate().expect("valid"), &NoProgress).expect_err("missing root");
    let text = err.to_string();
    assert!(text.contains("nowhere") && text.contains("FERG_DB_256"), "{text}");

    let mut unknown = missing.clone();
    unknown.adapter = "affectnet9".into();
    let err = unknown.validate().err().expect("unknown adapter");
    assert!(err.to_string().contains("affectnet9") && err.to_string().contains("fergdb"), "{err}");

    let mut zero = missing.clone();
    zero.rows_per_shard = 0;
    assert!(zero.validate().is_err());
    let mut bad_name = missing;
    bad_name.dataset = Some("../escape".into());
    assert!(bad_name.validate().is_err());
}

/// The shards are read by pyarrow (`pyarrow.parquet.read_table`) with the documented columns.
/// Runs where `GREFEL_PYTHON` names a Python with pyarrow (CI sets it); elsewhere it says why it
/// did not run. Under CI a missing interpreter is a failure.
#[test]
fn pyarrow_reads_the_shards() {
    let Some(python) = std::env::var_os("GREFEL_PYTHON").map(PathBuf::from) else {
        assert!(std::env::var_os("CI").is_none(), "CI must set GREFEL_PYTHON (a Python with pyarrow)");
        eprintln!("skipped: GREFEL_PYTHON is not set (a Python with pyarrow)");
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let raw = tmp.path().join("raw");
    let out = tmp.path().join("out");
    generate(&small_synth(), &raw).expect("synth");
    run(&settings(&raw, &out, "synthetic", 64));
    let script = r#"
import glob, sys
import pyarrow as pa, pyarrow.parquet as pq
files = sorted(glob.glob(sys.argv[1] + "/*/*.parquet"))
t = pa.concat_tables([pq.read_table(f) for f in files])
need = ["sample_id", "dataset", "split", "label", "image", "width", "height", "source_path",
        "subject", "bbox", "landmarks", "soft_label", "landmarks5", "valence", "arousal", "gender",
        "race", "age_group"]
assert t.column_names == need, t.column_names
assert str(t.schema.field("label").type) == "int16"
assert t.schema.field("landmarks").type.list_size == 136
assert t.schema.metadata[b"grefel.schema"] == b"samples/1"
labels = sorted(set(t.column("label").to_pylist()))
splits = sorted(set(t.column("split").to_pylist()))
print(t.num_rows, labels, splits)
"#;
    let output = std::process::Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(out.join("synthetic"))
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", python.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "pyarrow failed: {}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(stdout.trim(), "140 [0, 1, 2, 3, 4, 5, 6] ['test', 'train', 'val']");
}
