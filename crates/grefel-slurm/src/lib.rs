//! Slurm as the executor of a sweep's cells.
//!
//! A sweep's cells are independent, content-addressed training runs; on a cluster each becomes one
//! task of an `sbatch --array` job, and a report job (`--dependency=afterany` on the array) renders
//! the table of whatever finished. This crate knows Slurm, not sweeps:
//!
//! - [`config`]: the `[slurm]` options (CLI or pipeline TOML), validated once into [`SlurmConfig`];
//! - [`script`]: the sbatch scripts, readable and re-runnable by hand;
//! - [`scheduler`]: `sbatch` and `squeue`, with the scheduler's own message on failure;
//! - [`record`]: `slurm.json`, the job ids of every submission of a sweep.

pub mod config;
pub mod error;
pub mod record;
pub mod scheduler;
pub mod script;

pub use config::{SlurmConfig, SlurmSettings};
pub use error::SlurmError;
pub use record::{SLURM_RECORD, SlurmRecord, Submission, task_log_name};
pub use scheduler::{JobState, Queue, TaskKey};
