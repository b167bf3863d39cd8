//! The one error type of the report stage.
//!
//! User and data errors (a malformed plan, a broken `metrics.json`, an unwritable report folder)
//! name the file they concern. [`ReportError::Aggregate`] is the only internal error: the polars
//! frames are built here, so a polars failure is a bug in this crate, not in the sweep.

use std::path::PathBuf;

/// Everything that can stop [`crate::render`].
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file of the sweep could not be read (other than a missing `metrics.json`, which only
    /// marks an unfinished cell).
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file that could not be read.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A JSON file of the sweep is not valid JSON or does not have the expected fields.
    #[error("malformed JSON in {path}: {source}")]
    Json {
        /// The file that failed to parse.
        path: PathBuf,
        /// The parser's message, with line and column.
        source: serde_json::Error,
    },
    /// `plan.json` parsed but describes no table this stage can lay out.
    #[error("invalid sweep plan {path}: {reason}")]
    Plan {
        /// The plan file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A `metrics.json` parsed but contradicts the plan or itself.
    #[error("invalid metrics file {path}: {reason}")]
    Metrics {
        /// The metrics file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Not one planned cell has finished, so there is nothing to report.
    #[error("no finished cell in {dir} ({planned} planned, none has a metrics.json): nothing to report")]
    NothingFinished {
        /// The sweep directory.
        dir: PathBuf,
        /// How many cells the plan lists.
        planned: usize,
    },
    /// An output file (or the report folder) could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file or folder that could not be written.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A figure could not be encoded as PNG.
    #[error("cannot encode {path} as PNG: {source}")]
    Png {
        /// The PNG file being written.
        path: PathBuf,
        /// The encoder's error.
        source: image::ImageError,
    },
    /// The predictions handed to the evaluation analysis are inconsistent.
    #[error("cannot analyse the predictions: {reason}")]
    Analysis {
        /// What does not fit.
        reason: String,
    },
    /// Internal: building or splitting the aggregation frame failed (a bug in this crate).
    #[error("internal error while aggregating the sweep table with polars: {0}")]
    Aggregate(#[from] polars::error::PolarsError),
}
