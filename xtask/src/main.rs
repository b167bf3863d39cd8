//! `cargo xtask <command>`: grefel's command line. Each command wires pipeline stages (library
//! crates) together; the stages do the work.

mod bench;
mod pipeline;
mod prepare;
mod progress;

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
    /// Benchmarks against the baselines named in the issues (build with --release).
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
}

/// The workspace root (xtask lives one folder below it).
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("GREFEL_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(progress::LogWriter::default)
        .with_target(false)
        .compact()
        .init();
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    init_tracing();
    match cli.command {
        Command::Prepare(args) => prepare::run(args),
        Command::Bench { command } => bench::run(command),
    }
}
