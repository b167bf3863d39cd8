//! The AffectNet adapter end to end: generated trees in the three owner-derived layouts (CSV,
//! `.npy`, folder-per-class) with the traps of spec §7.4, run through `prepare`, read back.

use std::collections::BTreeMap;
use std::path::Path;

use grefel_ingest::normalize::ImageConfig;
use grefel_ingest::split::SplitConfig;
use grefel_ingest::{IngestError, NoProgress, PrepareSettings, PrepareSummary, SkipReason, prepare};
use grefel_schema::table::SampleRecord;
use grefel_shards::Manifest;
use grefel_shards::samples::read_shard;

const HEADER: &str =
    "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal";

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

fn write_image(path: &Path, w: u32, h: u32, rgb: [u8; 3], format: image::ImageFormat) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    image::RgbImage::from_pixel(w, h, image::Rgb(rgb)).save_with_format(path, format).expect("write image");
}

fn write_text(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

fn hash(c: char) -> String {
    std::iter::repeat_n(c, 56).collect()
}

/// 68 `x;y` points: point 0 at (14, 9), point 67 at (29, 24), the rest inside the face box.
fn landmarks() -> String {
    let mut pts: Vec<(f32, f32)> = (0..68).map(|i| (12.0 + (i % 16) as f32, 6.0 + (i / 4) as f32)).collect();
    pts[0] = (14.0, 9.0);
    pts[67] = (29.0, 24.0);
    pts.iter().map(|(x, y)| format!("{x};{y}")).collect::<Vec<_>>().join(";")
}

/// The CSV release with every §7.4 trap; `outside` receives the file a `../` path points at.
fn csv_fixture(root: &Path, outside: &Path) {
    use image::ImageFormat::{Jpeg, Png};
    let img = root.join("Manually_Annotated/Manually_Annotated_Images");
    // Image A: red, with a green face box at (10, 5) size 20×20.
    std::fs::create_dir_all(img.join("1")).expect("mkdir");
    let mut a = image::RgbImage::from_pixel(40, 30, image::Rgb([220, 0, 0]));
    for y in 5..25 {
        for x in 10..30 {
            a.put_pixel(x, y, image::Rgb([0, 200, 0]));
        }
    }
    a.save_with_format(img.join(format!("1/{}.jpg", hash('a'))), Jpeg).expect("a");
    write_image(&img.join(format!("1/{}.png", hash('b'))), 40, 30, [10, 20, 30], Png);
    write_image(&img.join(format!("2/{}.JPG", hash('c'))), 40, 30, [40, 40, 40], Jpeg);
    write_image(&img.join(format!("2/{}.jpg", hash('d'))), 20, 20, [50, 50, 50], Jpeg);
    write_image(&img.join(format!("2/{}.jpg", hash('f'))), 20, 20, [60, 60, 60], Jpeg);
    write_image(&img.join(format!("1/{}.png", hash('g'))), 20, 20, [70, 70, 70], Png);
    write_image(outside, 8, 8, [1, 1, 1], Png);
    write_text(&root.join("README.txt"), "AffectNet\n");
    write_image(&img.join(format!("1/{}.png", hash('h'))), 40, 30, [80, 80, 80], Png);
    write_image(&img.join(format!("2/{}.jpg", hash('i'))), 40, 30, [90, 90, 90], Jpeg);
    let (a, b, c, d, e, f, g) = (hash('a'), hash('b'), hash('c'), hash('d'), hash('e'), hash('f'), hash('g'));
    let (h, i) = (hash('h'), hash('i'));
    let lm = landmarks();
    let training = [
        HEADER.to_string(),
        format!("1/{a}.jpg,10,5,20,20,{lm},1,0.5,-0.25"),
        format!("1/{b}.png,0,0,40,30,,7,0.1,0.2"),
        format!("2/{c}.JPG,2,2,30,20,{lm},8,-0.3,0.4"),
        format!("1/{a}.jpg,10,5,20,20,{lm},1,0.5,-0.25"), // duplicate row
        format!("2/{d}.jpg,0,0,10,10,{lm},9,-2,-2"),      // Uncertain
        format!("2/{d}.jpg,0,0,10,10,{lm},10,-2,-2"),     // Non-Face
        format!("1/{h}.png,5,5,-5,10,,3,0,0"),            // negative width
        format!("2/{i}.jpg,30,0,20,20,,3,0,0"),           // box leaves the image
        format!("3/{e}.jpg,0,0,10,10,,4,0,0"),            // image missing
        format!("1/{a}.jpg,10,5,20"),                     // malformed
        "../../../secret.png,0,0,4,4,,5,0,0".to_string(), // escapes the root
        format!("1/{a}.jpg,10,5,20,20,,11,0,0"),          // not an AffectNet code
        String::new(),
    ];
    write_text(&root.join("Manually_Annotated_file_lists/training.csv"), &training.join("\r\n"));
    // No header, LF line ends.
    let validation = format!("2/{f}.jpg,0,0,16,16,{lm},0,0.0,0.0\n1/{g}.png,1,1,8,8,,6,-0.5,0.5\n");
    write_text(&root.join("Manually_Annotated_file_lists/validation.csv"), &validation);
}

#[test]
fn csv_release_with_traps() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("AffectNet");
    csv_fixture(&root, &tmp.path().join("secret.png"));
    let out = tmp.path().join("out");
    let (summary, variant) = run(&settings(&root, &out, None));
    assert_eq!(variant.as_deref(), Some("csv"), "detected");
    let (m, rows) = read_back(&out.join("affectnet"));
    let id = |c: char, ext: &str, sub: u8| format!("affectnet:{sub}/{}.{ext}", hash(c));
    let want = vec![
        ("train", "contempt", id('b', "png", 1)),
        ("train", "happy", id('a', "jpg", 1)),
        ("train", "other", id('c', "JPG", 2)),
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

fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + h.len() + 1) % 64 != 0 {
        h.push(' ');
    }
    h.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&u16::try_from(h.len()).expect("short header").to_le_bytes());
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    out
}

fn write_bytes(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, bytes).expect("write");
}

fn npy_fixture(root: &Path) {
    use image::ImageFormat::{Jpeg, Png};
    let tr = root.join("train_set");
    let ann = |name: &str| tr.join("annotations").join(name);
    let i8s = |v: i64| npy("<i8", "()", &v.to_le_bytes());
    write_image(&tr.join("images/0.jpg"), 24, 24, [90, 90, 90], Jpeg);
    write_bytes(&ann("0_exp.npy"), &i8s(1));
    write_bytes(&ann("0_val.npy"), &npy("<f8", "()", &0.25f64.to_le_bytes()));
    write_bytes(&ann("0_aro.npy"), &npy("<f4", "()", &(-0.5f32).to_le_bytes()));
    let mut lnd: Vec<f32> = (0..136).map(|i| (i % 24) as f32).collect();
    lnd[0] = 12.0;
    lnd[1] = 6.0;
    let lnd: Vec<u8> = lnd.iter().flat_map(|v| v.to_le_bytes()).collect();
    write_bytes(&ann("0_lnd.npy"), &npy("<f4", "(136,)", &lnd));
    write_image(&tr.join("images/1.png"), 24, 24, [91, 91, 91], Png);
    let three: Vec<u8> = ['3', '\0'].iter().flat_map(|&c| (c as u32).to_le_bytes()).collect();
    write_bytes(&ann("1_exp.npy"), &npy("<U2", "()", &three)); // a string-typed label
    write_image(&tr.join("images/2.jpg"), 24, 24, [92, 92, 92], Jpeg);
    write_bytes(&ann("2_exp.npy"), &i8s(9));
    write_image(&tr.join("images/3.jpg"), 24, 24, [93, 93, 93], Jpeg);
    write_bytes(&ann("3_exp.npy"), b"\x93NUMPY garbage");
    write_bytes(&ann("4_exp.npy"), &i8s(2)); // no image
    write_image(&tr.join("images/5.JPG"), 24, 24, [95, 95, 95], Jpeg);
    write_bytes(&ann("5_exp.npy"), &npy("|u1", "()", &[7]));
    let lnd2: Vec<u8> = (0..136).flat_map(|i| f64::from(i % 20).to_le_bytes()).collect();
    write_bytes(&ann("5_lnd.npy"), &npy("<f8", "(68, 2)", &lnd2));
    write_image(&tr.join("images/6.jpg"), 24, 24, [96, 96, 96], Jpeg);
    write_bytes(&ann("6_exp.npy"), &i8s(0));
    write_bytes(&ann("6_val.npy"), &npy("<f8", "(2,)", &[0; 16])); // not a scalar
    let va = root.join("valid_set");
    write_image(&va.join("images/0.jpg"), 24, 24, [97, 97, 97], Jpeg);
    write_bytes(&va.join("annotations/0_exp.npy"), &npy("<i4", "()", &0i32.to_le_bytes()));
}

#[test]
fn npy_release_with_traps() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("AffectNet");
    npy_fixture(&root);
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

fn folders_fixture(root: &Path) {
    use image::ImageFormat::{Jpeg, Png};
    write_image(&root.join("train/0/a.jpg"), 12, 12, [1, 1, 1], Jpeg);
    write_image(&root.join("train/1/b.png"), 12, 12, [2, 2, 2], Png);
    write_image(&root.join("train/7/c.JPG"), 12, 12, [3, 3, 3], Jpeg);
    write_image(&root.join("train/9/d.jpg"), 12, 12, [4, 4, 4], Jpeg);
    write_image(&root.join("train/happy/e.jpg"), 12, 12, [5, 5, 5], Jpeg);
    write_image(&root.join("train/stray.jpg"), 12, 12, [6, 6, 6], Jpeg);
    write_image(&root.join("valid/3/f.jpg"), 12, 12, [7, 7, 7], Jpeg);
    write_image(&root.join("test/6/g.png"), 12, 12, [8, 8, 8], Png);
    write_text(&root.join("train/.DS_Store"), "x");
}

#[test]
fn class_folders() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("AffectNet");
    folders_fixture(&root);
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

#[test]
fn variants_and_fatal_errors() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("AffectNet");
    csv_fixture(&root, &tmp.path().join("secret.png"));
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
    write_text(&root.join("Manually_Annotated_file_lists/validation.csv"), &format!("{HEADER}\r\n"));
    let (summary, _) = run(&settings(&root, &out, Some("csv")));
    assert_eq!(summary.rows_by_split.get("val"), None);
    assert_eq!(summary.rows, 3);

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

/// Writes the three fixtures under `GREFEL_FIXTURE_OUT` (for trying the command line by hand:
/// `cargo xtask prepare --dataset affectnet --root $GREFEL_FIXTURE_OUT/affectnet-csv/AffectNet`).
#[test]
#[ignore = "writes fixture trees for manual runs; set GREFEL_FIXTURE_OUT"]
fn write_fixtures() {
    let Some(dir) = std::env::var_os("GREFEL_FIXTURE_OUT").map(std::path::PathBuf::from) else {
        return;
    };
    csv_fixture(&dir.join("affectnet-csv/AffectNet"), &dir.join("affectnet-csv/secret.png"));
    npy_fixture(&dir.join("affectnet-npy/AffectNet"));
    folders_fixture(&dir.join("affectnet-folders/AffectNet"));
}
