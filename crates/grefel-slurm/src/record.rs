//! `slurm.json`: every submission of a sweep to Slurm (job ids, the cells of each array task,
//! the scripts), so that a rerun submits only what is neither finished nor still queued, and
//! `sweep-status` can name the job a cell runs under.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{SlurmConfig, SlurmError, TaskKey};

/// The file name of the record, in the sweep folder.
pub const SLURM_RECORD: &str = "slurm.json";

/// The Slurm submissions of one sweep, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SlurmRecord {
    /// Each `--executor slurm` call that submitted something.
    pub submissions: Vec<Submission>,
}

/// One submission: a cell array and the report job that waits for it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    /// The array job's id.
    pub array_job: u64,
    /// The report job's id.
    pub report_job: u64,
    /// Array task id (the cell's index in the plan) → cell id.
    pub cells: BTreeMap<usize, String>,
    /// The cells' device inside their allocation (`cpu`, `cuda:0`).
    pub device: String,
    /// The array's script, relative to the sweep folder.
    pub script: String,
    /// The report job's script, relative to the sweep folder.
    pub report_script: String,
    /// The Slurm options it was submitted with.
    pub config: SlurmConfig,
}

impl SlurmRecord {
    /// The record in sweep folder `dir`; empty when there is none (a local sweep).
    pub fn read(dir: &Path) -> Result<SlurmRecord, SlurmError> {
        Ok(grefel_artifacts::read_json_if_exists(&dir.join(SLURM_RECORD))?.unwrap_or_default())
    }

    /// Writes the record into `dir` (atomically).
    pub fn write(&self, dir: &Path) -> Result<(), SlurmError> {
        Ok(grefel_artifacts::write_json(&dir.join(SLURM_RECORD), self)?)
    }

    /// Every job id of every submission (arrays and reports).
    pub fn jobs(&self) -> Vec<u64> {
        self.submissions.iter().flat_map(|s| [s.array_job, s.report_job]).collect()
    }

    /// The newest array task that was given cell `id`.
    pub fn latest_task(&self, id: &str) -> Option<TaskKey> {
        self.submissions.iter().rev().find_map(|s| {
            s.cells
                .iter()
                .find(|(_, c)| c.as_str() == id)
                .map(|(i, _)| TaskKey { job: s.array_job, task: Some(*i as u64) })
        })
    }

    /// Every array task that was given cell `id`, oldest first.
    pub fn tasks_of(&self, id: &str) -> Vec<TaskKey> {
        self.submissions
            .iter()
            .flat_map(|s| {
                s.cells
                    .iter()
                    .filter(|(_, c)| c.as_str() == id)
                    .map(|(i, _)| TaskKey { job: s.array_job, task: Some(*i as u64) })
            })
            .collect()
    }
}

/// The name of an array task's log inside its cell folder: `slurm-<job>_<task>.log`.
pub fn task_log_name(key: TaskKey) -> String {
    format!("slurm-{key}.log")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_name_the_newest_task_of_a_cell() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(SlurmRecord::read(dir.path()).expect("absent"), SlurmRecord::default());
        let submission = |job: u64, cells: &[(usize, &str)]| Submission {
            array_job: job,
            report_job: job + 1,
            cells: cells.iter().map(|(i, c)| (*i, c.to_string())).collect(),
            device: "cpu".into(),
            script: format!("slurm/cells-{job}.sbatch"),
            report_script: "slurm/report.sbatch".into(),
            config: SlurmConfig::default(),
        };
        let record = SlurmRecord {
            submissions: vec![submission(10, &[(0, "a"), (1, "b")]), submission(20, &[(1, "b")])],
        };
        record.write(dir.path()).expect("write");
        let back = SlurmRecord::read(dir.path()).expect("read");
        assert_eq!(back, record);
        assert_eq!(back.latest_task("b"), Some(TaskKey { job: 20, task: Some(1) }));
        assert_eq!(back.latest_task("a"), Some(TaskKey { job: 10, task: Some(0) }));
        assert_eq!(back.tasks_of("b").len(), 2);
        assert_eq!(back.latest_task("c"), None);
        assert_eq!(back.jobs(), vec![10, 11, 20, 21]);
        assert_eq!(task_log_name(TaskKey { job: 20, task: Some(1) }), "slurm-20_1.log");
    }
}
