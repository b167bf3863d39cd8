//! `cargo xtask sweep-anchors`, `sweep-smoothing` and `sweep`: grids of training runs.
//!
//! The grid is resolved and printed first, then frozen as `plan.json` in the sweep folder (each
//! cell's complete training configuration and its id); cells run one per device (`--jobs N` at
//! once on the CPU backend, each on a one-thread pool of its own), finished cells
//! are never rerun, and a killed sweep resumes where it stopped (inside the interrupted cell, from
//! its last epoch checkpoint). The report is rendered from the stored results at the end; the
//! last line printed is the path of `table.csv`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use grefel_experiments::grid::{parse_int_grid, parse_rate_grid};
use grefel_experiments::noise::{NoiseProtocol, NoiseSpec};
use grefel_experiments::sweep::{Axis, Cell, CellRunner, Plan, run_plan};
use grefel_train::cell::TrainCellRunner;
use serde_json::{Value, json};

use crate::pipeline::Pipeline;

/// Options every sweep shares.
#[derive(Debug, Args)]
pub struct SweepOptions {
    /// Pipeline file: its `[train]` table is the base configuration of every cell, its `[synth]`
    /// and `[prepare]` stages make the data (run first; no-ops when up to date).
    #[arg(long, default_value = "pipelines/sweep-synthetic.toml")]
    pipeline: PathBuf,
    /// Prepared dataset to train on [default: the pipeline's, the embedded synthetic dataset];
    /// another dataset than the pipeline's uses its own class view unless --class-view is given.
    #[arg(long)]
    dataset: Option<String>,
    /// Class view of every cell [default: the pipeline's, else the dataset's].
    #[arg(long)]
    class_view: Option<String>,
    /// A noisy-label file replacing every cell's training labels (EAC's noise01.txt …); not with
    /// a noise axis or rate.
    #[arg(long)]
    noise_file: Option<PathBuf>,
    /// Model preset [default: the pipeline's].
    #[arg(long)]
    preset: Option<String>,
    /// Epochs per cell [default: the pipeline's].
    #[arg(long)]
    epochs: Option<usize>,
    /// Replicates: seeds 0..N of initialisation, sampling and augmentation.
    #[arg(long, default_value_t = 1)]
    seeds: u64,
    /// Noise protocol of the noise axis: symmetric (SCN/EAC) or class-dependent (LA-Net map).
    #[arg(long, default_value = "symmetric")]
    noise_protocol: String,
    /// Seed of the noise draws (one draw per rate, shared by the replicates).
    #[arg(long, default_value_t = 0)]
    noise_seed: u64,
    /// Sweep folder [default: runs/sweeps/<command>-<plan id>].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Device; repeat to run cells in parallel, one per device (cpu, libtorch-cpu, cuda:N; each
    /// device at most once).
    #[arg(long = "device", default_value = "cpu")]
    devices: Vec<String>,
    /// Cells run at once on the CPU backend (`cpu`), each on one thread of its own
    /// [default: the number of cores]. A cell's numbers do not depend on it.
    #[arg(long)]
    jobs: Option<usize>,
    /// Folder of the prepared datasets [default: the pipeline's [prepare].out, else data].
    #[arg(long)]
    data: Option<PathBuf>,
}

/// Arguments of `sweep-anchors`.
#[derive(Debug, Args)]
pub struct AnchorsArgs {
    /// Anchors per class K: `4..12` (both ends), `4..=12`, or `4,8,10`.
    #[arg(long)]
    k: String,
    /// Symmetric label-noise rates of the training labels (`0` is the clean run).
    #[arg(long, default_value = "0.1,0.2,0.3")]
    noise: String,
    #[command(flatten)]
    options: SweepOptions,
}

/// Arguments of `sweep-smoothing`.
#[derive(Debug, Args)]
pub struct SmoothingArgs {
    /// Anchors per class K: `4..12` (both ends), `4..=12`, or `4,8,10`.
    #[arg(long)]
    k: String,
    /// Label-smoothing ε values of the classification target.
    #[arg(long, default_value = "0,0.05,0.11,0.2")]
    eps: String,
    /// Label-noise rate applied in every cell (`0`: clean labels).
    #[arg(long, default_value_t = 0.0)]
    noise: f64,
    #[command(flatten)]
    options: SweepOptions,
}

/// Arguments of `sweep`.
#[derive(Debug, Args)]
pub struct GeneralArgs {
    /// An axis `NAME=KEY=VALUES` or `KEY=VALUES` (NAME defaults to the key's last part): KEY is a
    /// dotted key of the training configuration (`model.reliability.anchors_per_class`,
    /// `optimizer.lr`, `noise.rate`, …), VALUES an integer range (`4..12`) or a comma list of
    /// numbers, `true`/`false` or strings. Repeatable; the first axis is the table's rows, the
    /// second its columns.
    #[arg(long = "axis", required = true)]
    axes: Vec<String>,
    /// Label-noise rate applied in every cell unless an axis sets `noise.rate`.
    #[arg(long)]
    noise: Option<f64>,
    #[command(flatten)]
    options: SweepOptions,
}

/// Runs `sweep-anchors`.
pub fn anchors(args: AnchorsArgs) -> Result<()> {
    anchors_with(args, |table| println!("{}", table.display()))
}

/// Runs `sweep-anchors`, handing the path of `table.csv` to `last` (the command prints it).
pub fn anchors_with(args: AnchorsArgs, last: impl FnOnce(&Path)) -> Result<()> {
    let k = int_axis("k", ANCHORS_KEY, &args.k)?;
    let rates = parse_rate_grid("--noise", &args.noise)?;
    let noise = Axis {
        name: "noise".into(),
        key: "noise.rate".into(),
        values: rates.iter().map(|&r| json!(r)).collect(),
    };
    let table = run("sweep-anchors", &args.options, vec![k, noise], Some(0.0))?;
    last(&table);
    Ok(())
}

/// Runs `sweep-smoothing`.
pub fn smoothing(args: SmoothingArgs) -> Result<()> {
    let k = int_axis("k", ANCHORS_KEY, &args.k)?;
    let eps = parse_rate_grid("--eps", &args.eps)?;
    let eps = Axis {
        name: "eps".into(),
        key: "model.loss.label_smoothing".into(),
        values: eps.iter().map(|&e| json!(e)).collect(),
    };
    let table =
        run("sweep-smoothing", &args.options, vec![k, eps], (args.noise > 0.0).then_some(args.noise))?;
    println!("{}", table.display());
    Ok(())
}

/// Runs `sweep`.
pub fn general(args: GeneralArgs) -> Result<()> {
    let axes = args.axes.iter().map(|a| parse_axis(a)).collect::<Result<Vec<_>>>()?;
    let noise_axis = axes.iter().any(|a| a.key.starts_with("noise."));
    let table = run("sweep", &args.options, axes, if noise_axis { Some(0.0) } else { args.noise })?;
    println!("{}", table.display());
    Ok(())
}

/// The configuration key of K.
const ANCHORS_KEY: &str = "model.reliability.anchors_per_class";

fn int_axis(name: &str, key: &str, text: &str) -> Result<Axis> {
    let values = parse_int_grid("--k", text)?;
    Ok(Axis { name: name.into(), key: key.into(), values: values.into_iter().map(|v| json!(v)).collect() })
}

/// Parses `NAME=KEY=VALUES` or `KEY=VALUES`.
fn parse_axis(text: &str) -> Result<Axis> {
    let parts: Vec<&str> = text.splitn(3, '=').collect();
    let (name, key, values) = match parts[..] {
        [key, values] => (key.rsplit('.').next().unwrap_or(key), key, values),
        [name, key, values] => (name, key, values),
        _ => bail!("axis `{text}`: expected NAME=KEY=VALUES or KEY=VALUES"),
    };
    if key.is_empty() || name.is_empty() || key.split('.').any(str::is_empty) {
        bail!("axis `{text}`: empty name or key part");
    }
    let values: Vec<Value> = if values.contains("..") {
        parse_int_grid("--axis", values)?.into_iter().map(|v| json!(v)).collect()
    } else {
        values
            .split(',')
            .map(str::trim)
            .map(|v| {
                if v.is_empty() {
                    bail!("axis `{text}`: empty value");
                }
                Ok(serde_json::from_str::<Value>(v).unwrap_or_else(|_| json!(v)))
            })
            .collect::<Result<_>>()?
    };
    Ok(Axis { name: name.into(), key: key.into(), values })
}

/// Resolves the base configuration, freezes the plan, runs it and renders the report; returns
/// the path of `table.csv`.
fn run(
    command: &str,
    options: &SweepOptions,
    mut axes: Vec<Axis>,
    noise_rate: Option<f64>,
) -> Result<PathBuf> {
    let start = Instant::now();
    let root = crate::workspace_root();
    let resolve = |p: &PathBuf| if p.is_absolute() { p.clone() } else { root.join(p) };
    let pipeline_path = resolve(&options.pipeline);
    let pipeline = Pipeline::load(&pipeline_path, &root)?;
    let overrides = crate::train::TrainOverrides {
        dataset: options.dataset.clone(),
        preset: options.preset.clone(),
        class_view: options.class_view.clone(),
        epochs: options.epochs,
        seed: None,
        noise_file: options.noise_file.as_ref().map(resolve),
    };
    let base = pipeline
        .train
        .clone()
        .with_context(|| format!("pipeline {} has no [train] table", pipeline_path.display()))?;
    let mut settings = overrides.apply(Some(base), &pipeline_path)?;
    if settings.noise_file.is_some()
        && (noise_rate.is_some() || axes.iter().any(|a| a.key.starts_with("noise.")))
    {
        bail!(
            "--noise-file replaces the drawn label noise: it cannot be combined with a noise axis or --noise"
        );
    }
    if let Some(rate) = noise_rate {
        let protocol = match options.noise_protocol.as_str() {
            "symmetric" => NoiseProtocol::Symmetric,
            "class-dependent" => NoiseProtocol::ClassDependent,
            other => bail!("--noise-protocol {other}: expected symmetric or class-dependent"),
        };
        settings.noise = Some(NoiseSpec { protocol, rate, seed: options.noise_seed });
    }
    if options.seeds == 0 {
        bail!("--seeds must be at least 1");
    }
    axes.push(Axis {
        name: "seed".into(),
        key: "seed".into(),
        values: (0..options.seeds).map(|s| json!(s)).collect(),
    });
    let base = serde_json::to_value(&settings)?;
    let plan = Plan::new(&base, axes)?;
    // Every cell must be a valid configuration before anything runs.
    for cell in &plan.cells {
        grefel_train::TrainSettings::from_value(cell.config.clone())
            .and_then(grefel_train::TrainSettings::validate)
            .with_context(|| format!("cell {}", describe(cell)))?;
    }
    let ids: String = plan.cells.iter().map(|c| c.id.as_str()).collect();
    let plan_id = &grefel_shards::hash::sha256_hex(ids.as_bytes())[..12];
    let out = options
        .out
        .as_ref()
        .map_or_else(|| root.join("runs/sweeps").join(format!("{command}-{plan_id}")), resolve);
    let grid: Vec<String> = plan.axes.iter().map(|a| format!("{} {}", a.name, values(&a.values))).collect();
    let workers = workers(&options.devices, options.jobs)?;
    println!(
        "{command}: {} cells = {} on {} [{}], dataset {}, preset {}, {} epochs -> {}",
        plan.cells.len(),
        grid.join(" × "),
        if workers.len() == 1 { "worker" } else { "workers" },
        workers.join(", "),
        settings.dataset,
        settings.preset,
        settings.epochs,
        out.display()
    );

    if pipeline.prepare.as_ref().is_some_and(|p| p.dataset.as_deref() == Some(settings.dataset.as_str()))
        && options.data.is_none()
    {
        println!("{}", crate::prepare::prepare_pipeline(&pipeline)?);
    }
    let data = options
        .data
        .as_ref()
        .map(resolve)
        .or(pipeline.prepare.as_ref().map(|p| p.out.clone()))
        .unwrap_or_else(|| root.join("data"));

    preflight(&plan, &data, &options.devices)?;
    let inner = TrainCellRunner::new(data);
    let runner = Logged { inner, plan: &plan };
    let summary = run_plan(&plan, &out, &workers, &runner)?;
    for (id, error) in &summary.failed {
        tracing::error!(cell = %id, "{error}");
    }
    let report = grefel_report::render(&out, &grefel_report::ReportConfig::PAPER)
        .with_context(|| format!("rendering the report of {}", out.display()))?;
    println!("{}", report.table.to_markdown());
    println!(
        "{command}: {} cells ({} already done, {} ran, {} failed) in {:.0}s; {report}",
        summary.cells,
        summary.already_done,
        summary.ran,
        summary.failed.len(),
        start.elapsed().as_secs_f64()
    );
    if !summary.failed.is_empty() {
        bail!("{} of {} cells failed (see above); rerun to retry them", summary.failed.len(), summary.cells);
    }
    Ok(report.table_csv)
}

/// Everything that would make every cell fail, checked before the plan is frozen (nothing is
/// written when it fails): each device exists, and each distinct data set-up of the cells (the
/// dataset, its protocol, class view and landmarks; noise is drawn later) is usable.
fn preflight(plan: &Plan, data: &Path, devices: &[String]) -> Result<()> {
    for d in devices {
        grefel_model::device_from_str(d).with_context(|| format!("--device {d}"))?;
    }
    let mut seen = std::collections::BTreeSet::new();
    for cell in &plan.cells {
        let settings = grefel_train::TrainSettings::from_value(cell.config.clone())?;
        let (config, _) = match settings.resolve(data) {
            Ok(c) => c,
            Err(grefel_train::TrainError::MissingDataset { dir }) => bail!(
                "no prepared dataset at {} (manifest.json missing): prepare it first, `cargo xtask prepare --dataset <adapter> --root <its root> --out {} --name {}`",
                dir.display(),
                data.display(),
                cell.config["dataset"].as_str().unwrap_or("?")
            ),
            Err(e) => return Err(e).with_context(|| format!("cell {}", describe(cell))),
        };
        let key = json!({
            "dataset": config.dataset, "view": config.class_view, "landmarks": config.needs_landmarks(),
            "split": config.split, "quality": config.landmark_quality, "soft": config.soft_labels,
            "noise_file": config.noise_file, "val_fraction": config.val_fraction, "seed": config.seed,
        })
        .to_string();
        if seen.insert(key) {
            grefel_train::data::check(&config, data).with_context(|| format!("cell {}", describe(cell)))?;
        }
    }
    Ok(())
}

/// One entry per worker: each `cpu` device `jobs` times (default: the number of cores), every
/// other device once.
fn workers(devices: &[String], jobs: Option<usize>) -> Result<Vec<String>> {
    if jobs == Some(0) {
        bail!("--jobs 0: at least one cell must run");
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
fn describe(cell: &Cell) -> String {
    cell.coords.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
}

/// Logs each finished cell.
struct Logged<'a> {
    inner: TrainCellRunner<'static>,
    plan: &'a Plan,
}

impl CellRunner for Logged<'_> {
    fn run(&self, cell: &Cell, dir: &Path, device: &str) -> std::result::Result<Value, String> {
        let index = self.plan.cells.iter().position(|c| c.id == cell.id).unwrap_or(0);
        let total = self.plan.cells.len();
        tracing::info!("cell {}/{} {} on {device}: training", index + 1, total, describe(cell));
        let metrics = self.inner.run(cell, dir, device)?;
        tracing::info!(
            "cell {}/{} {}: test acc {:.4} (ŷ {:.4}), correction rate {}, {}s",
            index + 1,
            total,
            describe(cell),
            metrics["test"]["primary"]["accuracy"].as_f64().unwrap_or(f64::NAN),
            metrics["test"]["corrected"]["accuracy"].as_f64().unwrap_or(f64::NAN),
            metrics["correction_rate"].as_f64().map_or_else(|| "-".to_string(), |r| format!("{r:.3}")),
            metrics["seconds"]
        );
        Ok(metrics)
    }

    fn shares_device(&self, device: &str) -> bool {
        self.inner.shares_device(device)
    }
}

/// Arguments of `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Sweep folder (holding plan.json and cells/).
    dir: PathBuf,
}

/// Runs `report`: regenerates the tables and plots of a sweep from its stored results.
pub fn report(args: ReportArgs) -> Result<()> {
    let report = grefel_report::render(&args.dir, &grefel_report::ReportConfig::PAPER)
        .with_context(|| format!("rendering the report of {}", args.dir.display()))?;
    println!("{}", report.table.to_markdown());
    println!("report: {report}");
    println!("{}", report.table_csv.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Command {
        #[command(flatten)]
        args: AnchorsArgs,
    }

    /// A sweep that cannot run stops before it writes anything, naming the cause and the fix.
    #[test]
    fn a_sweep_on_an_unprepared_dataset_writes_nothing() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (data, out) = (tmp.path().join("data"), tmp.path().join("sweep"));
        let parse = |extra: &[&str]| {
            let mut argv = vec!["sweep-anchors", "--k", "4..5", "--noise", "0.1", "--jobs", "1"];
            argv.extend_from_slice(extra);
            Command::try_parse_from(argv).expect("arguments").args
        };
        let (d, o) = (data.to_str().expect("utf-8"), out.to_str().expect("utf-8"));
        let err = anchors_with(parse(&["--dataset", "nosuch", "--data", d, "--out", o]), |_| {})
            .expect_err("no prepared dataset");
        let message = format!("{err:#}");
        assert!(message.contains("cargo xtask prepare") && message.contains("nosuch"), "{message}");
        assert!(!out.exists(), "no sweep folder");

        let err = anchors_with(
            parse(&["--dataset", "nosuch", "--data", d, "--out", o, "--device", "cuda:7x"]),
            |_| {},
        )
        .expect_err("no such device");
        assert!(format!("{err:#}").contains("cuda:7x"), "{err:#}");
        assert!(!out.exists(), "no sweep folder");

        let noise = tmp.path().join("noise01.txt");
        std::fs::write(&noise, "train_00001.jpg 1\n").expect("noise file");
        let n = noise.to_str().expect("utf-8");
        let err = anchors_with(parse(&["--data", d, "--out", o, "--noise-file", n]), |_| {})
            .expect_err("a noise file with a noise axis");
        assert!(format!("{err:#}").contains("--noise-file"), "{err:#}");
        assert!(!out.exists(), "no sweep folder");
    }
}
