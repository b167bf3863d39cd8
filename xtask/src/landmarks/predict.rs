//! `cargo xtask landmarks predict`: the parity interface. Prints `{"points": [[x, y], …]}` with
//! dlib's integer points for one image and rectangle, or one such line per request of a JSONL
//! batch (`{"image": path, "rect": [l, t, r, b]}` per line), in order, loading the model once.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use grefel_landmarks::intensity::{Intensity, load_intensity};
use grefel_landmarks::models::{default_dlib68_path, load_predictor};
use grefel_landmarks::{Predictor, Rect};
use image::GrayImage;
use serde::Deserialize;

/// Arguments of `landmarks predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The `.dat` model [default: the installed 68-point model].
    #[arg(long)]
    model: Option<PathBuf>,
    /// The image (PNG for exact parity: JPEG decoders differ by ±1).
    #[arg(long, required_unless_present = "batch", requires = "rect")]
    image: Option<PathBuf>,
    /// The rectangle `L,T,R,B`, corners inclusive (dlib's convention).
    #[arg(long, allow_hyphen_values = true)]
    rect: Option<String>,
    /// A JSONL file of requests `{"image": path, "rect": [l, t, r, b]}`, one per line.
    #[arg(long, conflicts_with_all = ["image", "rect"])]
    batch: Option<PathBuf>,
    /// Also print the float points (`"points_f64"`, dlib's coordinates before rounding).
    #[arg(long)]
    float: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    image: PathBuf,
    rect: [i64; 4],
}

fn parse_rect(text: &str) -> Result<Rect> {
    let parts: Vec<i64> = text
        .split(',')
        .map(|p| p.trim().parse::<i64>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("--rect `{text}`: expected four integers L,T,R,B"))?;
    match parts[..] {
        [l, t, r, b] => Ok(Rect::new(l, t, r, b)),
        _ => bail!("--rect `{text}`: expected four integers L,T,R,B, got {}", parts.len()),
    }
}

fn answer(predictor: &Predictor, img: &GrayImage, rect: Rect, float: bool) -> serde_json::Value {
    let shape = predictor.predict(Intensity::of(img), rect);
    let mut out = serde_json::json!({ "points": shape.dlib_points() });
    if float {
        out["points_f64"] = serde_json::json!(shape.points);
    }
    out
}

/// Runs `landmarks predict`.
pub fn run(args: PredictArgs) -> Result<()> {
    let start = Instant::now();
    let model_path = args.model.clone().unwrap_or_else(default_dlib68_path);
    let model = load_predictor(&model_path, None)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if let (Some(image), Some(rect)) = (&args.image, &args.rect) {
        let rect = parse_rect(rect)?;
        let img = load_intensity(image)?;
        writeln!(out, "{}", answer(&model.predictor, &img, rect, args.float))?;
        return Ok(());
    }
    let Some(batch) = &args.batch else { bail!("give --image and --rect, or --batch FILE.jsonl") };
    let (answered, failed) = run_batch(&model.predictor, batch, args.float, &mut out)?;
    out.flush()?;
    tracing::info!(
        answered,
        failed,
        seconds = format!("{:.2}", start.elapsed().as_secs_f64()),
        "landmarks predict: batch {} done",
        batch.display()
    );
    if failed > 0 {
        bail!("{failed} of {} requests failed (their lines hold {{\"error\": …}})", answered + failed);
    }
    Ok(())
}

/// Answers every request of `batch` in order; a failed request prints `{"error": …}` in its
/// place. Consecutive requests on the same image decode it once.
fn run_batch(predictor: &Predictor, batch: &Path, float: bool, out: &mut impl Write) -> Result<(u64, u64)> {
    let file = std::fs::File::open(batch).with_context(|| format!("opening {}", batch.display()))?;
    let (mut answered, mut failed) = (0u64, 0u64);
    let mut cached: Option<(PathBuf, GrayImage)> = None;
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", batch.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let result = (|| -> Result<serde_json::Value> {
            let req: Request =
                serde_json::from_str(&line).context("expected {\"image\": path, \"rect\": [l, t, r, b]}")?;
            if cached.as_ref().is_none_or(|(p, _)| *p != req.image) {
                cached = Some((req.image.clone(), load_intensity(&req.image)?));
            }
            let img = cached.as_ref().map(|(_, i)| i).context("image cache")?;
            let [l, t, r, b] = req.rect;
            Ok(answer(predictor, img, Rect::new(l, t, r, b), float))
        })();
        match result {
            Ok(v) => {
                answered += 1;
                writeln!(out, "{v}")?;
            }
            Err(e) => {
                failed += 1;
                tracing::warn!(line = n + 1, "{e:#}");
                writeln!(out, "{}", serde_json::json!({ "error": format!("line {}: {e:#}", n + 1) }))?;
            }
        }
    }
    Ok((answered, failed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rects() {
        assert_eq!(parse_rect("-37,171,260,439").expect("rect"), Rect::new(-37, 171, 260, 439));
        assert!(parse_rect("1,2,3").is_err());
        assert!(parse_rect("a,2,3,4").is_err());
    }
}
