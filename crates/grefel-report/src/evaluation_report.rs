//! The tables and figures of one [`Evaluation`], written beside its `evaluation.json`:
//!
//! - `per_class.{csv,md,tex}`: class, training samples, head or tail, support, precision,
//!   recall, F1 (percentages, 2 decimals);
//! - `groups.{csv,md,tex}` (with `--by` columns): per column and group the samples, accuracy
//!   with its interval, mean class accuracy and macro-F1, then per column the accuracy gap and
//!   the equal-opportunity gap with their intervals;
//! - figures, each `.svg` and `.png`: `confusion` (row-normalised), `reliability`,
//!   `recall_vs_frequency` (per-class recall against training samples) and `groups_<column>`
//!   (per-group accuracy with its interval).
//!
//! Every number has a fixed number of decimals: the files are byte-identical whenever the
//! evaluation is.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use grefel_artifacts::Evaluation;
use grefel_artifacts::evaluation::Interval;

use crate::tables::{csv_field, fixed, md_escape, tex_escape};
use crate::{ReportError, encode_png, figures, write_atomic};

/// A plain table of text cells, rendered as CSV, Markdown or booktabs LaTeX.
struct TextTable {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl TextTable {
    fn to_csv(&self) -> String {
        let mut out = String::new();
        for line in std::iter::once(&self.header).chain(&self.rows) {
            let fields: Vec<String> = line.iter().map(|f| csv_field(f)).collect();
            out.push_str(&fields.join(","));
            out.push('\n');
        }
        out
    }

    fn to_markdown(&self) -> String {
        let mut out = String::new();
        let row = |cells: &[String]| {
            format!("| {} |\n", cells.iter().map(|c| md_escape(c)).collect::<Vec<_>>().join(" | "))
        };
        out.push_str(&row(&self.header));
        let _ = writeln!(out, "|{}", "---|".repeat(self.header.len()));
        for r in &self.rows {
            out.push_str(&row(r));
        }
        out
    }

    fn to_latex(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "\\begin{{tabular}}{{l{}}}", "r".repeat(self.header.len().saturating_sub(1)));
        out.push_str("\\toprule\n");
        let line = |cells: &[String]| cells.iter().map(|c| tex_escape(c)).collect::<Vec<_>>().join(" & ");
        let _ = writeln!(out, "{} \\\\", line(&self.header));
        out.push_str("\\midrule\n");
        for r in &self.rows {
            let _ = writeln!(out, "{} \\\\", line(r));
        }
        out.push_str("\\bottomrule\n\\end{tabular}\n");
        out
    }
}

fn pct(v: f64) -> String {
    fixed(v * 100.0, 2)
}

fn pct_interval(i: &Interval) -> String {
    format!("[{}, {}]", pct(i.low), pct(i.high))
}

fn per_class_table(e: &Evaluation) -> TextTable {
    let header = ["class", "train samples", "head", "support", "precision", "recall", "F1"];
    let rows = e
        .per_class
        .iter()
        .map(|m| {
            vec![
                m.class.clone(),
                m.train_samples.map_or_else(|| "-".into(), |t| t.to_string()),
                m.head.map_or("-", |h| if h { "head" } else { "tail" }).to_string(),
                m.support.to_string(),
                pct(m.precision),
                pct(m.recall),
                pct(m.f1),
            ]
        })
        .collect();
    TextTable { header: header.iter().map(|s| s.to_string()).collect(), rows }
}

fn groups_table(e: &Evaluation) -> TextTable {
    let level = fixed(e.bootstrap.level * 100.0, 0);
    let header = vec![
        "column".to_string(),
        "group".into(),
        "samples".into(),
        "accuracy".into(),
        format!("{level}% interval"),
        "mean class acc.".into(),
        "macro-F1".into(),
    ];
    let mut rows = Vec::new();
    for (column, groups) in &e.groups {
        for (value, g) in groups {
            rows.push(vec![
                column.clone(),
                value.clone(),
                g.samples.to_string(),
                pct(g.accuracy),
                pct_interval(&g.accuracy_ci),
                pct(g.mean_class_accuracy),
                pct(g.macro_f1),
            ]);
        }
        if let Some(gap) = e.gaps.get(column) {
            rows.push(vec![
                column.clone(),
                format!("gap ({} - {})", gap.best_group, gap.worst_group),
                gap.groups.to_string(),
                pct(gap.accuracy_gap),
                pct_interval(&gap.accuracy_gap_ci),
                "-".into(),
                "-".into(),
            ]);
            if let Some(eo) = gap.equal_opportunity_gap {
                rows.push(vec![
                    column.clone(),
                    "equal-opportunity gap".into(),
                    gap.groups.to_string(),
                    pct(eo),
                    gap.equal_opportunity_gap_ci.as_ref().map_or_else(|| "-".into(), pct_interval),
                    "-".into(),
                    "-".into(),
                ]);
            }
        }
    }
    TextTable { header, rows }
}

/// Writes the tables and figures of `evaluation` into `dir` (which must exist); returns the
/// files written, in order.
pub fn render_evaluation(evaluation: &Evaluation, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let e = evaluation;
    let mut files = Vec::new();
    let mut tables = vec![("per_class", per_class_table(e))];
    if !e.groups.is_empty() {
        tables.push(("groups", groups_table(e)));
    }
    for (name, table) in &tables {
        for (ext, text) in [("csv", table.to_csv()), ("md", table.to_markdown()), ("tex", table.to_latex())] {
            files.push(write_atomic(&dir.join(format!("{name}.{ext}")), text.as_bytes())?);
        }
    }
    let what = format!("{} {} {}", e.dataset, e.split, e.output);
    let m = &e.overall.metrics;
    let mut scenes = vec![
        (
            "confusion".to_string(),
            figures::confusion_plot(
                &e.classes,
                &m.confusion.counts,
                &format!("confusion, {what} (row-normalised)"),
            ),
        ),
        (
            "reliability".to_string(),
            figures::reliability_plot(&m.reliability, &format!("reliability, {what}: ECE {}%", pct(m.ece))),
        ),
    ];
    if e.per_class.iter().all(|c| c.train_samples.is_some()) {
        let points: Vec<(String, f64, f64)> = e
            .per_class
            .iter()
            .map(|c| (c.class.clone(), c.train_samples.unwrap_or(0) as f64, c.recall))
            .collect();
        scenes.push((
            "recall_vs_frequency".into(),
            figures::recall_vs_frequency_plot(
                &points,
                &format!("per-class recall vs training samples, {what}"),
            ),
        ));
    }
    for (column, groups) in &e.groups {
        let bars: Vec<(String, f64, Interval)> =
            groups.iter().map(|(v, g)| (format!("{v} ({})", g.samples), g.accuracy, g.accuracy_ci)).collect();
        let level = fixed(e.bootstrap.level * 100.0, 0);
        scenes.push((
            format!("groups_{column}"),
            figures::group_accuracy_plot(
                &bars,
                &format!("accuracy by {column}, {what} ({level}% intervals)"),
            ),
        ));
    }
    for (name, scene) in &scenes {
        files.push(write_atomic(&dir.join(format!("{name}.svg")), scene.to_svg().as_bytes())?);
        let png = dir.join(format!("{name}.png"));
        files.push(write_atomic(&png, &encode_png(scene, &png)?)?);
    }
    Ok(files)
}

/// The evaluation in a few lines: overall, head and tail, and each column's gap.
pub fn evaluation_summary(e: &Evaluation) -> String {
    let m = &e.overall.metrics;
    let mut out = format!(
        "{} on {} {} ({} samples, {}): accuracy {}% {}, mean class accuracy {}%, macro-F1 {}%, NLL {}, ECE {}%",
        e.run,
        e.dataset,
        e.split,
        m.samples,
        e.output,
        pct(m.accuracy),
        pct_interval(&e.overall.accuracy_ci),
        pct(m.mean_class_accuracy),
        pct(m.macro_f1),
        fixed(m.nll, 4),
        pct(m.ece)
    );
    if let (Some(h), Some(t)) = (e.overall.head_recall, e.overall.tail_recall) {
        let _ = write!(out, "\n  head classes recall {}%, tail classes recall {}%", pct(h), pct(t));
    }
    for (column, gap) in &e.gaps {
        let _ = write!(
            out,
            "\n  {column}: {} groups, accuracy gap {} pts {} ({} best, {} worst)",
            gap.groups,
            pct(gap.accuracy_gap),
            pct_interval(&gap.accuracy_gap_ci),
            gap.best_group,
            gap.worst_group
        );
        if let Some(eo) = gap.equal_opportunity_gap {
            let _ = write!(out, ", equal-opportunity gap {} pts", pct(eo));
        }
    }
    out
}
