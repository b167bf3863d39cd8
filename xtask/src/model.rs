//! `cargo xtask model-summary`: parameter counts of a model preset.

use anyhow::Result;
use clap::Args;
use grefel_model::{Grefel, ModelConfig, device_from_str, parameter_counts};

/// Arguments of `model-summary`.
#[derive(Debug, Args)]
pub struct ModelSummaryArgs {
    /// Model preset (paper, paper-geometry, arbex, tiny, tiny-mfn, micro).
    #[arg(long, default_value = "paper")]
    preset: String,
    /// Print one JSON line `{"total": N, "trainable": M, "per_block": [[name, n], ...],
    /// "config": {...}}` (`config`: the preset's resolved model configuration).
    #[arg(long)]
    json: bool,
}

/// Runs `model-summary`. Parameters are lazy, so no weights are drawn.
pub fn run(args: ModelSummaryArgs) -> Result<()> {
    let cfg = ModelConfig::preset(&args.preset)?;
    let model = Grefel::new(cfg.clone(), &device_from_str("cpu")?)?;
    let counts = parameter_counts(&model);
    if args.json {
        let mut line = serde_json::to_value(&counts)?;
        line["config"] = serde_json::to_value(&cfg)?;
        println!("{}", serde_json::to_string(&line)?);
        return Ok(());
    }
    let millions = |n: usize| n as f64 / 1e6;
    println!("preset {}", args.preset);
    for (block, n) in &counts.per_block {
        println!("  {block:<16} {n:>12}  ({:.3} M)", millions(*n));
    }
    println!("  {:<16} {:>12}  ({:.3} M)", "total", counts.total, millions(counts.total));
    println!("  {:<16} {:>12}  ({:.3} M)", "trainable", counts.trainable, millions(counts.trainable));
    Ok(())
}
