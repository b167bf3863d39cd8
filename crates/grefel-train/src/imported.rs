//! Runs made from pretrained weights rather than trained (`cargo xtask import-checkpoint`): a
//! POSTER++ checkpoint and/or the trunk files read into a preset's network, written as a run
//! folder that `predict`, `evaluate`, `export` and `train --init-from` accept.
//!
//! The folder holds what a trained run's does (`config.json`, `checkpoints/`), with
//! `import.json` in place of `metrics.json`: where each weight came from (files, SHA-256,
//! tensors applied), the checkpoint's classifier order, and the seed of the weights no file
//! gave. The checkpoint's tensors the network has no counterpart of (modules POSTER builds and
//! never runs, BatchNorm counters) are kept beside it (`checkpoint-unused.safetensors`), so an
//! export in POSTER's naming gives the checkpoint's own tensors back.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use grefel_artifacts::files::{RUN_CONFIG, RUN_METRICS};
use grefel_artifacts::{Provenance, Seeds, write_json};
use grefel_model::config::ModelConfig;
use grefel_schema::labels::ClassView;
use grefel_schema::rng::derive_seed;
use grefel_shards::{atomic, hash};
use grefel_weights::{ImportOptions, ImportReport, Part};
use serde::{Deserialize, Serialize};

use crate::adam::Adam;
use crate::checkpoint::{self, TrainState};
use crate::data::class_names;
use crate::protocol::Protocol;
use crate::{TrainError, TrainSettings, run};

/// The record of an imported run, in place of `metrics.json`.
pub const IMPORT_RECORD: &str = "import.json";
/// The checkpoint's tensors the network does not use, in the checkpoint's naming.
pub const UNUSED_TENSORS: &str = "checkpoint-unused.safetensors";

/// One file an imported run's weights came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedFile {
    /// The part it filled (`checkpoint`, `ir50`, `mobilefacenet`).
    pub part: String,
    /// Its file name.
    pub name: String,
    /// SHA-256 of its bytes.
    pub sha256: String,
    /// Tensors applied.
    pub applied: usize,
    /// Tensors of the network the part covers.
    pub expected: usize,
    /// Its keys left unused, by name pattern, with counts.
    pub unused: Vec<(String, usize)>,
}

/// `import.json`: where an imported run's weights came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImportRecord {
    /// The preset.
    pub preset: String,
    /// The dataset whose classes and face framing the run uses.
    pub dataset: String,
    /// Its adapter.
    pub adapter: String,
    /// The whole checkpoint, when one was given.
    pub checkpoint: Option<ImportedFile>,
    /// The trunk files.
    pub init: Vec<ImportedFile>,
    /// The checkpoint's classifier order by class name (its output `k` is the network's class
    /// `class_order[k]`); the network's own order when no checkpoint was given.
    pub class_order: Vec<String>,
    /// Seed of the weights no file gave (the reliability head; everything without a checkpoint
    /// but the trunks).
    pub seed: u64,
    /// `checkpoint-unused.safetensors` when the checkpoint had unused tensors.
    pub unused_file: Option<String>,
    /// The code that imported it.
    pub code_version: String,
}

impl ImportRecord {
    /// The classifier order as indices of the network's classes.
    pub fn class_order_indices(&self, classes: &[String]) -> Result<Vec<usize>, TrainError> {
        class_order_indices(&self.class_order, classes)
    }
}

/// What to import ([`import_run`]).
#[derive(Clone, Debug)]
pub struct ImportRequest {
    /// The preset (`poster`, `poster-8`, `paper`, …).
    pub preset: String,
    /// The dataset whose classes and face framing the run uses [default: `rafdb` for 7 classes,
    /// `affectnet` for 8].
    pub dataset: Option<String>,
    /// Class view [default: the dataset's].
    pub class_view: Option<ClassView>,
    /// A whole POSTER++ checkpoint (or a safetensors file `export` wrote).
    pub checkpoint: Option<PathBuf>,
    /// Trunk files by part (`ir50`, `mobilefacenet`), read before the checkpoint.
    pub init: BTreeMap<String, PathBuf>,
    /// The checkpoint's classifier order by class name [default: POSTER's RAF-DB order
    /// (surprise, fear, disgust, happy, sad, anger, neutral) for RAF-DB, the network's
    /// otherwise].
    pub class_order: Option<Vec<String>>,
    /// Seed of the weights no file gives.
    pub seed: u64,
    /// The run folder to write.
    pub out: PathBuf,
}

/// What [`import_run`] did.
#[derive(Clone, Debug)]
pub struct ImportOutcome {
    /// The run folder.
    pub dir: PathBuf,
    /// One report per file, in the order read.
    pub reports: Vec<ImportReport>,
    /// The record written.
    pub record: ImportRecord,
    /// Tensors kept in `checkpoint-unused.safetensors`.
    pub kept_unused: usize,
    /// Wall time.
    pub seconds: f64,
}

impl ImportOutcome {
    /// One line: what was read and written.
    pub fn summary(&self) -> String {
        let applied: usize = self.reports.iter().map(|r| r.applied).sum();
        format!(
            "import-checkpoint: {} file(s) read, {applied} tensors applied, {} unused kept, run folder {} ({}, {} classes in the order {}), {:.1} s",
            self.reports.len(),
            self.kept_unused,
            self.dir.display(),
            self.record.preset,
            self.record.class_order.len(),
            self.record.class_order.join(", "),
            self.seconds
        )
    }
}

/// POSTER++'s RAF-DB class order: its training script reads `ImageFolder` folders named by the
/// RAF-DB label ids 1–7 (surprise, fear, disgust, happiness, sadness, anger, neutral).
pub const POSTER_RAFDB_ORDER: [&str; 7] = ["surprise", "fear", "disgust", "happy", "sad", "anger", "neutral"];

/// The default classifier order of a checkpoint imported for `dataset` with `classes` (the
/// network's order): POSTER's RAF-DB order for RAF-DB's seven classes, the network's otherwise
/// (AffectNet's folders 0–7 are in grefel's order).
pub fn default_class_order(dataset: &str, classes: &[String]) -> Vec<String> {
    if dataset == "rafdb" && classes.len() == 7 {
        POSTER_RAFDB_ORDER.iter().map(|s| s.to_string()).collect()
    } else {
        classes.to_vec()
    }
}

/// `order` (class names) as indices into `classes`; each class exactly once.
pub fn class_order_indices(order: &[String], classes: &[String]) -> Result<Vec<usize>, TrainError> {
    let mut out = Vec::with_capacity(order.len());
    for name in order {
        let i = classes.iter().position(|c| c == name).ok_or_else(|| {
            TrainError::config("class_order", format!("`{name}` is not a class of {}", classes.join(", ")))
        })?;
        if out.contains(&i) {
            return Err(TrainError::config("class_order", format!("`{name}` is given twice")));
        }
        out.push(i);
    }
    if out.len() != classes.len() {
        return Err(TrainError::config(
            "class_order",
            format!("{} names for {} classes ({})", out.len(), classes.len(), classes.join(", ")),
        ));
    }
    Ok(out)
}

fn file_record(report: &ImportReport, part: Part, path: &Path) -> Result<ImportedFile, TrainError> {
    let bytes = std::fs::read(path).map_err(TrainError::io("read", path))?;
    Ok(ImportedFile {
        part: part.name().to_string(),
        name: path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        sha256: hash::sha256_hex(&bytes),
        applied: report.applied,
        expected: report.expected,
        unused: report.unused.clone(),
    })
}

/// Reads the files into the preset's network and writes the run folder ([module docs](self)).
/// Nothing is written when a file does not fill its part or does not fit it.
pub fn import_run(request: &ImportRequest) -> Result<ImportOutcome, TrainError> {
    let start = Instant::now();
    let preset = ModelConfig::preset(&request.preset)?;
    let dataset = request
        .dataset
        .clone()
        .unwrap_or_else(|| if preset.num_classes == 8 { "affectnet" } else { "rafdb" }.to_string());
    let protocol = Protocol::of(&dataset)?;
    let view = request.class_view.unwrap_or(protocol.default_view);
    if view.num_classes() != preset.num_classes {
        return Err(TrainError::config(
            "class_view",
            format!(
                "preset `{}` has {} outputs and the class view {} of {dataset} has {}: pick the preset or --class-view that fits",
                request.preset,
                preset.num_classes,
                view.name(),
                view.num_classes()
            ),
        ));
    }
    let done = [IMPORT_RECORD, RUN_METRICS].iter().find(|f| request.out.join(f).exists());
    if let Some(f) = done {
        return Err(TrainError::config(
            "out",
            format!(
                "{} is already a run folder (it has {f}): remove it or pick another --out",
                request.out.display()
            ),
        ));
    }
    let mut settings = TrainSettings::new(dataset.clone());
    settings.preset = request.preset.clone();
    settings.class_view = Some(view);
    settings.seed = request.seed;
    settings.init = request.init.clone();
    let config = settings.validate_for(&dataset)?;
    let classes = class_names(config.class_view);
    let order_names = match &request.class_order {
        Some(order) => order.clone(),
        None if request.checkpoint.is_some() => default_class_order(&dataset, &classes),
        None => classes.clone(),
    };
    let order = class_order_indices(&order_names, &classes)?;

    let (mut model, mut reports) =
        checkpoint::initial_model_reports(&config.model, &config.init, derive_seed(config.seed, "init"))?;
    let mut init_records = Vec::new();
    for (report, file) in reports.iter().zip(&config.init) {
        // Hashed once already, when the configuration was validated.
        init_records.push(ImportedFile {
            part: file.part.clone(),
            name: file.name.clone(),
            sha256: file.sha256.clone(),
            applied: report.applied,
            expected: report.expected,
            unused: report.unused.clone(),
        });
    }
    let mut checkpoint_record = None;
    let mut unused = Vec::new();
    if let Some(file) = &request.checkpoint {
        let identity = order.iter().enumerate().all(|(k, &i)| k == i);
        let options = ImportOptions { class_order: (!identity).then(|| order.clone()) };
        let imported = grefel_weights::import_with(model, Part::Checkpoint, file, &options)
            .map_err(|e| TrainError::Init { reason: e.to_string() })?;
        model = imported.model;
        checkpoint_record = Some(file_record(&imported.report, Part::Checkpoint, file)?);
        reports.push(imported.report);
        unused = imported.unused;
    }

    let dir = &request.out;
    std::fs::create_dir_all(dir).map_err(TrainError::io("create", dir))?;
    let document = run::run_document(&config, "", "cpu");
    write_json(&dir.join(RUN_CONFIG), &document)?;
    let id = dir.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let provenance = Provenance {
        run_id: id,
        run: document,
        class_names: classes.clone(),
        dataset: dataset.clone(),
        dataset_content_hash: String::new(),
        code_version: run::code_version(),
        seeds: Seeds { root: config.seed, noise: None },
    };
    let mut state = TrainState::new(provenance);
    checkpoint::save(dir, &model, &Adam::new(&config.optimizer), &mut state)?;
    let kept_unused = unused.len();
    let unused_file = if unused.is_empty() {
        None
    } else {
        let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
        let bytes = grefel_weights::safetensors::write(unused, metadata)
            .map_err(|e| TrainError::Init { reason: e.to_string() })?;
        atomic::write_bytes(&dir.join(UNUSED_TENSORS), &bytes)?;
        Some(UNUSED_TENSORS.to_string())
    };
    let record = ImportRecord {
        preset: request.preset.clone(),
        dataset,
        adapter: protocol.adapter.to_string(),
        checkpoint: checkpoint_record,
        init: init_records,
        class_order: order_names,
        seed: config.seed,
        unused_file,
        code_version: run::code_version(),
    };
    write_json(&dir.join(IMPORT_RECORD), &record)?;
    Ok(ImportOutcome {
        dir: dir.clone(),
        reports,
        record,
        kept_unused,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// What [`export_run`] writes.
#[derive(Clone, Debug)]
pub struct ExportRequest {
    /// The naming.
    pub names: grefel_weights::Names,
    /// The classifier order of the file, by class name (POSTER naming) [default: an imported
    /// run's checkpoint order, else the network's].
    pub class_order: Option<Vec<String>>,
}

/// The selected weights of `run` as a safetensors file ([`grefel_weights::export`]). In
/// POSTER's naming, an imported run's unused checkpoint tensors are written back and the
/// classifier follows the checkpoint's order, so the export of an import is the checkpoint's
/// `state_dict`.
pub fn export_run(
    run: &crate::saved::SavedRun,
    request: &ExportRequest,
) -> Result<grefel_weights::Exported, TrainError> {
    let weights_err = |e: grefel_weights::WeightsError| TrainError::Init { reason: e.to_string() };
    let model = run.model(&grefel_model::burn::tensor::Device::flex())?;
    let classes = run.classes();
    let order_names = match (&request.class_order, &run.import) {
        (Some(order), _) => order.clone(),
        (None, Some(record)) => record.class_order.clone(),
        (None, None) => classes.clone(),
    };
    let order = class_order_indices(&order_names, &classes)?;
    let mut options = grefel_weights::ExportOptions::new(request.names);
    if request.names == grefel_weights::Names::Poster {
        options.class_order = Some(order);
        options.metadata.insert("class_order".into(), order_names.join(","));
        if let Some(file) = run.import.as_ref().and_then(|r| r.unused_file.as_ref()) {
            options.extras = grefel_weights::safetensors::read(&run.dir.join(file))
                .map_err(weights_err)?
                .into_values()
                .collect();
        }
    } else {
        options.metadata.insert("class_order".into(), classes.join(","));
    }
    options.metadata.insert("grefel.preset".into(), run.config.preset.clone());
    options.metadata.insert("grefel.run".into(), run.id.clone());
    grefel_weights::export(&model, &options).map_err(weights_err)
}
