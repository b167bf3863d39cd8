//! Loading a prepared dataset for training: `samples` shards read in parallel, samples outside
//! the class view dropped (never remapped), optional noisy training labels, a validation split
//! carved from train by seed where the dataset has none, images decoded once (in parallel) and
//! cached when they fit the memory budget.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use grefel_experiments::noise;
use grefel_schema::rng::{derive_seed, keyed_unit};
use grefel_schema::table::{NUM_LANDMARKS, SampleRecord, Split};
use grefel_schema::{ClassView, Label};
use grefel_shards::Manifest;
use rayon::prelude::*;
use serde::Serialize;

use crate::augment::RgbView;
use crate::{TrainConfig, TrainError};

/// One usable sample (its image lives in the split's [`ImageStore`]).
#[derive(Clone, Debug)]
pub struct Sample {
    /// `samples.sample_id`.
    pub id: String,
    /// Class index in the view that training or evaluation uses (noisy for noisy training).
    pub label: usize,
    /// Class index of the dataset's own label.
    pub clean_label: usize,
    /// 68 landmarks in pixels of the stored image, when present.
    pub landmarks: Option<Box<[[f32; 2]; NUM_LANDMARKS]>>,
}

/// Images of one split: decoded RGB bytes (cached) or the stored PNG bytes (decoded per use).
#[derive(Debug)]
pub enum ImageStore {
    /// Decoded images: `(width, height, rgb bytes)`.
    Decoded(Vec<(usize, usize, Vec<u8>)>),
    /// Encoded images, decoded whenever a batch needs them.
    Encoded(Vec<Vec<u8>>),
}

/// One split ready for batching.
#[derive(Debug)]
pub struct SplitData {
    /// Samples, sorted by id.
    pub samples: Vec<Sample>,
    /// Their images, in the same order.
    pub images: ImageStore,
}

impl SplitData {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Whether the split is empty.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// The samples `indices` (in that order), each with its label replaced by `relabel(sample)`.
    pub fn subset(&self, indices: &[usize], relabel: impl Fn(&Sample) -> usize) -> SplitData {
        let samples = indices
            .iter()
            .map(|&i| {
                let mut s = self.samples[i].clone();
                s.label = relabel(&s);
                s
            })
            .collect();
        let images = match &self.images {
            ImageStore::Decoded(all) => {
                ImageStore::Decoded(indices.iter().map(|&i| all[i].clone()).collect())
            }
            ImageStore::Encoded(all) => {
                ImageStore::Encoded(indices.iter().map(|&i| all[i].clone()).collect())
            }
        };
        SplitData { samples, images }
    }

    /// Calls `f` with the RGB image of sample `i`, decoding it first if it is not cached.
    pub fn with_image<R>(&self, i: usize, f: impl FnOnce(RgbView<'_>) -> R) -> Result<R, TrainError> {
        match &self.images {
            ImageStore::Decoded(images) => {
                let (width, height, pixels) = &images[i];
                Ok(f(RgbView { width: *width, height: *height, pixels }))
            }
            ImageStore::Encoded(images) => {
                let (width, height, pixels) = decode(&self.samples[i].id, &images[i])?;
                Ok(f(RgbView { width, height, pixels: &pixels }))
            }
        }
    }
}

/// What loading did, for the run log and `metrics.json`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LoadReport {
    /// Rows in the shards.
    pub rows: u64,
    /// Samples per split after filtering.
    pub samples: BTreeMap<String, usize>,
    /// Samples dropped because their label is outside the class view (or `ignore`).
    pub outside_view: u64,
    /// Samples dropped because the model needs landmarks and they have none.
    pub without_landmarks: u64,
    /// Whether the validation split was carved from train (the dataset has none).
    pub val_carved_from_train: bool,
    /// Key of the noise draw applied to the training labels.
    pub noise_key: Option<String>,
    /// Realised share of flipped training labels.
    pub noise_realised_rate: Option<f64>,
    /// Whether decoded images are cached in memory.
    pub cached: bool,
    /// Bytes of decoded images (cached or not).
    pub decoded_bytes: u64,
    /// Seconds spent reading and decoding.
    pub seconds: f64,
}

/// A dataset loaded for one training run.
#[derive(Debug)]
pub struct Dataset {
    /// Its manifest.
    pub manifest: Manifest,
    /// Training samples.
    pub train: SplitData,
    /// Validation samples (model selection).
    pub val: SplitData,
    /// Test samples (reported, never used for selection).
    pub test: SplitData,
    /// What loading did.
    pub report: LoadReport,
}

fn decode(id: &str, png: &[u8]) -> Result<(usize, usize, Vec<u8>), TrainError> {
    let img = image::load_from_memory(png)
        .map_err(|source| TrainError::Decode { sample_id: id.to_string(), source })?
        .to_rgb8();
    Ok((img.width() as usize, img.height() as usize, img.into_raw()))
}

/// Loads `<data_dir>/<config.dataset>/` for `config`; `cache_budget` bounds the bytes of decoded
/// images kept in memory.
pub fn load(config: &TrainConfig, data_dir: &Path, cache_budget: u64) -> Result<Dataset, TrainError> {
    let start = Instant::now();
    let dir = data_dir.join(&config.dataset);
    let manifest = Manifest::read(&dir)?.ok_or_else(|| TrainError::MissingDataset { dir: dir.clone() })?;
    let data_err = |reason: String| TrainError::Data { dataset: config.dataset.clone(), reason };
    let shards: Vec<Vec<SampleRecord>> = manifest
        .shards
        .par_iter()
        .map(|s| grefel_shards::samples::read_shard(&dir.join(&s.path)))
        .collect::<Result<_, _>>()?;
    let view = config.class_view;
    let mut report = LoadReport::default();
    let mut by_split: BTreeMap<Split, Vec<(Sample, Label, SampleRecord)>> = BTreeMap::new();
    for record in shards.into_iter().flatten() {
        report.rows += 1;
        let Some(index) = view.index_of(record.label) else {
            report.outside_view += 1;
            continue;
        };
        if config.needs_landmarks() && record.landmarks.is_none() {
            report.without_landmarks += 1;
            continue;
        }
        let sample = Sample {
            id: record.sample_id.clone(),
            label: index,
            clean_label: index,
            landmarks: record.landmarks.clone(),
        };
        by_split.entry(record.split).or_default().push((sample, record.label, record));
    }
    for v in by_split.values_mut() {
        v.sort_by(|a, b| a.0.id.cmp(&b.0.id));
    }
    let mut train = by_split.remove(&Split::Train).unwrap_or_default();
    if let Some(spec) = &config.noise {
        let key = spec.key();
        let draw = match noise::load(&dir, &key, &manifest.content_hash)? {
            Some(d) => d,
            None => {
                let ids: Vec<(String, Label)> = train.iter().map(|(s, l, _)| (s.id.clone(), *l)).collect();
                let d = noise::inject(&ids, view.classes(), spec)?;
                noise::save(&dir, &config.dataset, &key, &manifest.content_hash, &d)?;
                d
            }
        };
        let noisy = draw.noisy_labels();
        for (s, _, _) in &mut train {
            let relabel =
                noisy.get(s.id.as_str()).and_then(|&id| Label::from_id(id)).and_then(|l| view.index_of(l));
            s.label = relabel.unwrap_or(s.clean_label);
        }
        report.noise_key = Some(key);
        report.noise_realised_rate = Some(draw.realised_rate);
    }
    let mut val = by_split.remove(&Split::Val).unwrap_or_default();
    if val.is_empty() {
        report.val_carved_from_train = true;
        let seed = derive_seed(config.seed, "val-carve");
        let (carved, kept): (Vec<_>, Vec<_>) =
            train.into_iter().partition(|(s, _, _)| keyed_unit(seed, &s.id) < config.val_fraction);
        val = carved;
        train = kept;
    }
    let test = by_split.remove(&Split::Test).unwrap_or_default();
    for (name, split) in [("train", &train), ("val", &val), ("test", &test)] {
        if split.is_empty() {
            return Err(data_err(format!("the {name} split has no usable samples in view {view:?}")));
        }
        report.samples.insert(name.into(), split.len());
    }
    report.decoded_bytes = [&train, &val, &test]
        .iter()
        .flat_map(|v| v.iter())
        .map(|(_, _, r)| u64::from(r.width) * u64::from(r.height) * 3)
        .sum();
    report.cached = report.decoded_bytes <= cache_budget;
    let cached = report.cached;
    let finish = |split: Vec<(Sample, Label, SampleRecord)>| -> Result<SplitData, TrainError> {
        let (samples, records): (Vec<Sample>, Vec<SampleRecord>) =
            split.into_iter().map(|(s, _, r)| (s, r)).unzip();
        let images = if cached {
            ImageStore::Decoded(
                records.par_iter().map(|r| decode(&r.sample_id, &r.image)).collect::<Result<_, _>>()?,
            )
        } else {
            ImageStore::Encoded(records.into_iter().map(|r| r.image).collect())
        };
        Ok(SplitData { samples, images })
    };
    let (train, val, test) = (finish(train)?, finish(val)?, finish(test)?);
    report.seconds = start.elapsed().as_secs_f64();
    Ok(Dataset { manifest, train, val, test, report })
}

/// The class names of a view in output order (the checkpoint's and metrics' class order).
pub fn class_names(view: ClassView) -> Vec<String> {
    view.classes().iter().map(|c| c.name().to_string()).collect()
}
