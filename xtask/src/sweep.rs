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

use anyhow::{Context, Result};
use clap::Args;
use grefel_artifacts::Axis;
use grefel_pipeline::sweep::{
    CellOptions, SMOOTHING_KEY, SweepOutcome, anchors_axis, parse_axis, parse_noise_protocol, rate_axis,
    run_sweep,
};
use grefel_pipeline::{SweepSetup, TrainOverrides, sweep_from_pipeline};

use crate::progress::Bar;

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
    /// Evaluate every finished cell by these columns (gender, race, age_group, subject): each
    /// group's accuracy and the gaps go into table_full.csv, with a gap table per column.
    #[arg(long, value_delimiter = ',')]
    by: Vec<String>,
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
    let axes = vec![anchors_axis(&args.k)?, rate_axis("noise", "noise.rate", "--noise", &args.noise)?];
    let table = run("sweep-anchors", &args.options, axes, Some(0.0))?;
    last(&table);
    Ok(())
}

/// Runs `sweep-smoothing`.
pub fn smoothing(args: SmoothingArgs) -> Result<()> {
    let axes = vec![anchors_axis(&args.k)?, rate_axis("eps", SMOOTHING_KEY, "--eps", &args.eps)?];
    let table = run("sweep-smoothing", &args.options, axes, (args.noise > 0.0).then_some(args.noise))?;
    println!("{}", table.display());
    Ok(())
}

/// Runs `sweep`.
pub fn general(args: GeneralArgs) -> Result<()> {
    let axes = args.axes.iter().map(|a| parse_axis(a)).collect::<Result<Vec<_>, _>>()?;
    let noise_axis = axes.iter().any(|a| a.key.starts_with("noise."));
    let table = run("sweep", &args.options, axes, if noise_axis { Some(0.0) } else { args.noise })?;
    println!("{}", table.display());
    Ok(())
}

/// Plans from the options (the pipeline's `[train]` table with the overrides; the pipeline's
/// dataset prepared first when the sweep trains on it), runs and reports; returns the path of
/// `table.csv`.
fn run(command: &str, options: &SweepOptions, axes: Vec<Axis>, noise_rate: Option<f64>) -> Result<PathBuf> {
    let start = Instant::now();
    let setup = SweepSetup {
        root: crate::workspace_root(),
        pipeline: options.pipeline.clone(),
        overrides: TrainOverrides {
            dataset: options.dataset.clone(),
            preset: options.preset.clone(),
            class_view: options.class_view.clone(),
            epochs: options.epochs,
            seed: None,
            noise_file: options.noise_file.clone(),
        },
        data: options.data.clone(),
        out: options.out.clone(),
        cells: CellOptions {
            seeds: options.seeds,
            noise_protocol: parse_noise_protocol(&options.noise_protocol)?,
            noise_seed: options.noise_seed,
            devices: options.devices.clone(),
            jobs: options.jobs,
            by: options.by.clone(),
        },
    };
    let from = sweep_from_pipeline(&setup, command, axes, noise_rate, &Bar::new("prepare"))?;
    if let Some(line) = &from.prepared {
        println!("{line}");
    }
    println!("{}", from.planned.describe(command));
    let outcome = run_sweep(&from.planned)?;
    print_outcome(command, &outcome, start);
    outcome.check()?;
    Ok(outcome.report.table_csv.clone())
}

/// Prints a finished sweep's table and summary line.
pub fn print_outcome(command: &str, outcome: &SweepOutcome, start: Instant) {
    println!("{}", outcome.report.table.to_markdown());
    println!("{}", outcome.summary_line(command, start.elapsed().as_secs_f64()));
}

/// Arguments of `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Sweep folder (holding plan.json and cells/).
    dir: PathBuf,
    /// Add the group metrics of these columns (the cells must have been evaluated by them, as
    /// the sweep commands' --by does).
    #[arg(long, value_delimiter = ',')]
    by: Vec<String>,
}

/// Runs `report`: regenerates the tables and plots of a sweep from its stored results.
pub fn report(args: ReportArgs) -> Result<()> {
    let report = grefel_report::render_by(&args.dir, &grefel_report::ReportConfig::PAPER, &args.by)
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
