//! grefel-artifacts: the JSON files one stage writes and another reads, as Rust types.
//!
//! Training writes [`RunMetrics`], [`RunTiming`], [`Predictions`] and its [`RunDocument`]; a
//! sweep freezes a [`SweepPlan`] and records one [`CellMetrics`] per finished cell; the report
//! and the command line read the same types. A field renamed here breaks the build of every
//! reader, and the test `tests/schemas.rs` compares each type's JSON Schema with the versioned
//! copy in `data-schemas/json/` (see `data-schemas/CHANGELOG.md`).
//!
//! - [`files`]: the file and folder names, in one place;
//! - [`metrics`]: the metrics of one output on one split (confusion, calibration), and
//!   [`evaluator`], which accumulates them;
//! - [`evaluation`]: `evaluate`'s analysis of a run on a split (per class, per group, gaps);
//! - [`run`]: a training run's files;
//! - [`sweep`]: a sweep's plan and its cells' records;
//! - [`io`]: atomic writing and checked reading of any of them.

pub mod evaluation;
pub mod evaluator;
pub mod files;
pub mod io;
pub mod metrics;
pub mod run;
pub mod sweep;

pub use evaluation::Evaluation;
pub use evaluator::Evaluator;
pub use grefel_schema::DatasetName;
pub use io::{ArtifactError, read_json, read_json_if_exists, write_json};
pub use metrics::{Confusion, OutputMetrics, ReliabilityBin, SplitMetrics};
pub use run::{
    DatasetUse, EpochLog, LandmarkUse, NoiseCorrection, NoiseFileUse, Predictions, Provenance, RunDocument,
    RunMetrics, RunTiming, Seeds, Selection,
};
pub use sweep::{Axis, Cell, CellMetrics, SweepPlan};

/// Every artifact type with its file name, for the schema test and the documentation:
/// `(file, schema name, JSON Schema)`.
pub fn schemas() -> Vec<(&'static str, &'static str, schemars::Schema)> {
    use schemars::schema_for;
    vec![
        (files::RUN_CONFIG, "run_config", schema_for!(RunDocument)),
        (files::RUN_METRICS, "run_metrics", schema_for!(RunMetrics)),
        (files::RUN_TIMING, "run_timing", schema_for!(RunTiming)),
        (files::PREDICTIONS, "predictions", schema_for!(Predictions)),
        (files::PLAN, "sweep_plan", schema_for!(SweepPlan)),
        (files::CELL_METRICS, "cell_metrics", schema_for!(CellMetrics)),
        (files::EVALUATION, "evaluation", schema_for!(Evaluation)),
    ]
}
