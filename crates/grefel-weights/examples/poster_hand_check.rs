//! The hand check against the authors' own POSTER_V2 code (their repository is not part of this
//! one, so CI cannot run it): `DIR` holds `poster.pth` (random weights saved by Talented-Q/POSTER_V2's
//! own classes the way its `main.py` saves a checkpoint), `in.bin` (float32 `(B, 3, 224, 224)`,
//! little-endian) and `logits.json` (`{"logits": [[...]]}`: their model's eval logits on it).
//! Prints the import report and the largest difference; exits non-zero above 1e-4.
//!
//! `cargo run --release --example poster_hand_check -- DIR`

use std::path::PathBuf;
use std::process::ExitCode;

use grefel_model::burn::module::Module;
use grefel_model::burn::tensor::{Tensor, TensorData};
use grefel_model::{Grefel, ModelConfig, device_from_str};
use grefel_weights::{Part, import};

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<bool, Box<dyn std::error::Error>> {
    let dir = PathBuf::from(std::env::args_os().nth(1).ok_or("usage: poster_hand_check DIR")?);
    let bytes = std::fs::read(dir.join("in.bin"))?;
    let x: Vec<f32> = bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    let per_image = 3 * 224 * 224;
    if x.is_empty() || !x.len().is_multiple_of(per_image) {
        return Err(format!("in.bin holds {} floats: not a whole number of 3×224×224 images", x.len()).into());
    }
    let batch = x.len() / per_image;
    let theirs: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("logits.json"))?)?;
    let want: Vec<f32> = theirs["logits"]
        .as_array()
        .ok_or("logits.json: no `logits` rows")?
        .iter()
        .flat_map(|r| r.as_array().into_iter().flatten().filter_map(|v| v.as_f64()).map(|v| v as f32))
        .collect();
    let device = device_from_str("cpu")?;
    let model = Grefel::new(ModelConfig::poster(), &device)?;
    let (model, report) = import(model, Part::Checkpoint, &dir.join("poster.pth"))?;
    let images = Tensor::<4>::from_data(TensorData::new(x, [batch, 3, 224, 224]), &device);
    let got = model.valid().forward(images, None, 0.0)?.logits.into_data().try_to_vec::<f32>()?;
    if got.len() != want.len() {
        return Err(format!("{} logits here, {} in logits.json", got.len(), want.len()).into());
    }
    let diff = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    println!("{report}\nmax |grefel - POSTER_V2| over {} logits = {diff:e}", got.len());
    Ok(diff <= 1e-4)
}
