//! Sweeps on Slurm: the unfinished cells of a frozen plan become one `sbatch --array` job (task
//! id = the cell's index in the plan, each task running this project's binary on its cell:
//! `sweep-cell`), and a report job (`--dependency=afterany` on the array) renders the table of
//! whatever finished.
//!
//! A rerun submits only the cells that have no record and are not queued or running in a job
//! listed in `slurm.json` (checked against `squeue`); a task killed mid-cell resumes from the
//! cell's last epoch checkpoint, as locally. The sweep folder and the data folder must be on a
//! file system the compute nodes share.

use std::path::{Path, PathBuf};
use std::time::Duration;

use grefel_artifacts::files::{CELLS_DIR, PLAN};
use grefel_artifacts::{CellMetrics, SweepPlan};
use grefel_slurm::script::{CellArray, SingleJob};
use grefel_slurm::{SlurmConfig, Submission, TaskKey, scheduler};

use crate::PipelineError;
use crate::cell::TrainCellRunner;
use crate::execute::run_cell;
use crate::status::{SweepStatus, cells};
use crate::sweep::{Logged, PlannedSweep, evaluate_cell, plan_id};

/// The folder of a sweep's Slurm files (scripts, the binary link, the report job's log).
pub const SLURM_DIR: &str = "slurm";

/// A sweep to hand to Slurm.
#[derive(Clone, Debug)]
pub struct SlurmSweep<'a> {
    /// The validated sweep (its devices: the one device of every cell).
    pub planned: &'a PlannedSweep,
    /// The Slurm options.
    pub config: SlurmConfig,
    /// The device of every cell inside its allocation ([`cell_device`]).
    pub device: String,
    /// The binary every task runs (this one): linked into the sweep folder when it can be, so that
    /// a rebuild while the sweep runs changes nothing.
    pub program: PathBuf,
    /// The sweep command (`sweep-anchors`), for the scripts' comments.
    pub command: String,
}

/// What [`submit_sweep`] did.
#[derive(Clone, Debug)]
pub struct Submitted {
    /// Cells in the plan.
    pub cells: usize,
    /// Cells finished before this call.
    pub already_done: usize,
    /// Cells left alone because a live job runs them: (plan index, task).
    pub live: Vec<(usize, TaskKey)>,
    /// The new submission, when any cell needed one.
    pub submission: Option<Submission>,
}

impl Submitted {
    /// How to follow the jobs, or what there is to do.
    pub fn describe(&self, dir: &Path) -> String {
        let live = if self.live.is_empty() {
            String::new()
        } else {
            let mut jobs: Vec<u64> = self.live.iter().map(|(_, t)| t.job).collect();
            jobs.dedup();
            let jobs: Vec<String> = jobs.iter().map(u64::to_string).collect();
            format!(", {} still queued or running under job {}", self.live.len(), jobs.join(","))
        };
        match &self.submission {
            Some(s) => format!(
                "submitted {} as array job {} and the report as job {} ({} already done{live}); follow with `squeue -j {},{}` or `cargo xtask sweep-status {}`",
                cells(s.cells.len()),
                s.array_job,
                s.report_job,
                self.already_done,
                s.array_job,
                s.report_job,
                dir.display()
            ),
            None => {
                format!("nothing to submit: {} of {} cells already done{live}", self.already_done, self.cells)
            }
        }
    }
}

/// The device of every cell under Slurm: `cuda:0` of the allocation when cells ask for GPUs,
/// else the sweep's one device (`cpu` or `libtorch-cpu`).
pub fn cell_device(config: &SlurmConfig, devices: &[String]) -> Result<String, PipelineError> {
    let device = cell_device_name(config, devices)?;
    // The tasks run this binary: a device it cannot open would fail every cell.
    grefel_model::device_from_str(&device)
        .map_err(|source| PipelineError::Device { device: device.clone(), source })?;
    Ok(device)
}

fn cell_device_name(config: &SlurmConfig, devices: &[String]) -> Result<String, PipelineError> {
    if config.gpus_per_cell > 0 {
        return Ok("cuda:0".into());
    }
    match devices {
        [d] if d.trim().starts_with("cuda") => Err(PipelineError::Request(format!(
            "--device {d} with --executor slurm: ask for GPUs with --slurm-gpus-per-cell N (each cell uses cuda:0 of its allocation)"
        ))),
        [d] => Ok(d.clone()),
        _ => Err(PipelineError::Request(
            "--executor slurm takes one --device (the scheduler spreads the cells, one task each)".into(),
        )),
    }
}

/// Freezes the plan and submits the cells that are neither finished nor queued or running in a
/// live job of `slurm.json`, as one array job, and a report job after it (and after the live
/// arrays). Nothing is written when `sbatch` is missing; a refused submission leaves the plan and
/// the finished cells as they were.
pub fn submit_sweep(sweep: &SlurmSweep) -> Result<Submitted, PipelineError> {
    let planned = sweep.planned;
    let out = &planned.out;
    scheduler::find_program("sbatch")?;
    let device = sweep.device.clone();
    planned.plan.freeze(out)?;
    let status = SweepStatus::read(out)?;
    let counts = status.counts();
    let live = status.live();
    let todo: Vec<(usize, String)> = status
        .cells
        .iter()
        .filter(|c| {
            !matches!(c.state, crate::status::CellState::Done { .. } | crate::status::CellState::Live { .. })
        })
        .map(|c| (c.index, c.cell.id.clone()))
        .collect();
    let mut outcome = Submitted { cells: counts.cells, already_done: counts.done, live, submission: None };
    if todo.is_empty() {
        return Ok(outcome);
    }

    let slurm_dir = out.join(SLURM_DIR);
    std::fs::create_dir_all(&slurm_dir).map_err(|e| io(&slurm_dir, e))?;
    let program = link_program(&sweep.program, &slurm_dir);
    let number = status.record.submissions.len() + 1;
    let name = format!("grefel-{}", plan_id(&planned.plan));
    let script = format!("{SLURM_DIR}/cells-{number}.sbatch");
    let report_script = format!("{SLURM_DIR}/report-{number}.sbatch");
    let about = |what: &str, file: &str| {
        vec![
            format!("grefel {}: {what}", sweep.command),
            format!("sweep folder {}", out.display()),
            format!(
                "written by `--executor slurm`; submit again by hand with `sbatch {}`",
                out.join(file).display()
            ),
        ]
    };
    let mut cell_command = vec![
        program.display().to_string(),
        "sweep-cell".into(),
        "--plan".into(),
        out.display().to_string(),
        "--data".into(),
        planned.data.display().to_string(),
        "--device".into(),
        device.clone(),
    ];
    let mut report_command = vec![program.display().to_string(), "report".into(), out.display().to_string()];
    if !planned.by.is_empty() {
        for command in [&mut cell_command, &mut report_command] {
            command.extend(["--by".into(), planned.by.join(",")]);
        }
    }
    let array = CellArray {
        job_name: name.clone(),
        about: about(
            &format!(
                "{} cells of plan {}, one array task per cell (task id = cell index)",
                todo.len(),
                plan_id(&planned.plan)
            ),
            &script,
        ),
        tasks: todo.clone(),
        max_parallel: sweep.config.max_parallel,
        options: sweep.config.cell_options(),
        output: slurm_dir.join("array-%A_%a.log"),
        cells_dir: out.join(CELLS_DIR),
        command: cell_command,
    };
    let report = SingleJob {
        job_name: format!("{name}-report"),
        about: about(
            "the report of every finished cell (submitted with --dependency=afterany on the cell arrays)",
            &report_script,
        ),
        options: sweep.config.report_options(),
        output: slurm_dir.join("report-%j.log"),
        command: report_command,
    };
    write_script(&out.join(&script), &array.script())?;
    write_script(&out.join(&report_script), &report.script())?;

    let array_job = scheduler::submit(&out.join(&script), &[])?;
    let mut after: Vec<u64> = vec![array_job];
    after.extend(outcome.live.iter().map(|(_, t)| t.job));
    after.sort_unstable();
    after.dedup();
    let dependency =
        format!("--dependency=afterany:{}", after.iter().map(u64::to_string).collect::<Vec<_>>().join(":"));
    let report_job = match scheduler::submit(&out.join(&report_script), &[dependency]) {
        Ok(id) => id,
        Err(e) => {
            // No array without its report: cancel it, so that the record stays true.
            if let Err(c) = scheduler::cancel(&[TaskKey { job: array_job, task: None }]) {
                tracing::warn!("cancelling array job {array_job} after the report was refused: {c}");
            }
            return Err(e.into());
        }
    };
    let submission = Submission {
        array_job,
        report_job,
        cells: todo.into_iter().collect(),
        device,
        script,
        report_script,
        config: sweep.config.clone(),
    };
    let mut record = status.record;
    record.submissions.push(submission.clone());
    record.write(out)?;
    outcome.submission = Some(submission);
    Ok(outcome)
}

/// Links `program` into the sweep's Slurm folder (a hard link: no copy, and a rebuild of the
/// original leaves the sweep's binary as it was); the original path when it cannot be linked.
fn link_program(program: &Path, slurm_dir: &Path) -> PathBuf {
    let name = program.file_name().map_or_else(|| "grefel".into(), |n| n.to_string_lossy().into_owned());
    let target = slurm_dir.join(format!("bin/{name}"));
    let tmp = slurm_dir.join(format!("bin/.{name}.tmp"));
    let linked = target.parent().is_some_and(|p| std::fs::create_dir_all(p).is_ok())
        && {
            let _ = std::fs::remove_file(&tmp);
            std::fs::hard_link(program, &tmp).is_ok()
        }
        && std::fs::rename(&tmp, &target).is_ok();
    if linked {
        target
    } else {
        tracing::info!(
            "tasks run {} (it could not be linked into {})",
            program.display(),
            slurm_dir.display()
        );
        program.to_path_buf()
    }
}

fn write_script(path: &Path, text: &str) -> Result<(), PipelineError> {
    grefel_shards::atomic::write_bytes(path, text.as_bytes())
        .map_err(grefel_artifacts::ArtifactError::from)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).map_err(|e| io(path, e))?;
    }
    Ok(())
}

fn io(path: &Path, e: std::io::Error) -> PipelineError {
    PipelineError::Slurm(grefel_slurm::SlurmError::Io { path: path.to_path_buf(), source: e })
}

/// Waits until no job of the sweep's `slurm.json` is queued or running, calling `on_poll` with the
/// status after each look at the queue (every `every`); returns the last status.
pub fn wait_sweep(
    dir: &Path,
    every: Duration,
    on_poll: &mut dyn FnMut(&SweepStatus),
) -> Result<SweepStatus, PipelineError> {
    loop {
        let status = SweepStatus::read(dir)?;
        on_poll(&status);
        if !status.any_job_live() {
            return Ok(status);
        }
        std::thread::sleep(every);
    }
}

/// How the newest report job ended: `Ok` when it completed (or Slurm no longer knows it and the
/// table exists), else an error naming the job, its state and the end of its log.
pub fn check_report_job(status: &SweepStatus, table_csv: &Path) -> Result<(), PipelineError> {
    let Some(last) = status.record.submissions.last() else { return Ok(()) };
    let key = TaskKey { job: last.report_job, task: None };
    let log = status.dir.join(SLURM_DIR).join(format!("report-{}.log", last.report_job));
    match status.queue.state(key) {
        Some(state) if state.is_completed() => Ok(()),
        None if table_csv.is_file() => Ok(()),
        state => {
            let how = state.map_or_else(|| "left the queue".to_string(), |s| format!("ended {s}"));
            let tail = crate::status::log_tail(&log, 10).join("\n");
            Err(PipelineError::Request(format!(
                "the report job {} {how}; its log {}:\n{tail}",
                last.report_job,
                log.display()
            )))
        }
    }
}

/// What `sweep-cell` asks: one cell of a frozen plan.
#[derive(Clone, Debug)]
pub struct CellRequest {
    /// The sweep folder (holding `plan.json`).
    pub plan: PathBuf,
    /// The cell's index in the plan.
    pub index: usize,
    /// The folder of the prepared datasets.
    pub data: PathBuf,
    /// The device.
    pub device: String,
    /// Columns the finished cell is evaluated by.
    pub by: Vec<String>,
}

/// What [`sweep_cell`] did.
#[derive(Clone, Debug)]
pub enum CellOutcome {
    /// The cell had its record already.
    AlreadyDone(CellMetrics),
    /// The cell ran (or resumed) and finished.
    Finished(CellMetrics),
}

/// Runs one cell of a frozen plan in its folder (resuming from its checkpoints), records the
/// outcome there, and evaluates it by `by`. A failure is recorded in the cell's `error.txt` and
/// returned.
pub fn sweep_cell(request: &CellRequest) -> Result<CellOutcome, PipelineError> {
    let plan: SweepPlan = grefel_artifacts::read_json(&request.plan.join(PLAN))?;
    let cell = plan.cells.get(request.index).ok_or_else(|| {
        PipelineError::Request(format!(
            "--index {}: the plan in {} has {} cells (0..{})",
            request.index,
            request.plan.display(),
            plan.cells.len(),
            plan.cells.len().saturating_sub(1)
        ))
    })?;
    grefel_model::device_from_str(&request.device)
        .map_err(|source| PipelineError::Device { device: request.device.clone(), source })?;
    if let Some(done) = SweepPlan::finished(&request.plan, cell)? {
        evaluate_cell(&request.plan, cell, &request.data, &request.by)?;
        return Ok(CellOutcome::AlreadyDone(done));
    }
    let runner = Logged { inner: TrainCellRunner::new(request.data.clone()), plan: &plan };
    run_cell(&request.plan, cell, &request.device, &runner).map_err(|e| {
        PipelineError::Request(format!("cell {} ({}): {e}", request.index, crate::sweep::describe(cell)))
    })?;
    evaluate_cell(&request.plan, cell, &request.data, &request.by)?;
    let record = SweepPlan::finished(&request.plan, cell)?
        .ok_or_else(|| PipelineError::Request(format!("cell {} finished without its record", cell.id)))?;
    Ok(CellOutcome::Finished(record))
}
