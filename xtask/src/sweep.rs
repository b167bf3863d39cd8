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
use std::time::Duration;

use grefel_pipeline::cluster::{SlurmSweep, cell_device, check_report_job, submit_sweep, wait_sweep};
use grefel_pipeline::sweep::{
    CellOptions, PlannedSweep, SMOOTHING_KEY, SweepOutcome, anchors_axis, parse_axis, parse_noise_protocol,
    rate_axis, run_sweep,
};
use grefel_pipeline::{SweepSetup, TrainOverrides, sweep_from_pipeline};
use grefel_slurm::SlurmSettings;

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
    #[command(flatten)]
    executor: ExecutorOptions,
}

/// Where a sweep's cells run.
#[derive(Debug, Args)]
pub struct ExecutorOptions {
    /// Where the cells run: `local` (this machine, --device/--jobs) or `slurm` (one `sbatch
    /// --array` task per unfinished cell, then a report job; the sweep and data folders must be on
    /// a file system the compute nodes share).
    #[arg(long, default_value = "local", value_parser = ["local", "slurm"])]
    executor: String,
    /// With --executor slurm: wait for the report job, showing cells done / running / failed, then
    /// print the table like a local sweep.
    #[arg(long)]
    wait: bool,
    /// Slurm partition of every job [default: the pipeline's [slurm] partition, else the cluster's].
    #[arg(long)]
    slurm_partition: Option<String>,
    /// Time limit of each cell's task (`--time`: 45, 2:00:00, 1-12:00).
    #[arg(long)]
    slurm_time: Option<String>,
    /// GPUs per cell (`--gres=gpu:N`); each cell trains on cuda:0 of its allocation. 0: CPU cells.
    #[arg(long)]
    slurm_gpus_per_cell: Option<u32>,
    /// CPUs per cell (`--cpus-per-task`).
    #[arg(long)]
    slurm_cpus_per_cell: Option<u32>,
    /// Memory per cell (`--mem`: 16G).
    #[arg(long)]
    slurm_mem: Option<String>,
    /// Cells running at once (the array's %N throttle).
    #[arg(long)]
    slurm_max_parallel: Option<u32>,
    /// A further sbatch option, passed as is (`--slurm-arg=--account=lab`); repeatable.
    #[arg(long = "slurm-arg", allow_hyphen_values = true)]
    slurm_args: Vec<String>,
}

impl ExecutorOptions {
    /// The `--slurm-*` options as settings over the pipeline's `[slurm]` table.
    fn settings(&self) -> SlurmSettings {
        SlurmSettings {
            partition: self.slurm_partition.clone(),
            time: self.slurm_time.clone(),
            gpus_per_cell: self.slurm_gpus_per_cell,
            cpus_per_cell: self.slurm_cpus_per_cell,
            mem: self.slurm_mem.clone(),
            max_parallel: self.slurm_max_parallel,
            args: self.slurm_args.clone(),
        }
    }

    fn is_slurm(&self) -> bool {
        self.executor == "slurm"
    }

    /// Refuses Slurm options without `--executor slurm`.
    fn check(&self) -> Result<()> {
        if !self.is_slurm() && (self.wait || self.settings() != SlurmSettings::default()) {
            anyhow::bail!("--wait and the --slurm-* options need --executor slurm");
        }
        Ok(())
    }
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
    if let Some(table) = run("sweep-anchors", &args.options, axes, Some(0.0))? {
        last(&table);
    }
    Ok(())
}

/// Runs `sweep-smoothing`.
pub fn smoothing(args: SmoothingArgs) -> Result<()> {
    let axes = vec![anchors_axis(&args.k)?, rate_axis("eps", SMOOTHING_KEY, "--eps", &args.eps)?];
    if let Some(table) =
        run("sweep-smoothing", &args.options, axes, (args.noise > 0.0).then_some(args.noise))?
    {
        println!("{}", table.display());
    }
    Ok(())
}

/// Runs `sweep`.
pub fn general(args: GeneralArgs) -> Result<()> {
    let axes = args.axes.iter().map(|a| parse_axis(a)).collect::<Result<Vec<_>, _>>()?;
    let noise_axis = axes.iter().any(|a| a.key.starts_with("noise."));
    if let Some(table) = run("sweep", &args.options, axes, if noise_axis { Some(0.0) } else { args.noise })? {
        println!("{}", table.display());
    }
    Ok(())
}

/// Plans from the options (the pipeline's `[train]` table with the overrides; the pipeline's
/// dataset prepared first when the sweep trains on it), runs and reports; returns the path of
/// `table.csv` (none when the cells were handed to Slurm without --wait).
fn run(
    command: &str,
    options: &SweepOptions,
    axes: Vec<Axis>,
    noise_rate: Option<f64>,
) -> Result<Option<PathBuf>> {
    let start = Instant::now();
    options.executor.check()?;
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
            init: Vec::new(),
            init_from: None,
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
    if options.executor.is_slurm() {
        let settings = from.slurm.clone().unwrap_or_default().overlay(options.executor.settings());
        return slurm(command, &from.planned, settings, options.executor.wait, start);
    }
    println!("{}", from.planned.describe(command));
    let outcome = run_sweep(&from.planned)?;
    print_outcome(command, &outcome, start);
    outcome.check()?;
    Ok(Some(outcome.report.table_csv.clone()))
}

/// Hands the unfinished cells to Slurm; with `wait`, waits for the report job and prints the
/// table like a local sweep.
fn slurm(
    command: &str,
    planned: &PlannedSweep,
    settings: SlurmSettings,
    wait: bool,
    start: Instant,
) -> Result<Option<PathBuf>> {
    let config = settings.validate()?;
    let device = cell_device(&config, &planned.devices())?;
    let sweep = SlurmSweep {
        planned,
        config,
        device: device.clone(),
        program: std::env::current_exe().context("the path of this binary (every task runs it)")?,
        command: command.to_string(),
    };
    println!("{}", planned.describe_on(command, &format!("slurm (each cell a task on {device})")));
    let submitted = submit_sweep(&sweep)?;
    println!("{}", submitted.describe(&planned.out));
    let table_csv = planned.out.join("report/table.csv");
    if submitted.submission.is_none() && submitted.live.is_empty() {
        // Every cell is done: the report, as a local sweep renders it.
        let outcome = run_sweep(planned)?;
        print_outcome(command, &outcome, start);
        return Ok(Some(outcome.report.table_csv.clone()));
    }
    if !wait {
        return Ok(None);
    }
    let mut last = String::new();
    let status = wait_sweep(&planned.out, Duration::from_secs(2), &mut |status| {
        let line = status.counts().to_string();
        if line != last {
            eprintln!("[{:>5.0}s] {line}", start.elapsed().as_secs_f64());
            last = line;
        }
    })?;
    check_report_job(&status, &table_csv)?;
    let counts = status.counts();
    let markdown = std::fs::read_to_string(planned.out.join("report/table.md"))
        .with_context(|| format!("reading the report the report job wrote into {}", planned.out.display()))?;
    println!("{}", markdown.trim_end());
    let submitted_now = submitted.submission.as_ref().map_or(0, |s| s.cells.len());
    println!(
        "{command} on slurm: {} ({} already done, {submitted_now} submitted, {} done, {} failed) in {:.0}s; report: {}",
        grefel_pipeline::status::cells(counts.cells),
        submitted.already_done,
        counts.done,
        counts.failed,
        start.elapsed().as_secs_f64(),
        planned.out.join("report").display()
    );
    if counts.done < counts.cells {
        println!("cell states: cargo xtask sweep-status {}", planned.out.display());
        anyhow::bail!(grefel_pipeline::PipelineError::CellsFailed {
            failed: counts.cells - counts.done,
            cells: counts.cells
        });
    }
    Ok(Some(table_csv))
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

/// Arguments of `sweep-status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Sweep folder (holding plan.json and cells/).
    dir: PathBuf,
    /// Lines of each failed cell's log to show.
    #[arg(long, default_value_t = 10)]
    lines: usize,
}

/// Runs `sweep-status`: every cell of the plan with its state (done, pending or running under a
/// Slurm job, failed with its error and the end of its log, interrupted, not started).
pub fn status(args: StatusArgs) -> Result<()> {
    use grefel_pipeline::status::{CellState, SweepStatus, cells, log_tail};
    let status = SweepStatus::read(&args.dir)?;
    for s in &status.record.submissions {
        let state = |job: u64| {
            let key = grefel_slurm::TaskKey { job, task: None };
            if status.queue.job_is_live(job) {
                "live".to_string()
            } else {
                status.queue.state(key).map_or_else(|| "ended".to_string(), ToString::to_string)
            }
        };
        println!(
            "slurm: array job {} ({}, {}), report job {} ({}); script {}",
            s.array_job,
            cells(s.cells.len()),
            state(s.array_job),
            s.report_job,
            state(s.report_job),
            args.dir.join(&s.script).display()
        );
    }
    for cell in &status.cells {
        let coords = grefel_pipeline::sweep::describe(&cell.cell);
        let detail = match &cell.state {
            CellState::Done { accuracy } => format!("test acc {accuracy:.4}"),
            CellState::Live { task, .. } => format!("job {task}"),
            CellState::Failed { reason, .. } => reason.lines().next().unwrap_or_default().to_string(),
            CellState::Interrupted => "resumes from its last checkpoint when the sweep runs again".into(),
            CellState::NotStarted => String::new(),
        };
        println!("{:>4}  {:<11}  {coords}  {} {detail}", cell.index, cell.state.word(), cell.cell.id);
        if let CellState::Failed { log, scheduler_log, .. } = &cell.state {
            for (what, path) in [("log", log), ("slurm output", scheduler_log)] {
                let Some(path) = path else { continue };
                println!("      {what} {}:", path.display());
                for line in log_tail(path, args.lines) {
                    println!("      | {line}");
                }
            }
        }
    }
    println!("{}: {}", args.dir.display(), status.counts());
    Ok(())
}

/// Arguments of the hidden `sweep-cell` (what each Slurm array task runs).
#[derive(Debug, Args)]
pub struct CellArgs {
    /// Sweep folder holding the frozen plan.
    #[arg(long)]
    plan: PathBuf,
    /// The cell's index in the plan (the array task id).
    #[arg(long)]
    index: usize,
    /// Folder of the prepared datasets.
    #[arg(long)]
    data: PathBuf,
    /// Device (`cpu`, `libtorch-cpu`, `cuda:0`).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Evaluate the finished cell by these columns.
    #[arg(long, value_delimiter = ',')]
    by: Vec<String>,
}

/// Runs `sweep-cell`: one cell of a frozen plan, resumed from its checkpoints, recorded in its
/// folder (its record, or `error.txt` when it fails: exit non-zero).
pub fn cell(args: CellArgs) -> Result<()> {
    use grefel_pipeline::cluster::{CellOutcome, CellRequest, sweep_cell};
    let start = Instant::now();
    let request =
        CellRequest { plan: args.plan, index: args.index, data: args.data, device: args.device, by: args.by };
    let (what, record) = match sweep_cell(&request)? {
        CellOutcome::AlreadyDone(r) => ("already done", r),
        CellOutcome::Finished(r) => ("finished", r),
    };
    println!(
        "sweep-cell {} ({}): {what}, test acc {:.4} (ŷ {:.4}), run {} in {:.0}s",
        request.index,
        record.cell,
        record.test.primary.accuracy,
        record.test.corrected.accuracy,
        record.run,
        start.elapsed().as_secs_f64()
    );
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
