//! The completion stamp `grefel_synth.json`: written last, it records what the tree holds so a
//! rerun with the same config can reuse it untouched.

use std::path::Path;

use serde::Serialize;

use crate::layout::Plan;
use crate::{SynthConfig, SynthError};

/// Version of the drawing and layout code; bump it whenever the bytes written for a config
/// change, so old trees are regenerated.
pub const GENERATOR_VERSION: u32 = 1;

/// Images per class, in canonical basic order.
#[derive(Serialize)]
struct Counts {
    neutral: usize,
    happy: usize,
    sad: usize,
    surprise: usize,
    fear: usize,
    disgust: usize,
    anger: usize,
}

/// The stamp's content.
#[derive(Serialize)]
struct Stamp<'a> {
    generator_version: u32,
    config: &'a SynthConfig,
    counts: Counts,
    /// Number of images.
    files: usize,
}

/// The exact bytes of the stamp for `config` (pretty JSON with a final newline).
pub(crate) fn stamp_bytes(config: &SynthConfig, plan: &Plan, path: &Path) -> Result<Vec<u8>, SynthError> {
    let [neutral, happy, sad, surprise, fear, disgust, anger] = plan.counts;
    let stamp = Stamp {
        generator_version: GENERATOR_VERSION,
        config,
        counts: Counts { neutral, happy, sad, surprise, fear, disgust, anger },
        files: plan.len(),
    };
    let mut bytes = serde_json::to_vec_pretty(&stamp)
        .map_err(|source| SynthError::Stamp { path: path.to_path_buf(), source })?;
    bytes.push(b'\n');
    Ok(bytes)
}
