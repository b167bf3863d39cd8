//! `cargo xtask train`: train and evaluate one model on a prepared dataset (default: the `[train]`
//! table of `pipelines/train-synthetic.toml`), into `runs/<config hash>/`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use grefel_train::{RunOptions, TrainSettings, train_with};

use crate::pipeline::Pipeline;
use crate::progress::Bar;

/// Arguments of `train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Pipeline file whose `[train]` table holds the settings (its `[prepare].out` is the data
    /// folder).
    #[arg(long, default_value = "pipelines/train-synthetic.toml")]
    pipeline: PathBuf,
    /// Prepared dataset to train on (overrides the pipeline's).
    #[arg(long)]
    dataset: Option<String>,
    /// Model preset (tiny, tiny-mfn, paper-geometry, paper, arbex).
    #[arg(long)]
    preset: Option<String>,
    /// Device: cpu, cuda:N (needs the `tch` feature), libtorch-cpu.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Epochs to train.
    #[arg(long)]
    epochs: Option<usize>,
    /// Root seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Folder of the run folders [default: runs].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Folder of the prepared datasets [default: the pipeline's [prepare].out, else data].
    #[arg(long)]
    data: Option<PathBuf>,
    /// Stop after this many epochs in this call; the next call resumes.
    #[arg(long)]
    stop_after_epochs: Option<usize>,
}

/// The command line's per-epoch bar.
struct EpochBar(Bar);

impl grefel_train::Progress for EpochBar {
    fn begin(&self, _label: &str, total: u64) {
        grefel_ingest::Progress::begin(&self.0, total);
    }

    fn advance(&self, n: u64) {
        grefel_ingest::Progress::advance(&self.0, n);
    }

    fn end(&self) {
        grefel_ingest::Progress::end(&self.0);
    }
}

/// Runs `train`.
pub fn run(args: TrainArgs) -> Result<()> {
    let root = crate::workspace_root();
    let resolve = |p: &PathBuf| if p.is_absolute() { p.clone() } else { root.join(p) };
    let pipeline = Pipeline::load(&resolve(&args.pipeline), &root)?;
    let mut settings = match (pipeline.train, &args.dataset) {
        (Some(t), _) => t,
        (None, Some(d)) => TrainSettings::new(d.clone()),
        (None, None) => {
            anyhow::bail!("pipeline {} has no [train] table; pass --dataset NAME", args.pipeline.display())
        }
    };
    if let Some(d) = args.dataset {
        settings.dataset = d;
    }
    if let Some(p) = args.preset {
        settings.preset = p;
    }
    if let Some(e) = args.epochs {
        settings.epochs = e;
    }
    if let Some(s) = args.seed {
        settings.seed = s;
    }
    let config = settings.validate().context("validating the training settings")?;
    let data = args
        .data
        .as_ref()
        .map(resolve)
        .or(pipeline.prepare.map(|p| p.out))
        .unwrap_or_else(|| root.join("data"));
    let runs = args.out.as_ref().map_or_else(|| root.join("runs"), resolve);
    let options = RunOptions {
        device: args.device,
        stop_after_epochs: args.stop_after_epochs,
        ..RunOptions::default()
    };
    let result = train_with(&config, &data, &runs, &options, &EpochBar(Bar::new("train")))?;
    println!("{}", result.summary_line());
    Ok(())
}
