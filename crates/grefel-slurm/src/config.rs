//! The Slurm options of a sweep: raw ([`SlurmSettings`], from the command line or a pipeline's
//! `[slurm]` table) and validated ([`SlurmConfig`]).

use serde::{Deserialize, Serialize};

use crate::SlurmError;

/// The `[slurm]` table of a pipeline file, or the `--slurm-*` options: every field optional, so
/// a lab writes its cluster once in the TOML and a command line overrides field by field.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlurmSettings {
    /// Partition of every job (`--partition`); the cluster's default when absent.
    #[serde(default)]
    pub partition: Option<String>,
    /// Time limit of each cell's task (`--time`: `MM`, `HH:MM:SS`, `D-HH:MM`, …).
    #[serde(default)]
    pub time: Option<String>,
    /// GPUs per cell (`--gres=gpu:N`); the cell trains on `cuda:0` of what Slurm hands it. 0: CPU.
    #[serde(default)]
    pub gpus_per_cell: Option<u32>,
    /// CPUs per cell (`--cpus-per-task`).
    #[serde(default)]
    pub cpus_per_cell: Option<u32>,
    /// Memory per cell (`--mem`: `16G`, `4000M`).
    #[serde(default)]
    pub mem: Option<String>,
    /// Cells running at once (the array's `%N` throttle); unlimited when absent.
    #[serde(default)]
    pub max_parallel: Option<u32>,
    /// Further sbatch options, passed as they are (`--account=lab`, `--qos=short`).
    #[serde(default)]
    pub args: Vec<String>,
}

impl SlurmSettings {
    /// These settings with `over`'s fields where it has them; `over`'s args come after these.
    pub fn overlay(self, over: SlurmSettings) -> SlurmSettings {
        let mut args = self.args;
        args.extend(over.args);
        SlurmSettings {
            partition: over.partition.or(self.partition),
            time: over.time.or(self.time),
            gpus_per_cell: over.gpus_per_cell.or(self.gpus_per_cell),
            cpus_per_cell: over.cpus_per_cell.or(self.cpus_per_cell),
            mem: over.mem.or(self.mem),
            max_parallel: over.max_parallel.or(self.max_parallel),
            args,
        }
    }

    /// Checks every option once: the values Slurm would refuse late (an empty partition, a time
    /// that is no duration, a zero throttle) are refused here, before anything is submitted.
    pub fn validate(self) -> Result<SlurmConfig, SlurmError> {
        let word = |option: &'static str, value: Option<String>| -> Result<Option<String>, SlurmError> {
            match value {
                Some(v) if v.trim().is_empty() || v.chars().any(|c| c.is_whitespace() || c.is_control()) => {
                    Err(SlurmError::Option { option, reason: format!("`{v}` is empty or has spaces") })
                }
                other => Ok(other),
            }
        };
        let partition = word("--slurm-partition", self.partition)?;
        let time = word("--slurm-time", self.time)?;
        if let Some(t) = &time
            && !is_duration(t)
        {
            return Err(SlurmError::Option {
                option: "--slurm-time",
                reason: format!(
                    "`{t}` is not a Slurm duration (MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS)"
                ),
            });
        }
        let mem = word("--slurm-mem", self.mem)?;
        if let Some(m) = &mem {
            let digits = m.trim_end_matches(['K', 'M', 'G', 'T', 'k', 'm', 'g', 't']);
            if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
                return Err(SlurmError::Option {
                    option: "--slurm-mem",
                    reason: format!("`{m}` is not a memory size (4000, 4000M, 16G)"),
                });
            }
        }
        if self.cpus_per_cell == Some(0) {
            return Err(SlurmError::Option {
                option: "--slurm-cpus-per-cell",
                reason: "must be at least 1".into(),
            });
        }
        if self.max_parallel == Some(0) {
            return Err(SlurmError::Option {
                option: "--slurm-max-parallel",
                reason: "must be at least 1".into(),
            });
        }
        for arg in &self.args {
            if !arg.starts_with('-') || arg.contains(['\n', '\r']) {
                return Err(SlurmError::Option {
                    option: "--slurm-arg",
                    reason: format!("`{arg}` is not one sbatch option (write it as --name=value)"),
                });
            }
        }
        Ok(SlurmConfig {
            partition,
            time,
            gpus_per_cell: self.gpus_per_cell.unwrap_or(0),
            cpus_per_cell: self.cpus_per_cell,
            mem,
            max_parallel: self.max_parallel,
            args: self.args,
        })
    }
}

/// Whether `t` is one of Slurm's duration formats.
fn is_duration(t: &str) -> bool {
    let numbers = |s: &str, max_parts: usize| {
        let parts: Vec<&str> = s.split(':').collect();
        parts.len() <= max_parts
            && parts.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
    };
    match t.split_once('-') {
        Some((days, rest)) => numbers(days, 1) && numbers(rest, 3),
        None => numbers(t, 3),
    }
}

/// Validated Slurm options of a sweep.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlurmConfig {
    /// Partition of every job.
    pub partition: Option<String>,
    /// Time limit of each cell.
    pub time: Option<String>,
    /// GPUs per cell (0: the cells train on the CPU).
    pub gpus_per_cell: u32,
    /// CPUs per cell.
    pub cpus_per_cell: Option<u32>,
    /// Memory per cell.
    pub mem: Option<String>,
    /// The array's throttle.
    pub max_parallel: Option<u32>,
    /// Further sbatch options.
    pub args: Vec<String>,
}

impl SlurmConfig {
    /// The sbatch options of a cell task, one `--name=value` each.
    pub fn cell_options(&self) -> Vec<String> {
        let mut out = self.shared_options();
        if self.gpus_per_cell > 0 {
            out.push(format!("--gres=gpu:{}", self.gpus_per_cell));
        }
        if let Some(c) = self.cpus_per_cell {
            out.push(format!("--cpus-per-task={c}"));
        }
        if let Some(m) = &self.mem {
            out.push(format!("--mem={m}"));
        }
        out.extend(self.args.iter().cloned());
        out
    }

    /// The sbatch options of the report job: the cells' partition, time limit and extra options,
    /// one CPU and no GPU.
    pub fn report_options(&self) -> Vec<String> {
        let mut out = self.shared_options();
        out.push("--cpus-per-task=1".into());
        out.extend(self.args.iter().cloned());
        out
    }

    fn shared_options(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(p) = &self.partition {
            out.push(format!("--partition={p}"));
        }
        if let Some(t) = &self.time {
            out.push(format!("--time={t}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_overrides_the_pipeline_field_by_field() {
        let toml = SlurmSettings {
            partition: Some("gpu".into()),
            time: Some("2:00:00".into()),
            gpus_per_cell: Some(1),
            args: vec!["--account=lab".into()],
            ..SlurmSettings::default()
        };
        let cli =
            SlurmSettings { time: Some("30".into()), args: vec!["--qos=short".into()], ..Default::default() };
        let config = toml.overlay(cli).validate().expect("valid");
        assert_eq!(
            config.cell_options(),
            ["--partition=gpu", "--time=30", "--gres=gpu:1", "--account=lab", "--qos=short"]
        );
        assert_eq!(
            config.report_options(),
            ["--partition=gpu", "--time=30", "--cpus-per-task=1", "--account=lab", "--qos=short"]
        );
    }

    #[test]
    fn bad_options_are_refused_by_name() {
        let bad = [
            (SlurmSettings { time: Some("2h".into()), ..Default::default() }, "--slurm-time"),
            (SlurmSettings { time: Some("1-2:3:4:5".into()), ..Default::default() }, "--slurm-time"),
            (SlurmSettings { partition: Some("a b".into()), ..Default::default() }, "--slurm-partition"),
            (SlurmSettings { mem: Some("lots".into()), ..Default::default() }, "--slurm-mem"),
            (SlurmSettings { max_parallel: Some(0), ..Default::default() }, "--slurm-max-parallel"),
            (SlurmSettings { cpus_per_cell: Some(0), ..Default::default() }, "--slurm-cpus-per-cell"),
            (SlurmSettings { args: vec!["account=lab".into()], ..Default::default() }, "--slurm-arg"),
        ];
        for (settings, option) in bad {
            let e = settings.clone().validate().expect_err("refused");
            assert!(e.to_string().contains(option), "{settings:?}: {e}");
        }
        for good in ["45", "10:00", "12:00:00", "2-0", "1-12:00", "1-12:00:00"] {
            let s = SlurmSettings { time: Some(good.into()), mem: Some("16G".into()), ..Default::default() };
            assert!(s.validate().is_ok(), "{good}");
        }
    }
}
