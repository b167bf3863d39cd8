//! Storage of grefel tables as Parquet shards.
//!
//! - [`atomic`]: every file is written to a temporary name in its final folder, synced, then
//!   renamed, so a killed job never leaves a half-written shard or manifest behind.
//! - [`samples`]: writing and reading `samples` shards ([`grefel_schema::table::SampleRecord`]).
//! - [`manifest`]: the per-dataset `manifest.json` (counts, skips, fingerprints, content hash).
//! - [`hash`]: SHA-256 helpers for fingerprints and content hashes.

pub mod atomic;
pub mod error;
pub mod hash;
pub mod manifest;
pub mod samples;

pub use error::ShardError;
pub use manifest::{Manifest, ShardEntry};
