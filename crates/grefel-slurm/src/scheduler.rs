//! The Slurm client programs: `sbatch` to submit, `squeue` to see what is still queued or running.
//! Every failure carries the command line and the scheduler's own message.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use serde::{Deserialize, Serialize};

use crate::SlurmError;

/// One task of an array job, or a plain job (`task` is `None`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TaskKey {
    /// The (array) job id.
    pub job: u64,
    /// The array task id.
    pub task: Option<u64>,
}

impl std::fmt::Display for TaskKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.task {
            Some(t) => write!(f, "{}_{t}", self.job),
            None => write!(f, "{}", self.job),
        }
    }
}

/// A job state as `squeue` prints it (`PENDING`, `RUNNING`, `COMPLETED`, `FAILED`, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobState(pub String);

/// States after which a job or task no longer runs.
const ENDED: [&str; 11] = [
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "TIMEOUT",
    "NODE_FAIL",
    "OUT_OF_MEMORY",
    "PREEMPTED",
    "BOOT_FAIL",
    "DEADLINE",
    "SPECIAL_EXIT",
    "REVOKED",
];

impl JobState {
    /// Whether the job is still queued or running (anything but an end state).
    pub fn is_live(&self) -> bool {
        !ENDED.contains(&self.0.as_str())
    }

    /// Whether the job ended successfully.
    pub fn is_completed(&self) -> bool {
        self.0 == "COMPLETED"
    }
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.to_ascii_lowercase())
    }
}

/// The states of this user's jobs that Slurm still knows (queued, running, or ended within the
/// cluster's `MinJobAge`), one per array task.
#[derive(Clone, Debug, Default)]
pub struct Queue {
    states: BTreeMap<TaskKey, JobState>,
}

impl Queue {
    /// Asks `squeue` for this user's jobs among `jobs` (every task of an array on its own line).
    /// No jobs: an empty queue, without calling `squeue`.
    pub fn query(jobs: &[u64]) -> Result<Queue, SlurmError> {
        if jobs.is_empty() {
            return Ok(Queue::default());
        }
        let args = ["--me", "--noheader", "--array", "--states=all", "--format=%F|%K|%T"];
        let out = run("squeue", &args)?;
        let mut states = BTreeMap::new();
        for line in String::from_utf8_lossy(&out.stdout).lines().map(str::trim).filter(|l| !l.is_empty()) {
            let unreadable = |reason: &str| SlurmError::Unreadable {
                command: command_line("squeue", &args),
                output: line.to_string(),
                reason: reason.to_string(),
            };
            let mut fields = line.split('|');
            let (Some(job), Some(task), Some(state)) = (fields.next(), fields.next(), fields.next()) else {
                return Err(unreadable("expected JOB|TASK|STATE"));
            };
            let job: u64 = job.parse().map_err(|_| unreadable("the job id is not a number"))?;
            if !jobs.contains(&job) {
                continue;
            }
            // A pending array may still be listed as one line (`[2-5%2]`) by old versions.
            let task = match task {
                "N/A" => None,
                t => match t.parse::<u64>() {
                    Ok(t) => Some(t),
                    Err(_) => continue,
                },
            };
            states.insert(TaskKey { job, task }, JobState(state.to_string()));
        }
        Ok(Queue { states })
    }

    /// The state of one task, if Slurm still knows it.
    pub fn state(&self, key: TaskKey) -> Option<&JobState> {
        self.states.get(&key)
    }

    /// Whether `key` is queued or running.
    pub fn is_live(&self, key: TaskKey) -> bool {
        self.state(key).is_some_and(JobState::is_live)
    }

    /// Whether any task of `job` is queued or running.
    pub fn job_is_live(&self, job: u64) -> bool {
        self.states.iter().any(|(k, s)| k.job == job && s.is_live())
    }
}

/// Submits `script` with `sbatch --parsable`, the options given before it; returns the job id.
pub fn submit(script: &Path, options: &[String]) -> Result<u64, SlurmError> {
    let mut args: Vec<String> = vec!["--parsable".into()];
    args.extend(options.iter().cloned());
    args.push(script.display().to_string());
    let out = run("sbatch", &args)?;
    let text = String::from_utf8_lossy(&out.stdout);
    // `--parsable` prints `<id>` or `<id>;<cluster>`.
    let line = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or_default();
    line.split(';').next().and_then(|id| id.trim().parse().ok()).ok_or_else(|| SlurmError::Unreadable {
        command: command_line("sbatch", &args),
        output: line.to_string(),
        reason: "expected the job id".into(),
    })
}

/// The path of `program` on `PATH`, or [`SlurmError::Missing`].
pub fn find_program(program: &str) -> Result<std::path::PathBuf, SlurmError> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
        .ok_or_else(|| SlurmError::Missing { program: program.to_string() })
}

/// Cancels jobs (`scancel`).
pub fn cancel(jobs: &[TaskKey]) -> Result<(), SlurmError> {
    if jobs.is_empty() {
        return Ok(());
    }
    let args: Vec<String> = jobs.iter().map(TaskKey::to_string).collect();
    run("scancel", &args).map(|_| ())
}

/// How long a Slurm client may take before it counts as hung (seconds; `GREFEL_SLURM_TIMEOUT`
/// overrides). Clients retry an unreachable controller for about a minute before they give up.
const DEFAULT_TIMEOUT_S: u64 = 180;

/// Runs a Slurm client program; a missing program, a non-zero exit and a hang past the timeout
/// are errors with its message.
fn run<S: AsRef<str>>(program: &str, args: &[S]) -> Result<Output, SlurmError> {
    use std::io::Read;
    use std::process::Stdio;
    let failed = |status: &str, message: String| SlurmError::Failed {
        command: command_line(program, args),
        status: status.to_string(),
        message,
    };
    let mut child = Command::new(program)
        .args(args.iter().map(AsRef::as_ref))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                SlurmError::Missing { program: program.to_string() }
            } else {
                failed("could not start", e.to_string())
            }
        })?;
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let timeout = std::env::var("GREFEL_SLURM_TIMEOUT")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(DEFAULT_TIMEOUT_S);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(timeout);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if std::time::Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(failed(
                    "no answer",
                    format!(
                        "no answer within {timeout} s: is the Slurm controller reachable from here (SLURM_CONF, `scontrol ping`)?"
                    ),
                ));
            }
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(50)),
            Err(e) => return Err(failed("could not wait", e.to_string())),
        }
    };
    let out = Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    };
    if out.status.success() {
        return Ok(out);
    }
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    let message =
        if stderr.is_empty() { String::from_utf8_lossy(&out.stdout).trim().to_string() } else { stderr };
    Err(failed(&out.status.to_string(), message))
}

/// `program arg…`, each argument quoted for a POSIX shell where it needs it.
pub fn command_line<S: AsRef<str>>(program: &str, args: &[S]) -> String {
    std::iter::once(program)
        .chain(args.iter().map(AsRef::as_ref))
        .map(crate::script::quote)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_and_keys() {
        assert!(JobState("PENDING".into()).is_live());
        assert!(JobState("COMPLETING".into()).is_live());
        assert!(!JobState("TIMEOUT".into()).is_live());
        assert!(JobState("COMPLETED".into()).is_completed());
        assert_eq!(TaskKey { job: 12, task: Some(3) }.to_string(), "12_3");
        assert_eq!(TaskKey { job: 13, task: None }.to_string(), "13");
        assert_eq!(command_line("sbatch", &["--parsable", "a b.sh"]), "sbatch --parsable 'a b.sh'");
    }
}
