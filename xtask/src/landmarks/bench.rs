//! `cargo xtask landmarks bench`: faces per second through the 68-point predictor with the PNG
//! decode included (decode → intensity → box → predict), on one thread and on all cores, with the
//! inset box and with rustface boxes. Build with `--release` for meaningful figures:
//! `cargo run --release -p xtask -- landmarks bench`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use grefel_landmarks::boxes::{BoxConfig, Detector, FaceModel, inset_box};
use grefel_landmarks::intensity::{Intensity, decode, to_intensity};
use grefel_landmarks::models::{default_dlib68_path, default_rustface_path, load_predictor};
use grefel_landmarks::{Predictor, Rect};
use grefel_shards::Manifest;
use rayon::prelude::*;

/// Arguments of `landmarks bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Dataset folder name under --data whose stored images are used.
    #[arg(long, default_value = "synthetic")]
    dataset: String,
    /// Data folder holding <dataset>/ [default: data in the workspace].
    #[arg(long)]
    data: Option<PathBuf>,
    /// dlib's 68-point model [default: the installed one].
    #[arg(long)]
    model: Option<PathBuf>,
    /// rustface's model [default: the installed one]; the rustface figures need it.
    #[arg(long)]
    face_model: Option<PathBuf>,
    /// Faces per measurement.
    #[arg(long, default_value_t = 2000)]
    faces: usize,
}

/// One face through the pipeline; returns a checksum so nothing is optimised away.
fn one_face(png: &[u8], predictor: &Predictor, detector: Option<&mut Detector>) -> Result<i64> {
    let gray = to_intensity(&decode(png, "bench")?);
    let rect: Rect = match detector {
        Some(d) => d.face_box(&gray, None).0,
        None => inset_box(gray.width(), gray.height(), BoxConfig::default().inset_ratio),
    };
    let shape = predictor.predict(Intensity::of(&gray), rect);
    Ok(shape.dlib_points().iter().map(|p| p[0] + p[1]).sum())
}

struct Figure {
    faces_per_s: f64,
    ms_per_face: f64,
}

fn measure(images: &[Vec<u8>], n: usize, run: impl Fn(&[&Vec<u8>]) -> Result<i64>) -> Result<Figure> {
    let batch: Vec<&Vec<u8>> = images.iter().cycle().take(n).collect();
    let start = Instant::now();
    let checksum = run(&batch)?;
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    tracing::debug!(checksum, "bench pass");
    Ok(Figure { faces_per_s: n as f64 / secs, ms_per_face: 1e3 * secs / n as f64 })
}

/// Runs `landmarks bench`.
pub fn run(args: BenchArgs) -> Result<()> {
    let data = args.data.clone().unwrap_or_else(|| crate::workspace_root().join("data"));
    let dir = data.join(&args.dataset);
    let manifest = Manifest::read(&dir)?
        .with_context(|| format!("no prepared dataset at {} (run `cargo xtask prepare`)", dir.display()))?;
    let mut images = Vec::new();
    for s in &manifest.shards {
        for r in grefel_shards::samples::read_shard(&dir.join(&s.path))? {
            images.push(r.image);
            if images.len() >= args.faces.min(1000) {
                break;
            }
        }
        if images.len() >= args.faces.min(1000) {
            break;
        }
    }
    if images.is_empty() || args.faces == 0 {
        bail!("no images to benchmark in {}", dir.display());
    }
    let size = grefel_landmarks::intensity::decode(&images[0], "bench")?;
    let load = Instant::now();
    let model = load_predictor(&args.model.clone().unwrap_or_else(default_dlib68_path), Some(68))?;
    let load_s = load.elapsed().as_secs_f64();
    let p = &model.predictor;
    let n = args.faces;
    let threads = rayon::current_num_threads();

    let warm = measure(&images, n.min(200), |b| b.iter().map(|png| one_face(png, p, None)).sum())?;
    tracing::debug!(faces_per_s = warm.faces_per_s, "warm-up");
    let single = measure(&images, n, |b| b.iter().map(|png| one_face(png, p, None)).sum())?;
    let all = measure(&images, n, |b| b.par_iter().map(|png| one_face(png, p, None)).sum())?;
    println!(
        "bench {} ({}x{} PNG, decode included, inset box): 1 thread {:.0} faces/s ({:.3} ms/face); {threads} threads {:.0} faces/s; model load {load_s:.2}s",
        args.dataset,
        size.width(),
        size.height(),
        single.faces_per_s,
        single.ms_per_face,
        all.faces_per_s,
    );

    let face_path = args.face_model.clone().unwrap_or_else(default_rustface_path);
    if !face_path.is_file() {
        println!(
            "bench rustface boxes: skipped ({} is missing; run `cargo xtask setup-landmarks`)",
            face_path.display()
        );
        return Ok(());
    }
    let face = FaceModel::load(&face_path)?;
    let cfg = BoxConfig::default();
    let rn = n.min(1000);
    let single = measure(&images, rn, |b| {
        let mut d = face.detector(&cfg);
        b.iter().map(|png| one_face(png, p, Some(&mut d))).sum()
    })?;
    let all = measure(&images, rn, |b| {
        b.par_iter().map_init(|| face.detector(&cfg), |d, png| one_face(png, p, Some(d))).sum()
    })?;
    println!(
        "bench {} (decode included, rustface box on a {}x upscale): 1 thread {:.0} faces/s ({:.3} ms/face); {threads} threads {:.0} faces/s",
        args.dataset,
        grefel_landmarks::boxes::upscale_factor(size.width(), size.height(), cfg.detect_min_side),
        single.faces_per_s,
        single.ms_per_face,
        all.faces_per_s,
    );
    Ok(())
}
