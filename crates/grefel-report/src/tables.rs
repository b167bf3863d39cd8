//! Text renderings of a [`ResultTable`]: `table.csv`, `table_full.csv`, Markdown and LaTeX.
//!
//! Every number is printed with a fixed number of decimals, so the files are byte-identical
//! whenever the inputs are.

use std::fmt::Write as _;

use crate::aggregate::{Metric, ResultTable, Stat};

/// Decimals of the percentages in `table.csv`, Markdown and LaTeX.
const DECIMALS: usize = 2;
/// Decimals of `mean` and `std` in the long table (`table_full.csv`).
const FULL_DECIMALS: usize = 4;

/// How a table entry is written in one markup language.
struct Style {
    /// A grid point without a finished seed.
    gap: &'static str,
    /// Between mean and standard deviation.
    plus_minus: &'static str,
    /// Marks the best entry of a column.
    bold: fn(&str) -> String,
}

/// Markdown: em dash for a gap, `**bold**`.
const MARKDOWN: Style = Style { gap: "—", plus_minus: " ± ", bold: |text| format!("**{text}**") };
/// LaTeX (ASCII input): `---` (em dash) for a gap, `\textbf{}`.
const LATEX: Style = Style { gap: "---", plus_minus: " $\\pm$ ", bold: |text| format!("\\textbf{{{text}}}") };

impl ResultTable {
    /// `table.csv`: the row axis, then one column per column value with the mean accuracy in
    /// percent (2 decimals); an empty field where no seed finished.
    pub fn to_csv(&self) -> String {
        self.grid_csv(|r, c| self.accuracy(r, c))
    }

    /// The row axis, then the mean of `stat(row, column)` per column (2 decimals; empty for none).
    fn grid_csv(&self, stat: impl Fn(usize, usize) -> Option<Stat>) -> String {
        let mut out = String::new();
        let header: Vec<String> = std::iter::once(self.row_axis.as_str())
            .chain(self.columns.iter().map(String::as_str))
            .map(csv_field)
            .collect();
        out.push_str(&header.join(","));
        out.push('\n');
        for (r, label) in self.rows.iter().enumerate() {
            let mut fields = vec![csv_field(label)];
            fields.extend(
                (0..self.columns.len())
                    .map(|c| stat(r, c).map(|s| fixed(s.mean, DECIMALS)).unwrap_or_default()),
            );
            out.push_str(&fields.join(","));
            out.push('\n');
        }
        out
    }

    /// `table_full.csv`: one line per (row, column, metric) that has at least one finished seed:
    /// row value, column value (omitted without a column axis), metric, mean, std (n - 1), n.
    pub fn to_full_csv(&self) -> String {
        let mut header = vec![csv_field(&self.row_axis)];
        if let Some(axis) = &self.column_axis {
            header.push(csv_field(axis));
        }
        header.extend(["metric", "mean", "std", "n"].map(String::from));
        let mut out = header.join(",");
        out.push('\n');
        for (r, row) in self.entries.iter().enumerate() {
            for (c, entry) in row.iter().enumerate() {
                let fixed_metrics = Metric::ALL.into_iter().map(|m| (m.name(), entry.get(m)));
                let group_metrics = self.group_metrics.iter().map(|(name, grid)| (name.as_str(), grid[r][c]));
                for (name, stat) in fixed_metrics.chain(group_metrics) {
                    let Some(stat) = stat else { continue };
                    let mut fields = vec![csv_field(&self.rows[r])];
                    if self.column_axis.is_some() {
                        fields.push(csv_field(&self.column_values[c]));
                    }
                    fields.push(csv_field(name));
                    fields.push(fixed(stat.mean, FULL_DECIMALS));
                    fields.push(fixed(stat.std, FULL_DECIMALS));
                    fields.push(stat.n.to_string());
                    out.push_str(&fields.join(","));
                    out.push('\n');
                }
            }
        }
        out
    }

    /// The grid of one group metric (`accuracy_gap[gender]`), `None` when the table has none.
    pub fn group_metric(&self, name: &str) -> Option<&Vec<Vec<Option<Stat>>>> {
        self.group_metrics.iter().find(|(n, _)| n == name).map(|(_, g)| g)
    }

    /// A group metric as `table.csv` lays out accuracy: the row axis, then the mean per column
    /// (percentage points, 2 decimals; empty where no seed finished).
    pub fn group_metric_csv(&self, name: &str) -> Option<String> {
        let grid = self.group_metric(name)?;
        Some(self.grid_csv(|r, c| grid[r][c]))
    }

    /// A group metric in Markdown: `mean ± std` per entry (`mean` for one seed), `—` for none.
    pub fn group_metric_markdown(&self, name: &str) -> Option<String> {
        let grid = self.group_metric(name)?;
        let mut out = format!("{name}, percentage points\n\n");
        let header: Vec<String> = std::iter::once(self.row_axis.as_str())
            .chain(self.columns.iter().map(String::as_str))
            .map(md_escape)
            .collect();
        let _ = writeln!(out, "| {} |", header.join(" | "));
        let _ = writeln!(out, "|{}", " --- |".repeat(header.len()));
        for (r, label) in self.rows.iter().enumerate() {
            let mut fields = vec![md_escape(label)];
            fields.extend(grid[r].iter().map(|s| match s {
                None => MARKDOWN.gap.to_string(),
                Some(s) if s.n > 1 => {
                    format!("{}{}{}", fixed(s.mean, DECIMALS), MARKDOWN.plus_minus, fixed(s.std, DECIMALS))
                }
                Some(s) => fixed(s.mean, DECIMALS),
            }));
            let _ = writeln!(out, "| {} |", fields.join(" | "));
        }
        Some(out)
    }

    /// `table.md`: `mean ± std` per entry (just `mean` for one seed), the best entry of each
    /// column (ties at the printed precision included) in bold, `—` for a gap, and a last row
    /// `mean`: each column's average over the rows (see [`Self::column_means`]).
    pub fn to_markdown(&self) -> String {
        let best = self.best_per_column();
        let mut out = String::new();
        let header: Vec<&str> =
            std::iter::once(self.row_axis.as_str()).chain(self.columns.iter().map(String::as_str)).collect();
        let _ = writeln!(out, "| {} |", header.iter().map(|h| md_escape(h)).collect::<Vec<_>>().join(" | "));
        let rule: Vec<&str> = std::iter::once("---").chain(self.columns.iter().map(|_| "---:")).collect();
        let _ = writeln!(out, "| {} |", rule.join(" | "));
        for (r, label) in self.rows.iter().enumerate() {
            let mut fields = vec![md_escape(label)];
            fields.extend(self.entry_cells(r, &best, &MARKDOWN));
            let _ = writeln!(out, "| {} |", fields.join(" | "));
        }
        let _ = writeln!(out, "| mean | {} |", self.column_means(&MARKDOWN).join(" | "));
        out
    }

    /// `table.tex`: a booktabs `tabular` without float or caption, ready for `\input`; entries
    /// `mean $\pm$ std`, the best of each column in `\textbf{}`, `---` for a gap; below a rule,
    /// the `mean` row of [`Self::column_means`].
    pub fn to_latex(&self) -> String {
        let best = self.best_per_column();
        let mut out = String::new();
        let _ = writeln!(out, "\\begin{{tabular}}{{l{}}}", "r".repeat(self.columns.len()));
        out.push_str("\\toprule\n");
        let header: Vec<String> = std::iter::once(self.row_axis.as_str())
            .chain(self.columns.iter().map(String::as_str))
            .map(tex_escape)
            .collect();
        let _ = writeln!(out, "{} \\\\", header.join(" & "));
        out.push_str("\\midrule\n");
        for (r, label) in self.rows.iter().enumerate() {
            let mut fields = vec![tex_escape(label)];
            fields.extend(self.entry_cells(r, &best, &LATEX));
            let _ = writeln!(out, "{} \\\\", fields.join(" & "));
        }
        out.push_str("\\midrule\n");
        let _ = writeln!(out, "mean & {} \\\\", self.column_means(&LATEX).join(" & "));
        out.push_str("\\bottomrule\n\\end{tabular}\n");
        out
    }

    /// Each column's mean accuracy over the rows that have an entry (the average of the rows'
    /// seed means), so a trend along the columns (accuracy against noise or ε) reads off one
    /// line; `style`'s gap for a column without entries.
    fn column_means(&self, style: &Style) -> Vec<String> {
        (0..self.columns.len())
            .map(|c| {
                let means: Vec<f64> =
                    (0..self.rows.len()).filter_map(|r| self.accuracy(r, c)).map(|s| s.mean).collect();
                if means.is_empty() {
                    style.gap.to_string()
                } else {
                    fixed(means.iter().sum::<f64>() / means.len() as f64, DECIMALS)
                }
            })
            .collect()
    }

    /// The accuracy entries of row `r` in `style`; `best` is [`Self::best_per_column`].
    fn entry_cells(&self, r: usize, best: &[Option<String>], style: &Style) -> Vec<String> {
        best.iter()
            .enumerate()
            .map(|(c, best)| match self.accuracy(r, c) {
                None => style.gap.to_string(),
                Some(stat) => {
                    let text = mean_std(stat, style.plus_minus);
                    if best.as_deref() == Some(fixed(stat.mean, DECIMALS).as_str()) {
                        (style.bold)(&text)
                    } else {
                        text
                    }
                }
            })
            .collect()
    }

    /// The highest printed mean accuracy of each column, `None` for a column without entries.
    /// Comparing printed values marks every entry that reads as the best.
    fn best_per_column(&self) -> Vec<Option<String>> {
        (0..self.columns.len())
            .map(|c| {
                let best = (0..self.rows.len())
                    .filter_map(|r| self.accuracy(r, c))
                    .map(|s| s.mean)
                    .fold(None, |acc: Option<f64>, m| Some(acc.map_or(m, |a| a.max(m))));
                best.map(|m| fixed(m, DECIMALS))
            })
            .collect()
    }
}

/// `mean` or `mean<sep>std` (more than one seed), both with [`DECIMALS`].
fn mean_std(stat: Stat, separator: &str) -> String {
    if stat.n > 1 {
        format!("{}{separator}{}", fixed(stat.mean, DECIMALS), fixed(stat.std, DECIMALS))
    } else {
        fixed(stat.mean, DECIMALS)
    }
}

/// `value` with exactly `decimals` decimals; never `-0.00`.
pub(crate) fn fixed(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    match text.strip_prefix('-') {
        Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_string(),
        _ => text,
    }
}

/// A CSV field, quoted when it holds a comma, quote or line break (RFC 4180).
pub(crate) fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

pub(crate) fn md_escape(text: &str) -> String {
    text.replace('|', "\\|")
}

/// Escapes the characters that LaTeX treats specially in text mode.
pub(crate) fn tex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '\\' => out.push_str("\\textbackslash{}"),
            '&' | '%' | '$' | '#' | '_' | '{' | '}' => {
                out.push('\\');
                out.push(ch);
            }
            '~' => out.push_str("\\textasciitilde{}"),
            '^' => out.push_str("\\textasciicircum{}"),
            _ => out.push(ch),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_rounds_and_drops_negative_zero() {
        assert_eq!(fixed(81.0, 2), "81.00");
        assert_eq!(fixed(1.23456, 2), "1.23");
        assert_eq!(fixed(-0.0001, 2), "0.00");
        assert_eq!(fixed(-1.5, 1), "-1.5");
    }

    #[test]
    fn escapes() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"x\""), "\"say \"\"x\"\"\"");
        assert_eq!(tex_escape("anchors_per_class 5%"), "anchors\\_per\\_class 5\\%");
        assert_eq!(md_escape("a|b"), "a\\|b");
    }
}
