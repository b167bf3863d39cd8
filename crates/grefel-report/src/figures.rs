//! The three report figures, drawn as [`Scene`]s: accuracy against the row axis, the
//! row-normalised confusion matrix of the best grid point, and its reliability diagram.

use crate::aggregate::ResultTable;
use crate::input::ReliabilityBin;
use crate::scene::{Anchor, Rgb, Scene, Text};
use crate::tables::fixed;

/// Width in pixels of every figure.
pub const FIGURE_WIDTH: u32 = 960;
/// Height in pixels of every figure.
pub const FIGURE_HEIGHT: u32 = 720;

const W: i32 = FIGURE_WIDTH as i32;
const H: i32 = FIGURE_HEIGHT as i32;
const TITLE_Y: i32 = 28;

/// Okabe-Ito colours (distinguishable with colour-vision deficiencies), then black.
const PALETTE: [Rgb; 8] = [
    Rgb(0, 114, 178),
    Rgb(213, 94, 0),
    Rgb(0, 158, 115),
    Rgb(204, 121, 167),
    Rgb(230, 159, 0),
    Rgb(86, 180, 233),
    Rgb(240, 228, 66),
    Rgb(0, 0, 0),
];

/// A rectangular plot area and the data ranges it shows.
struct Frame {
    x0: i32,
    y0: i32,
    x1: i32,
    y1: i32,
    x_range: (f64, f64),
    y_range: (f64, f64),
}

impl Frame {
    fn px(&self, x: f64) -> i32 {
        let (lo, hi) = self.x_range;
        round(f64::from(self.x0) + (x - lo) / (hi - lo) * f64::from(self.x1 - self.x0))
    }

    fn py(&self, y: f64) -> i32 {
        let (lo, hi) = self.y_range;
        round(f64::from(self.y1) - (y - lo) / (hi - lo) * f64::from(self.y1 - self.y0))
    }

    /// Border, horizontal grid lines and labelled y ticks, x ticks at `xs` labelled `labels`.
    fn draw_axes(&self, scene: &mut Scene, y_ticks: &[f64], y_decimals: usize, xs: &[(f64, String)]) {
        for &t in y_ticks {
            let y = self.py(t);
            scene.line(vec![(self.x0, y), (self.x1, y)], Rgb::LIGHT_GREY, 1, None);
            scene.line(vec![(self.x0 - 6, y), (self.x0, y)], Rgb::BLACK, 1, None);
            scene.text(self.x0 - 10, y, fixed(t, y_decimals), 2, Anchor::End);
        }
        for (x, label) in xs {
            let x = self.px(*x);
            scene.line(vec![(x, self.y1), (x, self.y1 + 6)], Rgb::BLACK, 1, None);
            scene.text(x, self.y1 + 22, label.clone(), 2, Anchor::Middle);
        }
        scene.rect(self.x0, self.y0, self.x1 - self.x0 + 1, self.y1 - self.y0 + 1, None, Some(Rgb::BLACK));
    }

    fn axis_titles(&self, scene: &mut Scene, x_title: &str, y_title: &str) {
        scene.text((self.x0 + self.x1) / 2, self.y1 + 56, x_title, 2, Anchor::Middle);
        scene.label(Text {
            x: self.x0 - 92,
            y: (self.y0 + self.y1) / 2,
            text: y_title.to_string(),
            scale: 2,
            anchor: Anchor::Middle,
            color: Rgb::BLACK,
            vertical: true,
        });
    }
}

/// Mean accuracy (± std bars) against the row axis, one line per column; x positions are the
/// row values when all are numbers (`numeric_x`), evenly spaced otherwise.
pub(crate) fn accuracy_plot(table: &ResultTable, numeric_x: Option<&[f64]>, title: &str) -> Scene {
    let mut scene = Scene::new(FIGURE_WIDTH, FIGURE_HEIGHT);
    title_text(&mut scene, title);
    let n_rows = table.rows.len();
    let xs: Vec<f64> = match numeric_x {
        Some(values) if values.len() == n_rows => values.to_vec(),
        _ => (0..n_rows).map(|i| i as f64).collect(),
    };
    let (x_lo, x_hi) = min_max(xs.iter().copied()).unwrap_or((0.0, 1.0));
    let x_pad = if x_hi > x_lo { (x_hi - x_lo) * 0.06 } else { 0.5 };

    let stats = (0..n_rows).flat_map(|r| (0..table.columns.len()).filter_map(move |c| table.accuracy(r, c)));
    let (lo, hi) = min_max(stats.flat_map(|s| [s.mean - s.std, s.mean + s.std])).unwrap_or((0.0, 100.0));
    let (lo, hi) = if hi - lo < 1e-9 { (lo - 1.0, hi + 1.0) } else { (lo, hi) };
    let (y_lo, y_hi, step) = nice_range(lo - (hi - lo) * 0.05, hi + (hi - lo) * 0.05);
    let frame = Frame {
        x0: 130,
        y0: 60,
        x1: 700,
        y1: 620,
        x_range: (x_lo - x_pad, x_hi + x_pad),
        y_range: (y_lo, y_hi),
    };
    let ticks = ticks(y_lo, y_hi, step);
    let x_ticks: Vec<(f64, String)> = xs.iter().copied().zip(table.rows.iter().cloned()).collect();
    frame.draw_axes(&mut scene, &ticks, decimals(step), &x_ticks);
    frame.axis_titles(&mut scene, &table.row_axis, "accuracy (%)");

    let legend_scale = fit_scale(table.columns.iter().map(String::as_str), W - 770 - 8);
    for (c, header) in table.columns.iter().enumerate() {
        let color = PALETTE[c % PALETTE.len()];
        let mut run: Vec<(i32, i32)> = Vec::new();
        for (r, &x) in xs.iter().enumerate() {
            match table.accuracy(r, c) {
                Some(s) => {
                    let (px, py) = (frame.px(x), frame.py(s.mean));
                    run.push((px, py));
                    if s.n > 1 && s.std > 0.0 {
                        let (top, bottom) = (frame.py(s.mean + s.std), frame.py(s.mean - s.std));
                        scene.line(vec![(px, top), (px, bottom)], color, 1, None);
                        scene.line(vec![(px - 4, top), (px + 4, top)], color, 1, None);
                        scene.line(vec![(px - 4, bottom), (px + 4, bottom)], color, 1, None);
                    }
                }
                None => flush_run(&mut scene, &mut run, color),
            }
        }
        flush_run(&mut scene, &mut run, color);
        let y = 80 + i32::try_from(c).unwrap_or(0) * 30;
        scene.line(vec![(722, y), (756, y)], color, 3, None);
        scene.disc(739, y, 5, color);
        scene.text(770, y, header.clone(), legend_scale, Anchor::Start);
    }
    scene
}

fn flush_run(scene: &mut Scene, run: &mut Vec<(i32, i32)>, color: Rgb) {
    if run.len() > 1 {
        scene.line(run.clone(), color, 3, None);
    }
    for &(x, y) in run.iter() {
        scene.disc(x, y, 5, color);
    }
    run.clear();
}

/// Heat map of `counts[true][predicted]` normalised per true class, values printed in cells.
pub(crate) fn confusion_plot(classes: &[String], counts: &[Vec<u64>], title: &str) -> Scene {
    let mut scene = Scene::new(FIGURE_WIDTH, FIGURE_HEIGHT);
    title_text(&mut scene, title);
    let n = i32::try_from(classes.len()).unwrap_or(1).max(1);
    let longest = classes.iter().map(|c| c.chars().count()).max().unwrap_or(1);
    let name_scale = if longest <= 10 { 2 } else { 1 };
    let name_w = Scene::text_width(&"m".repeat(longest), name_scale);
    let top = 60;
    let bottom = name_w + 14 + 44;
    let side = (W - (40 + name_w + 14) - 40).min(H - top - bottom);
    let cell = (side / n).max(1);
    // Centre the grid, leaving room for the class names and the "true" title on its left.
    let left = (40 + name_w + 14).max((W - n * cell) / 2);
    let value_scale = if Scene::text_width("0.00", 2) + 12 <= cell { 2 } else { 1 };

    for (t, row) in (0..n).zip(counts) {
        let total: u64 = row.iter().sum();
        for (p, &count) in (0..n).zip(row) {
            let share = if total > 0 { count as f64 / total as f64 } else { 0.0 };
            let (x, y) = (left + p * cell, top + t * cell);
            scene.rect(x, y, cell, cell, Some(blues(share)), Some(Rgb::WHITE));
            scene.label(Text {
                x: x + cell / 2,
                y: y + cell / 2,
                text: fixed(share, 2),
                scale: value_scale,
                anchor: Anchor::Middle,
                color: if share > 0.5 { Rgb::WHITE } else { Rgb::BLACK },
                vertical: false,
            });
        }
    }
    for (i, name) in (0..n).zip(classes) {
        scene.text(left - 10, top + i * cell + cell / 2, name.clone(), name_scale, Anchor::End);
        scene.label(Text {
            x: left + i * cell + cell / 2,
            y: top + n * cell + 10,
            text: name.clone(),
            scale: name_scale,
            anchor: Anchor::End,
            color: Rgb::BLACK,
            vertical: true,
        });
    }
    scene.rect(left, top, n * cell, n * cell, None, Some(Rgb::BLACK));
    scene.text(left + n * cell / 2, top + n * cell + name_w + 34, "predicted", 2, Anchor::Middle);
    scene.label(Text {
        x: left - name_w - 14 - 20,
        y: top + n * cell / 2,
        text: "true".to_string(),
        scale: 2,
        anchor: Anchor::Middle,
        color: Rgb::BLACK,
        vertical: true,
    });
    scene
}

/// Expected calibration error of pooled bins: `sum |correct - confidence sum| / samples`.
pub(crate) fn ece(bins: &[ReliabilityBin]) -> f64 {
    let total: u64 = bins.iter().map(|b| b.count).sum();
    if total == 0 {
        return 0.0;
    }
    bins.iter().map(|b| (b.correct as f64 - b.confidence).abs()).sum::<f64>() / total as f64
}

/// Accuracy per equal-width confidence bin as bars, against the diagonal.
pub(crate) fn reliability_plot(bins: &[ReliabilityBin], title: &str) -> Scene {
    let mut scene = Scene::new(FIGURE_WIDTH, FIGURE_HEIGHT);
    title_text(&mut scene, title);
    let frame = Frame { x0: 190, y0: 60, x1: 750, y1: 620, x_range: (0.0, 1.0), y_range: (0.0, 1.0) };
    let ticks = ticks(0.0, 1.0, 0.2);
    let x_ticks: Vec<(f64, String)> = ticks.iter().map(|&t| (t, fixed(t, 1))).collect();
    frame.draw_axes(&mut scene, &ticks, 1, &x_ticks);
    let n = bins.len().max(1) as f64;
    let bar = Rgb(0, 114, 178);
    for (i, b) in bins.iter().enumerate() {
        if b.count == 0 {
            continue;
        }
        let (left, right) = (frame.px(i as f64 / n), frame.px((i + 1) as f64 / n));
        let top = frame.py(b.correct as f64 / b.count as f64);
        scene.rect(left, top, right - left + 1, frame.y1 - top + 1, Some(Rgb(140, 190, 225)), Some(bar));
    }
    let diagonal = vec![(frame.px(0.0), frame.py(0.0)), (frame.px(1.0), frame.py(1.0))];
    scene.line(diagonal, Rgb::GREY, 2, Some((8, 6)));
    scene.rect(frame.x0, frame.y0, frame.x1 - frame.x0 + 1, frame.y1 - frame.y0 + 1, None, Some(Rgb::BLACK));
    frame.axis_titles(&mut scene, "confidence", "accuracy");
    scene.rect(frame.x0 + 16, frame.y0 + 18, 28, 16, Some(Rgb(140, 190, 225)), Some(bar));
    scene.text(frame.x0 + 54, frame.y0 + 26, "accuracy per bin", 2, Anchor::Start);
    scene.line(
        vec![(frame.x0 + 16, frame.y0 + 52), (frame.x0 + 44, frame.y0 + 52)],
        Rgb::GREY,
        2,
        Some((8, 6)),
    );
    scene.text(frame.x0 + 54, frame.y0 + 52, "perfect calibration", 2, Anchor::Start);
    scene
}

/// Per-class recall (y) against training samples (x, log scale), one labelled point per class.
pub(crate) fn recall_vs_frequency_plot(points: &[(String, f64, f64)], title: &str) -> Scene {
    let mut scene = Scene::new(FIGURE_WIDTH, FIGURE_HEIGHT);
    title_text(&mut scene, title);
    let logs: Vec<f64> = points.iter().map(|p| p.1.max(1.0).log10()).collect();
    let (lo, hi) = min_max(logs.iter().copied()).unwrap_or((0.0, 1.0));
    let (x_lo, x_hi) = (lo.floor(), if hi.ceil() > lo.floor() { hi.ceil() } else { lo.floor() + 1.0 });
    let frame = Frame { x0: 190, y0: 60, x1: 900, y1: 620, x_range: (x_lo, x_hi), y_range: (-0.04, 1.04) };
    let y_ticks = ticks(0.0, 1.0, 0.2);
    let x_ticks: Vec<(f64, String)> =
        ticks(x_lo, x_hi, 1.0).into_iter().map(|t| (t, format!("{}", 10f64.powf(t).round()))).collect();
    frame.draw_axes(&mut scene, &y_ticks, 1, &x_ticks);
    frame.axis_titles(&mut scene, "training samples (log scale)", "recall");
    let color = PALETTE[0];
    // Names beside their points, alternately above and below, so neighbours rarely overlap.
    for (i, ((name, _, recall), x)) in points.iter().zip(&logs).enumerate() {
        let (px, py) = (frame.px(*x), frame.py(*recall));
        scene.disc(px, py, 6, color);
        let dy = if i % 2 == 0 { -12 } else { 12 };
        scene.text(px + 10, py + dy, name.clone(), 1, Anchor::Start);
    }
    scene
}

/// Accuracy per group as a point with its interval as a bar, groups along x.
pub(crate) fn group_accuracy_plot(
    groups: &[(String, f64, grefel_artifacts::evaluation::Interval)],
    title: &str,
) -> Scene {
    let mut scene = Scene::new(FIGURE_WIDTH, FIGURE_HEIGHT);
    title_text(&mut scene, title);
    let (lo, hi) = min_max(groups.iter().flat_map(|g| [g.2.low, g.2.high, g.1])).unwrap_or((0.0, 1.0));
    let (lo, hi) = if hi - lo < 1e-9 { (lo - 0.05, hi + 0.05) } else { (lo, hi) };
    let (y_lo, y_hi, step) = nice_range((lo - (hi - lo) * 0.05).max(0.0), (hi + (hi - lo) * 0.05).min(1.0));
    let n = groups.len().max(1) as f64;
    let frame = Frame { x0: 130, y0: 60, x1: 900, y1: 560, x_range: (-0.5, n - 0.5), y_range: (y_lo, y_hi) };
    let y_ticks = ticks(y_lo, y_hi, step);
    frame.draw_axes(&mut scene, &y_ticks, decimals(step), &[]);
    frame.axis_titles(&mut scene, "", "accuracy");
    let color = PALETTE[0];
    let scale = fit_scale(groups.iter().map(|g| g.0.as_str()), (770.0 / n) as i32 - 8);
    for (i, (name, acc, ci)) in groups.iter().enumerate() {
        let px = frame.px(i as f64);
        let (top, bottom) = (frame.py(ci.high), frame.py(ci.low));
        scene.line(vec![(px, top), (px, bottom)], color, 2, None);
        scene.line(vec![(px - 8, top), (px + 8, top)], color, 2, None);
        scene.line(vec![(px - 8, bottom), (px + 8, bottom)], color, 2, None);
        scene.disc(px, frame.py(*acc), 7, color);
        scene.line(vec![(px, frame.y1), (px, frame.y1 + 6)], Rgb::BLACK, 1, None);
        scene.label(Text {
            x: px,
            y: frame.y1 + 14,
            text: name.clone(),
            scale,
            anchor: Anchor::End,
            color: Rgb::BLACK,
            vertical: true,
        });
    }
    scene
}

fn title_text(scene: &mut Scene, title: &str) {
    let scale = fit_scale(std::iter::once(title), W - 20);
    scene.text(W / 2, TITLE_Y, title, scale, Anchor::Middle);
}

/// Text scale 2 when every text fits in `width` pixels at scale 2, else 1.
fn fit_scale<'a>(texts: impl Iterator<Item = &'a str>, width: i32) -> i32 {
    let widest = texts.map(|t| Scene::text_width(t, 2)).max().unwrap_or(0);
    if widest <= width { 2 } else { 1 }
}

/// White to dark blue ("Blues"), `share` in [0, 1].
fn blues(share: f64) -> Rgb {
    let t = share.clamp(0.0, 1.0);
    let mix = |a: u8, b: u8| round(f64::from(a) + (f64::from(b) - f64::from(a)) * t).clamp(0, 255) as u8;
    Rgb(mix(247, 8), mix(251, 48), mix(255, 107))
}

fn round(v: f64) -> i32 {
    // Saturating float-to-int conversion; figure coordinates stay far inside i32.
    v.round() as i32
}

fn min_max(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// Widens `[lo, hi]` to multiples of a 1-2-5 step giving about five intervals.
fn nice_range(lo: f64, hi: f64) -> (f64, f64, f64) {
    let raw = ((hi - lo) / 5.0).max(1e-9);
    let magnitude = 10f64.powi(raw.log10().floor() as i32);
    let step = match raw / magnitude {
        f if f <= 1.0 => 1.0,
        f if f <= 2.0 => 2.0,
        f if f <= 5.0 => 5.0,
        _ => 10.0,
    } * magnitude;
    ((lo / step).floor() * step, (hi / step).ceil() * step, step)
}

fn ticks(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    let count = ((hi - lo) / step + 1e-6).floor() as usize;
    (0..=count).map(|i| lo + i as f64 * step).collect()
}

/// Decimals needed to print multiples of `step` exactly.
fn decimals(step: f64) -> usize {
    (0..6)
        .find(|&d| {
            let scaled = step * 10f64.powi(d as i32);
            (scaled - scaled.round()).abs() < 1e-6
        })
        .unwrap_or(6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_ranges() {
        assert_eq!(nice_range(78.3, 84.9), (78.0, 86.0, 2.0));
        assert_eq!(ticks(0.0, 1.0, 0.2).len(), 6);
        assert_eq!(decimals(2.0), 0);
        assert_eq!(decimals(0.5), 1);
        assert_eq!(decimals(0.25), 2);
    }

    #[test]
    fn ece_of_pooled_bins() {
        let bins = [
            ReliabilityBin { count: 10, correct: 7, confidence: 6.5 },
            ReliabilityBin { count: 0, correct: 0, confidence: 0.0 },
            ReliabilityBin { count: 10, correct: 10, confidence: 9.0 },
        ];
        assert!((ece(&bins) - 0.075).abs() < 1e-12);
    }
}
