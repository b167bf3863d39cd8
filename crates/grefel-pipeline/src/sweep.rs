//! Sweeps: a grid of training runs, resolved and frozen into a plan before anything runs, then
//! executed cell by cell and reported.
//!
//! [`SweepRequest`] is what a sweep command asks for; [`plan_sweep`] validates it into a
//! [`PlannedSweep`] (every cell a valid configuration, the data usable, the devices present:
//! nothing is written when it fails); [`run_sweep`] freezes the plan, runs the unfinished cells
//! and renders the report.

use std::path::{Path, PathBuf};

use grefel_artifacts::{Axis, Cell, CellMetrics, SweepPlan};
use grefel_experiments::noise::{NoiseProtocol, NoiseSpec};
use grefel_train::TrainSettings;
use serde_json::Value;

use crate::PipelineError;
use crate::TrainOverrides;
use crate::cell::TrainCellRunner;
use crate::execute::{CellFailure, CellRunner, SweepSummary, run_plan};
use crate::grid::{parse_int_grid, parse_rate_grid};
use crate::pipeline_file::Pipeline;

/// The configuration key of K, the anchors per class.
pub const ANCHORS_KEY: &str = "model.reliability.anchors_per_class";
/// The configuration key of the label-smoothing ε.
pub const SMOOTHING_KEY: &str = "model.loss.label_smoothing";
/// The name (and key) of the replicate axis every sweep ends with.
pub const SEED_AXIS: &str = "seed";

/// What a sweep command asks for.
#[derive(Clone, Debug)]
pub struct SweepRequest {
    /// The command's name, the prefix of the default sweep folder (`sweep-anchors`).
    pub command: String,
    /// The grid's axes (rows first, then columns); the seed axis is added.
    pub axes: Vec<Axis>,
    /// The training settings every cell starts from.
    pub base: TrainSettings,
    /// Label-noise rate of every cell (`Some(0.0)` when an axis sets it).
    pub noise_rate: Option<f64>,
    /// How the cells are replicated, drawn and run.
    pub cells: CellOptions,
    /// The sweep folder; `None`: `<sweeps_dir>/<command>-<plan id>`.
    pub out: Option<PathBuf>,
    /// Where sweep folders go by default.
    pub sweeps_dir: PathBuf,
    /// The folder of the prepared datasets.
    pub data: PathBuf,
}

/// How a sweep's cells are replicated, drawn and run: what every sweep command shares.
#[derive(Clone, Debug)]
pub struct CellOptions {
    /// Replicates: seeds `0..seeds`.
    pub seeds: u64,
    /// Protocol of drawn label noise.
    pub noise_protocol: NoiseProtocol,
    /// Seed of the noise draws (one draw per rate, shared by the replicates).
    pub noise_seed: u64,
    /// Devices (`cpu`, `libtorch-cpu`, `cuda:N`), each at most once.
    pub devices: Vec<String>,
    /// Cells at once on the CPU backend (default: the number of cores).
    pub jobs: Option<usize>,
    /// Columns every finished cell is evaluated by (`gender`, …); the report adds each group's
    /// accuracy and the gaps to `table_full.csv` and a gap table per column. Not part of the
    /// cells' configurations.
    pub by: Vec<String>,
}

/// A validated sweep, ready to run.
#[derive(Clone, Debug)]
pub struct PlannedSweep {
    /// The plan (not yet frozen on disk).
    pub plan: SweepPlan,
    /// The sweep folder.
    pub out: PathBuf,
    /// One device name per worker.
    pub workers: Vec<String>,
    /// The folder of the prepared datasets.
    pub data: PathBuf,
    /// The base settings, noise applied.
    pub settings: TrainSettings,
    /// Columns the finished cells are evaluated by.
    pub by: Vec<String>,
}

impl PlannedSweep {
    /// The one-line description printed before a sweep runs.
    pub fn describe(&self, command: &str) -> String {
        let on = format!(
            "{} {} [{}]",
            self.workers.len(),
            if self.workers.len() == 1 { "worker" } else { "workers" },
            self.workers.join(", ")
        );
        self.describe_on(command, &on)
    }

    /// [`PlannedSweep::describe`] with `on` saying where the cells run.
    pub fn describe_on(&self, command: &str, on: &str) -> String {
        let grid: Vec<String> =
            self.plan.axes.iter().map(|a| format!("{} {}", a.name, values(&a.values))).collect();
        format!(
            "{command}: {} cells = {} on {on}, dataset {}, preset {}, {} epochs -> {}",
            self.plan.cells.len(),
            grid.join(" × "),
            self.settings.dataset,
            self.settings.preset,
            self.settings.epochs,
            self.out.display()
        )
    }

    /// The devices the sweep was given, each once, in order.
    pub fn devices(&self) -> Vec<String> {
        let mut devices: Vec<String> = Vec::new();
        for w in &self.workers {
            if !devices.contains(w) {
                devices.push(w.clone());
            }
        }
        devices
    }
}

/// What [`run_sweep`] did.
#[derive(Debug)]
pub struct SweepOutcome {
    /// The cells run, skipped and failed.
    pub summary: SweepSummary,
    /// The report of every finished cell.
    pub report: grefel_report::ReportSummary,
}

impl SweepOutcome {
    /// The summary line printed after a sweep: cells run, skipped and failed, time, report.
    pub fn summary_line(&self, command: &str, seconds: f64) -> String {
        let s = &self.summary;
        format!(
            "{command}: {} cells ({} already done, {} ran, {} failed) in {seconds:.0}s; {}",
            s.cells,
            s.already_done,
            s.ran,
            s.failed.len(),
            self.report
        )
    }

    /// `Err(CellsFailed)` when some cell failed (after the report of the others is written).
    pub fn check(&self) -> Result<(), PipelineError> {
        let s = &self.summary;
        if s.failed.is_empty() {
            Ok(())
        } else {
            Err(PipelineError::CellsFailed { failed: s.failed.len(), cells: s.cells })
        }
    }
}

/// A sweep command's options besides its grid: where the base configuration comes from and how
/// the cells run. Relative paths are taken relative to `root`.
#[derive(Clone, Debug)]
pub struct SweepSetup {
    /// The workspace root.
    pub root: PathBuf,
    /// The pipeline file whose `[train]` table is the base configuration (its `[synth]` and
    /// `[prepare]` stages make the data when the sweep trains on its dataset).
    pub pipeline: PathBuf,
    /// Overrides of the `[train]` table.
    pub overrides: TrainOverrides,
    /// The folder of the prepared datasets (default: the pipeline's `[prepare].out`, else
    /// `data`).
    pub data: Option<PathBuf>,
    /// The sweep folder (default: `runs/sweeps/<command>-<plan id>`).
    pub out: Option<PathBuf>,
    /// How the cells are replicated, drawn and run.
    pub cells: CellOptions,
}

impl SweepSetup {
    fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() { p.to_path_buf() } else { self.root.join(p) }
    }
}

/// A planned sweep and, when the sweep's dataset is the pipeline's, the prepare stage's summary.
#[derive(Debug)]
pub struct FromPipeline {
    /// The validated sweep.
    pub planned: PlannedSweep,
    /// The prepare summary, when the pipeline's data were prepared first.
    pub prepared: Option<String>,
    /// The pipeline's `[slurm]` table.
    pub slurm: Option<grefel_slurm::SlurmSettings>,
}

/// Loads the pipeline, applies the overrides, prepares the pipeline's dataset when the sweep
/// trains on it (a no-op when current), and plans the sweep ([`plan_sweep`]).
pub fn sweep_from_pipeline(
    setup: &SweepSetup,
    command: &str,
    axes: Vec<Axis>,
    noise_rate: Option<f64>,
    progress: &dyn grefel_shards::Progress,
) -> Result<FromPipeline, PipelineError> {
    let pipeline_path = setup.resolve(&setup.pipeline);
    let pipeline = Pipeline::load(&pipeline_path, &setup.root)?;
    let base = pipeline.train.clone().ok_or_else(|| PipelineError::PipelineFile {
        path: pipeline_path.clone(),
        reason: "no [train] table".into(),
    })?;
    let mut overrides = setup.overrides.clone();
    overrides.noise_file = overrides.noise_file.as_deref().map(|f| setup.resolve(f));
    let base = overrides.apply(Some(base), &pipeline_path)?;
    let data = setup
        .data
        .as_deref()
        .map(|d| setup.resolve(d))
        .or(pipeline.prepare.as_ref().map(|p| p.out.clone()))
        .unwrap_or_else(|| setup.root.join("data"));
    let request = SweepRequest {
        command: command.into(),
        axes,
        noise_rate,
        cells: setup.cells.clone(),
        out: setup.out.as_deref().map(|o| setup.resolve(o)),
        sweeps_dir: setup.root.join("runs/sweeps"),
        data,
        base,
    };
    let own_data = pipeline
        .prepare
        .as_ref()
        .is_some_and(|p| p.dataset.as_deref() == Some(request.base.dataset.as_str()));
    let prepared = if own_data && setup.data.is_none() {
        Some(crate::stages::prepare_stage(&pipeline, Default::default(), progress)?.to_string())
    } else {
        None
    };
    Ok(FromPipeline { planned: plan_sweep(&request)?, prepared, slurm: pipeline.slurm.clone() })
}

/// The `k` axis (`4..12`, `4,8,10`) of the anchors per class.
pub fn anchors_axis(text: &str) -> Result<Axis, PipelineError> {
    int_axis("k", ANCHORS_KEY, "--k", text)
}

/// A float axis (`0.1,0.2,0.3`) of fractions in [0, 1) named `name` over `key`.
pub fn rate_axis(name: &str, key: &str, what: &'static str, text: &str) -> Result<Axis, PipelineError> {
    let values = parse_rate_grid(what, text)?;
    Ok(Axis { name: name.into(), key: key.into(), values: values.into_iter().map(Value::from).collect() })
}

fn int_axis(name: &str, key: &str, what: &'static str, text: &str) -> Result<Axis, PipelineError> {
    let values = parse_int_grid(what, text)?;
    Ok(Axis { name: name.into(), key: key.into(), values: values.into_iter().map(Value::from).collect() })
}

/// Parses `NAME=KEY=VALUES` or `KEY=VALUES` (NAME defaults to the key's last part): VALUES is
/// an integer range (`4..12`) or a comma list of JSON scalars (numbers, `true`, strings).
pub fn parse_axis(text: &str) -> Result<Axis, PipelineError> {
    let bad = |reason: &str| PipelineError::Request(format!("axis `{text}`: {reason}"));
    let parts: Vec<&str> = text.splitn(3, '=').collect();
    let (name, key, values) = match parts[..] {
        [key, values] => (key.rsplit('.').next().unwrap_or(key), key, values),
        [name, key, values] => (name, key, values),
        _ => return Err(bad("expected NAME=KEY=VALUES or KEY=VALUES")),
    };
    if key.is_empty() || name.is_empty() || key.split('.').any(str::is_empty) {
        return Err(bad("empty name or key part"));
    }
    let values: Vec<Value> = if values.contains("..") {
        parse_int_grid("--axis", values)?.into_iter().map(Value::from).collect()
    } else {
        values
            .split(',')
            .map(str::trim)
            .map(|v| {
                if v.is_empty() {
                    return Err(bad("empty value"));
                }
                Ok(serde_json::from_str::<Value>(v).unwrap_or_else(|_| Value::from(v)))
            })
            .collect::<Result<_, _>>()?
    };
    Ok(Axis { name: name.into(), key: key.into(), values })
}

/// Parses a noise protocol name.
pub fn parse_noise_protocol(name: &str) -> Result<NoiseProtocol, PipelineError> {
    match name {
        "symmetric" => Ok(NoiseProtocol::Symmetric),
        "class-dependent" => Ok(NoiseProtocol::ClassDependent),
        other => Err(PipelineError::Request(format!(
            "--noise-protocol {other}: expected symmetric or class-dependent"
        ))),
    }
}

/// Validates a request: the grid expanded with the seed axis, every cell a valid configuration,
/// the devices present and the data usable by every distinct data set-up of the cells. Nothing
/// is written.
pub fn plan_sweep(request: &SweepRequest) -> Result<PlannedSweep, PipelineError> {
    let mut settings = request.base.clone();
    let mut axes = request.axes.clone();
    if settings.noise_file.is_some()
        && (request.noise_rate.is_some() || axes.iter().any(|a| a.key.starts_with("noise.")))
    {
        return Err(PipelineError::Request(
            "--noise-file replaces the drawn label noise: it cannot be combined with a noise axis or --noise"
                .into(),
        ));
    }
    if let Some(rate) = request.noise_rate {
        let c = &request.cells;
        settings.noise = Some(NoiseSpec { protocol: c.noise_protocol, rate, seed: c.noise_seed });
    }
    if request.cells.seeds == 0 {
        return Err(PipelineError::Request("--seeds must be at least 1".into()));
    }
    axes.push(Axis {
        name: SEED_AXIS.into(),
        key: SEED_AXIS.into(),
        values: (0..request.cells.seeds).map(Value::from).collect(),
    });
    let base = serde_json::to_value(&settings)
        .map_err(|e| PipelineError::Request(format!("serialising the training settings: {e}")))?;
    let plan = SweepPlan::new(&base, axes)?;
    // Every cell must be a valid configuration before anything runs.
    for cell in &plan.cells {
        TrainSettings::from_value(cell.config.clone())
            .and_then(TrainSettings::validate)
            .map_err(|source| PipelineError::Cell { cell: describe(cell), source })?;
    }
    let out = request
        .out
        .clone()
        .unwrap_or_else(|| request.sweeps_dir.join(format!("{}-{}", request.command, plan_id(&plan))));
    let workers = workers(&request.cells.devices, request.cells.jobs)?;
    preflight(&plan, &request.data, &request.cells.devices)?;
    for column in &request.cells.by {
        if !grefel_train::data::GROUP_COLUMNS.contains(&column.as_str()) {
            return Err(PipelineError::Request(format!(
                "--by {column}: not a column evaluation can group by ({})",
                grefel_train::data::GROUP_COLUMNS.join(", ")
            )));
        }
    }
    Ok(PlannedSweep {
        plan,
        out,
        workers,
        data: request.data.clone(),
        settings,
        by: request.cells.by.clone(),
    })
}

/// The id of a plan: the first 12 hex digits of the SHA-256 of its cell ids, in order.
pub fn plan_id(plan: &SweepPlan) -> String {
    let ids: String = plan.cells.iter().map(|c| c.id.as_str()).collect();
    grefel_shards::hash::sha256_hex(ids.as_bytes())[..12].to_string()
}

/// Freezes the plan, runs every unfinished cell (logging each) and renders the report of every
/// finished cell. Failed cells are logged and listed in the summary; the report covers the
/// others (the caller turns failures into [`PipelineError::CellsFailed`] once it has shown it).
pub fn run_sweep(planned: &PlannedSweep) -> Result<SweepOutcome, PipelineError> {
    let runner = Logged { inner: TrainCellRunner::new(planned.data.clone()), plan: &planned.plan };
    let summary = run_plan(&planned.plan, &planned.out, &planned.workers, &runner)?;
    for (id, error) in &summary.failed {
        tracing::error!(cell = %id, "{error}");
    }
    if !planned.by.is_empty() {
        evaluate_cells(planned)?;
    }
    let report = grefel_report::render_by(&planned.out, &grefel_report::ReportConfig::PAPER, &planned.by)?;
    Ok(SweepOutcome { summary, report })
}

/// Evaluates every finished cell's run by the sweep's `by` columns (on the test split, the
/// primary output the report tabulates), unless its evaluation already has them.
fn evaluate_cells(planned: &PlannedSweep) -> Result<(), PipelineError> {
    for cell in &planned.plan.cells {
        evaluate_cell(&planned.out, cell, &planned.data, &planned.by)?;
    }
    Ok(())
}

/// Evaluates a finished cell's run (sweep folder `out`) by the columns `by`, on the test split and
/// the primary output the report tabulates, unless its evaluation already has them. An
/// unfinished cell is left alone.
pub fn evaluate_cell(out: &Path, cell: &Cell, data: &Path, by: &[String]) -> Result<(), PipelineError> {
    use crate::evaluate::{EvaluateRequest, default_dir, evaluate_run};
    use grefel_artifacts::files::EVALUATION;
    if by.is_empty() {
        return Ok(());
    }
    let output = grefel_report::Head::Primary.name();
    let cell_dir = SweepPlan::cell_dir(out, cell);
    let Some(record) = CellMetrics::read(&cell_dir)? else { return Ok(()) };
    let run = cell_dir.join(&record.run);
    let dataset = cell.config.get("dataset").and_then(Value::as_str).unwrap_or_default();
    let path = default_dir(&run, dataset, grefel_train::saved::EvalSplit::Test).join(EVALUATION);
    let current = grefel_artifacts::read_json_if_exists::<grefel_artifacts::Evaluation>(&path)
        .ok()
        .flatten()
        .is_some_and(|e| e.output == output && by.iter().all(|c| e.groups.contains_key(c)));
    if current {
        return Ok(());
    }
    let request = EvaluateRequest {
        run,
        data: data.to_path_buf(),
        dataset: None,
        split: Some("test".into()),
        output: Some(output.into()),
        by: by.to_vec(),
        out: None,
        bootstrap: grefel_report::BootstrapOptions::default(),
        device: "cpu".into(),
    };
    evaluate_run(&request)
        .map_err(|e| PipelineError::Request(format!("evaluating cell {}: {e}", describe(cell))))?;
    Ok(())
}

/// Everything that would make every cell fail, checked before the plan is frozen (nothing is
/// written when it fails): each device exists, and each distinct data set-up of the cells (the
/// dataset, its protocol, class view and landmarks; noise is drawn later) is usable.
fn preflight(plan: &SweepPlan, data: &Path, devices: &[String]) -> Result<(), PipelineError> {
    for d in devices {
        grefel_model::device_from_str(d)
            .map_err(|source| PipelineError::Device { device: d.clone(), source })?;
    }
    let mut seen = std::collections::BTreeSet::new();
    for cell in &plan.cells {
        let fail = |source| PipelineError::Cell { cell: describe(cell), source };
        let settings = TrainSettings::from_value(cell.config.clone()).map_err(fail)?;
        let dataset = settings.dataset.clone();
        let (config, _) = match settings.resolve(data) {
            Ok(c) => c,
            Err(grefel_train::TrainError::MissingDataset { dir }) => {
                return Err(PipelineError::MissingDataset { dir, data: data.to_path_buf(), dataset });
            }
            Err(e) => return Err(fail(e)),
        };
        // The data set-up of a cell: what `data::check` looks at.
        let key = (
            config.dataset.clone(),
            format!("{:?}", config.class_view),
            config.needs_landmarks(),
            format!("{:?} {:?}", config.split, config.landmark_quality),
            config.soft_labels,
            format!("{:?}", config.noise_file),
            config.val_fraction.to_bits(),
            config.seed,
        );
        if seen.insert(key) {
            grefel_train::data::check(&config, data).map_err(fail)?;
        }
    }
    Ok(())
}

/// One entry per worker: each `cpu` device `jobs` times (default: the number of cores), every
/// other device once.
pub fn workers(devices: &[String], jobs: Option<usize>) -> Result<Vec<String>, PipelineError> {
    if jobs == Some(0) {
        return Err(PipelineError::Request("--jobs 0: at least one cell must run".into()));
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let jobs = jobs.unwrap_or(cores);
    Ok(devices
        .iter()
        .flat_map(|d| {
            let n = if grefel_model::is_flex(d) { jobs } else { 1 };
            std::iter::repeat_n(d.clone(), n)
        })
        .collect())
}

/// `[4, 5, 6]` as `4,5,6`.
fn values(values: &[Value]) -> String {
    values.iter().map(Value::to_string).collect::<Vec<_>>().join(",")
}

/// `k=4 noise=0.1 seed=0`.
pub fn describe(cell: &Cell) -> String {
    cell.coords.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
}

/// Logs each cell as it starts and ends.
pub(crate) struct Logged<'a> {
    pub(crate) inner: TrainCellRunner<'static>,
    pub(crate) plan: &'a SweepPlan,
}

impl CellRunner for Logged<'_> {
    fn run(&self, cell: &Cell, dir: &Path, device: &str) -> Result<CellMetrics, CellFailure> {
        let index = self.plan.cells.iter().position(|c| c.id == cell.id).unwrap_or(0);
        let total = self.plan.cells.len();
        tracing::info!("cell {}/{} {} on {device}: training", index + 1, total, describe(cell));
        let m = self.inner.run(cell, dir, device)?;
        tracing::info!(
            "cell {}/{} {}: test acc {:.4} (ŷ {:.4}), correction rate {}, {}s",
            index + 1,
            total,
            describe(cell),
            m.test.primary.accuracy,
            m.test.corrected.accuracy,
            m.correction_rate.map_or_else(|| "-".to_string(), |r| format!("{r:.3}")),
            m.seconds
        );
        Ok(m)
    }

    fn shares_device(&self, device: &str) -> bool {
        self.inner.shares_device(device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(data: &Path, axes: Vec<Axis>) -> SweepRequest {
        SweepRequest {
            command: "sweep-anchors".into(),
            axes,
            base: TrainSettings::new("nosuch"),
            noise_rate: Some(0.0),
            cells: CellOptions {
                seeds: 2,
                noise_protocol: NoiseProtocol::Symmetric,
                noise_seed: 0,
                devices: vec!["cpu".into()],
                jobs: Some(1),
                by: Vec::new(),
            },
            out: None,
            sweeps_dir: data.join("sweeps"),
            data: data.to_path_buf(),
        }
    }

    #[test]
    fn axes_parse_from_text() {
        let a = parse_axis("lr=optimizer.lr=0.001,0.003").expect("named axis");
        assert_eq!((a.name.as_str(), a.key.as_str()), ("lr", "optimizer.lr"));
        assert_eq!(a.values, vec![Value::from(0.001), Value::from(0.003)]);
        let k = parse_axis("model.reliability.anchors_per_class=4..6").expect("range");
        assert_eq!(k.name, "anchors_per_class");
        assert_eq!(k.values, vec![Value::from(4), Value::from(5), Value::from(6)]);
        let s = parse_axis("preset=tiny,micro").expect("strings");
        assert_eq!(s.values, vec![Value::from("tiny"), Value::from("micro")]);
        for bad in ["nokey", "a..b=1", "x=1,,2", "=1"] {
            assert!(parse_axis(bad).is_err(), "{bad}");
        }
        assert_eq!(anchors_axis("4..12").expect("k").values.len(), 9);
        assert!(anchors_axis("12..4").is_err());
        assert!(parse_noise_protocol("class-dependent").is_ok());
        assert!(parse_noise_protocol("uniform").expect_err("unknown").to_string().contains("symmetric"));
    }

    /// A request that cannot run is refused before anything is written, naming the cause.
    #[test]
    fn bad_requests_write_nothing() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let k = anchors_axis("4..5").expect("k");
        let noise = rate_axis("noise", "noise.rate", "--noise", "0.1").expect("noise");
        let e = plan_sweep(&request(tmp.path(), vec![k.clone(), noise.clone()])).expect_err("not prepared");
        assert!(matches!(e, PipelineError::MissingDataset { .. }), "{e}");
        assert!(e.to_string().contains("cargo xtask prepare"), "{e}");

        let mut no_seeds = request(tmp.path(), vec![k.clone()]);
        no_seeds.cells.seeds = 0;
        assert!(plan_sweep(&no_seeds).expect_err("no seeds").to_string().contains("--seeds"));

        let mut both = request(tmp.path(), vec![k.clone(), noise]);
        both.base.noise_file = Some(tmp.path().join("noise01.txt"));
        assert!(plan_sweep(&both).expect_err("noise file and axis").to_string().contains("--noise-file"));

        let mut device = request(tmp.path(), vec![k.clone()]);
        device.cells.devices = vec!["cuda:7x".into()];
        assert!(plan_sweep(&device).expect_err("no such device").to_string().contains("cuda:7x"));

        let mut invalid = request(tmp.path(), vec![k]);
        invalid.base.epochs = 0;
        assert!(matches!(plan_sweep(&invalid), Err(PipelineError::Cell { .. })));
        assert!(std::fs::read_dir(tmp.path()).expect("tempdir").next().is_none(), "nothing written");
    }

    /// The plan's grid ends with the seed axis, and its id depends only on the cells.
    #[test]
    fn plans_end_with_the_seed_axis_and_have_stable_ids() {
        let base = serde_json::to_value(TrainSettings::new("synthetic")).expect("settings");
        let axes = vec![
            anchors_axis("4,5").expect("k"),
            Axis {
                name: SEED_AXIS.into(),
                key: SEED_AXIS.into(),
                values: vec![Value::from(0), Value::from(1)],
            },
        ];
        let plan = SweepPlan::new(&base, axes.clone()).expect("plan");
        assert_eq!(plan.cells.len(), 4);
        assert_eq!(plan_id(&plan), plan_id(&SweepPlan::new(&base, axes).expect("again")));
        assert_eq!(plan_id(&plan).len(), 12);
        let other = SweepPlan::new(&base, vec![anchors_axis("4,6").expect("k")]).expect("other");
        assert_ne!(plan_id(&plan), plan_id(&other));
        assert_eq!(workers(&["cpu".into(), "cuda:0".into()], Some(3)).expect("workers").len(), 4);
        assert!(workers(&["cpu".into()], Some(0)).is_err());
    }
}
