//! The sbatch scripts a sweep submits: plain bash with `#SBATCH` lines, written into the sweep
//! folder so that they can be read and submitted again by hand (`sbatch FILE`).

use std::fmt::Write as _;
use std::path::PathBuf;

/// A job array with one task per cell: task `i` runs `command --index i`, its output going to the
/// cell's own log, `<cells_dir>/<cell id>/slurm-<job>_<task>.log`.
#[derive(Clone, Debug)]
pub struct CellArray {
    /// `--job-name`.
    pub job_name: String,
    /// Comment lines at the top of the script (without `#`).
    pub about: Vec<String>,
    /// The tasks: array index (the cell's index in the plan) and cell id.
    pub tasks: Vec<(usize, String)>,
    /// The array's `%N` throttle.
    pub max_parallel: Option<u32>,
    /// Further `#SBATCH` options (`--partition=…`).
    pub options: Vec<String>,
    /// Slurm's own output file (what the job prints before the script redirects it), with `%A`/`%a`.
    pub output: PathBuf,
    /// The folder holding one folder per cell.
    pub cells_dir: PathBuf,
    /// The program and arguments of every task; `--index <task id>` is appended.
    pub command: Vec<String>,
}

impl CellArray {
    /// The `--array` specification: `0,3,5%2`.
    pub fn array_spec(&self) -> String {
        let list: Vec<String> = self.tasks.iter().map(|(i, _)| i.to_string()).collect();
        let mut spec = list.join(",");
        if let Some(n) = self.max_parallel {
            let _ = write!(spec, "%{n}");
        }
        spec
    }

    /// The script.
    pub fn script(&self) -> String {
        let mut s = header(&self.about);
        sbatch_line(&mut s, &format!("--job-name={}", self.job_name));
        sbatch_line(&mut s, &format!("--array={}", self.array_spec()));
        sbatch_line(&mut s, &format!("--output={}", self.output.display()));
        for o in &self.options {
            sbatch_line(&mut s, o);
        }
        s.push_str(
            "\nset -euo pipefail\n\n# The plan's cell of this task.\ncase \"$SLURM_ARRAY_TASK_ID\" in\n",
        );
        for (i, id) in &self.tasks {
            let _ = writeln!(s, "  {i}) cell={} ;;", quote(id));
        }
        s.push_str(
            "  *) echo \"task $SLURM_ARRAY_TASK_ID is not a cell of this array\" >&2; exit 2 ;;\nesac\n\n",
        );
        let _ = writeln!(s, "cells={}", quote(&self.cells_dir.display().to_string()));
        s.push_str(
            "log=\"$cells/$cell/slurm-${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}.log\"\n\
             mkdir -p \"$cells/$cell\"\n\
             exec >>\"$log\" 2>&1\n\
             echo \"task ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} on $(hostname): cell $cell, started $(date -u +%FT%TZ)\"\n",
        );
        let command: Vec<String> = self.command.iter().map(|a| quote(a)).collect();
        let _ = writeln!(s, "exec {} --index \"$SLURM_ARRAY_TASK_ID\"", command.join(" "));
        s
    }
}

/// A single job running `command` (the sweep's report).
#[derive(Clone, Debug)]
pub struct SingleJob {
    /// `--job-name`.
    pub job_name: String,
    /// Comment lines at the top of the script (without `#`).
    pub about: Vec<String>,
    /// Further `#SBATCH` options.
    pub options: Vec<String>,
    /// The job's output file, with `%j`.
    pub output: PathBuf,
    /// The program and its arguments.
    pub command: Vec<String>,
}

impl SingleJob {
    /// The script.
    pub fn script(&self) -> String {
        let mut s = header(&self.about);
        sbatch_line(&mut s, &format!("--job-name={}", self.job_name));
        sbatch_line(&mut s, &format!("--output={}", self.output.display()));
        for o in &self.options {
            sbatch_line(&mut s, o);
        }
        let command: Vec<String> = self.command.iter().map(|a| quote(a)).collect();
        let _ = writeln!(s, "\nset -euo pipefail\nexec {}", command.join(" "));
        s
    }
}

fn header(about: &[String]) -> String {
    let mut s = String::from("#!/bin/bash\n");
    for line in about {
        let _ = writeln!(s, "# {line}");
    }
    s
}

fn sbatch_line(s: &mut String, option: &str) {
    let _ = writeln!(s, "#SBATCH {option}");
}

/// `word` quoted for a POSIX shell when it needs it (`'a b'`, `'it'\''s'`).
pub fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '-' | '_' | '.' | '/' | ':' | '=' | ',' | '+' | '%' | '@')
        });
    if plain { word.to_string() } else { format!("'{}'", word.replace('\'', r"'\''")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_array_script_maps_tasks_to_cells_and_logs_into_the_cell() {
        let array = CellArray {
            job_name: "grefel-abc".into(),
            about: vec!["sweep x".into()],
            tasks: vec![(0, "c0".into()), (3, "c3".into())],
            max_parallel: Some(2),
            options: vec!["--partition=gpu".into(), "--gres=gpu:1".into()],
            output: "/s/slurm/array-%A_%a.log".into(),
            cells_dir: "/s w/cells".into(),
            command: vec!["/bin/grefel".into(), "sweep-cell".into(), "--plan".into(), "/s w".into()],
        };
        assert_eq!(array.array_spec(), "0,3%2");
        let s = array.script();
        for line in [
            "#!/bin/bash",
            "#SBATCH --array=0,3%2",
            "#SBATCH --gres=gpu:1",
            "  3) cell=c3 ;;",
            "cells='/s w/cells'",
            "exec /bin/grefel sweep-cell --plan '/s w' --index \"$SLURM_ARRAY_TASK_ID\"",
        ] {
            assert!(s.lines().any(|l| l == line), "{line} in\n{s}");
        }
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }
}
