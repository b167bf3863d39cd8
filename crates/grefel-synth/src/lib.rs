//! An embedded, procedurally drawn facial-expression dataset with exact 68-point landmarks.
//!
//! Each image is a cartoon face (head, hair, brows, eyes with irises, nose, lips) whose geometry
//! encodes one of the seven basic expressions at a random intensity, drawn for one of a fixed set
//! of synthetic people and disturbed by pose, lighting and noise nuisances. The landmarks are the
//! iBUG-68 points the drawing is built from, in pixel coordinates of the image: `x` to the right,
//! `y` down, pixel `(i, j)` covering `[i, i + 1) × [j, j + 1)` (so its centre is
//! `(i + 0.5, j + 0.5)`).
//!
//! [`render_sample`] draws one sample in memory; [`generate`] writes the whole set in the FERG-DB
//! layout (`p03/p03_joy/p03_joy_1.png`) with a landmark table ([`LANDMARKS_FILE`]) and a
//! completion stamp ([`STAMP_FILE`]). Everything is a pure function of the [`SynthConfig`]: each
//! sample draws from its own stream `derive_seed(seed, "sample/<index>")`, so the bytes do not
//! depend on the thread count.

#![warn(missing_docs)]

mod config;
mod error;
mod expression;
mod face;
mod identity;
mod layout;
mod lighting;
mod paint;
mod pose;
mod render;
mod shapes;
mod stamp;
mod write;

use std::path::PathBuf;
use std::time::Duration;

use grefel_schema::Expression;
use grefel_schema::rng::{SeedRng, derive_seed};

pub use config::{MAX_COUNT, Nuisance, RAFDB_CLASS_TOTALS, SynthConfig};
pub use error::SynthError;
pub use stamp::GENERATOR_VERSION;
pub use write::generate;

use expression::Deform;
use face::Face;
use identity::Identity;
use layout::Plan;
use lighting::Lighting;
use paint::Painter;
use pose::Pose;
use render::Canvas;

/// Name of the landmark table written at the dataset root.
pub const LANDMARKS_FILE: &str = "landmarks_68.csv";

/// Name of the completion stamp written (last) at the dataset root.
pub const STAMP_FILE: &str = "grefel_synth.json";

/// One drawn sample.
#[derive(Clone, Debug)]
pub struct SynthSample {
    /// The person (0-based; folder `p{identity:02}`).
    pub identity: usize,
    /// The expression (one of [`Expression::BASIC`]).
    pub expression: Expression,
    /// The square RGB image.
    pub image: image::RgbImage,
    /// The iBUG-68 landmarks `[x, y]` in pixel coordinates of `image` (see the crate docs).
    pub landmarks: [[f32; 2]; 68],
}

/// What [`generate`] did.
#[derive(Clone, Debug)]
pub struct SynthSummary {
    /// The dataset root.
    pub root: PathBuf,
    /// Number of images in the dataset.
    pub files: usize,
    /// Images per class, in canonical basic order.
    pub counts: [usize; 7],
    /// Whether an up-to-date tree was found and left untouched.
    pub reused: bool,
    /// Wall time of the call.
    pub elapsed: Duration,
}

/// Draws sample `index` of the dataset described by `config`; a pure function of both.
///
/// # Panics
///
/// If `index` is not below `config.count` (for a config that passes [`SynthConfig::validate`]).
pub fn render_sample(config: &SynthConfig, index: usize) -> SynthSample {
    render_planned(config, &Plan::new(config), index)
}

/// The path of sample `index`'s image relative to the dataset root, with `/` separators
/// (`p03/p03_joy/p03_joy_1.png`).
///
/// # Panics
///
/// If `index` is not below `config.count` (for a config that passes [`SynthConfig::validate`]).
pub fn sample_path(config: &SynthConfig, index: usize) -> String {
    Plan::new(config).item(index).rel_path()
}

/// [`render_sample`] with the plan already computed.
pub(crate) fn render_planned(config: &SynthConfig, plan: &Plan, index: usize) -> SynthSample {
    let item = plan.item(index);
    let id = Identity::new(config.seed, item.identity);
    let mut r = SeedRng::new(derive_seed(config.seed, &format!("sample/{index}")));
    let deform = Deform::sample(item.expression, config.expression_gain, &mut r);
    let gaze = [r.uniform(-0.05, 0.05), r.uniform(-0.02, 0.02)];
    let size = config.image_size.clamp(1, 4096);
    let pose = Pose::sample(&config.nuisance, size, &mut r);
    let lighting = Lighting::sample(&config.nuisance, &mut r);
    let face = pose.apply(&Face::build(&id, &deform));
    let mut canvas = Canvas::new(size as usize, id.background);
    let painter = Painter { id: &id, ppu: pose.pixels_per_unit(), gaze };
    painter.paint(&mut canvas, &face);
    let image = lighting.finish(canvas, &mut r);
    SynthSample {
        identity: item.identity,
        expression: item.expression,
        image,
        landmarks: face.landmarks.map(|[x, y]| [x as f32, y as f32]),
    }
}
