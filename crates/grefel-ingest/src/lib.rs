//! Dataset ingestion: adapters read the layouts dataset owners distribute and the shared driver
//! writes `samples` Parquet shards and a manifest under `<out>/<dataset>/`.
//!
//! - [`adapter`]: the [`Adapter`](adapter::Adapter) trait and the adapter registry;
//! - [`fergdb`]: FERG-DB (also the layout of the embedded synthetic dataset);
//! - [`rafdb`], [`jaffe`], [`fer2013`], [`ferplus`]: RAF-DB basic, JAFFE, FER2013, FER+;
//! - [`affectnet`] (csv, npy and folder layouts) and [`affwild2`] (ABAW EXPR): AffectNet, Aff-Wild2;
//! - [`text`]: label-file reading shared by the adapters (lines, fields, CSV, header sniffing);
//! - [`source`]: the dataset root, its file listing and fingerprint, safe path resolution;
//! - [`normalize`]: decode, crop, RGB, resize, PNG (the resize: `resize`, `fast_image_resize`'s
//!   bilinear);
//! - [`pillow`]: Pillow's own bilinear resize (POSTER++'s test-time transform);
//! - [`split`]: seeded splits for datasets without an official one;
//! - [`skip`]: counted skip reasons;
//! - [`prepare`](mod@prepare): the resumable, idempotent driver;
//! - `fixtures` (feature `fixtures`): tiny trees in each official layout, with traps, for tests
//!   and `cargo xtask fixtures`.

pub mod adapter;
pub mod affectnet;
pub mod affwild2;
pub mod error;
pub mod fer2013;
pub mod fergdb;
pub mod ferplus;
#[cfg(feature = "fixtures")]
pub mod fixtures;
pub mod jaffe;
mod jpeg;
pub mod normalize;
pub mod pillow;
mod png;
pub mod prepare;
pub mod rafdb;
mod resize;
pub mod skip;
pub mod source;
pub mod split;
pub mod text;

pub use error::IngestError;
pub use grefel_shards::progress::{NoProgress, Progress};
pub use grefel_shards::stage::Options;
pub use prepare::{PrepareConfig, PrepareSettings, PrepareSummary, prepare, prepare_with};
pub use skip::{SkipReason, Skips};
