//! grefel-model: the GReFEL network and its losses in burn 0.22.
//!
//! - [`ModelConfig`] holds every switch (docs/method.md §7 ambiguities included); presets via
//!   [`ModelConfig::preset`] (`paper`, `paper-geometry`, `arbex`, `tiny`, `tiny-mfn`).
//! - [`Grefel::new`] builds the network on a [`burn::tensor::Device`] chosen at run time
//!   ([`device_from_str`]); [`Grefel::forward`] returns a [`GrefelOutput`] with p, m, α, r, q,
//!   ŷ, the confidences and the embedding; [`loss`] computes [`LossParts`].
//! - [`parameter_counts`] reports total / trainable / per-block parameter counts.

pub mod backbone_config;
pub mod config;
pub mod cross_attention;
pub mod device;
pub mod error;
pub mod fused;
pub mod geometry;
pub mod head;
pub mod head_config;
pub mod ir50;
pub mod layers;
pub mod losses;
pub mod mobilefacenet;
pub mod model;
pub mod params;
pub mod precision;
pub mod presets;
pub mod reliability;
pub mod vit;

pub use burn;
pub use config::ModelConfig;
pub use device::{device_from_str, is_flex, seed_device, with_seed};
pub use error::ModelError;
pub use losses::{LossParts, inverse_frequency_weights, loss, loss_with_targets};
pub use model::{Checkpoints, Grefel, GrefelOutput};
pub use params::{ParamCounts, parameter_counts};
pub use precision::{Precision, with_precision};
pub use presets::PRESET_NAMES;
pub use reliability::trust_ramp;
