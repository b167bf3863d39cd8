//! Reading a sweep directory: `plan.json` and the `metrics.json` of every finished cell,
//! validated once into a [`Sweep`] that the rest of the crate trusts.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use grefel_artifacts::{ArtifactError, CellMetrics as CellRecord, OutputMetrics, SweepPlan};
use serde_json::Value;

use crate::ReportError;
use crate::config::{Head, ReportConfig, Split};

pub(crate) use grefel_artifacts::ReliabilityBin;
pub use grefel_artifacts::files::{CELL_METRICS, CELLS_DIR, PLAN as PLAN_FILE};

/// Name of the replicate axis, averaged over in every table.
pub const SEED_AXIS: &str = "seed";

/// One axis of the table (row or column) with its values in plan order.
#[derive(Debug, Clone)]
pub(crate) struct Axis {
    pub name: String,
    pub values: Vec<Value>,
    /// Display form of each value (`4`, `0.1`), see [`scalar_label`].
    pub labels: Vec<String>,
}

impl Axis {
    fn index_of(&self, value: &Value) -> Option<usize> {
        self.values.iter().position(|v| same_scalar(v, value))
    }
}

/// The validated metrics of one finished cell, reduced to the split and head of the config.
#[derive(Debug, Clone)]
pub(crate) struct CellMetrics {
    pub classes: Vec<String>,
    pub selected: OutputMetrics,
    pub correction_rate: Option<f64>,
    /// `backend precision` (`cpu fp32`), `unrecorded` for cells written before it was.
    pub arithmetic: String,
    /// Group metrics of the `by` columns (`accuracy[gender=female]`, `accuracy_gap[gender]`,
    /// `equal_opportunity_gap[gender]`) as fractions, from the cell's `evaluation.json`.
    pub groups: Vec<(String, f64)>,
}

/// One planned cell, placed in the table grid.
#[derive(Debug, Clone)]
pub(crate) struct PlannedCell {
    pub id: String,
    pub row: usize,
    pub column: usize,
    pub metrics: Option<CellMetrics>,
}

/// A sweep directory, read and validated.
#[derive(Debug, Clone)]
pub(crate) struct Sweep {
    pub row_axis: Axis,
    pub column_axis: Option<Axis>,
    /// Every planned cell in plan order, finished or not.
    pub cells: Vec<PlannedCell>,
}

impl Sweep {
    /// Reads `dir/plan.json` and the `metrics.json` of every finished cell, and for each `by`
    /// column the group metrics of its evaluation.
    pub fn load(dir: &Path, config: &ReportConfig, by: &[String]) -> Result<Self, ReportError> {
        let plan_path = dir.join(PLAN_FILE);
        let raw: SweepPlan = grefel_artifacts::read_json(&plan_path).map_err(report_error)?;
        let plan_error = |reason: String| ReportError::Plan { path: plan_path.clone(), reason };

        let mut names = BTreeSet::new();
        for axis in &raw.axes {
            if !names.insert(axis.name.as_str()) {
                return Err(plan_error(format!("axis `{}` is listed twice", axis.name)));
            }
            if axis.values.is_empty() {
                return Err(plan_error(format!("axis `{}` has no values", axis.name)));
            }
            for (i, value) in axis.values.iter().enumerate() {
                if !is_scalar(value) {
                    return Err(plan_error(format!(
                        "axis `{}` value {value} is not a number, string or boolean",
                        axis.name
                    )));
                }
                if axis.values[..i].iter().any(|earlier| same_scalar(earlier, value)) {
                    return Err(plan_error(format!("axis `{}` lists the value {value} twice", axis.name)));
                }
            }
        }
        let table_axes: Vec<Axis> = raw
            .axes
            .iter()
            .filter(|a| a.name != SEED_AXIS)
            .map(|a| Axis {
                name: a.name.clone(),
                labels: a.values.iter().map(scalar_label).collect(),
                values: a.values.clone(),
            })
            .collect();
        let (row_axis, column_axis) = match table_axes.as_slice() {
            [] => return Err(plan_error("no axis other than `seed`: nothing to tabulate".to_string())),
            [row] => (row.clone(), None),
            [row, column] => (row.clone(), Some(column.clone())),
            more => {
                let names: Vec<&str> = more.iter().map(|a| a.name.as_str()).collect();
                return Err(plan_error(format!(
                    "{} non-seed axes ({}); a table has one row axis and at most one column axis",
                    more.len(),
                    names.join(", ")
                )));
            }
        };
        let seed_axis = raw.axes.iter().find(|a| a.name == SEED_AXIS).map(|a| Axis {
            name: a.name.clone(),
            values: a.values.clone(),
            labels: Vec::new(),
        });

        let mut ids = BTreeSet::new();
        let mut points = BTreeSet::new();
        let mut cells = Vec::with_capacity(raw.cells.len());
        for cell in &raw.cells {
            if cell.id.is_empty()
                || !cell.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(plan_error(format!(
                    "cell id {:?} is not a plain name (letters, digits, `-`, `_`)",
                    cell.id
                )));
            }
            if !ids.insert(cell.id.as_str()) {
                return Err(plan_error(format!("cell `{}` is listed twice", cell.id)));
            }
            let locate = |axis: &Axis| -> Result<usize, ReportError> {
                let value = cell.coords.get(&axis.name).ok_or_else(|| {
                    plan_error(format!("cell `{}` has no coordinate `{}`", cell.id, axis.name))
                })?;
                axis.index_of(value).ok_or_else(|| {
                    plan_error(format!(
                        "cell `{}` has {} = {value}, which is not a value of that axis",
                        cell.id, axis.name
                    ))
                })
            };
            let row = locate(&row_axis)?;
            let column = column_axis.as_ref().map(&locate).transpose()?.unwrap_or(0);
            let seed = seed_axis.as_ref().map(&locate).transpose()?;
            if !points.insert((row, column, seed)) {
                return Err(plan_error(format!(
                    "cell `{}` repeats the coordinates of an earlier cell",
                    cell.id
                )));
            }
            let cell_dir = dir.join(CELLS_DIR).join(&cell.id);
            let record = CellRecord::read(&cell_dir).map_err(report_error)?;
            let metrics_path = cell_dir.join(CELL_METRICS);
            let mut metrics = None;
            if let Some(r) = record {
                let run = r.run.clone();
                let mut m = check_record(&metrics_path, r, cell, &raw.axes, config)?;
                if !by.is_empty() {
                    let dataset = cell.config.get("dataset").and_then(Value::as_str).unwrap_or_default();
                    m.groups = group_metrics(&cell_dir.join(&run), dataset, config, by)?;
                }
                metrics = Some(m);
            }
            cells.push(PlannedCell { id: cell.id.clone(), row, column, metrics });
        }
        if cells.iter().all(|c| c.metrics.is_none()) {
            return Err(ReportError::NothingFinished { dir: dir.to_path_buf(), planned: cells.len() });
        }
        Ok(Self { row_axis, column_axis, cells })
    }
}

/// The group metrics of the `by` columns from `<run>/evaluation/<dataset>-<split>/evaluation.json`.
fn group_metrics(
    run: &Path,
    dataset: &str,
    config: &ReportConfig,
    by: &[String],
) -> Result<Vec<(String, f64)>, ReportError> {
    use grefel_artifacts::files::{EVALUATION, evaluation_dir};
    let path = evaluation_dir(run, dataset, config.split.name()).join(EVALUATION);
    let invalid = |reason: String| ReportError::Metrics { path: path.clone(), reason };
    let evaluation: grefel_artifacts::Evaluation = match grefel_artifacts::read_json_if_exists(&path) {
        Ok(Some(e)) => e,
        Ok(None) => {
            return Err(invalid(format!(
                "missing: evaluate the cell's run by {} first (the sweep command with --by does)",
                by.join(",")
            )));
        }
        Err(e) => return Err(report_error(e)),
    };
    if evaluation.output != config.head.name() {
        return Err(invalid(format!(
            "it evaluates the {} output, the report tabulates {}",
            evaluation.output,
            config.head.name()
        )));
    }
    let mut out = Vec::new();
    for column in by {
        let (Some(groups), Some(gap)) = (evaluation.groups.get(column), evaluation.gaps.get(column)) else {
            return Err(invalid(format!("it has no groups by `{column}`")));
        };
        for (value, g) in groups {
            out.push((format!("accuracy[{column}={value}]"), g.accuracy));
        }
        out.push((format!("accuracy_gap[{column}]"), gap.accuracy_gap));
        if let Some(eo) = gap.equal_opportunity_gap {
            out.push((format!("equal_opportunity_gap[{column}]"), eo));
        }
    }
    Ok(out)
}

/// Validates one finished cell's record against its place in the plan and the report's split
/// and head.
fn check_record(
    path: &Path,
    raw: CellRecord,
    cell: &grefel_artifacts::Cell,
    axes: &[grefel_artifacts::Axis],
    config: &ReportConfig,
) -> Result<CellMetrics, ReportError> {
    let invalid = |reason: String| ReportError::Metrics { path: path.to_path_buf(), reason };
    if raw.cell != cell.id {
        return Err(invalid(format!("it belongs to cell `{}`, not to `{}`", raw.cell, cell.id)));
    }
    for axis in axes {
        let planned = cell.coords.get(&axis.name);
        let stored = raw.coords.get(&axis.name);
        match (planned, stored) {
            (Some(p), Some(s)) if same_scalar(p, s) => {}
            (Some(p), s) => {
                let s = s.map_or_else(|| "nothing".to_string(), Value::to_string);
                return Err(invalid(format!("coordinate `{}` is {s}, the plan says {p}", axis.name)));
            }
            (None, _) => {}
        }
    }
    let split = match config.split {
        Split::Test => raw.test,
        Split::Val => raw.val,
    };
    let selected = match config.head {
        Head::Primary => split.primary,
        Head::Corrected => split.corrected,
    };

    let where_ = format!("{}.{}", config.split.name(), config.head.name());
    let classes = raw.classes.len();
    if classes == 0 {
        return Err(invalid("`classes` is empty".to_string()));
    }
    let fractions = [
        ("accuracy", selected.accuracy),
        ("mean_class_accuracy", selected.mean_class_accuracy),
        ("macro_f1", selected.macro_f1),
        ("ece", selected.ece),
    ];
    for (name, value) in fractions {
        if !(0.0..=1.0).contains(&value) {
            return Err(invalid(format!("{where_}.{name} = {value} is not a fraction in [0, 1]")));
        }
    }
    if let Some(rate) = raw.correction_rate
        && !(0.0..=1.0).contains(&rate)
    {
        return Err(invalid(format!("correction_rate = {rate} is not a fraction in [0, 1]")));
    }
    let counts = &selected.confusion.counts;
    if counts.len() != classes || counts.iter().any(|row| row.len() != classes) {
        return Err(invalid(format!(
            "{where_}.confusion.counts is not {classes} x {classes} (one per class)"
        )));
    }
    if selected.reliability.is_empty() {
        return Err(invalid(format!("{where_}.reliability has no bins")));
    }
    for (i, bin) in selected.reliability.iter().enumerate() {
        if bin.correct > bin.count || !(bin.confidence >= 0.0 && bin.confidence <= bin.count as f64 + 1e-6) {
            return Err(invalid(format!(
                "{where_}.reliability bin {i} is inconsistent (count {}, correct {}, confidence sum {})",
                bin.count, bin.correct, bin.confidence
            )));
        }
    }
    let arithmetic = match (&raw.backend, &raw.precision) {
        (Some(b), Some(p)) => format!("{b} {p}"),
        (Some(b), None) => format!("{b} fp32"),
        _ => "unrecorded".to_string(),
    };
    Ok(CellMetrics {
        classes: raw.classes,
        selected,
        correction_rate: raw.correction_rate,
        arithmetic,
        groups: Vec::new(),
    })
}

/// The report's error for a file that cannot be read or parsed.
fn report_error(e: ArtifactError) -> ReportError {
    match e {
        ArtifactError::Read { path, source } => ReportError::Read { path, source },
        ArtifactError::Parse { path, source, .. } => ReportError::Json { path, source },
        other => ReportError::Plan { path: PathBuf::new(), reason: other.to_string() },
    }
}

fn is_scalar(value: &Value) -> bool {
    matches!(value, Value::Number(_) | Value::String(_) | Value::Bool(_))
}

/// Equality of two coordinate values; numbers compare by value, so `0` equals `0.0`.
fn same_scalar(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x == y,
            _ => x == y,
        },
        _ => a == b,
    }
}

/// Display form of a coordinate value: integers as written, other numbers in Rust's shortest
/// round-trip form (`0.1`, `0.05`, `0` for `0.0`), strings without quotes.
pub(crate) fn scalar_label(value: &Value) -> String {
    match value {
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(f)) => f.to_string(),
            _ => n.to_string(),
        },
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn labels_are_short_and_stable() {
        assert_eq!(scalar_label(&json!(4)), "4");
        assert_eq!(scalar_label(&json!(0.1)), "0.1");
        assert_eq!(scalar_label(&json!(0.0)), "0");
        assert_eq!(scalar_label(&json!(0.05)), "0.05");
        assert_eq!(scalar_label(&json!("sym")), "sym");
        assert_eq!(scalar_label(&json!(true)), "true");
    }

    #[test]
    fn numbers_compare_by_value() {
        assert!(same_scalar(&json!(0), &json!(0.0)));
        assert!(same_scalar(&json!(0.1), &json!(0.1)));
        assert!(!same_scalar(&json!(0.1), &json!(0.2)));
        assert!(!same_scalar(&json!("1"), &json!(1)));
    }
}
