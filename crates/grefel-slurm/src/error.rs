//! Errors of the Slurm executor.

use std::path::PathBuf;

/// What can go wrong talking to Slurm or validating its options.
#[derive(Debug, thiserror::Error)]
pub enum SlurmError {
    /// A `[slurm]` option is invalid.
    #[error("slurm option {option}: {reason}")]
    Option {
        /// The option (`--slurm-time`, `max_parallel`, …).
        option: &'static str,
        /// Why it is refused.
        reason: String,
    },
    /// A Slurm client program is not on `PATH`.
    #[error(
        "`{program}` was not found on PATH: --executor slurm needs the Slurm client tools (sbatch, squeue) where the sweep is started"
    )]
    Missing {
        /// The program (`sbatch`).
        program: String,
    },
    /// A Slurm client program ran and failed: the scheduler's own message.
    #[error("`{command}` failed ({status}): {message}")]
    Failed {
        /// The command line, as it could be typed.
        command: String,
        /// Its exit status.
        status: String,
        /// What it printed on stderr (or stdout when stderr was empty).
        message: String,
    },
    /// A Slurm client program printed something this crate cannot read.
    #[error("`{command}` printed `{output}`: {reason}")]
    Unreadable {
        /// The command line.
        command: String,
        /// The output line in question.
        output: String,
        /// What was expected.
        reason: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// `slurm.json` could not be read or written.
    #[error(transparent)]
    Record(#[from] grefel_artifacts::ArtifactError),
}
