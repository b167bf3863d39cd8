//! `cargo xtask demo`: the README's main command (`grefel_pipeline::demo`): prepare, landmarks,
//! `sweep-anchors --k 4..12 --noise 0.1,0.2,0.3` and its report on the embedded synthetic
//! dataset. Every step is a no-op when its output is current.

use std::time::Instant;

use anyhow::Result;
use clap::Args;
use grefel_pipeline::demo::{DemoRequest, run_demo};

use crate::progress::Bar;

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

/// Runs `demo`.
pub fn run(args: DemoArgs) -> Result<()> {
    let start = Instant::now();
    let request =
        DemoRequest { root: crate::workspace_root(), k: args.k, noise: args.noise, seeds: args.seeds };
    let outcome = run_demo(&request, &Bar::new("demo"), &mut |line| println!("{line}"))?;
    crate::sweep::print_outcome("sweep-anchors", &outcome, start);
    outcome.check()?;
    eprintln!("demo: done in {:.0}s", start.elapsed().as_secs_f64());
    println!("{}", outcome.report.table_csv.display());
    Ok(())
}
