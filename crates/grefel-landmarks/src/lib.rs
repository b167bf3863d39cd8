//! 68-point facial landmarks for grefel.
//!
//! - [`dat`] and [`serialize`]: dlib's `shape_predictor` `.dat` format, read with every length,
//!   index and version checked, and written byte for byte as dlib writes it;
//! - [`model`]: the ensemble of regression trees in memory;
//! - [`predict`]: inference exactly as dlib computes it (integer and float output);
//! - [`intensity`]: the 8-bit image the predictor reads (dlib's colour → grey rule);
//! - [`boxes`]: face boxes for pre-cropped datasets (dataset box, rustface, inset box);
//! - [`face`]: one face's points by the stage's rule, and the crop a dataset's framing cuts;
//! - [`models`]: where the model files live (installed by `cargo xtask setup-landmarks`);
//! - [`stage`]: the resumable landmark stage, `samples` shards → `landmarks` shards.
//!
//! The 68-point model was trained on iBUG 300-W, whose licence excludes commercial use: research
//! use only, whatever the packages' CC0 labels say.

pub mod boxes;
pub mod dat;
pub mod error;
pub mod face;
pub mod intensity;
pub mod model;
pub mod models;
pub mod predict;
mod sample;
pub mod serialize;
pub mod stage;
pub mod stage_manifest;

pub use error::{DatError, LandmarkError};
pub use grefel_shards::progress::{NoProgress, Progress};
pub use grefel_shards::stage::Options;
pub use model::ShapePredictor;
pub use predict::{Predictor, Rect, Shape};
pub use stage::{LandmarkSettings, run_stage, run_stage_with};
pub use stage_manifest::{LandmarkManifest, StageSummary};
