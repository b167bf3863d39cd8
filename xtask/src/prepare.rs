//! `cargo xtask prepare`.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use grefel_ingest::normalize::ImageConfig;
use grefel_ingest::split::SplitConfig;
use grefel_ingest::{Options, PrepareSettings, prepare_with};

use crate::progress::Bar;
use grefel_pipeline::Pipeline;
use grefel_pipeline::stages::draw_synthetic;

/// Arguments of `prepare`.
#[derive(Debug, Args)]
pub struct PrepareArgs {
    /// Dataset adapter to run (fergdb, …); needs --root. Without it, the pipeline file runs.
    #[arg(long)]
    dataset: Option<String>,
    /// Root of the dataset as its owners distribute it.
    #[arg(long, requires = "dataset")]
    root: Option<PathBuf>,
    /// Output folder: shards go to <out>/<dataset>/ [default: data].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Layout variant of the dataset, where it exists in several forms [default: detected].
    #[arg(long, requires = "dataset")]
    variant: Option<String>,
    /// Name of the output dataset (the `dataset` column) [default: the adapter's name].
    #[arg(long, requires = "dataset")]
    name: Option<String>,
    /// Pipeline file to run when no --dataset is given.
    #[arg(long, conflicts_with = "dataset", default_value = "pipelines/synthetic.toml")]
    pipeline: PathBuf,
    /// Maximum rows per shard.
    #[arg(long)]
    rows_per_shard: Option<usize>,
    /// Resize stored images to this square size [default: keep the source size].
    #[arg(long)]
    image_size: Option<u32>,
    /// Seed of the split for datasets without an official one.
    #[arg(long)]
    split_seed: Option<u64>,
    /// Rebuild every shard, even over a malformed manifest.
    #[arg(long)]
    force: bool,
}

/// Runs `prepare`.
pub fn run(args: PrepareArgs) -> Result<()> {
    let root_dir = crate::workspace_root();
    let mut settings = match &args.dataset {
        Some(dataset) => {
            let Some(root) = args.root.clone() else {
                bail!("--dataset {dataset} needs --root DIR (the dataset as its owners distribute it)");
            };
            PrepareSettings {
                dataset: args.name.clone(),
                adapter: dataset.clone(),
                variant: args.variant.clone(),
                root,
                out: args.out.clone().unwrap_or_else(|| root_dir.join("data")),
                rows_per_shard: 1024,
                image: ImageConfig::default(),
                split: SplitConfig::default(),
            }
        }
        None => {
            let path = if args.pipeline.is_absolute() {
                args.pipeline.clone()
            } else {
                root_dir.join(&args.pipeline)
            };
            let pipeline = Pipeline::load(&path, &root_dir)?;
            draw_synthetic(&pipeline)?;
            let mut settings = pipeline
                .prepare
                .with_context(|| format!("pipeline {} has no [prepare] table", path.display()))?;
            if let Some(out) = &args.out {
                settings.out = out.clone();
            }
            settings
        }
    };
    if let Some(n) = args.rows_per_shard {
        settings.rows_per_shard = n;
    }
    if let Some(n) = args.image_size {
        settings.image.size = Some(n);
    }
    if let Some(s) = args.split_seed {
        settings.split.seed = s;
    }
    let config = settings.validate()?;
    let summary = prepare_with(&config, Options { force: args.force }, &Bar::new("prepare"))?;
    println!("{summary}");
    Ok(())
}
