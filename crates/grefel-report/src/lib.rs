//! Report stage of the grefel pipeline: turns a finished (or partly finished) sweep directory
//! into paper-ready tables and figures under `DIR/report/`, byte-identical on every rerun; and
//! analyses one run's predictions on a split ([`analyse`]: per class, per group, gaps, bootstrap
//! intervals) into tables and figures ([`render_evaluation`]).
//!
//! Input: `DIR/plan.json` (axes and cells) and `DIR/cells/<id>/cell.json` for every finished
//! cell (grefel-artifacts' `SweepPlan` and `CellMetrics`). The first non-seed axis gives the table rows, the second (if any) the columns; the
//! `seed` axis is averaged over. All numbers are percentages of the chosen split and head
//! ([`ReportConfig`]).
//!
//! Output ([`render`]), each file written to `name.tmp` and renamed into place:
//! - `table.csv`: row value, then the mean accuracy per column value (2 decimals, empty = gap);
//! - `table_full.csv`: long format, one line per (row, column, metric) with mean, sample std
//!   (n - 1) and n, 4 decimals, metrics `accuracy`, `mean_class_accuracy`, `macro_f1`, `ece`,
//!   `correction_rate`;
//! - `table.md`, `table.tex`: `mean ± std`, best of each column in bold, booktabs for LaTeX;
//! - `accuracy_vs_k`, `confusion_best`, `reliability_best`, each as `.svg` and `.png`
//!   ([`FIGURE_WIDTH`] x [`FIGURE_HEIGHT`]). The "best" grid point has the highest mean accuracy
//!   (ties: first in plan order); its confusion counts and reliability bins are pooled over its
//!   finished seeds.

#![warn(missing_docs)]

mod aggregate;
mod analysis;
mod annotate;
mod config;
mod error;
mod evaluation_report;
mod figures;
mod input;
mod scene;
mod tables;

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

pub use aggregate::{GridEntry, Metric, ResultTable, Stat};
pub use analysis::{AnalysisInput, BootstrapOptions, analyse};
pub use annotate::{FaceMark, annotate};
pub use config::{Head, ReportConfig, Split};
pub use error::ReportError;
pub use evaluation_report::{evaluation_summary, render_evaluation};
pub use figures::{FIGURE_HEIGHT, FIGURE_WIDTH};
pub use input::{CELL_METRICS, CELLS_DIR, PLAN_FILE, SEED_AXIS};

use input::{ReliabilityBin, Sweep};
use scene::Scene;

/// Folder of the report inside the sweep directory.
pub const REPORT_DIR: &str = "report";

/// The grid point with the highest mean accuracy.
#[derive(Debug, Clone, PartialEq)]
pub struct BestEntry {
    /// Row value (`5`).
    pub row: String,
    /// `noise=0.1`-style column header, `None` without a column axis.
    pub column: Option<String>,
    /// Its accuracy statistic in percent.
    pub accuracy: Stat,
    /// Ids of its finished cells (seeds), in plan order; the figures pool these.
    pub cells: Vec<String>,
}

impl BestEntry {
    /// `k=5 noise=0.1` (or `k=5` without a column axis).
    fn describe(&self, row_axis: &str) -> String {
        match &self.column {
            Some(column) => format!("{row_axis}={} {column}", self.row),
            None => format!("{row_axis}={}", self.row),
        }
    }
}

/// What [`render`] did; its `Display` is one line.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportSummary {
    /// The folder the files were written to (`DIR/report`).
    pub report_dir: PathBuf,
    /// Cells listed in the plan.
    pub cells_planned: usize,
    /// Cells with a `metrics.json`.
    pub cells_finished: usize,
    /// Ids of the cells without a `metrics.json`, in plan order.
    pub missing: Vec<String>,
    /// Every file written, in writing order.
    pub files: Vec<PathBuf>,
    /// The best grid point (source of the confusion and reliability figures).
    pub best: BestEntry,
    /// Path of `table.csv`.
    pub table_csv: PathBuf,
    /// The aggregated table, for printing (e.g. [`ResultTable::to_markdown`]).
    pub table: ResultTable,
    /// The backends and precisions the finished cells computed with (`cpu fp32`), with their
    /// cell counts, sorted; more than one means the cells' numbers come from different
    /// arithmetic, which `table.md` then says in its first line.
    pub arithmetic: Vec<(String, usize)>,
}

impl fmt::Display for ReportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "report: {}/{} cells finished ({} missing) on {}, best {} at {}% over {} seed{}, {} files -> {}",
            self.cells_finished,
            self.cells_planned,
            self.missing.len(),
            match self.arithmetic.as_slice() {
                [(one, _)] => one.clone(),
                many => format!(
                    "DIFFERENT backends ({})",
                    many.iter().map(|(a, n)| format!("{a}: {n}")).collect::<Vec<_>>().join(", ")
                ),
            },
            self.best.describe(&self.table.row_axis),
            tables::fixed(self.best.accuracy.mean, 2),
            self.best.accuracy.n,
            if self.best.accuracy.n == 1 { "" } else { "s" },
            self.files.len(),
            self.table_csv.display()
        )
    }
}

/// Reads the sweep in `dir`, writes every table and figure into `dir/report/`, and says what it
/// did. Unfinished cells are left out (gaps in the tables) and listed in the summary.
pub fn render(dir: &Path, config: &ReportConfig) -> Result<ReportSummary, ReportError> {
    render_by(dir, config, &[])
}

/// [`render`], with each cell's group metrics of the `by` columns (read from its run's
/// `evaluation/<dataset>-<split>/evaluation.json`) added to `table_full.csv`, and per column a
/// table of the accuracy gap against the grid, `gap_<column>.csv` and `gap_<column>.md`.
pub fn render_by(dir: &Path, config: &ReportConfig, by: &[String]) -> Result<ReportSummary, ReportError> {
    let sweep = Sweep::load(dir, config, by)?;
    let table = aggregate::aggregate(&sweep)?;
    let best = best_entry(dir, &sweep, &table)?;
    let (classes, confusion, bins) = pool(dir, &sweep, &best)?;

    let report_dir = dir.join(REPORT_DIR);
    std::fs::create_dir_all(&report_dir)
        .map_err(|source| ReportError::Write { path: report_dir.clone(), source })?;
    let mut arithmetic: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for m in sweep.cells.iter().filter_map(|c| c.metrics.as_ref()) {
        *arithmetic.entry(m.arithmetic.clone()).or_default() += 1;
    }
    let arithmetic: Vec<(String, usize)> = arithmetic.into_iter().collect();
    let mut markdown = table.to_markdown();
    if arithmetic.len() > 1 {
        let list: Vec<String> = arithmetic.iter().map(|(a, n)| format!("{a} ({n} cells)")).collect();
        markdown = format!(
            "> The cells ran on different backends or precisions: {}; their numbers come from different arithmetic.\n\n{markdown}",
            list.join(", ")
        );
    }
    let mut files = Vec::new();
    for (name, text) in [
        ("table.csv", table.to_csv()),
        ("table_full.csv", table.to_full_csv()),
        ("table.md", markdown),
        ("table.tex", table.to_latex()),
    ] {
        files.push(write_atomic(&report_dir.join(name), text.as_bytes())?);
    }
    for column in by {
        let metric = format!("accuracy_gap[{column}]");
        if let (Some(csv), Some(md)) = (table.group_metric_csv(&metric), table.group_metric_markdown(&metric))
        {
            files.push(write_atomic(&report_dir.join(format!("gap_{column}.csv")), csv.as_bytes())?);
            files.push(write_atomic(&report_dir.join(format!("gap_{column}.md")), md.as_bytes())?);
        }
    }

    let what = format!("{} {}", config.split.name(), config.head.name());
    let best_name = best.describe(&table.row_axis);
    let seeds = match best.cells.len() {
        1 => "1 seed".to_string(),
        n => format!("{n} seeds"),
    };
    let numeric_x: Option<Vec<f64>> = sweep.row_axis.values.iter().map(serde_json::Value::as_f64).collect();
    let figures = [
        (
            "accuracy_vs_k",
            figures::accuracy_plot(
                &table,
                numeric_x.as_deref(),
                &format!("{what} accuracy vs {} (mean ± std)", table.row_axis),
            ),
        ),
        (
            "confusion_best",
            figures::confusion_plot(
                &classes,
                &confusion,
                &format!("confusion, {best_name} ({seeds}, row-normalised)"),
            ),
        ),
        (
            "reliability_best",
            figures::reliability_plot(
                &bins,
                &format!("reliability, {best_name}: ECE {}%", tables::fixed(figures::ece(&bins) * 100.0, 2)),
            ),
        ),
    ];
    for (name, scene) in &figures {
        files.push(write_atomic(&report_dir.join(format!("{name}.svg")), scene.to_svg().as_bytes())?);
        let png = report_dir.join(format!("{name}.png"));
        files.push(write_atomic(&png, &encode_png(scene, &png)?)?);
    }

    let missing: Vec<String> =
        sweep.cells.iter().filter(|c| c.metrics.is_none()).map(|c| c.id.clone()).collect();
    Ok(ReportSummary {
        table_csv: report_dir.join("table.csv"),
        report_dir,
        cells_planned: sweep.cells.len(),
        cells_finished: sweep.cells.len() - missing.len(),
        missing,
        files,
        best,
        table,
        arithmetic,
    })
}

/// The grid point with the highest mean accuracy; ties go to the one whose first finished cell
/// comes first in the plan.
fn best_entry(dir: &Path, sweep: &Sweep, table: &ResultTable) -> Result<BestEntry, ReportError> {
    let mut best: Option<(usize, usize, Stat)> = None;
    for cell in sweep.cells.iter().filter(|c| c.metrics.is_some()) {
        let Some(stat) = table.accuracy(cell.row, cell.column) else { continue };
        if best.is_none_or(|(_, _, b)| stat.mean > b.mean) {
            best = Some((cell.row, cell.column, stat));
        }
    }
    // `Sweep::load` guarantees a finished cell, and every finished cell has an accuracy.
    let (row, column, accuracy) = best
        .ok_or_else(|| ReportError::NothingFinished { dir: dir.to_path_buf(), planned: sweep.cells.len() })?;
    Ok(BestEntry {
        row: table.rows[row].clone(),
        column: table.column_axis.as_ref().map(|_| table.columns[column].clone()),
        accuracy,
        cells: sweep
            .cells
            .iter()
            .filter(|c| c.metrics.is_some() && c.row == row && c.column == column)
            .map(|c| c.id.clone())
            .collect(),
    })
}

type Pooled = (Vec<String>, Vec<Vec<u64>>, Vec<ReliabilityBin>);

/// Sums the confusion counts and reliability bins of the best entry's finished cells.
fn pool(dir: &Path, sweep: &Sweep, best: &BestEntry) -> Result<Pooled, ReportError> {
    let mut pooled: Option<Pooled> = None;
    for cell in sweep.cells.iter().filter(|c| best.cells.contains(&c.id)) {
        let Some(m) = &cell.metrics else { continue };
        let s = &m.selected;
        let Some((classes, confusion, bins)) = pooled.as_mut() else {
            pooled = Some((m.classes.clone(), s.confusion.counts.clone(), s.reliability.clone()));
            continue;
        };
        let path = dir.join(CELLS_DIR).join(&cell.id).join(CELL_METRICS);
        if *classes != m.classes {
            let reason = format!("its classes differ from those of cell `{}`, another seed", best.cells[0]);
            return Err(ReportError::Metrics { path, reason });
        }
        if bins.len() != s.reliability.len() {
            let reason = format!(
                "{} reliability bins, cell `{}` (another seed) has {}",
                s.reliability.len(),
                best.cells[0],
                bins.len()
            );
            return Err(ReportError::Metrics { path, reason });
        }
        for (total, row) in confusion.iter_mut().zip(&s.confusion.counts) {
            for (t, v) in total.iter_mut().zip(row) {
                *t += v;
            }
        }
        for (total, bin) in bins.iter_mut().zip(&s.reliability) {
            total.count += bin.count;
            total.correct += bin.correct;
            total.confidence += bin.confidence;
        }
    }
    pooled.ok_or_else(|| ReportError::NothingFinished { dir: dir.to_path_buf(), planned: sweep.cells.len() })
}

fn encode_png(scene: &Scene, path: &Path) -> Result<Vec<u8>, ReportError> {
    use image::ImageEncoder as _;
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    let mut bytes = Vec::new();
    PngEncoder::new_with_quality(&mut bytes, CompressionType::Default, FilterType::Adaptive)
        .write_image(&scene.to_rgb(), scene.width, scene.height, image::ExtendedColorType::Rgb8)
        .map_err(|source| ReportError::Png { path: path.to_path_buf(), source })?;
    Ok(bytes)
}

/// Writes `bytes` to `path.tmp`, then renames it onto `path`; returns `path`.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<PathBuf, ReportError> {
    let mut tmp_name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()
    };
    write().map_err(|source| ReportError::Write { path: tmp.clone(), source })?;
    std::fs::rename(&tmp, path).map_err(|source| ReportError::Write { path: path.to_path_buf(), source })?;
    Ok(path.to_path_buf())
}
