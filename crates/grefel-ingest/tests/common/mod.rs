//! Helpers shared by the adapter tests: settings, running `prepare`, reading the shards back,
//! writing text files. The dataset trees themselves are [`grefel_ingest::fixtures`].

#![allow(dead_code)] // each test binary uses a subset

use std::collections::BTreeMap;
use std::path::Path;

use grefel_ingest::normalize::ImageConfig;
use grefel_ingest::split::SplitConfig;
use grefel_ingest::{IngestError, NoProgress, PrepareSettings, PrepareSummary, prepare};
use grefel_schema::table::SampleRecord;
use grefel_shards::Manifest;
use grefel_shards::samples::read_shard;

/// Settings for adapter `adapter` on `root`, writing under `out`.
pub fn settings(adapter: &str, root: &Path, out: &Path) -> PrepareSettings {
    PrepareSettings {
        dataset: None,
        adapter: adapter.into(),
        variant: None,
        root: root.into(),
        out: out.into(),
        rows_per_shard: 4,
        image: ImageConfig::default(),
        split: SplitConfig::default(),
    }
}

/// Validates and runs.
pub fn try_run(s: &PrepareSettings) -> Result<PrepareSummary, IngestError> {
    prepare(&s.clone().validate()?, &NoProgress)
}

/// Validates and runs; panics with the error's message.
pub fn run(s: &PrepareSettings) -> PrepareSummary {
    try_run(s).unwrap_or_else(|e| panic!("{e}"))
}

/// The manifest and every row of the dataset folder `dir`, rows by sample id.
pub fn read_back(dir: &Path) -> (Manifest, BTreeMap<String, SampleRecord>) {
    let m = Manifest::read(dir).expect("manifest").expect("manifest present");
    let rows = m
        .shards
        .iter()
        .flat_map(|s| read_shard(&dir.join(&s.path)).expect("read shard"))
        .map(|r| (r.sample_id.clone(), r))
        .collect();
    (m, rows)
}

/// `(sample_id, split, label name)` of every row, sorted by id.
pub fn kept(rows: &BTreeMap<String, SampleRecord>) -> Vec<(String, &'static str, &'static str)> {
    rows.values().map(|r| (r.sample_id.clone(), r.split.as_str(), r.label.name())).collect()
}

/// A `{reason: count}` map from pairs.
pub fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|&(k, n)| (k.to_string(), n)).collect()
}

/// Writes a text file, creating its folder.
pub fn write_text(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}
