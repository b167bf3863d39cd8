//! `cargo xtask evaluate --run DIR`: a finished run (trained or imported) on a prepared split,
//! overall, per class (head and tail), per group of `--by` columns with gaps and bootstrap
//! intervals; `evaluation.json`, tables and figures. Prints a short summary and the path of
//! `evaluation.json` last.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::Args;
use grefel_pipeline::{EvaluateRequest, evaluate_run};
use grefel_report::BootstrapOptions;

/// Arguments of `evaluate`.
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// The run folder (`runs/<dataset>/<run id>`).
    #[arg(long)]
    run: PathBuf,
    /// Folder of the prepared datasets [default: data].
    #[arg(long)]
    data: Option<PathBuf>,
    /// Dataset to evaluate on [default: the run's]; its classes must fit the run's class view.
    #[arg(long)]
    dataset: Option<String>,
    /// Split: test (the protocol's evaluation split), val or train.
    #[arg(long, default_value = "test")]
    split: String,
    /// Columns to group by, comma-separated: gender, race, age_group (RAF-DB), subject.
    #[arg(long, value_delimiter = ',')]
    by: Vec<String>,
    /// Output analysed: corrected or primary [default: the output the run selected with].
    #[arg(long)]
    output: Option<String>,
    /// Output folder [default: <run>/evaluation/<dataset>-<split>/].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Bootstrap resamples of the intervals.
    #[arg(long, default_value_t = BootstrapOptions::default().resamples)]
    resamples: usize,
    /// Seed of the bootstrap.
    #[arg(long, default_value_t = BootstrapOptions::default().seed)]
    bootstrap_seed: u64,
    /// Device: cpu, cuda:N (needs the `tch` feature), libtorch-cpu.
    #[arg(long, default_value = "cpu")]
    device: String,
}

/// Runs `evaluate`.
pub fn run(args: EvaluateArgs) -> Result<()> {
    let start = Instant::now();
    let root = crate::workspace_root();
    let resolve = |p: &PathBuf| if p.is_absolute() { p.clone() } else { root.join(p) };
    let request = EvaluateRequest {
        run: resolve(&args.run),
        data: args.data.as_ref().map_or_else(|| root.join("data"), resolve),
        dataset: args.dataset,
        split: Some(args.split),
        output: args.output,
        by: args.by,
        out: args.out.as_ref().map(resolve),
        bootstrap: BootstrapOptions {
            resamples: args.resamples,
            seed: args.bootstrap_seed,
            ..Default::default()
        },
        device: args.device,
    };
    let outcome = evaluate_run(&request)?;
    eprintln!("evaluate: {:.1}s", start.elapsed().as_secs_f64());
    println!("{}", outcome.summary());
    Ok(())
}
