//! The state of every cell of a sweep, local or on Slurm: done, queued or running under a job,
//! failed (with its error and log), interrupted, or not started. `cargo xtask sweep-status` prints
//! it; `--executor slurm --wait` counts it while it waits.

use std::path::{Path, PathBuf};

use grefel_artifacts::files::{CELL_ERROR, PLAN};
use grefel_artifacts::{Cell, CellMetrics, SweepPlan};
use grefel_slurm::{JobState, Queue, SlurmRecord, TaskKey, task_log_name};

use crate::PipelineError;
use crate::cluster::SLURM_DIR;

/// Where a cell stands.
#[derive(Clone, Debug, PartialEq)]
pub enum CellState {
    /// Its record exists.
    Done {
        /// Test accuracy of the primary output.
        accuracy: f64,
    },
    /// Queued or running in a live Slurm job.
    Live {
        /// The array task.
        task: TaskKey,
        /// Its state (`PENDING`, `RUNNING`).
        state: JobState,
    },
    /// Ended without a record.
    Failed {
        /// The cell's error message, or how its task ended.
        reason: String,
        /// The log of its last task, when there is one.
        log: Option<PathBuf>,
        /// What Slurm itself wrote about the task (`slurm/array-<job>_<task>.log`: a cancellation,
        /// a time limit), when it wrote anything.
        scheduler_log: Option<PathBuf>,
    },
    /// Started, no record, no error, not running: a killed local sweep (a rerun resumes it).
    Interrupted,
    /// Nothing of it exists yet.
    NotStarted,
}

impl CellState {
    /// One word: `done`, `pending`, `running`, `failed`, `interrupted`, `not started`.
    pub fn word(&self) -> String {
        match self {
            CellState::Done { .. } => "done".into(),
            CellState::Live { state, .. } => state.to_string(),
            CellState::Failed { .. } => "failed".into(),
            CellState::Interrupted => "interrupted".into(),
            CellState::NotStarted => "not started".into(),
        }
    }
}

/// One cell and its state.
#[derive(Clone, Debug)]
pub struct CellStatus {
    /// The cell's index in the plan (its array task id on Slurm).
    pub index: usize,
    /// The cell.
    pub cell: Cell,
    /// Where it stands.
    pub state: CellState,
}

/// Cells by state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatusCounts {
    /// Cells in the plan.
    pub cells: usize,
    /// Finished.
    pub done: usize,
    /// Queued in a live job.
    pub pending: usize,
    /// Running in a live job.
    pub running: usize,
    /// Ended without a record.
    pub failed: usize,
    /// Interrupted or not started.
    pub waiting: usize,
}

impl std::fmt::Display for StatusCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} done, {} running, {} pending, {} failed, {} not run",
            cells(self.cells),
            self.done,
            self.running,
            self.pending,
            self.failed,
            self.waiting
        )
    }
}

/// A sweep folder's cells with their states, its Slurm record and the queue it was checked against.
#[derive(Clone, Debug)]
pub struct SweepStatus {
    /// The sweep folder.
    pub dir: PathBuf,
    /// Every cell, in plan order.
    pub cells: Vec<CellStatus>,
    /// The Slurm submissions (empty for a local sweep).
    pub record: SlurmRecord,
    /// The queue's states of the record's jobs.
    pub queue: Queue,
}

impl SweepStatus {
    /// Reads the plan, every cell folder, `slurm.json`, and (when it lists jobs) the queue.
    pub fn read(dir: &Path) -> Result<SweepStatus, PipelineError> {
        let plan_path = dir.join(PLAN);
        if !plan_path.is_file() {
            return Err(PipelineError::Request(format!(
                "{} has no {PLAN}: not a sweep folder",
                dir.display()
            )));
        }
        let plan: SweepPlan = grefel_artifacts::read_json(&plan_path)?;
        let record = SlurmRecord::read(dir)?;
        let queue = Queue::query(&record.jobs())?;
        let cells = plan
            .cells
            .into_iter()
            .enumerate()
            .map(|(index, cell)| {
                let state = cell_state(dir, &cell, &record, &queue)?;
                Ok(CellStatus { index, cell, state })
            })
            .collect::<Result<_, PipelineError>>()?;
        Ok(SweepStatus { dir: dir.to_path_buf(), cells, record, queue })
    }

    /// Cells by state.
    pub fn counts(&self) -> StatusCounts {
        let mut c = StatusCounts { cells: self.cells.len(), ..StatusCounts::default() };
        for cell in &self.cells {
            match &cell.state {
                CellState::Done { .. } => c.done += 1,
                CellState::Live { state, .. } if state.0 == "PENDING" => c.pending += 1,
                CellState::Live { .. } => c.running += 1,
                CellState::Failed { .. } => c.failed += 1,
                CellState::Interrupted | CellState::NotStarted => c.waiting += 1,
            }
        }
        c
    }

    /// Whether any job of the record (a cell array or a report) is still queued or running.
    pub fn any_job_live(&self) -> bool {
        self.record.jobs().into_iter().any(|j| self.queue.job_is_live(j))
    }

    /// The cells live in a Slurm job, with their tasks.
    pub fn live(&self) -> Vec<(usize, TaskKey)> {
        self.cells
            .iter()
            .filter_map(|c| match &c.state {
                CellState::Live { task, .. } => Some((c.index, *task)),
                _ => None,
            })
            .collect()
    }
}

fn cell_state(
    dir: &Path,
    cell: &Cell,
    record: &SlurmRecord,
    queue: &Queue,
) -> Result<CellState, PipelineError> {
    let cell_dir = SweepPlan::cell_dir(dir, cell);
    if let Some(m) = CellMetrics::read(&cell_dir)? {
        return Ok(CellState::Done { accuracy: m.test.primary.accuracy });
    }
    let task = record.latest_task(&cell.id);
    if let Some(task) = task
        && let Some(state) = queue.state(task)
        && state.is_live()
    {
        return Ok(CellState::Live { task, state: state.clone() });
    }
    let log = task.map(|t| cell_dir.join(task_log_name(t))).filter(|p| p.is_file());
    let scheduler_log = task
        .map(|t| dir.join(SLURM_DIR).join(format!("array-{t}.log")))
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 0));
    if let Ok(message) = std::fs::read_to_string(cell_dir.join(CELL_ERROR)) {
        return Ok(CellState::Failed { reason: message.trim().to_string(), log, scheduler_log });
    }
    if let Some(task) = task {
        if let Some(state) = queue.state(task) {
            let reason = format!("task {task} ended {state} without a record");
            return Ok(CellState::Failed { reason, log, scheduler_log });
        }
        if log.is_some() {
            let reason = format!("task {task} left the queue without a record");
            return Ok(CellState::Failed { reason, log, scheduler_log });
        }
    }
    let started = std::fs::read_dir(&cell_dir).is_ok_and(|mut d| d.next().is_some());
    Ok(if started { CellState::Interrupted } else { CellState::NotStarted })
}

/// `1 cell`, `4 cells`.
pub fn cells(n: usize) -> String {
    format!("{n} {}", if n == 1 { "cell" } else { "cells" })
}

/// The last `n` lines of a log file (none when it cannot be read).
pub fn log_tail(path: &Path, n: usize) -> Vec<String> {
    let text = std::fs::read(path).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].iter().map(|l| l.to_string()).collect()
}
