//! The demo: on the embedded synthetic dataset, prepare (draw + shards), landmarks (the stage's
//! ground-truth path), the anchors × noise sweep and its report. Every step is a no-op when its
//! output is current, so a rerun (or a run after a kill) only does what is left.

use std::path::PathBuf;

use grefel_landmarks::Options;
use grefel_shards::Progress;

use crate::PipelineError;
use crate::pipeline_file::{LandmarksStage, Pipeline};
use crate::stages::{landmark_settings, landmarks_stage, prepare_stage};
use crate::sweep::{
    CellOptions, SweepOutcome, SweepSetup, anchors_axis, rate_axis, run_sweep, sweep_from_pipeline,
};

/// The pipeline file that draws and prepares the synthetic dataset.
pub const DEMO_PIPELINE: &str = "pipelines/synthetic.toml";
/// The pipeline file whose `[train]` table every cell of the demo's sweep starts from.
pub const SWEEP_PIPELINE: &str = "pipelines/sweep-synthetic.toml";

/// What the demo sweeps.
#[derive(Clone, Debug)]
pub struct DemoRequest {
    /// The workspace root (pipelines, `data/`, `runs/`).
    pub root: PathBuf,
    /// Anchors per class K (`4..12`).
    pub k: String,
    /// Label-noise rates (`0.1,0.2,0.3`).
    pub noise: String,
    /// Replicate seeds per cell.
    pub seeds: u64,
}

/// Runs the demo; `say` receives each step's line as it finishes. Returns the sweep's outcome
/// (its report holds the path of `table.csv`).
pub fn run_demo(
    request: &DemoRequest,
    progress: &dyn Progress,
    say: &mut dyn FnMut(String),
) -> Result<SweepOutcome, PipelineError> {
    let pipeline = Pipeline::load(&request.root.join(DEMO_PIPELINE), &request.root)?;
    say(format!("demo 1/3 prepare: {}", prepare_stage(&pipeline, Options::default(), progress)?));
    let data = pipeline.prepare.as_ref().map_or_else(|| request.root.join("data"), |p| p.out.clone());
    let settings = landmark_settings(&data, "synthetic", &LandmarksStage::default());
    say(format!("demo 2/3 landmarks: {}", landmarks_stage(&settings, Options::default(), progress)?));
    say(format!(
        "demo 3/3 sweep-anchors --k {} --noise {} --seeds {}",
        request.k, request.noise, request.seeds
    ));
    let setup = SweepSetup {
        root: request.root.clone(),
        pipeline: SWEEP_PIPELINE.into(),
        overrides: Default::default(),
        data: None,
        out: None,
        cells: CellOptions {
            seeds: request.seeds,
            noise_protocol: grefel_experiments::NoiseProtocol::Symmetric,
            noise_seed: 0,
            devices: vec!["cpu".into()],
            jobs: None,
            by: Vec::new(),
        },
    };
    let axes = vec![anchors_axis(&request.k)?, rate_axis("noise", "noise.rate", "--noise", &request.noise)?];
    let from = sweep_from_pipeline(&setup, "sweep-anchors", axes, Some(0.0), progress)?;
    if let Some(line) = from.prepared {
        say(line);
    }
    say(from.planned.describe("sweep-anchors"));
    run_sweep(&from.planned)
}
