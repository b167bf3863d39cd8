//! Aggregation over seeds: one long polars frame (grid point, metric, value per finished cell),
//! split per (row, column, metric) group in first-seen order, reduced to mean, sample standard
//! deviation and count, and laid out as a typed [`ResultTable`].

use polars::prelude::*;

use crate::ReportError;
use crate::input::Sweep;

/// A metric that the long table reports for every grid point, in percent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    /// Top-1 accuracy.
    Accuracy,
    /// Accuracy averaged over classes (balanced accuracy).
    MeanClassAccuracy,
    /// Unweighted mean of the per-class F1 scores.
    MacroF1,
    /// Expected calibration error.
    Ece,
    /// Share of the noisy training labels that the run corrected (absent for clean cells).
    CorrectionRate,
}

impl Metric {
    /// Every metric, in the order of the long table.
    pub const ALL: [Self; 5] =
        [Self::Accuracy, Self::MeanClassAccuracy, Self::MacroF1, Self::Ece, Self::CorrectionRate];

    /// The metric's name in `metrics.json` and in `table_full.csv`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Accuracy => "accuracy",
            Self::MeanClassAccuracy => "mean_class_accuracy",
            Self::MacroF1 => "macro_f1",
            Self::Ece => "ece",
            Self::CorrectionRate => "correction_rate",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Mean, sample standard deviation (n - 1; 0 for one seed) and number of seeds of one metric at
/// one grid point, in percent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stat {
    /// Mean over the finished seeds, in percent.
    pub mean: f64,
    /// Sample standard deviation over the finished seeds, in percent; 0 for a single seed.
    pub std: f64,
    /// Number of finished seeds that contributed.
    pub n: usize,
}

/// The statistics of one grid point (row value, column value).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GridEntry {
    stats: [Option<Stat>; 5],
}

impl GridEntry {
    /// The statistic of `metric`, `None` when no finished seed reported it.
    pub fn get(&self, metric: Metric) -> Option<Stat> {
        self.stats[metric.index()]
    }

    /// The mean test accuracy statistic, the number in `table.csv`.
    pub fn accuracy(&self) -> Option<Stat> {
        self.get(Metric::Accuracy)
    }
}

/// The sweep's results laid out as a table: rows are the values of the row axis, columns the
/// values of the column axis (or a single `accuracy` column), every entry averaged over seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultTable {
    /// Name of the row axis (`k`).
    pub row_axis: String,
    /// Name of the column axis (`noise`, `eps`), `None` when the sweep has a single non-seed axis.
    pub column_axis: Option<String>,
    /// Row labels in plan order (`4`, `5`, `6`).
    pub rows: Vec<String>,
    /// Column values in plan order (`0.1`, `0.3`); `[""]` without a column axis.
    pub column_values: Vec<String>,
    /// Column headers (`noise=0.1`), or `["accuracy"]` without a column axis.
    pub columns: Vec<String>,
    /// `entries[row][column]`; an entry with no finished seed has every metric `None`.
    pub entries: Vec<Vec<GridEntry>>,
    /// Group metrics of `--by` columns (`accuracy[gender=female]`, `accuracy_gap[gender]`, …),
    /// in first-seen order, each `[row][column]` like `entries`; empty without `--by`.
    pub group_metrics: Vec<(String, Vec<Vec<Option<Stat>>>)>,
}

impl ResultTable {
    /// The mean accuracy at `(row, column)`, if any seed of it finished.
    pub fn accuracy(&self, row: usize, column: usize) -> Option<Stat> {
        self.entries.get(row)?.get(column)?.accuracy()
    }
}

/// Reduces the finished cells of `sweep` to a [`ResultTable`] through polars.
pub(crate) fn aggregate(sweep: &Sweep) -> Result<ResultTable, ReportError> {
    let mut rows = Vec::new();
    let mut columns = Vec::new();
    let mut metrics = Vec::new();
    let mut values = Vec::new();
    for cell in &sweep.cells {
        let Some(m) = &cell.metrics else { continue };
        let s = &m.selected;
        let observed =
            [Some(s.accuracy), Some(s.mean_class_accuracy), Some(s.macro_f1), Some(s.ece), m.correction_rate];
        for (metric, value) in Metric::ALL.into_iter().zip(observed) {
            if let Some(value) = value {
                rows.push(to_u32(cell.row));
                columns.push(to_u32(cell.column));
                metrics.push(to_u32(metric.index()));
                values.push(value * 100.0);
            }
        }
    }
    let frame = DataFrame::new_infer_height(vec![
        Column::new("row".into(), rows),
        Column::new("column".into(), columns),
        Column::new("metric".into(), metrics),
        Column::new("value".into(), values),
    ])?;

    let n_rows = sweep.row_axis.values.len();
    let n_columns = sweep.column_axis.as_ref().map_or(1, |a| a.values.len());
    let mut entries = vec![vec![GridEntry::default(); n_columns]; n_rows];
    for group in frame.partition_by_stable(["row", "column", "metric"], true)? {
        let key = |name: &str| -> Result<usize, ReportError> {
            let value = group.column(name)?.u32()?.get(0);
            let value = value.ok_or_else(|| polars_err!(ComputeError: "empty group key `{}`", name))?;
            Ok(value as usize)
        };
        let (row, column, metric) = (key("row")?, key("column")?, key("metric")?);
        let values = group.column("value")?.f64()?;
        let n = values.len() - values.null_count();
        let mean = values.mean().ok_or_else(|| polars_err!(ComputeError: "empty group"))?;
        let std = if n > 1 { values.std(1).unwrap_or(0.0) } else { 0.0 };
        let slot = entries
            .get_mut(row)
            .and_then(|r| r.get_mut(column))
            .and_then(|e| e.stats.get_mut(metric))
            .ok_or_else(|| polars_err!(ComputeError: "group key out of range"))?;
        *slot = Some(Stat { mean, std, n });
    }

    let (column_axis, column_values, headers) = match &sweep.column_axis {
        Some(axis) => (
            Some(axis.name.clone()),
            axis.labels.clone(),
            axis.labels.iter().map(|v| format!("{}={v}", axis.name)).collect(),
        ),
        None => (None, vec![String::new()], vec![Metric::Accuracy.name().to_string()]),
    };
    let group_metrics = group_stats(sweep, n_rows, n_columns);
    Ok(ResultTable {
        group_metrics,
        row_axis: sweep.row_axis.name.clone(),
        column_axis,
        rows: sweep.row_axis.labels.clone(),
        column_values,
        columns: headers,
        entries,
    })
}

/// Mean, sample standard deviation and count of every group metric per grid point, in percent.
fn group_stats(sweep: &Sweep, n_rows: usize, n_columns: usize) -> Vec<(String, Vec<Vec<Option<Stat>>>)> {
    let mut values: Vec<(String, Vec<Vec<Vec<f64>>>)> = Vec::new();
    for cell in &sweep.cells {
        let Some(m) = &cell.metrics else { continue };
        for (name, value) in &m.groups {
            let slot = match values.iter().position(|(n, _)| n == name) {
                Some(i) => i,
                None => {
                    values.push((name.clone(), vec![vec![Vec::new(); n_columns]; n_rows]));
                    values.len() - 1
                }
            };
            if let Some(v) = values[slot].1.get_mut(cell.row).and_then(|r| r.get_mut(cell.column)) {
                v.push(value * 100.0);
            }
        }
    }
    values
        .into_iter()
        .map(|(name, grid)| {
            let stats = grid.into_iter().map(|row| row.into_iter().map(|v| stat(&v)).collect()).collect();
            (name, stats)
        })
        .collect()
}

/// Mean, sample standard deviation (n - 1; 0 for one value) and count; `None` for no value.
fn stat(values: &[f64]) -> Option<Stat> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let std = if n > 1 {
        (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    } else {
        0.0
    };
    Some(Stat { mean, std, n })
}

/// Grid indices are bounded by the plan's axis lengths, far below `u32::MAX`.
fn to_u32(index: usize) -> u32 {
    u32::try_from(index).unwrap_or(u32::MAX)
}
