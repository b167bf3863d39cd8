//! Storage of grefel tables as Parquet shards.
//!
//! - [`atomic`]: every file is written to a temporary name in its final folder, synced, then
//!   renamed, so a killed job never leaves a half-written shard or manifest behind.
//! - [`samples`]: writing and reading `samples` shards ([`grefel_schema::table::SampleRecord`]).
//! - [`manifest`]: what every stage's manifest shares, and the per-dataset `manifest.json`
//!   (counts, skips, fingerprints, content hash).
//! - [`stage`]: the stage engine (plan, per-shard reuse, journal, atomic commit, cleanup,
//!   manifest) that the ingest, the landmark stage and the noise draws run on.
//! - [`layout`]: where a prepared dataset's files live under the data folder.
//! - [`progress`]: the progress hooks every stage reports to.
//! - [`noisy_labels`]: the materialised label-noise table of the experiments.
//! - [`table_io`]: table-agnostic atomic Parquet writing and reading.
//! - [`hash`]: SHA-256 helpers for fingerprints and content hashes.

pub mod atomic;
pub mod error;
pub mod hash;
pub mod landmarks;
pub mod layout;
pub mod manifest;
pub mod noisy_labels;
pub mod progress;
pub mod samples;
pub mod stage;
pub mod table_io;

pub use error::ShardError;
pub use layout::{DataLayout, DatasetLayout};
pub use manifest::{Manifest, ShardEntry, StageManifest};
pub use progress::{NoProgress, Progress};
