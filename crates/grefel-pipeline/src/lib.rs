//! grefel-pipeline: the stages wired together, as a library the command line (`cargo xtask`) and
//! the end-to-end tests call alike.
//!
//! - [`pipeline_file`]: the pipeline TOML files (`pipelines/*.toml`), one table per stage;
//! - [`overrides`]: command-line overrides of a pipeline's `[train]` table;
//! - [`grid`]: sweep grids from text (`4..12`, `0.1,0.2,0.3`);
//! - [`sweep`]: a sweep request validated into a plan ([`plan_sweep`]) and run ([`run_sweep`]);
//! - [`predict`]: a finished run on photos (faces found, framed as its dataset's) or aligned crops;
//! - [`evaluate`]: a finished run analysed on a split (per class, per group, intervals);
//! - [`execute`]: running a frozen plan's unfinished cells over workers;
//! - [`cell`]: the training runner of a cell and its record;
//! - [`cluster`]: a sweep's cells as a Slurm job array, one cell per task (`--executor slurm`);
//! - [`status`]: every cell's state, local or on Slurm (`sweep-status`);
//! - [`stages`]: a pipeline file's stages run in order (`cargo xtask run`);
//! - [`demo`]: the demo on the embedded synthetic dataset.

pub mod cell;
pub mod cluster;
pub mod demo;
pub mod error;
pub mod evaluate;
pub mod execute;
pub mod grid;
pub mod overrides;
pub mod pipeline_file;
pub mod predict;
pub mod stages;
pub mod status;
pub mod sweep;

pub use error::PipelineError;
pub use evaluate::{EvaluateOutcome, EvaluateRequest, EvaluateStage, evaluate_run};
pub use overrides::TrainOverrides;
pub use pipeline_file::Pipeline;
pub use sweep::{
    PlannedSweep, SweepOutcome, SweepRequest, SweepSetup, plan_sweep, run_sweep, sweep_from_pipeline,
};
