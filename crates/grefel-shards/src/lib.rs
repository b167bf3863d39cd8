//! Storage of grefel tables as Parquet shards.
//!
//! - [`atomic`]: every file is written to a temporary name in its final folder, synced, then
//!   renamed, so a killed job never leaves a half-written shard or manifest behind.
//! - [`samples`]: writing and reading `samples` shards ([`grefel_schema::table::SampleRecord`]).
//! - [`manifest`]: the per-dataset `manifest.json` (counts, skips, fingerprints, content hash).
//! - [`noisy_labels`]: the materialised label-noise table of the experiments.
//! - [`table_io`]: table-agnostic atomic Parquet writing and reading.
//! - [`hash`]: SHA-256 helpers for fingerprints and content hashes.

pub mod atomic;
pub mod error;
pub mod hash;
pub mod landmarks;
pub mod manifest;
pub mod noisy_labels;
pub mod samples;
pub mod table_io;

pub use error::ShardError;
pub use manifest::{Manifest, ShardEntry};
