//! Label-noise injection into a training split.
//!
//! - `symmetric` (the SCN/EAC protocol): a flipped sample takes a class drawn uniformly from the
//!   view's classes other than its own.
//! - `class-dependent` (LA-Net's transition map): anger ↔ disgust, fear → surprise, happy →
//!   neutral, sad → neutral, surprise → anger, neutral → sad; classes outside the map (contempt,
//!   other) are never flipped.
//!
//! Exactly `round(rate · n)` of the `n` eligible samples are flipped, chosen by a seeded shuffle
//! of the sorted sample ids, so the realised rate is the nominal one up to rounding (SCN draws a
//! Bernoulli per sample, with the same expectation). The noise stage ([`materialise`]) keys a
//! draw by everything it depends on ([`draw_key`]: protocol, rate and seed, the dataset's content
//! hash, the class view and the eligible samples with their clean labels), writes it once as a
//! `noisy_labels` Parquet file under `<dataset>/noise/` with its summary as the manifest, and
//! reuses it afterwards; it runs on the stage engine ([`grefel_shards::stage`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use grefel_schema::noise_table::NoisyLabelRecord;
use grefel_schema::rng::SeedRng;
use grefel_schema::{Expression, Label};
use grefel_shards::DatasetLayout;
use grefel_shards::manifest::{Recorded, ShardEntry, StageManifest};
use grefel_shards::progress::NoProgress;
use grefel_shards::stage::{self, Done, Layout, Options, Planned, Planning, Stage, Written};
use serde::{Deserialize, Serialize};

use crate::ExperimentError;

/// How flipped labels are chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoiseProtocol {
    /// Uniform over the other classes (SCN, EAC).
    Symmetric,
    /// LA-Net's fixed transition map.
    ClassDependent,
}

impl NoiseProtocol {
    /// The protocol's name in keys and tables.
    pub fn name(self) -> &'static str {
        match self {
            NoiseProtocol::Symmetric => "symmetric",
            NoiseProtocol::ClassDependent => "class-dependent",
        }
    }

    /// The class-dependent target of `e`, if the map has one.
    pub fn mapped(e: Expression) -> Option<Expression> {
        use Expression::*;
        match e {
            Anger => Some(Disgust),
            Disgust => Some(Anger),
            Fear => Some(Surprise),
            Happy => Some(Neutral),
            Sad => Some(Neutral),
            Surprise => Some(Anger),
            Neutral => Some(Sad),
            Contempt | Other => None,
        }
    }
}

/// One noise draw's definition.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoiseSpec {
    /// The protocol.
    pub protocol: NoiseProtocol,
    /// Fraction of eligible training labels to flip, in [0, 1).
    pub rate: f64,
    /// Seed of the draw.
    pub seed: u64,
}

impl NoiseSpec {
    /// Checks the rate.
    pub fn validate(&self) -> Result<(), ExperimentError> {
        if !(0.0..1.0).contains(&self.rate) {
            return Err(ExperimentError::Spec(format!("rate {} is not in [0, 1)", self.rate)));
        }
        Ok(())
    }

    /// The file-name key of the draw for `dataset`: `symmetric-r0.200-s0`.
    pub fn key(&self) -> String {
        format!("{}-r{:.3}-s{}", self.protocol.name(), self.rate, self.seed)
    }
}

/// Realised noise of one class.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClassNoise {
    /// Training samples of the class (clean label).
    pub samples: u64,
    /// How many were flipped.
    pub flipped: u64,
    /// `flipped / samples`.
    pub rate: f64,
}

/// A materialised draw: every training sample's clean and noisy label, and the realised rates.
#[derive(Clone, Debug, PartialEq)]
pub struct NoiseDraw {
    /// Rows, sorted by sample id.
    pub records: Vec<NoisyLabelRecord>,
    /// Realised noise per clean class name.
    pub per_class: BTreeMap<String, ClassNoise>,
    /// Flipped share of all training samples.
    pub realised_rate: f64,
}

impl NoiseDraw {
    /// Builds the draw's statistics from its rows.
    pub fn from_records(mut records: Vec<NoisyLabelRecord>) -> NoiseDraw {
        records.sort_by(|a, b| a.sample_id.cmp(&b.sample_id));
        let mut per_class: BTreeMap<String, ClassNoise> = BTreeMap::new();
        for r in &records {
            let name = Label::from_id(r.clean_label).map_or("invalid", Label::name);
            let c = per_class.entry(name.to_string()).or_default();
            c.samples += 1;
            c.flipped += u64::from(r.flipped);
        }
        for c in per_class.values_mut() {
            c.rate = c.flipped as f64 / c.samples as f64;
        }
        let flipped = records.iter().filter(|r| r.flipped).count();
        let realised_rate = if records.is_empty() { 0.0 } else { flipped as f64 / records.len() as f64 };
        NoiseDraw { records, per_class, realised_rate }
    }

    /// The noisy label of each sample id.
    pub fn noisy_labels(&self) -> BTreeMap<&str, i16> {
        self.records.iter().map(|r| (r.sample_id.as_str(), r.noisy_label)).collect()
    }
}

/// Draws noise over the training samples `train` (id, clean label) for a model seeing `classes`.
///
/// Samples whose label is outside `classes` (or has no class-dependent target inside them) keep
/// their label and are not counted as eligible.
pub fn inject(
    train: &[(String, Label)],
    classes: &[Expression],
    spec: &NoiseSpec,
) -> Result<NoiseDraw, ExperimentError> {
    spec.validate()?;
    if classes.len() < 2 {
        return Err(ExperimentError::Spec("noise needs at least two classes".into()));
    }
    let target_of = |e: Expression| -> Option<Expression> {
        match spec.protocol {
            NoiseProtocol::Symmetric => classes.contains(&e).then_some(e),
            NoiseProtocol::ClassDependent => {
                NoiseProtocol::mapped(e).filter(|t| classes.contains(&e) && classes.contains(t))
            }
        }
    };
    let mut sorted: Vec<&(String, Label)> = train.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut eligible: Vec<usize> =
        (0..sorted.len()).filter(|&i| sorted[i].1.expression().and_then(target_of).is_some()).collect();
    let mut rng = SeedRng::for_tag(spec.seed, &format!("noise/{}", spec.protocol.name()));
    rng.shuffle(&mut eligible);
    let n_flip = (spec.rate * eligible.len() as f64).round() as usize;
    let mut noisy: Vec<i16> = sorted.iter().map(|(_, l)| l.id()).collect();
    for &i in &eligible[..n_flip] {
        let Some(clean) = sorted[i].1.expression() else { continue };
        let to = match spec.protocol {
            NoiseProtocol::Symmetric => {
                let others: Vec<Expression> = classes.iter().copied().filter(|&c| c != clean).collect();
                others[rng.below(others.len() as u64) as usize]
            }
            NoiseProtocol::ClassDependent => match NoiseProtocol::mapped(clean) {
                Some(t) => t,
                None => continue,
            },
        };
        noisy[i] = Label::Class(to).id();
    }
    let records = sorted
        .iter()
        .zip(noisy)
        .map(|((id, clean), noisy)| NoisyLabelRecord {
            sample_id: id.clone(),
            clean_label: clean.id(),
            noisy_label: noisy,
            flipped: noisy != clean.id(),
        })
        .collect();
    Ok(NoiseDraw::from_records(records))
}

/// The key of a draw: the spec's key, the view's name and the first 12 hex digits of a hash of
/// the dataset's content hash, the view and every eligible sample (sorted ids and clean labels),
/// so a draw made for one class view, split or version of the data is never reused for another.
pub fn draw_key(spec: &NoiseSpec, content_hash: &str, view: &str, train: &[(String, Label)]) -> String {
    let mut sorted: Vec<&(String, Label)> = train.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut fp = grefel_shards::hash::Fingerprint::new();
    fp.part(content_hash).part(view);
    for (id, label) in sorted {
        fp.part(id).part(label.id().to_le_bytes());
    }
    format!("{}-{view}-{}", spec.key(), &fp.finish()[..12])
}

/// The noise stage: the draw of `spec` over the training samples `train` (id, clean label) of a
/// model seeing `classes` (the view called `view`), loaded from `<dataset_dir>/noise/<key>` when
/// it was made before, else drawn and saved. Returns the key and the draw.
pub fn materialise(
    dataset_dir: &Path,
    dataset: &str,
    content_hash: &str,
    view: &str,
    classes: &[Expression],
    train: &[(String, Label)],
    spec: &NoiseSpec,
) -> Result<(String, NoiseDraw), ExperimentError> {
    Draw { dataset_dir, dataset, content_hash, view, classes, train, spec }.materialise(Options::default())
}

/// One noise draw to materialise (the arguments of [`materialise`]).
#[derive(Clone, Copy, Debug)]
pub struct Draw<'a> {
    /// The dataset's folder (`<data>/<dataset>`).
    pub dataset_dir: &'a Path,
    /// The dataset.
    pub dataset: &'a str,
    /// The dataset's content hash.
    pub content_hash: &'a str,
    /// The class view's name.
    pub view: &'a str,
    /// The classes the model sees.
    pub classes: &'a [Expression],
    /// The training samples (id, clean label).
    pub train: &'a [(String, Label)],
    /// The draw's definition.
    pub spec: &'a NoiseSpec,
}

impl Draw<'_> {
    /// [`materialise`] with engine options (`force`: redraw even over a malformed summary).
    pub fn materialise(&self, options: Options) -> Result<(String, NoiseDraw), ExperimentError> {
        let key = draw_key(self.spec, self.content_hash, self.view, self.train);
        let (table, _) = draw_paths(self.dataset_dir, &key);
        let layout = Layout {
            dir: DatasetLayout::at(self.dataset_dir).noise(),
            manifest: format!("{key}.json"),
            // Every draw of the dataset shares the folder: the engine removes nothing there.
            shard_dirs: None,
        };
        let stage = NoiseStage { draw: self, key: &key, layout };
        let outcome = stage::run(&stage, options, &NoProgress)?;
        let draw = match outcome.plan {
            Some(draw) => draw,
            None => NoiseDraw::from_records(grefel_shards::noisy_labels::read(&table)?),
        };
        Ok((key, draw))
    }
}

/// Summary written beside a materialised draw (`<key>.json`): the draw's manifest.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct DrawSummary {
    /// The dataset.
    pub dataset: String,
    /// The draw's key.
    pub key: String,
    /// Content hash of the dataset's shards the draw was made from.
    pub source_content_hash: String,
    /// SHA-256 of the Parquet file.
    pub sha256: String,
    /// Training samples.
    pub samples: u64,
    /// Realised overall rate.
    pub realised_rate: f64,
    /// Realised noise per class.
    pub per_class: BTreeMap<String, ClassNoise>,
}

impl StageManifest for DrawSummary {
    fn recorded(&self) -> Recorded<'_> {
        let shard = ShardEntry {
            path: format!("{}.parquet", self.key),
            rows: self.samples,
            sha256: self.sha256.clone(),
        };
        Recorded::new(&self.source_content_hash, None, vec![shard], None)
    }
}

/// Where a draw of `dataset` lives: `<dataset_dir>/noise/<key>.parquet` and `.json`.
pub fn draw_paths(dataset_dir: &Path, key: &str) -> (PathBuf, PathBuf) {
    let dir = DatasetLayout::at(dataset_dir).noise();
    (dir.join(format!("{key}.parquet")), dir.join(format!("{key}.json")))
}

/// A noise draw as a [`Stage`]: one shard, `<key>.parquet`, whose key already names everything
/// the draw depends on; the summary is the manifest. The file keeps the bytes it had before the
/// engine (no plan key in its metadata), so it is reused through its summary only.
struct NoiseStage<'a> {
    draw: &'a Draw<'a>,
    key: &'a str,
    layout: Layout,
}

impl Stage for NoiseStage<'_> {
    const NAME: &'static str = "noise";
    type Plan = NoiseDraw;
    type Unit = ();
    type Stats = u64;
    type Manifest = DrawSummary;
    type Error = ExperimentError;

    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn input(&self) -> &str {
        self.draw.content_hash
    }

    fn config(&self) -> serde_json::Value {
        serde_json::json!({ "key": self.key })
    }

    fn plan(&self) -> Result<Planning<NoiseDraw, ()>, ExperimentError> {
        let draw = inject(self.draw.train, self.draw.classes, self.draw.spec)?;
        let rows = draw.records.len() as u64;
        Ok((draw, vec![Planned { rel: format!("{}.parquet", self.key), identity: vec![], rows, unit: () }]))
    }

    fn write(
        &self,
        draw: &NoiseDraw,
        _shard: &Planned<()>,
        path: &Path,
        _key: &str,
    ) -> Result<Written<u64>, ExperimentError> {
        let (sha256, pending) =
            grefel_shards::noisy_labels::write_pending(path, &draw.records, &BTreeMap::new())?;
        Ok(Written { stats: draw.records.len() as u64, sha256, pending })
    }

    fn rows(stats: &u64) -> u64 {
        *stats
    }

    fn manifest(
        &self,
        draw: &NoiseDraw,
        _config_hash: String,
        done: Vec<Done<(), u64>>,
    ) -> Result<DrawSummary, ExperimentError> {
        let sha256 = done.into_iter().next().map(|d| d.entry.sha256).unwrap_or_default();
        Ok(DrawSummary {
            dataset: self.draw.dataset.into(),
            key: self.key.into(),
            source_content_hash: self.draw.content_hash.into(),
            sha256,
            samples: draw.records.len() as u64,
            realised_rate: draw.realised_rate,
            per_class: draw.per_class.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn train(n: usize) -> Vec<(String, Label)> {
        // Imbalanced like RAF-DB: every 7th sample fear, most happy.
        (0..n)
            .map(|i| {
                let e = match i % 10 {
                    0 => Expression::Fear,
                    1 | 2 => Expression::Neutral,
                    3 => Expression::Sad,
                    4 => Expression::Surprise,
                    5 => Expression::Anger,
                    6 => Expression::Disgust,
                    _ => Expression::Happy,
                };
                (format!("d:{i:05}"), Label::Class(e))
            })
            .collect()
    }

    #[test]
    fn symmetric_rate_and_no_same_class_flips() {
        let data = train(5000);
        for rate in [0.1, 0.2, 0.3] {
            let spec = NoiseSpec { protocol: NoiseProtocol::Symmetric, rate, seed: 3 };
            let draw = inject(&data, &Expression::BASIC, &spec).expect("draw");
            assert_eq!(draw.records.len(), 5000);
            assert!((draw.realised_rate - rate).abs() < 1e-3, "{} vs {rate}", draw.realised_rate);
            for c in draw.per_class.values() {
                assert!((c.rate - rate).abs() < 0.06, "per-class {c:?} vs {rate}");
            }
            for r in &draw.records {
                assert_eq!(r.flipped, r.noisy_label != r.clean_label);
                assert!((0..7).contains(&r.noisy_label));
            }
            // Every wrong class is reached: the flip is uniform over the others.
            let mut targets = BTreeMap::new();
            for r in draw.records.iter().filter(|r| r.flipped && r.clean_label == 1) {
                *targets.entry(r.noisy_label).or_insert(0) += 1;
            }
            assert_eq!(targets.len(), 6, "{targets:?}");
            assert_eq!(draw, inject(&data, &Expression::BASIC, &spec).expect("again"), "deterministic");
        }
        let zero = inject(
            &data,
            &Expression::BASIC,
            &NoiseSpec { protocol: NoiseProtocol::Symmetric, rate: 0.0, seed: 1 },
        )
        .expect("zero");
        assert_eq!(zero.realised_rate, 0.0);
        let a = inject(
            &data,
            &Expression::BASIC,
            &NoiseSpec { protocol: NoiseProtocol::Symmetric, rate: 0.2, seed: 1 },
        );
        let b = inject(
            &data,
            &Expression::BASIC,
            &NoiseSpec { protocol: NoiseProtocol::Symmetric, rate: 0.2, seed: 2 },
        );
        assert_ne!(a.expect("a").records, b.expect("b").records, "the seed matters");
    }

    #[test]
    fn class_dependent_follows_the_map() {
        let mut data = train(3000);
        data.push(("d:contempt".into(), Label::Class(Expression::Contempt)));
        data.push(("d:ignore".into(), Label::Ignore));
        let spec = NoiseSpec { protocol: NoiseProtocol::ClassDependent, rate: 0.3, seed: 0 };
        let draw = inject(&data, &Expression::ALL[..8], &spec).expect("draw");
        for r in draw.records.iter().filter(|r| r.flipped) {
            let clean = Label::from_id(r.clean_label).and_then(Label::expression).expect("class");
            let want = NoiseProtocol::mapped(clean).expect("mapped");
            assert_eq!(r.noisy_label, i16::from(want.id()));
        }
        let by_id: BTreeMap<&str, &NoisyLabelRecord> =
            draw.records.iter().map(|r| (r.sample_id.as_str(), r)).collect();
        assert!(!by_id["d:contempt"].flipped && !by_id["d:ignore"].flipped);
        assert!((draw.realised_rate - 0.3 * 3000.0 / 3002.0).abs() < 1e-3);
        assert!(inject(&data, &Expression::BASIC, &NoiseSpec { rate: 1.0, ..spec }).is_err());
    }

    #[test]
    fn reuse_malformed_summary_and_force() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spec = NoiseSpec { protocol: NoiseProtocol::Symmetric, rate: 0.2, seed: 0 };
        assert_eq!(spec.key(), "symmetric-r0.200-s0");
        let data = train(200);
        let draw = Draw {
            dataset_dir: dir.path(),
            dataset: "d",
            content_hash: "h",
            view: "basic7",
            classes: &Expression::BASIC,
            train: &data,
            spec: &spec,
        };
        let run = |options| draw.materialise(options);
        let (key, draw) = run(Options::default()).expect("draw");
        assert_eq!(draw, inject(&data, &Expression::BASIC, &spec).expect("inject"));
        assert!(key.starts_with("symmetric-r0.200-s0-basic7-"), "{key}");
        let (table, summary) = draw_paths(dir.path(), &key);
        let bytes = std::fs::read(&table).expect("table");
        // Reused: the same draw, read back from the file.
        std::fs::write(&table, &bytes).expect("touch");
        assert_eq!(run(Options::default()).expect("reuse").1, draw);
        // A corrupted table is redrawn to the same bytes.
        std::fs::write(&table, b"garbage").expect("corrupt");
        assert_eq!(run(Options::default()).expect("redraw").1, draw);
        assert_eq!(std::fs::read(&table).expect("table"), bytes);
        // A malformed summary: the engine's one error, naming the file and `--force`.
        std::fs::write(&summary, b"{ not json").expect("corrupt summary");
        let err = run(Options::default()).expect_err("malformed").to_string();
        assert!(err.contains(&summary.display().to_string()) && err.contains("--force"), "{err}");
        assert_eq!(run(Options { force: true }).expect("forced").1, draw);
        assert_eq!(run(Options::default()).expect("after force").1, draw);
    }

    #[test]
    fn draws_are_keyed_by_view_data_and_samples() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spec = NoiseSpec { protocol: NoiseProtocol::Symmetric, rate: 0.2, seed: 0 };
        let data = train(100);
        let (key, draw) =
            materialise(dir.path(), "d", "h", "basic7", &Expression::BASIC, &data, &spec).expect("draw");
        assert!(key.starts_with("symmetric-r0.200-s0-basic7-"), "{key}");
        let (again, reused) =
            materialise(dir.path(), "d", "h", "basic7", &Expression::BASIC, &data, &spec).expect("reuse");
        assert_eq!((again.as_str(), &reused), (key.as_str(), &draw));
        let other_view = draw_key(&spec, "h", "with-contempt8", &data);
        let other_data = draw_key(&spec, "h2", "basic7", &data);
        let fewer = draw_key(&spec, "h", "basic7", &data[1..]);
        let mut relabelled = data.clone();
        relabelled[0].1 = Label::Class(Expression::Anger);
        let relabelled = draw_key(&spec, "h", "basic7", &relabelled);
        let keys = [&key, &other_view, &other_data, &fewer, &relabelled];
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                assert_ne!(a, b);
            }
        }
        let mut shuffled = data.clone();
        shuffled.reverse();
        assert_eq!(draw_key(&spec, "h", "basic7", &shuffled), key, "order does not matter");
    }
}
