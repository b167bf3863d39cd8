//! Shared vocabulary of the grefel pipeline: the canonical label space and its per-dataset
//! mapping tables ([`labels`]), how datasets frame their faces ([`framing`]), the sample record and the Arrow schemas of every Parquet table
//! ([`table`]), validated dataset names ([`dataset_name`]), and version-stable seeded randomness
//! ([`rng`]).

pub mod dataset_name;
pub mod framing;
pub mod labels;
pub mod landmarks_table;
pub mod noise_table;
pub mod rng;
pub mod table;

pub use dataset_name::{DatasetName, InvalidDatasetName};
pub use framing::FaceFraming;
pub use labels::{ClassView, Expression, Label, LabelMap, NUM_CANONICAL};
pub use rng::SeedRng;
