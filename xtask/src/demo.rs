//! `cargo xtask demo`: the README's main command. On the embedded synthetic dataset it runs,
//! in order: prepare (draw + shards), landmarks (the stage's ground-truth path), the user's
//! `sweep-anchors --k 4..12 --noise 0.1,0.2,0.3` and its report. Every step is a no-op when its
//! output is current, so a rerun (or a run after a kill) only does what is left.

use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Args, Parser};

use grefel_pipeline::Pipeline;

/// Arguments of `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Anchors per class K of the sweep.
    #[arg(long, default_value = "4..12")]
    k: String,
    /// Label-noise rates of the sweep.
    #[arg(long, default_value = "0.1,0.2,0.3")]
    noise: String,
    /// Replicate seeds per cell.
    #[arg(long, default_value_t = 1)]
    seeds: u64,
}

/// Parses a sweep's arguments the way the command line would.
#[derive(Debug, Parser)]
struct AnchorsCommand {
    #[command(flatten)]
    args: crate::sweep::AnchorsArgs,
}

/// Runs `demo`.
pub fn run(args: DemoArgs) -> Result<()> {
    let start = Instant::now();
    let root = crate::workspace_root();
    let pipeline_path = root.join("pipelines/synthetic.toml");
    let pipeline = Pipeline::load(&pipeline_path, &root)?;
    println!("demo 1/3 prepare: {}", crate::prepare::prepare_pipeline(&pipeline)?);
    let landmarks = crate::landmarks::synthetic_stage().context("demo: landmarks")?;
    println!("demo 2/3 landmarks: {landmarks}");
    println!("demo 3/3 sweep-anchors --k {} --noise {} --seeds {}", args.k, args.noise, args.seeds);
    let seeds = args.seeds.to_string();
    let sweep = AnchorsCommand::try_parse_from([
        "sweep-anchors",
        "--k",
        &args.k,
        "--noise",
        &args.noise,
        "--seeds",
        &seeds,
    ])?;
    crate::sweep::anchors_with(sweep.args, |table| {
        eprintln!("demo: done in {:.0}s", start.elapsed().as_secs_f64());
        println!("{}", table.display());
    })
}
