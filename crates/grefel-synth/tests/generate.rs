//! The written tree: determinism, reuse, regeneration, layout and the landmark table.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use grefel_schema::labels::FERGDB;
use grefel_synth::{
    LANDMARKS_FILE, STAMP_FILE, SynthConfig, SynthError, generate, render_sample, sample_path,
};

fn small(seed: u64) -> SynthConfig {
    SynthConfig { seed, count: 70, image_size: 32, identities: 4, ..SynthConfig::default() }
}

/// Every file under `root` (relative path with `/`) and its bytes.
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in fs::read_dir(dir).expect("readable dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).expect("under root");
                let rel = rel.iter().map(|c| c.to_string_lossy()).collect::<Vec<_>>().join("/");
                out.insert(rel, fs::read(&path).expect("readable file"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn mtimes(root: &Path) -> BTreeMap<String, SystemTime> {
    tree(root)
        .into_keys()
        .map(|rel| {
            let t = fs::metadata(root.join(&rel)).and_then(|m| m.modified()).expect("mtime");
            (rel, t)
        })
        .collect()
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn generate_with_threads(config: &SynthConfig, root: &Path, threads: usize) -> grefel_synth::SynthSummary {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("thread pool");
    pool.install(|| generate(config, root)).expect("generate")
}

#[test]
fn generation_is_byte_deterministic_across_thread_counts() {
    let (a, b) = (tempdir(), tempdir());
    let config = small(7);
    let sa = generate_with_threads(&config, a.path(), 1);
    let sb = generate_with_threads(&config, b.path(), 3);
    assert!(!sa.reused && !sb.reused);
    assert_eq!(sa.files, 70);
    assert_eq!(sa.counts, config.class_counts());
    let (ta, tb) = (tree(a.path()), tree(b.path()));
    assert_eq!(ta.len(), 72, "70 images, the landmark table and the stamp");
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    for (path, bytes) in &ta {
        assert!(bytes == &tb[path], "{path} differs between runs");
    }

    let c = tempdir();
    generate(&small(8), c.path()).expect("generate seed 8");
    let tc = tree(c.path());
    let same = ta.iter().filter(|(p, bytes)| p.ends_with(".png") && tc.get(*p) == Some(*bytes)).count();
    assert_eq!(same, 0, "a different seed changes every image");
    assert_ne!(ta[LANDMARKS_FILE], tc[LANDMARKS_FILE]);
}

#[test]
fn rerun_reuses_and_changed_config_regenerates() {
    let dir = tempdir();
    let root = dir.path();
    let config = small(1);
    assert!(!generate(&config, root).expect("first run").reused);
    let before = mtimes(root);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let again = generate(&config, root).expect("second run");
    assert!(again.reused);
    assert_eq!(again.files, 70);
    assert_eq!(mtimes(root), before, "a reused tree is not touched");

    // A missing image makes the tree incomplete: everything is regenerated.
    let victim = root.join(sample_path(&config, 5));
    fs::remove_file(&victim).expect("remove one image");
    assert!(!generate(&config, root).expect("repair run").reused);
    assert!(victim.is_file());

    // A smaller config regenerates and removes the images it no longer lists.
    let smaller = SynthConfig { count: 40, ..config.clone() };
    let summary = generate(&smaller, root).expect("smaller run");
    assert!(!summary.reused);
    assert_eq!(summary.files, 40);
    let fresh = tempdir();
    generate(&smaller, fresh.path()).expect("fresh smaller run");
    assert_eq!(tree(root), tree(fresh.path()), "regenerated tree equals a fresh one");
    let stamp: serde_json::Value =
        serde_json::from_slice(&fs::read(root.join(STAMP_FILE)).expect("stamp")).expect("stamp is JSON");
    assert_eq!(stamp["files"], 40);
    assert_eq!(stamp["config"]["count"], 40);
    assert!(stamp["generator_version"].as_u64().is_some());
    let counts = smaller.class_counts();
    for (e, n) in grefel_schema::Expression::BASIC.iter().zip(counts) {
        assert_eq!(stamp["counts"][e.name()], n);
    }
    assert!(generate(&smaller, root).expect("rerun").reused);
}

#[test]
fn layout_follows_fergdb_and_pngs_match_render_sample() {
    let dir = tempdir();
    let config = small(3);
    generate(&config, dir.path()).expect("generate");
    let mut per_folder: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for index in 0..config.count {
        let sample = render_sample(&config, index);
        let rel = sample_path(&config, index);
        let who = format!("p{:02}", sample.identity);
        let expr = FERGDB.native_of(sample.expression).expect("FERG token");
        let prefix = format!("{who}/{who}_{expr}/{who}_{expr}_");
        let k = rel
            .strip_prefix(&prefix)
            .and_then(|s| s.strip_suffix(".png"))
            .unwrap_or_else(|| panic!("{rel} does not start with {prefix}"));
        assert!(!k.starts_with('0'), "k is unpadded and 1-based: {rel}");
        per_folder.entry(format!("{who}/{who}_{expr}")).or_default().push(k.parse().expect("numeric k"));
        let decoded = image::open(dir.path().join(&rel)).expect("PNG decodes");
        assert_eq!(decoded.color(), image::ColorType::Rgb8);
        let rgb = decoded.to_rgb8();
        assert_eq!(rgb.dimensions(), (32, 32));
        assert!(rgb == sample.image, "{rel} holds render_sample's image");
    }
    for (folder, ks) in per_folder {
        assert_eq!(ks, (1..=ks.len()).collect::<Vec<_>>(), "{folder}: k counts 1, 2, … in order");
    }
}

#[test]
fn landmark_table_matches_render_sample() {
    let dir = tempdir();
    let config = small(5);
    generate(&config, dir.path()).expect("generate");
    let text = fs::read_to_string(dir.path().join(LANDMARKS_FILE)).expect("landmark table");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    assert_eq!(header.len(), 137);
    assert_eq!(&header[..3], ["path", "x0", "y0"]);
    assert_eq!(&header[135..], ["x67", "y67"]);
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), config.count);
    let paths: Vec<&str> = rows.iter().map(|r| r.split(',').next().expect("path")).collect();
    let mut sorted = paths.clone();
    sorted.sort_unstable();
    assert_eq!(paths, sorted, "rows are sorted by path");
    let index_of: BTreeMap<String, usize> = (0..config.count).map(|i| (sample_path(&config, i), i)).collect();
    for row in rows {
        let fields: Vec<&str> = row.split(',').collect();
        let sample = render_sample(&config, index_of[fields[0]]);
        let expected: Vec<String> =
            sample.landmarks.iter().flat_map(|[x, y]| [format!("{x:.3}"), format!("{y:.3}")]).collect();
        assert_eq!(fields[1..], expected[..], "{}", fields[0]);
        assert!(dir.path().join(PathBuf::from(fields[0])).is_file());
    }
}

#[test]
fn invalid_config_writes_nothing() {
    let dir = tempdir();
    let bad = SynthConfig { identities: 0, ..small(0) };
    match generate(&bad, &dir.path().join("out")) {
        Err(SynthError::InvalidConfig { field, .. }) => assert_eq!(field, "identities"),
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
    assert!(!dir.path().join("out").exists());
}
