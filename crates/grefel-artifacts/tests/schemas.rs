//! The JSON Schema of every artifact type against its versioned copy in `data-schemas/json/`.
//!
//! A change to a type (a field renamed, added, retyped) fails this test until the copy is
//! regenerated with `GREFEL_BLESS=1 cargo test --workspace --test schemas` and the change is
//! described in `data-schemas/CHANGELOG.md`.

use std::path::PathBuf;

fn schema_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data-schemas/json")
}

#[test]
fn schemas_match_their_versioned_copies() {
    let dir = schema_dir();
    let bless = std::env::var_os("GREFEL_BLESS").is_some_and(|v| v == "1");
    let mut stale = Vec::new();
    for (file, name, schema) in grefel_artifacts::schemas() {
        let mut text = serde_json::to_string_pretty(&schema).expect("schema serialises");
        text.push('\n');
        let path = dir.join(format!("{name}.schema.json"));
        if bless {
            std::fs::create_dir_all(&dir).expect("create data-schemas/json");
            std::fs::write(&path, &text).expect("write schema");
            continue;
        }
        let stored = std::fs::read_to_string(&path).unwrap_or_default();
        if stored != text {
            stale.push(format!("{} (the type behind `{file}`)", path.display()));
        }
    }
    assert!(
        stale.is_empty(),
        "these schemas differ from the Rust types: {stale:#?}\nif the change is intended, run \
         `GREFEL_BLESS=1 cargo test --workspace --test schemas` and add an entry to \
         data-schemas/CHANGELOG.md"
    );
    let listed: Vec<String> =
        grefel_artifacts::schemas().iter().map(|s| format!("{}.schema.json", s.1)).collect();
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .expect("data-schemas/json exists")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.ends_with(".schema.json"))
        .collect();
    on_disk.sort();
    let mut expected = listed;
    expected.sort();
    assert_eq!(on_disk, expected, "every stored schema belongs to an artifact type");
}

#[test]
fn a_written_artifact_reads_back_and_a_wrong_one_names_its_file() {
    use grefel_artifacts::{RunTiming, read_json, write_json};
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(grefel_artifacts::files::RUN_TIMING);
    let timing = RunTiming {
        seconds: 1.5,
        train_seconds: 1.0,
        images: 10,
        images_per_second: 10.0,
        device: "cpu".into(),
        epochs_this_call: 1,
        cached_images: true,
        decoded_bytes: 3,
        load_seconds: 0.25,
    };
    write_json(&path, &timing).expect("write");
    assert_eq!(read_json::<RunTiming>(&path).expect("read"), timing);
    std::fs::write(&path, "{\"seconds\": \"soon\"}").expect("overwrite");
    let e = read_json::<RunTiming>(&path).expect_err("a string where seconds go");
    let text = e.to_string();
    assert!(text.contains("timing.json") && text.contains("RunTiming"), "{text}");
}
