//! The landmark stage end to end on prepared `samples` shards written here: a synthetic-like
//! dataset with exact points (no model needed: rerun no-op, resumption after a kill, changed
//! input, stale shards, determinism, clear errors), and a RAF-DB-like fixture of 100×100 face
//! crops of the public-domain photos without points (dlib68 on dataset, rustface and inset
//! boxes; needs the installed models, skipped with the reason otherwise).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use grefel_landmarks::boxes::BoxConfig;
use grefel_landmarks::intensity::{Intensity, decode, to_intensity};
use grefel_landmarks::models::{default_dlib68_path, default_rustface_path, load_predictor};
use grefel_landmarks::{LandmarkError, LandmarkSettings, NoProgress, Rect, StageSummary, run_stage};
use grefel_schema::Expression;
use grefel_schema::labels::Label;
use grefel_schema::landmarks_table::{BoxSource, LandmarkRecord, LandmarkSource, Quality};
use grefel_schema::table::{Attributes, NUM_LANDMARKS, SampleRecord, Split};
use grefel_shards::Manifest;
use grefel_shards::manifest::{RowCounts, ShardEntry, SourceInfo, content_hash};

fn png(img: &image::RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png).expect("png");
    out
}

fn record(dataset: &str, id: usize, split: Split, image: Vec<u8>, size: u32) -> SampleRecord {
    SampleRecord {
        sample_id: format!("{dataset}:{id:04}.png"),
        dataset: dataset.into(),
        split,
        label: Label::Class(Expression::BASIC[id % 7]),
        image,
        width: size,
        height: size,
        source_path: format!("{id:04}.png"),
        subject: None,
        bbox: None,
        landmarks: None,
        soft_label: None,
        attributes: Attributes::default(),
    }
}

/// Writes `shards` (relative path → rows) and a `samples` manifest under `<data>/<dataset>/`.
fn write_prepared(data: &Path, dataset: &str, shards: &[(&str, Vec<SampleRecord>)]) {
    let dir = data.join(dataset);
    let mut entries = Vec::new();
    let mut rows = RowCounts::default();
    for (rel, records) in shards {
        let sha256 = grefel_shards::samples::write_shard(&dir.join(rel), records, &BTreeMap::new())
            .expect("write samples shard");
        rows.total += records.len() as u64;
        entries.push(ShardEntry { path: (*rel).into(), rows: records.len() as u64, sha256 });
    }
    let manifest = Manifest {
        table: "samples".into(),
        schema_version: 1,
        dataset: dataset.into(),
        adapter: "test".into(),
        adapter_version: 1,
        config: serde_json::json!({}),
        config_hash: "c".into(),
        source: SourceInfo { root: "/fixture".into(), files: rows.total, fingerprint: "f".into() },
        rows,
        skipped: BTreeMap::new(),
        ignored_files: 0,
        content_hash: content_hash(&entries),
        shards: entries,
    };
    manifest.write(&dir).expect("write manifest");
}

fn settings(data: &Path, dataset: &str) -> LandmarkSettings {
    LandmarkSettings {
        data: data.into(),
        dataset: dataset.into(),
        model: default_dlib68_path(),
        face_model: default_rustface_path(),
        recompute: false,
        boxes: BoxConfig::default(),
    }
}

fn run(s: &LandmarkSettings) -> StageSummary {
    run_stage(s, &NoProgress).unwrap_or_else(|e| panic!("{e}"))
}

fn output(dir: &Path) -> Vec<LandmarkRecord> {
    let m = grefel_landmarks::LandmarkManifest::read(dir).expect("read").expect("manifest");
    m.shards
        .iter()
        .flat_map(|s| grefel_shards::landmarks::read_shard(&dir.join(&s.path)).expect("read"))
        .collect()
}

fn synthetic_shards(seed: f32) -> Vec<(&'static str, Vec<SampleRecord>)> {
    let img = png(&image::RgbImage::from_pixel(16, 16, image::Rgb([90, 90, 90])));
    let mut id = 0;
    let mut shard = |split: Split, n: usize| {
        (0..n)
            .map(|_| {
                id += 1;
                let mut r = record("synthetic", id, split, img.clone(), 16);
                let mut pts = Box::new([[0f32; 2]; NUM_LANDMARKS]);
                for (k, p) in pts.iter_mut().enumerate() {
                    *p = [2.0 + (k % 12) as f32, 2.0 + (k / 12) as f32 + seed];
                }
                r.landmarks = Some(pts);
                r
            })
            .collect::<Vec<_>>()
    };
    vec![
        ("train/part-00000.parquet", shard(Split::Train, 6)),
        ("train/part-00001.parquet", shard(Split::Train, 5)),
        ("val/part-00000.parquet", shard(Split::Val, 3)),
        ("test/part-00000.parquet", shard(Split::Test, 4)),
    ]
}

#[test]
fn synthetic_given_points_rerun_resume_and_errors() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    write_prepared(&data, "synthetic", &synthetic_shards(0.0));
    let mut s = settings(&data, "synthetic");
    // The given points need no model: point both at nothing.
    s.model = tmp.path().join("absent.dat");
    s.face_model = tmp.path().join("absent.bin");
    let out_dir = data.join("synthetic/landmarks");

    let first = run(&s);
    assert!(!first.up_to_date);
    assert_eq!(
        (first.rows_read, first.rows.total, first.shards_written, first.shards_reused),
        (18, 18, 4, 0)
    );
    assert_eq!(first.rows.by_source.get("ground_truth"), Some(&18));
    assert_eq!(first.rows.by_box_source.get("points"), Some(&18));
    assert_eq!(first.rows.by_quality.get("ok"), Some(&18));
    let line = first.to_string();
    assert!(line.starts_with("landmarks synthetic: read 18 rows in 4 shards, wrote 18 rows"), "{line}");
    let rows = output(&out_dir);
    assert_eq!(rows.len(), 18);
    assert!(
        rows.iter().all(|r| r.source == LandmarkSource::GroundTruth && r.box_source == BoxSource::Points)
    );
    assert_eq!(rows[0].bbox, [2.0, 2.0, 13.0, 7.0]);
    assert_eq!(rows[0].landmarks[13], [3.0, 3.0]);
    let input_ids: Vec<String> =
        synthetic_shards(0.0).into_iter().flat_map(|(_, r)| r).map(|r| r.sample_id).collect();
    let mut sorted_input = input_ids.clone();
    sorted_input.sort();
    let mut got: Vec<String> = rows.iter().map(|r| r.sample_id.clone()).collect();
    got.sort();
    assert_eq!(got, sorted_input, "one row per sample, keyed by sample_id");

    // Unchanged: a no-op that says so.
    let again = run(&s);
    assert!(again.up_to_date);
    assert_eq!(again.content_hash, first.content_hash);
    assert!(again.to_string().contains("up to date, nothing to do"), "{again}");

    // A kill after two shards: manifest and later shards missing, a temporary left behind.
    std::fs::remove_file(out_dir.join("manifest.json")).expect("rm manifest");
    std::fs::remove_file(out_dir.join("part-00003.parquet")).expect("rm shard");
    std::fs::write(out_dir.join("part-00002.parquet.999.grefel-tmp"), b"partial").expect("tmp");
    std::fs::write(out_dir.join("part-00009.parquet"), b"stale").expect("stale");
    let resumed = run(&s);
    assert_eq!((resumed.shards_reused, resumed.shards_written), (3, 1));
    assert_eq!(resumed.content_hash, first.content_hash, "same bytes after resuming");
    assert!(!out_dir.join("part-00002.parquet.999.grefel-tmp").exists());
    assert!(!out_dir.join("part-00009.parquet").exists());

    // Changed input: every input shard changes, every output shard is rewritten.
    write_prepared(&data, "synthetic", &synthetic_shards(1.0));
    let changed = run(&s);
    assert_eq!((changed.shards_reused, changed.shards_written), (0, 4));
    assert_ne!(changed.content_hash, first.content_hash);

    // Determinism: the same input elsewhere gives the same content hash.
    let other = tmp.path().join("other");
    write_prepared(&other, "synthetic", &synthetic_shards(1.0));
    let mut s2 = settings(&other, "synthetic");
    s2.model = s.model.clone();
    s2.face_model = s.face_model.clone();
    assert_eq!(run(&s2).content_hash, changed.content_hash);

    // --recompute needs the model: a clear error naming the fix.
    let recompute = LandmarkSettings { recompute: true, ..s.clone() };
    match run_stage(&recompute, &NoProgress) {
        Err(e @ LandmarkError::MissingModel { .. }) => {
            assert!(e.to_string().contains("setup-landmarks"), "{e}")
        }
        other => panic!("expected a missing-model error, got {other:?}"),
    }
    // No prepared input: a clear error.
    let missing = settings(&data, "nothing");
    let err = run_stage(&missing, &NoProgress).expect_err("no input");
    assert!(err.to_string().contains("prepare"), "{err}");
}

/// A square crop of side `margin · width` of `rect`, resized to 100 × 100 (RAF-DB's aligned
/// images are 100 × 100 RGB).
fn face_crop(img: &image::RgbImage, rect: [u32; 4], margin: f32, flip: bool) -> image::RgbImage {
    let [l, t, r, b] = rect.map(|v| v as f32);
    let side = margin * (r - l);
    let (x, y) = ((l + r) / 2.0 - side / 2.0, (t + b) / 2.0 - side / 2.0);
    let c = image::imageops::crop_imm(img, x as u32, y as u32, side as u32, side as u32).to_image();
    let c = image::imageops::resize(&c, 100, 100, image::imageops::FilterType::Triangle);
    if flip { image::imageops::flip_horizontal(&c) } else { c }
}

#[test]
fn rafdb_fixture_with_dlib68() {
    let test = "rafdb_fixture_with_dlib68";
    let Some(model_path) = common::model_or_skip(test) else { return };
    let Some(face_path) = common::face_model_or_skip(test) else { return };
    let Some(fixtures) = common::fixtures_or_skip(test) else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    // Face boxes of the two portraits (dlib's HOG boxes, docs/landmarks.md §3.2).
    let faces: [(&str, [u32; 4]); 2] = [
        ("skimage_astronaut.png", [175, 76, 265, 166]),
        ("facedetect_grace_hopper_512x512.jpg", [180, 118, 366, 304]),
    ];
    let mut records = Vec::new();
    for (name, rect) in faces {
        let img = image::open(fixtures.join(name)).expect("photo").to_rgb8();
        for margin in [1.2, 1.35, 1.5] {
            for flip in [false, true] {
                let id = records.len();
                records.push(record(
                    "rafdb",
                    id,
                    Split::Train,
                    png(&face_crop(&img, rect, margin, flip)),
                    100,
                ));
            }
        }
    }
    let mut with_box = records[0].clone();
    with_box.sample_id = "rafdb:boxed.png".into();
    with_box.bbox = Some([12.5, 14.5, 88.5, 90.5]);
    records.push(with_box);
    let flat = png(&image::RgbImage::from_pixel(100, 100, image::Rgb([128, 128, 128])));
    records.push(record("rafdb", 90, Split::Test, flat, 100));
    records.push(record("rafdb", 91, Split::Test, b"not a png".to_vec(), 100));
    let (train, test_rows): (Vec<_>, Vec<_>) = records.into_iter().partition(|r| r.split == Split::Train);
    write_prepared(
        &data,
        "rafdb",
        &[("test/part-00000.parquet", test_rows), ("train/part-00000.parquet", train)],
    );

    let mut s = settings(&data, "rafdb");
    s.model = model_path.clone();
    s.face_model = face_path;
    let first = run(&s);
    assert_eq!((first.rows_read, first.rows.total), (15, 14), "{first}");
    assert_eq!(first.skipped.get("undecodable"), Some(&1));
    assert_eq!(first.rows.by_source.get("dlib68"), Some(&14));
    assert_eq!(first.rows.by_box_source.get("dataset"), Some(&1));
    let rustface = first.rows.by_box_source.get("rustface").copied().unwrap_or(0);
    assert!(rustface >= 10, "rustface found {rustface} of 12 faces: {first}");
    assert!(first.rows.by_quality.get("fallback_box").is_some_and(|n| *n >= 1), "{first}");

    let predictor = load_predictor(&model_path, Some(68)).expect("model").predictor;
    let out_dir = data.join("rafdb/landmarks");
    let rows = output(&out_dir);
    let inputs: BTreeMap<String, SampleRecord> =
        grefel_shards::samples::read_shard(&data.join("rafdb/train/part-00000.parquet"))
            .expect("read")
            .into_iter()
            .map(|r| (r.sample_id.clone(), r))
            .collect();
    for row in rows.iter().filter(|r| r.split == Split::Train) {
        assert_eq!((row.width, row.height), (100, 100));
        // The stored points are the predictor's float output (+0.5) on the stored box.
        let gray = to_intensity(&decode(&inputs[&row.sample_id].image, "x").expect("decode"));
        let shape = predictor.predict(Intensity::of(&gray), Rect::from_pixel_box(row.bbox));
        assert_eq!(&row.landmarks[..], &shape.pixel_points()[..]);
        // A face: points around the centre, left eye corner left of the right one.
        let mean = row.landmarks.iter().fold([0.0, 0.0], |m, p| [m[0] + p[0] / 68.0, m[1] + p[1] / 68.0]);
        assert!(
            (mean[0] - 50.0).abs() < 20.0 && (mean[1] - 50.0).abs() < 25.0,
            "{}: mean {mean:?}",
            row.sample_id
        );
        assert!(row.landmarks[36][0] < row.landmarks[45][0], "{}", row.sample_id);
        assert_ne!(row.quality, Quality::OutsideImage, "{}", row.sample_id);
    }
    let boxed = rows.iter().find(|r| r.sample_id == "rafdb:boxed.png").expect("boxed row");
    assert_eq!((boxed.box_source, boxed.bbox), (BoxSource::Dataset, [12.5, 14.5, 88.5, 90.5]));
    let flat_row = rows.iter().find(|r| r.sample_id == "rafdb:0090.png").expect("flat row");
    assert_eq!((flat_row.box_source, flat_row.quality), (BoxSource::Inset, Quality::FallbackBox));

    let again = run(&s);
    assert!(again.up_to_date, "{again}");
    let m = grefel_landmarks::LandmarkManifest::read(&out_dir).expect("read").expect("manifest");
    assert_eq!(m.models.get("dlib68").map(String::as_str), Some(grefel_landmarks::models::DLIB68_SHA256));
    assert!(m.models.contains_key("rustface"));
    let _: PathBuf = out_dir;
}
