//! grefel-weights: pretrained weights in.
//!
//! POSTER++ checkpoints (Talented-Q/POSTER_V2's training script's files: DataParallel `module.`
//! keys, pickled bookkeeping objects beside the weights) and the two trunk files every GReFEL,
//! POSTER++ and ARBEx model starts from (the IR-50 face-recognition trunk in both of its namings,
//! and the MobileFaceNet 68-landmark network) are read with burn-store's PyTorch reader (zip,
//! legacy pre-1.6 and tar serialisation; no Python), their keys mapped to the grefel network's
//! paths ([`keys`]), and applied with a report of what was applied, what the file holds that the
//! network does not use, and what it lacks ([`import`]). A tensor whose shape does not fit, or a
//! part left short, is an error: never a silent partial load. [`export`] writes the weights
//! back out as safetensors, in POSTER's naming (strict-loadable into its authors' model) or
//! grefel's.

pub mod error;
pub mod export;
pub mod import;
pub mod keys;
pub mod safetensors;

pub use error::WeightsError;
pub use export::{ExportOptions, Exported, Names, export};
pub use import::{ImportOptions, ImportReport, Imported, import, import_with};
pub use keys::Part;
