//! Loading a prepared dataset for training: `samples` shards read in parallel, samples outside
//! the class view dropped (never remapped), 68 points from the `samples` table or joined from
//! the landmark stage's shards on `sample_id`, the rows split by the dataset's protocol
//! ([`crate::protocol`]), optional noisy training labels (a seeded draw of the noise stage, or a
//! noisy-label file), optional soft targets, images decoded once (in parallel) and cached when
//! they fit the memory budget.
//!
//! Every row that is read and not used is counted in [`LoadReport`] by reason: outside the
//! view, without landmarks, flagged landmarks dropped by the rule, or in a split the protocol
//! does not use.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Instant;

use grefel_experiments::{eac, noise};
use grefel_landmarks::LandmarkManifest;
use grefel_schema::landmarks_table::{LANDMARKS_SCHEMA_VERSION, LandmarkRecord, Quality};
use grefel_schema::table::{NUM_LANDMARKS, SAMPLES_SCHEMA_VERSION, SAMPLES_TABLE, SampleRecord, Split};
use grefel_schema::{ClassView, Label};
use grefel_shards::{DataLayout, Manifest};
use rayon::prelude::*;
use serde::Serialize;

use crate::augment::RgbView;
use crate::config::LandmarkQualityRule;
use crate::protocol::{CarveUnit, Protocol, Role, SplitRule, assign_roles};
use crate::sampler;
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
    /// The landmark stage's flag of those points (`ok` for points the dataset gives).
    pub landmark_quality: Option<Quality>,
    /// Soft target over the view's classes (soft-label training), summing to 1.
    pub soft: Option<Vec<f32>>,
    /// The sample's values of the columns evaluation can group by.
    pub groups: GroupValues,
}

/// The columns of the `samples` table evaluation can group samples by.
pub const GROUP_COLUMNS: [&str; 4] = ["gender", "race", "age_group", "subject"];

/// One sample's values of [`GROUP_COLUMNS`] (`None` where the dataset gives none).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GroupValues {
    /// Perceived gender.
    pub gender: Option<String>,
    /// Perceived race.
    pub race: Option<String>,
    /// Age group.
    pub age_group: Option<String>,
    /// Subject, identity or video.
    pub subject: Option<String>,
}

impl GroupValues {
    fn of(record: &SampleRecord) -> Self {
        let a = &record.attributes;
        Self {
            gender: a.gender.clone(),
            race: a.race.clone(),
            age_group: a.age_group.clone(),
            subject: record.subject.clone(),
        }
    }

    /// The value of `column` (one of [`GROUP_COLUMNS`]); `None` for another column.
    pub fn get(&self, column: &str) -> Option<Option<&str>> {
        let v = match column {
            "gender" => &self.gender,
            "race" => &self.race,
            "age_group" => &self.age_group,
            "subject" => &self.subject,
            _ => return None,
        };
        Some(v.as_deref())
    }
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

pub use grefel_artifacts::{LandmarkUse, NoiseFileUse};

/// What loading did, for the run log and `metrics.json`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LoadReport {
    /// The adapter that prepared the dataset.
    pub adapter: String,
    /// The protocol followed, in words.
    pub protocol: String,
    /// The stored split evaluated (the `test` block of `metrics.json`); `subject` for
    /// subject-disjoint splits.
    pub evaluation_split: String,
    /// Where selection happened: `val`, `carved_from_train` or `subject`.
    pub selection: String,
    /// Rows in the shards.
    pub rows: u64,
    /// Samples per role after filtering: `train`, `selection` (the `val` block of
    /// `metrics.json`), `evaluation` (the `test` block).
    pub samples: BTreeMap<String, usize>,
    /// Samples dropped because their label is outside the class view (or `ignore`).
    pub outside_view: u64,
    /// Samples dropped because the model needs landmarks and neither the `samples` table nor the
    /// landmark stage has points for them (the stage skipped them: an undecodable image).
    pub without_landmarks: u64,
    /// Where the points came from (when the model needs them).
    pub landmarks: Option<LandmarkUse>,
    /// Rows of stored splits the protocol does not use, per split.
    pub unused: BTreeMap<String, u64>,
    /// Whether the selection split was carved from train.
    pub val_carved_from_train: bool,
    /// Key of the noise draw applied to the training labels.
    pub noise_key: Option<String>,
    /// The noisy-label file applied, and what it matched.
    pub noise_file: Option<NoiseFileUse>,
    /// Realised share of flipped training labels.
    pub noise_realised_rate: Option<f64>,
    /// Training samples with a soft target (soft-label training).
    pub soft_targets: Option<u64>,
    /// Whether decoded images are cached in memory.
    pub cached: bool,
    /// Bytes of decoded images (cached or not).
    pub decoded_bytes: u64,
    /// Seconds spent reading and decoding.
    pub seconds: f64,
}

impl LoadReport {
    /// The `dataset` block of the run's metrics.
    pub fn dataset_use(&self, name: &str) -> grefel_artifacts::DatasetUse {
        grefel_artifacts::DatasetUse {
            name: name.to_string(),
            adapter: self.adapter.clone(),
            protocol: self.protocol.clone(),
            rows: self.rows,
            samples: self.samples.iter().map(|(k, &v)| (k.clone(), v as u64)).collect(),
            outside_view: self.outside_view,
            without_landmarks: self.without_landmarks,
            landmarks: self.landmarks.clone(),
            unused: self.unused.clone(),
            selection: self.selection.clone(),
            val_carved_from_train: self.val_carved_from_train,
            noise_key: self.noise_key.clone(),
            noise_file: self.noise_file.clone(),
            noise_realised_rate: self.noise_realised_rate,
            soft_targets: self.soft_targets,
        }
    }
}

/// A dataset loaded for one training run.
#[derive(Debug)]
pub struct Dataset {
    /// Its manifest.
    pub manifest: Manifest,
    /// Training samples.
    pub train: SplitData,
    /// Selection samples (validation: model selection).
    pub val: SplitData,
    /// Evaluation samples (reported, never used for selection).
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

/// A row on its way into a split.
type Row = (Sample, SampleRecord);

/// The rows of each role, before images are decoded.
struct Gathered {
    manifest: Manifest,
    train: Vec<Row>,
    val: Vec<Row>,
    test: Vec<Row>,
    report: LoadReport,
}

/// The command that (re)runs the landmark stage for `config`'s dataset in `data_dir`.
pub fn landmarks_command(dataset: &str, data_dir: &Path) -> String {
    format!("cargo xtask landmarks --dataset {dataset} --data {}", data_dir.display())
}

/// The landmark stage's points of a dataset, by sample id.
struct StagePoints {
    content_hash: String,
    rows: HashMap<String, LandmarkRecord>,
}

/// Reads the landmark stage's output of the dataset in `dir`, checking that it was computed from
/// the shards of `manifest`.
fn stage_points(
    config: &TrainConfig,
    data_dir: &Path,
    manifest: &Manifest,
    missing: u64,
) -> Result<StagePoints, TrainError> {
    let dir = DataLayout::new(data_dir).dataset(&config.dataset).landmarks();
    let err = |reason: String| TrainError::Data { dataset: config.dataset.to_string(), reason };
    let command = landmarks_command(config.dataset.as_str(), data_dir);
    let Some(m) = LandmarkManifest::read(&dir)? else {
        return Err(err(format!(
            "preset `{}` needs 68 landmarks; {missing} rows have none in the samples table and the landmark stage has not run ({} has no manifest.json): run `{command}`",
            config.preset,
            dir.display()
        )));
    };
    if m.schema_version != LANDMARKS_SCHEMA_VERSION {
        return Err(err(format!(
            "{} holds landmarks schema v{} (this build reads v{LANDMARKS_SCHEMA_VERSION}): run `{command}`",
            dir.display(),
            m.schema_version
        )));
    }
    if m.input.content_hash != manifest.content_hash {
        return Err(err(format!(
            "the landmarks in {} were computed from other shards (content {}, the dataset is {}): run `{command}`",
            dir.display(),
            short(&m.input.content_hash),
            short(&manifest.content_hash)
        )));
    }
    if !m.verify_shards(&dir)? {
        return Err(err(format!(
            "the landmark shards in {} do not match their manifest: run `{command}`",
            dir.display()
        )));
    }
    let shards: Vec<Vec<LandmarkRecord>> = m
        .shards
        .par_iter()
        .map(|s| grefel_shards::landmarks::read_shard(&dir.join(&s.path)))
        .collect::<Result<_, _>>()?;
    let rows = shards.into_iter().flatten().map(|r| (r.sample_id.clone(), r)).collect();
    Ok(StagePoints { content_hash: m.content_hash, rows })
}

fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

/// The soft target of `record` over `view`'s classes: its vote distribution restricted to the
/// view and renormalised; `None` when it has none (or no votes inside the view).
fn soft_target(record: &SampleRecord, view: ClassView) -> Option<Vec<f32>> {
    let votes = record.soft_label?;
    let v: Vec<f32> = view.classes().iter().map(|c| votes[usize::from(c.id())].max(0.0)).collect();
    let sum: f32 = v.iter().sum();
    (sum > 0.0).then(|| v.iter().map(|x| x / sum).collect())
}

/// Checks `config` against the prepared dataset in `data_dir` without decoding images: the
/// manifest and its schema, the protocol and class view, the landmarks the model needs, the
/// splits, a noisy-label file (a noise draw is not made: it writes files). The report says what
/// a run would use. Sweeps call it before freezing a plan.
pub fn check(config: &TrainConfig, data_dir: &Path) -> Result<LoadReport, TrainError> {
    Ok(gather(config, data_dir, false)?.report)
}

/// Draws the noisy training labels of `config.noise` into the dataset's noise folder (a no-op
/// when that draw is stored), without decoding images; the report gives the draw's key and
/// realised rate.
pub fn draw_noise(config: &TrainConfig, data_dir: &Path) -> Result<LoadReport, TrainError> {
    Ok(gather(config, data_dir, true)?.report)
}

fn gather(config: &TrainConfig, data_dir: &Path, draw_noise: bool) -> Result<Gathered, TrainError> {
    let dir = DataLayout::new(data_dir).dataset(&config.dataset).dir().to_path_buf();
    let manifest = Manifest::read(&dir)?.ok_or_else(|| TrainError::MissingDataset { dir: dir.clone() })?;
    let data_err = |reason: String| TrainError::Data { dataset: config.dataset.to_string(), reason };
    if manifest.table != SAMPLES_TABLE || manifest.schema_version != SAMPLES_SCHEMA_VERSION {
        return Err(data_err(format!(
            "{} describes table `{}` v{} (this build reads `{SAMPLES_TABLE}` v{SAMPLES_SCHEMA_VERSION}): prepare the dataset again with `cargo xtask prepare --dataset {} --root <its root> --out {} --name {}`",
            dir.join(grefel_shards::manifest::MANIFEST_FILE).display(),
            manifest.table,
            manifest.schema_version,
            manifest.adapter,
            data_dir.display(),
            config.dataset
        )));
    }
    let protocol = Protocol::of(&manifest.adapter)?;
    let view = config.class_view;
    protocol.check_view(config.dataset.as_str(), view)?;
    let records: Vec<SampleRecord> = manifest
        .shards
        .par_iter()
        .map(|s| grefel_shards::samples::read_shard(&dir.join(&s.path)))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .collect();
    let mut report = LoadReport {
        adapter: manifest.adapter.clone(),
        protocol: protocol.describe(config.split),
        rows: records.len() as u64,
        ..LoadReport::default()
    };
    let mut in_view: Vec<(usize, SampleRecord)> = Vec::with_capacity(records.len());
    for record in records {
        match view.index_of(record.label) {
            Some(index) => in_view.push((index, record)),
            None => report.outside_view += 1,
        }
    }

    // Landmarks: the samples table's points, else the landmark stage's.
    let needs = config.needs_landmarks();
    let missing = in_view.iter().filter(|(_, r)| r.landmarks.is_none()).count() as u64;
    let stage =
        if needs && missing > 0 { Some(stage_points(config, data_dir, &manifest, missing)?) } else { None };
    let mut lm_use = LandmarkUse {
        stage_content_hash: stage.as_ref().map(|s| s.content_hash.clone()),
        ..Default::default()
    };
    let mut rows: Vec<Row> = Vec::with_capacity(in_view.len());
    for (index, record) in in_view {
        let (landmarks, quality) = match (&record.landmarks, &stage) {
            _ if !needs => (record.landmarks.clone(), None),
            (Some(points), _) => {
                lm_use.from_samples += 1;
                (Some(points.clone()), Some(Quality::Ok))
            }
            (None, Some(stage)) => match stage.rows.get(&record.sample_id) {
                Some(row) => {
                    lm_use.from_stage += 1;
                    (Some(row.landmarks.clone()), Some(row.quality))
                }
                None => {
                    report.without_landmarks += 1;
                    continue;
                }
            },
            (None, None) => {
                report.without_landmarks += 1;
                continue;
            }
        };
        if let Some(q) = quality
            && q != Quality::Ok
            && config.landmark_quality == LandmarkQualityRule::Drop
        {
            *lm_use.quality_dropped.entry(q.as_str().into()).or_default() += 1;
            continue;
        }
        if let Some(q) = quality {
            *lm_use.by_quality.entry(q.as_str().into()).or_default() += 1;
        }
        let soft = if config.soft_labels { soft_target(&record, view) } else { None };
        let sample = Sample {
            id: record.sample_id.clone(),
            label: index,
            clean_label: index,
            landmarks,
            landmark_quality: quality,
            soft,
            groups: GroupValues::of(&record),
        };
        rows.push((sample, record));
    }
    if needs {
        report.landmarks = Some(lm_use);
    }
    rows.sort_by(|a, b| a.0.id.cmp(&b.0.id));

    // Roles by the protocol.
    let by_subject = config.split == SplitRule::Subject || protocol.carve == CarveUnit::Subject;
    if by_subject && let Some((s, _)) = rows.iter().find(|(_, r)| r.subject.is_none()) {
        return Err(data_err(format!(
            "splitting by subject needs the `subject` column, and {} has none",
            s.id
        )));
    }
    let keys: Vec<(Split, &str)> = rows
        .iter()
        .map(|(s, r)| {
            (r.split, if by_subject { r.subject.as_deref().unwrap_or(&s.id) } else { s.id.as_str() })
        })
        .collect();
    let roles = assign_roles(protocol, config.split, &keys, config.val_fraction, config.seed);
    let (mut train, mut val, mut test) = (Vec::new(), Vec::new(), Vec::new());
    for (row, role) in rows.into_iter().zip(roles) {
        match role {
            Role::Train => train.push(row),
            Role::Selection => val.push(row),
            Role::Evaluation => test.push(row),
            Role::Unused => *report.unused.entry(row.1.split.as_str().into()).or_default() += 1,
        }
    }
    report.val_carved_from_train =
        config.split == SplitRule::Official && val.iter().any(|(_, r)| r.split == Split::Train);
    report.evaluation_split = if config.split == SplitRule::Subject {
        "subject".into()
    } else {
        protocol.evaluation.as_str().into()
    };
    report.selection = match (config.split, report.val_carved_from_train) {
        (SplitRule::Subject, _) => "subject".into(),
        (_, true) => "carved_from_train".into(),
        (_, false) => "val".into(),
    };

    // Training labels: a noise draw or a noisy-label file.
    let clean: Vec<(String, Label)> = train.iter().map(|(s, r)| (s.id.clone(), r.label)).collect();
    let noisy = if let Some(spec) = config.noise.as_ref().filter(|_| draw_noise) {
        let (key, draw) = noise::materialise(
            &dir,
            config.dataset.as_str(),
            &manifest.content_hash,
            view.name(),
            view.classes(),
            &clean,
            spec,
        )?;
        report.noise_key = Some(key);
        report.noise_realised_rate = Some(draw.realised_rate);
        Some(draw)
    } else if let Some(file) = &config.noise_file {
        let text =
            std::fs::read_to_string(&file.path).map_err(TrainError::io("read the noise file", &file.path))?;
        if grefel_shards::hash::sha256_hex(text.as_bytes()) != file.sha256 {
            return Err(data_err(format!(
                "the noise file {} changed while the run was set up",
                file.path.display()
            )));
        }
        let (draw, stats) = eac::import(&file.path, &text, &format!("{}:", manifest.dataset), &clean)?;
        if stats.matched == 0 {
            return Err(data_err(format!(
                "the noise file {} names none of the {} training samples (ids `{}:<image name>`)",
                file.path.display(),
                clean.len(),
                manifest.dataset
            )));
        }
        report.noise_realised_rate = Some(draw.realised_rate);
        report.noise_file = Some(NoiseFileUse {
            name: file.name.clone(),
            matched: stats.matched,
            missing_from_file: stats.missing_from_file,
            unknown_names: stats.unknown_names,
        });
        Some(draw)
    } else {
        None
    };
    if let Some(draw) = noisy {
        let labels = draw.noisy_labels();
        for (s, _) in &mut train {
            let relabel =
                labels.get(s.id.as_str()).and_then(|&id| Label::from_id(id)).and_then(|l| view.index_of(l));
            s.label = relabel.unwrap_or(s.clean_label);
        }
    }
    if config.soft_labels {
        let with = train.iter().filter(|(s, _)| s.soft.is_some()).count();
        if with == 0 {
            return Err(data_err(
                "soft_labels needs vote distributions (the `soft_label` column, FER+'s votes); no training row has one".into(),
            ));
        }
        report.soft_targets = Some(with as u64);
    }

    let counts = [("train", train.len()), ("selection", val.len()), ("evaluation", test.len())];
    let min = |name: &str| if name == "train" { 2 } else { 1 };
    for (name, n) in counts {
        if n < min(name) {
            let what = match name {
                "train" => "the training split".to_string(),
                "selection" => "the selection split".to_string(),
                _ => format!("the evaluation split ({})", report.evaluation_split),
            };
            return Err(data_err(format!(
                "{what} has {n} usable samples in view {} (at least {} needed); rows: {} read, {} outside the view, {} without landmarks, {} dropped for flagged landmarks, {} in unused splits; protocol: {}",
                view.name(),
                min(name),
                report.rows,
                report.outside_view,
                report.without_landmarks,
                report.landmarks.as_ref().map_or(0, |l| l.quality_dropped.values().sum::<u64>()),
                report.unused.values().sum::<u64>(),
                report.protocol
            )));
        }
        report.samples.insert(name.into(), n);
    }
    Ok(Gathered { manifest, train, val, test, report })
}

/// Loads `<data_dir>/<config.dataset>/` for `config` ([`check`], then the images);
/// `cache_budget` bounds the bytes of decoded images kept in memory.
pub fn load(config: &TrainConfig, data_dir: &Path, cache_budget: u64) -> Result<Dataset, TrainError> {
    let start = Instant::now();
    let Gathered { manifest, train, val, test, mut report } = gather(config, data_dir, true)?;
    report.decoded_bytes = [&train, &val, &test].iter().map(|rows| decoded_bytes(rows)).sum();
    report.cached = report.decoded_bytes <= cache_budget;
    let cached = report.cached;
    let (train, val, test) =
        (into_split(train, cached)?, into_split(val, cached)?, into_split(test, cached)?);
    report.seconds = start.elapsed().as_secs_f64();
    Ok(Dataset { manifest, train, val, test, report })
}

/// One split of a prepared dataset, loaded for evaluation.
#[derive(Debug)]
pub struct LoadedSplit {
    /// The split's samples and images, with the dataset's own labels.
    pub split: SplitData,
    /// Training samples per class (the dataset's own labels) of `config`'s training split.
    pub train_counts: Vec<u64>,
    /// What loading did.
    pub report: LoadReport,
}

/// Loads the one split of `config`'s dataset that plays `role`, decoding only its images; no
/// noise is drawn, so every label is the dataset's own.
pub fn load_split(
    config: &TrainConfig,
    data_dir: &Path,
    cache_budget: u64,
    role: Role,
) -> Result<LoadedSplit, TrainError> {
    let start = Instant::now();
    let Gathered { train, val, test, mut report, .. } = gather(config, data_dir, false)?;
    let train_counts = clean_counts(&train, config.model.num_classes);
    let rows = match role {
        Role::Train => train,
        Role::Selection => val,
        Role::Evaluation => test,
        Role::Unused => return Err(TrainError::config("split", "the rows no split uses are not a split")),
    };
    report.decoded_bytes = decoded_bytes(&rows);
    report.cached = report.decoded_bytes <= cache_budget;
    let split = into_split(rows, report.cached)?;
    report.seconds = start.elapsed().as_secs_f64();
    Ok(LoadedSplit { split, train_counts, report })
}

/// Training samples per class (the dataset's own labels) that `config` trains on in `data_dir`,
/// without decoding images.
pub fn train_class_counts(config: &TrainConfig, data_dir: &Path) -> Result<Vec<u64>, TrainError> {
    let mut config = config.clone();
    config.noise = None;
    config.noise_file = None;
    Ok(clean_counts(&gather(&config, data_dir, false)?.train, config.model.num_classes))
}

fn clean_counts(rows: &[Row], classes: usize) -> Vec<u64> {
    let labels: Vec<usize> = rows.iter().map(|(s, _)| s.clean_label).collect();
    sampler::class_counts(&labels, classes).into_iter().map(|c| c as u64).collect()
}

fn decoded_bytes(rows: &[Row]) -> u64 {
    rows.iter().map(|(_, r)| u64::from(r.width) * u64::from(r.height) * 3).sum()
}

/// The rows of one split with their images, decoded (in parallel) when `cached`.
fn into_split(rows: Vec<Row>, cached: bool) -> Result<SplitData, TrainError> {
    let (samples, records): (Vec<Sample>, Vec<SampleRecord>) = rows.into_iter().unzip();
    let images = if cached {
        ImageStore::Decoded(
            records.par_iter().map(|r| decode(&r.sample_id, &r.image)).collect::<Result<_, _>>()?,
        )
    } else {
        ImageStore::Encoded(records.into_iter().map(|r| r.image).collect())
    };
    Ok(SplitData { samples, images })
}

/// The class names of a view in output order (the checkpoint's and metrics' class order).
pub fn class_names(view: ClassView) -> Vec<String> {
    view.classes().iter().map(|c| c.name().to_string()).collect()
}
