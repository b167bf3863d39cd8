//! `cargo xtask bench ingest`: images per second of the Rust ingest against the Python reference
//! (`bench/ingest_reference.py`: Pillow + pyarrow, multiprocessing over the same cores) on the same
//! generated data, measured in one run.
//!
//! The data: RAF-DB-like 100×100 aligned JPEGs with their label file, and AffectNet-like 400×400
//! JPEGs with a `training.csv` whose boxes are cropped. Both sides decode, crop, convert to RGB,
//! resize to `--size`, encode PNG and write Parquet. The dev profile optimises grefel-ingest and
//! every dependency (opt-level 3), so `cargo xtask bench ingest` gives the real figures.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use grefel_ingest::affectnet::csv as affectnet_csv;
use grefel_ingest::normalize::ImageConfig;
use grefel_ingest::split::SplitConfig;
use grefel_ingest::{NoProgress, PrepareSettings, prepare, rafdb};
use grefel_schema::rng::SeedRng;
use image::codecs::jpeg::JpegEncoder;
use image::{Rgb, RgbImage};
use rayon::prelude::*;

/// `bench` subcommands.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Rust ingest vs the Python reference, images per second.
    Ingest(IngestBenchArgs),
    /// The GReFEL training step vs the PyTorch eager reference, images per second.
    Train(crate::bench_train::TrainBenchArgs),
}

/// Arguments of `bench ingest`.
#[derive(Debug, Args)]
pub struct IngestBenchArgs {
    /// RAF-DB-like images (100×100 JPEG).
    #[arg(long, default_value_t = 5000)]
    rafdb: usize,
    /// AffectNet-like images (400×400 JPEG, box crop).
    #[arg(long, default_value_t = 2000)]
    affectnet: usize,
    /// Stored image size (both implementations resize to SIZE×SIZE).
    #[arg(long, default_value_t = 112)]
    size: u32,
    /// Working folder for the generated trees and outputs [default: data/bench-ingest].
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Python with Pillow and pyarrow [default: $GREFEL_PYTHON, else python3].
    #[arg(long)]
    python: Option<PathBuf>,
    /// Runs of each implementation per dataset, interleaved (grefel, Python, grefel, ...); the
    /// table gives each side's median, so one disturbed run does not decide the ratio.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=50))]
    repeat: u32,
}

/// Runs a `bench` subcommand.
pub fn run(cmd: BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::Ingest(args) => ingest(args),
        BenchCommand::Train(args) => crate::bench_train::run(args),
    }
}

struct Figure {
    dataset: &'static str,
    images: u64,
    /// Images per second of each run, in run order.
    rust_runs: Vec<f64>,
    python_runs: Vec<f64>,
}

impl Figure {
    fn rust_per_s(&self) -> f64 {
        median(&self.rust_runs)
    }
    fn python_per_s(&self) -> f64 {
        median(&self.python_runs)
    }
}

/// The median (the mean of the middle two for an even count); NaN for no values.
fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn runs(values: &[f64]) -> String {
    values.iter().map(|v| format!("{v:.0}")).collect::<Vec<_>>().join(", ")
}

fn ingest(args: IngestBenchArgs) -> Result<()> {
    if cfg!(debug_assertions) {
        tracing::info!("dev build: grefel-ingest and its dependencies are optimised (opt-level 3)");
    }
    let root = crate::workspace_root();
    let dir = args.dir.clone().unwrap_or_else(|| root.join("data/bench-ingest"));
    let python = args
        .python
        .clone()
        .or_else(|| std::env::var_os("GREFEL_PYTHON").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("python3"));
    let script = root.join("bench/ingest_reference.py");
    let threads = rayon::current_num_threads();

    let rafdb_root = dir.join("rafdb/basic");
    let affectnet_root = dir.join("affectnet/AffectNet");
    let t = Instant::now();
    write_rafdb(&rafdb_root, args.rafdb)?;
    write_affectnet(&affectnet_root, args.affectnet)?;
    tracing::info!(seconds = format!("{:.1}", t.elapsed().as_secs_f64()), "benchmark data ready");

    let mut figures = Vec::new();
    for (dataset, data_root) in [("rafdb", &rafdb_root), ("affectnet", &affectnet_root)] {
        let mut figure = Figure { dataset, images: 0, rust_runs: Vec::new(), python_runs: Vec::new() };
        let out = dir.join("out-rust");
        let cfg = PrepareSettings {
            dataset: None,
            adapter: dataset.into(),
            variant: None,
            root: data_root.clone(),
            out: out.clone(),
            rows_per_shard: 1024,
            image: ImageConfig { size: Some(args.size), ..ImageConfig::default() },
            split: SplitConfig::default(),
        }
        .validate()?;
        let py_out = dir.join("out-python").join(dataset);
        for run in 0..args.repeat {
            // Each run starts from nothing (no shard reused, no output left from the last run).
            let _ = std::fs::remove_dir_all(out.join(dataset));
            let start = Instant::now();
            let summary = prepare(&cfg, &NoProgress)?;
            let rust_s = start.elapsed().as_secs_f64();

            let _ = std::fs::remove_dir_all(&py_out);
            let output = Command::new(&python)
                .arg(&script)
                .arg(dataset)
                .arg(data_root)
                .arg(&py_out)
                .arg(args.size.to_string())
                .output()
                .with_context(|| format!("running {} (needs Pillow and pyarrow)", python.display()))?;
            if !output.status.success() {
                bail!("reference script failed: {}", String::from_utf8_lossy(&output.stderr));
            }
            let line = String::from_utf8_lossy(&output.stdout);
            let v: serde_json::Value = serde_json::from_str(line.trim())
                .with_context(|| format!("reading the reference script's output `{}`", line.trim()))?;
            let py_images = v["images"].as_u64().unwrap_or(0);
            let py_s = v["seconds"].as_f64().unwrap_or(f64::NAN);
            if py_images != summary.rows {
                bail!(
                    "{dataset}: Rust wrote {} rows, Python {py_images}: the two did different work",
                    summary.rows
                );
            }
            let (rust_per_s, python_per_s) = (summary.rows as f64 / rust_s, py_images as f64 / py_s);
            tracing::info!(
                dataset,
                run = run + 1,
                grefel = format!("{rust_per_s:.0}"),
                python = format!("{python_per_s:.0}"),
                "images per second"
            );
            figure.images = summary.rows;
            figure.rust_runs.push(rust_per_s);
            figure.python_runs.push(python_per_s);
        }
        figures.push(figure);
    }

    println!(
        "| dataset | images | grefel img/s (median) | Python img/s (median) | ratio | grefel runs | Python runs |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | --- | --- |");
    for f in &figures {
        println!(
            "| {} | {} | {:.0} | {:.0} | {:.2}x | {} | {} |",
            f.dataset,
            f.images,
            f.rust_per_s(),
            f.python_per_s(),
            f.rust_per_s() / f.python_per_s(),
            runs(&f.rust_runs),
            runs(&f.python_runs)
        );
    }
    let total: u64 = figures.iter().map(|f| f.images).sum();
    let rust_time: f64 = figures.iter().map(|f| f.images as f64 / f.rust_per_s()).sum();
    let py_time: f64 = figures.iter().map(|f| f.images as f64 / f.python_per_s()).sum();
    println!(
        "bench ingest: {total} images, {threads} threads, {} runs each, medians: grefel {:.0} img/s, Python {:.0} img/s, ratio {:.2}x",
        args.repeat,
        total as f64 / rust_time,
        total as f64 / py_time,
        py_time / rust_time
    );
    Ok(())
}

/// A smooth, noisy, face-sized test picture (so JPEG has real work to do).
fn picture(seed: u64, w: u32, h: u32) -> RgbImage {
    let mut rng = SeedRng::new(seed);
    let base = [rng.uniform(40.0, 200.0), rng.uniform(40.0, 200.0), rng.uniform(40.0, 200.0)];
    let (fx, fy) = (rng.uniform(0.01, 0.08), rng.uniform(0.01, 0.08));
    RgbImage::from_fn(w, h, |x, y| {
        let wave = ((x as f64 * fx).sin() + (y as f64 * fy).cos()) * 30.0;
        let n = rng.normal() * 6.0;
        Rgb(base.map(|b| (b + wave + n).clamp(0.0, 255.0) as u8))
    })
}

fn write_jpeg(path: &Path, img: &RgbImage) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    JpegEncoder::new_with_quality(&mut file, 90).encode_image(img)?;
    file.flush()?;
    Ok(())
}

/// Writes a text file, creating its folder.
fn write_text(path: &Path, text: &str) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, text)?;
    Ok(())
}

/// Writes a tree once; a `.complete` marker with the count makes reruns skip generation.
fn once(root: &Path, count: usize, write: impl FnOnce() -> Result<()>) -> Result<()> {
    let marker = root.join(".complete");
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(&count.to_string()) {
        return Ok(());
    }
    let _ = std::fs::remove_dir_all(root);
    write()?;
    std::fs::write(marker, count.to_string())?;
    Ok(())
}

fn write_rafdb(root: &Path, count: usize) -> Result<()> {
    once(root, count, || {
        let names: Vec<String> = (0..count)
            .map(
                |i| if i % 5 == 4 { format!("test_{:04}", i / 5 + 1) } else { format!("train_{:05}", i + 1) },
            )
            .collect();
        names.par_iter().enumerate().try_for_each(|(i, name)| {
            write_jpeg(&root.join(rafdb::aligned_image(name)), &picture(i as u64, 100, 100))
        })?;
        let labels: String =
            names.iter().enumerate().map(|(i, n)| format!("{n}.jpg {}\n", i % 7 + 1)).collect();
        write_text(&root.join(rafdb::LABEL_FILE), &labels)?;
        Ok(())
    })
}

fn write_affectnet(root: &Path, count: usize) -> Result<()> {
    once(root, count, || {
        let rows: Vec<String> = (0..count)
            .into_par_iter()
            .map(|i| {
                let rel = format!("{}/{:056x}.jpg", i % 50 + 1, i as u128 * 0x9E37_79B9_7F4A_7C15);
                let img = picture(1_000_000 + i as u64, 400, 400);
                write_jpeg(&root.join(affectnet_csv::image_path(&rel)), &img)?;
                let (x, y) = (40 + (i % 30) as u32, 50 + (i % 20) as u32);
                let side = 240 + (i % 60) as u32;
                let lm: Vec<String> = (0..68)
                    .flat_map(|k| [x as f32 + (k * 3) as f32, y as f32 + (k * 2) as f32])
                    .map(|v| format!("{v:.2}"))
                    .collect();
                Ok(format!("{rel},{x},{y},{side},{side},{},{},0.1,0.2\n", lm.join(";"), i % 8))
            })
            .collect::<Result<_>>()?;
        let header = format!("{}\n", affectnet_csv::HEADER);
        write_text(
            &root.join(affectnet_csv::list_path(affectnet_csv::TRAINING)),
            &(header.clone() + &rows.concat()),
        )?;
        write_text(&root.join(affectnet_csv::list_path(affectnet_csv::VALIDATION)), &header)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[7.0]), 7.0);
        assert!(median(&[]).is_nan());
    }
}
