//! The analysis behind `evaluation.json`: one output's predictions on a split, turned into
//! overall, per-class and per-group metrics, the gaps between the groups of each column, and
//! seeded bootstrap intervals of the accuracies and gaps.
//!
//! Definitions (the same as scikit-learn's where it has them): precision, recall and F1 are 0
//! where undefined; mean class accuracy averages the recalls of the classes with samples
//! (`balanced_accuracy_score`); macro-F1 averages F1 over the classes that occur as truth or
//! prediction (`f1_score(average="macro")` without `labels`). A class is a head class when it has
//! at least the mean training samples per class. Intervals are percentile intervals of
//! resamples of the split's samples drawn with replacement (linear interpolation between order
//! statistics, as numpy's default quantile).

use std::collections::BTreeMap;

use grefel_artifacts::evaluation::{
    Bootstrap, ClassMetrics, Evaluation, GroupGaps, GroupMetrics, Interval, Overall, UNKNOWN_GROUP,
};
use grefel_artifacts::{Confusion, Evaluator};
use grefel_schema::SeedRng;

use crate::ReportError;

/// What is analysed: one output's predicted distributions on one split.
#[derive(Clone, Debug)]
pub struct AnalysisInput<'a> {
    /// The run's id.
    pub run: &'a str,
    /// The run's preset.
    pub preset: &'a str,
    /// The dataset evaluated on.
    pub dataset: &'a str,
    /// The split evaluated.
    pub split: &'a str,
    /// The output analysed (`corrected`, `primary`).
    pub output: &'a str,
    /// Class names in output order.
    pub classes: &'a [String],
    /// True class per sample.
    pub labels: &'a [usize],
    /// Predicted distribution per sample (`classes` values each).
    pub probs: &'a [Vec<f32>],
    /// Group columns: `column -> value per sample` (`None`: the sample has none).
    pub columns: &'a BTreeMap<String, Vec<Option<String>>>,
    /// Training samples per class of the run (`None` when unknown).
    pub train_counts: Option<&'a [u64]>,
}

/// How the intervals are drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BootstrapOptions {
    /// Resamples (0: intervals collapse to the point estimate).
    pub resamples: usize,
    /// Seed of the draws.
    pub seed: u64,
    /// Coverage of the intervals, in (0, 1).
    pub level: f64,
}

impl Default for BootstrapOptions {
    fn default() -> Self {
        Self { resamples: 1000, seed: 0, level: 0.95 }
    }
}

/// Analyses `input` ([module docs](self)).
pub fn analyse(input: &AnalysisInput<'_>, options: BootstrapOptions) -> Result<Evaluation, ReportError> {
    let n = input.labels.len();
    let c = input.classes.len();
    let bad = |reason: String| ReportError::Analysis { reason };
    if input.probs.len() != n {
        return Err(bad(format!("{} labels but {} predictions", n, input.probs.len())));
    }
    if n == 0 {
        return Err(bad("no samples to evaluate".into()));
    }
    if let Some(&l) = input.labels.iter().find(|&&l| l >= c) {
        return Err(bad(format!("label {l} is outside the {c} classes")));
    }
    if let Some(p) = input.probs.iter().find(|p| p.len() != c) {
        return Err(bad(format!("a distribution has {} values for {c} classes", p.len())));
    }
    for (column, values) in input.columns {
        if values.len() != n {
            return Err(bad(format!("column `{column}` has {} values for {n} samples", values.len())));
        }
    }
    if let Some(counts) = input.train_counts
        && counts.len() != c
    {
        return Err(bad(format!("{} training counts for {c} classes", counts.len())));
    }
    if !(options.level > 0.0 && options.level < 1.0) {
        return Err(bad(format!("interval level {} is not in (0, 1)", options.level)));
    }

    let mut evaluator = Evaluator::new(c);
    for (&label, probs) in input.labels.iter().zip(input.probs) {
        evaluator.add(label, probs);
    }
    let predicted: Vec<usize> = evaluator.predictions().iter().map(|&p| p as usize).collect();
    let metrics = evaluator.metrics();
    let correct: Vec<bool> = input.labels.iter().zip(&predicted).map(|(t, p)| t == p).collect();

    let per_class = class_metrics(input, &metrics.confusion);
    let (head_recall, tail_recall) = head_tail(&per_class);

    // Groups: each column's values, `unknown` for none; sample indices per group.
    let mut members: BTreeMap<&str, BTreeMap<String, Vec<usize>>> = BTreeMap::new();
    for (column, values) in input.columns {
        let groups = members.entry(column.as_str()).or_default();
        for (i, v) in values.iter().enumerate() {
            groups.entry(v.clone().unwrap_or_else(|| UNKNOWN_GROUP.into())).or_default().push(i);
        }
    }

    // Bootstrap draws, shared by every statistic so their intervals come from the same resamples.
    let mut rng = SeedRng::for_tag(options.seed, "evaluate/bootstrap");
    let mut weights = vec![0u32; n];
    let mut accuracy_draws = Vec::with_capacity(options.resamples);
    let mut group_draws: BTreeMap<(&str, &str), Vec<f64>> = BTreeMap::new();
    let mut gap_draws: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut eo_draws: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for _ in 0..options.resamples {
        weights.iter_mut().for_each(|w| *w = 0);
        for _ in 0..n {
            weights[rng.below(n as u64) as usize] += 1;
        }
        accuracy_draws.push(weighted_accuracy(&correct, &weights, 0..n));
        for (column, groups) in &members {
            let mut stats = Vec::with_capacity(groups.len());
            for (value, idx) in groups {
                let stat = group_stat(input.labels, &correct, &weights, idx, c);
                if let Some(acc) = stat.accuracy {
                    group_draws.entry((column, value.as_str())).or_default().push(acc);
                }
                stats.push(stat);
            }
            if let Some(gap) = accuracy_gap(&stats) {
                gap_draws.entry(column).or_default().push(gap);
            }
            if let Some(eo) = equal_opportunity_gap(&stats, c) {
                eo_draws.entry(column).or_default().push(eo);
            }
        }
    }
    let level = options.level;
    let point = |v: f64| Interval { low: v, high: v };
    let interval = |draws: Option<&Vec<f64>>, v: f64| match draws {
        Some(d) if !d.is_empty() => percentile_interval(d, level),
        _ => point(v),
    };

    let ones = vec![1u32; n];
    let mut groups = BTreeMap::new();
    let mut gaps = BTreeMap::new();
    for (column, column_groups) in &members {
        let mut out = BTreeMap::new();
        let mut stats = Vec::new();
        for (value, idx) in column_groups {
            let stat = group_stat(input.labels, &correct, &ones, idx, c);
            let mut confusion = Confusion::new(c);
            for &i in idx {
                confusion.add(input.labels[i], predicted[i]);
            }
            let accuracy = stat.accuracy.unwrap_or(0.0);
            out.insert(
                value.clone(),
                GroupMetrics {
                    samples: idx.len() as u64,
                    accuracy,
                    accuracy_ci: interval(group_draws.get(&(*column, value.as_str())), accuracy),
                    mean_class_accuracy: confusion.mean_class_accuracy(),
                    macro_f1: confusion.macro_f1(),
                    recall: stat.recall.clone(),
                },
            );
            stats.push((value.clone(), stat));
        }
        let only: Vec<GroupStat> = stats.iter().map(|(_, s)| s.clone()).collect();
        let by_accuracy = |pick_max: bool| {
            stats
                .iter()
                .filter_map(|(v, s)| s.accuracy.map(|a| (v, a)))
                // Ties: the first group is the best, the last the worst (two groups with equal
                // accuracy are then named as best and worst, not one group twice).
                .reduce(|a, b| {
                    if pick_max {
                        if b.1 > a.1 { b } else { a }
                    } else if b.1 <= a.1 {
                        b
                    } else {
                        a
                    }
                })
                .map(|(v, _)| v.clone())
                .unwrap_or_default()
        };
        let accuracy_gap_value = accuracy_gap(&only).unwrap_or(0.0);
        let eo = equal_opportunity_gap(&only, c);
        gaps.insert(
            (*column).to_string(),
            GroupGaps {
                groups: stats.len(),
                best_group: by_accuracy(true),
                worst_group: by_accuracy(false),
                accuracy_gap: accuracy_gap_value,
                accuracy_gap_ci: interval(gap_draws.get(column), accuracy_gap_value),
                equal_opportunity_gap: eo,
                equal_opportunity_gap_ci: eo.map(|v| interval(eo_draws.get(column), v)),
            },
        );
        groups.insert((*column).to_string(), out);
    }

    let accuracy = metrics.accuracy;
    Ok(Evaluation {
        run: input.run.into(),
        preset: input.preset.into(),
        dataset: input.dataset.into(),
        split: input.split.into(),
        output: input.output.into(),
        classes: input.classes.to_vec(),
        overall: Overall {
            accuracy_ci: interval(Some(&accuracy_draws), accuracy),
            metrics,
            head_recall,
            tail_recall,
        },
        per_class,
        groups,
        gaps,
        bootstrap: Bootstrap { resamples: options.resamples, seed: options.seed, level },
    })
}

fn class_metrics(input: &AnalysisInput<'_>, confusion: &Confusion) -> Vec<ClassMetrics> {
    let c = input.classes.len();
    let mean_train = input.train_counts.map(|t| t.iter().sum::<u64>() as f64 / c.max(1) as f64);
    (0..c)
        .map(|k| {
            let tp = confusion.counts[k][k];
            let support: u64 = confusion.counts[k].iter().sum();
            let predicted: u64 = (0..c).map(|r| confusion.counts[r][k]).sum();
            let precision = ratio(tp, predicted);
            let recall = ratio(tp, support);
            let f1 = ratio(2 * tp, support + predicted);
            let train_samples = input.train_counts.map(|t| t[k]);
            ClassMetrics {
                class: input.classes[k].clone(),
                precision,
                recall,
                f1,
                support,
                predicted,
                train_samples,
                head: train_samples.zip(mean_train).map(|(t, m)| t as f64 >= m),
            }
        })
        .collect()
}

/// Mean recall of the head and of the tail classes that have samples in the split.
fn head_tail(per_class: &[ClassMetrics]) -> (Option<f64>, Option<f64>) {
    let mean_of = |head: bool| {
        let recalls: Vec<f64> =
            per_class.iter().filter(|m| m.head == Some(head) && m.support > 0).map(|m| m.recall).collect();
        (!recalls.is_empty()).then(|| recalls.iter().sum::<f64>() / recalls.len() as f64)
    };
    (mean_of(true), mean_of(false))
}

/// One group's accuracy and per-class recall under sample weights.
#[derive(Clone, Debug)]
struct GroupStat {
    accuracy: Option<f64>,
    recall: Vec<Option<f64>>,
}

fn group_stat(
    labels: &[usize],
    correct: &[bool],
    weights: &[u32],
    idx: &[usize],
    classes: usize,
) -> GroupStat {
    let mut support = vec![0u64; classes];
    let mut hits = vec![0u64; classes];
    for &i in idx {
        let w = u64::from(weights[i]);
        support[labels[i]] += w;
        if correct[i] {
            hits[labels[i]] += w;
        }
    }
    let total: u64 = support.iter().sum();
    let right: u64 = hits.iter().sum();
    GroupStat {
        accuracy: (total > 0).then(|| right as f64 / total as f64),
        recall: support.iter().zip(&hits).map(|(&s, &h)| (s > 0).then(|| h as f64 / s as f64)).collect(),
    }
}

fn weighted_accuracy(correct: &[bool], weights: &[u32], idx: impl Iterator<Item = usize>) -> f64 {
    let (mut total, mut right) = (0u64, 0u64);
    for i in idx {
        total += u64::from(weights[i]);
        if correct[i] {
            right += u64::from(weights[i]);
        }
    }
    ratio(right, total)
}

/// Largest minus smallest accuracy over the groups with samples (`None` with fewer than two).
fn accuracy_gap(stats: &[GroupStat]) -> Option<f64> {
    let accs: Vec<f64> = stats.iter().filter_map(|s| s.accuracy).collect();
    (accs.len() >= 2).then(|| {
        let max = accs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let min = accs.iter().copied().fold(f64::INFINITY, f64::min);
        max - min
    })
}

/// Per class, max minus min recall over the groups with samples of it; averaged over the
/// classes with at least two such groups.
fn equal_opportunity_gap(stats: &[GroupStat], classes: usize) -> Option<f64> {
    let gaps: Vec<f64> = (0..classes)
        .filter_map(|k| {
            let recalls: Vec<f64> = stats.iter().filter_map(|s| s.recall[k]).collect();
            (recalls.len() >= 2).then(|| {
                recalls.iter().copied().fold(f64::NEG_INFINITY, f64::max)
                    - recalls.iter().copied().fold(f64::INFINITY, f64::min)
            })
        })
        .collect();
    (!gaps.is_empty()).then(|| gaps.iter().sum::<f64>() / gaps.len() as f64)
}

/// The `(1 - level) / 2` and `(1 + level) / 2` quantiles of `draws` (linear interpolation).
fn percentile_interval(draws: &[f64], level: f64) -> Interval {
    let mut sorted = draws.to_vec();
    sorted.sort_by(f64::total_cmp);
    let q = |p: f64| {
        let pos = p * (sorted.len() - 1) as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
    };
    Interval { low: q((1.0 - level) / 2.0), high: q((1.0 + level) / 2.0) }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }

    /// A one-hot-ish distribution predicting `class` out of 3.
    fn predict(class: usize) -> Vec<f32> {
        let mut p = vec![0.1f32; 3];
        p[class] = 0.8;
        p
    }

    /// Two groups, three classes, a hand-made table:
    ///
    /// | group | truth → prediction (count)                    |
    /// |-------|-----------------------------------------------|
    /// | a     | 0→0 (3), 0→1 (1), 1→1 (2), 2→2 (2)            |
    /// | b     | 0→0 (1), 0→2 (1), 1→1 (1), 1→0 (1), (none of 2)|
    /// | none  | 2→2 (1)                                        |
    #[test]
    fn groups_and_gaps_by_hand() {
        let rows: [(usize, usize, usize, Option<&str>); 8] = [
            (0, 0, 3, Some("a")),
            (0, 1, 1, Some("a")),
            (1, 1, 2, Some("a")),
            (2, 2, 2, Some("a")),
            (0, 0, 1, Some("b")),
            (0, 2, 1, Some("b")),
            (1, 1, 1, Some("b")),
            (1, 0, 1, Some("b")),
        ];
        let (mut labels, mut probs, mut group) = (Vec::new(), Vec::new(), Vec::new());
        for (t, p, count, g) in rows {
            for _ in 0..count {
                labels.push(t);
                probs.push(predict(p));
                group.push(g.map(str::to_string));
            }
        }
        labels.push(2);
        probs.push(predict(2));
        group.push(None);
        let classes: Vec<String> = ["x", "y", "z"].iter().map(|s| s.to_string()).collect();
        let columns = BTreeMap::from([("g".to_string(), group)]);
        let train = [10u64, 4, 1];
        let input = AnalysisInput {
            run: "r",
            preset: "tiny",
            dataset: "d",
            split: "test",
            output: "corrected",
            classes: &classes,
            labels: &labels,
            probs: &probs,
            columns: &columns,
            train_counts: Some(&train),
        };
        let e = analyse(&input, BootstrapOptions { resamples: 200, seed: 3, level: 0.9 }).expect("analyse");
        // Overall: 10 right of 13.
        close(e.overall.metrics.accuracy, 10.0 / 13.0);
        let a = &e.groups["g"]["a"];
        let b = &e.groups["g"]["b"];
        let u = &e.groups["g"][UNKNOWN_GROUP];
        assert_eq!((a.samples, b.samples, u.samples), (8, 4, 1));
        close(a.accuracy, 7.0 / 8.0);
        close(b.accuracy, 2.0 / 4.0);
        close(u.accuracy, 1.0);
        // The sample-weighted mean of the group accuracies is the overall accuracy.
        let weighted = (a.accuracy * 8.0 + b.accuracy * 4.0 + u.accuracy) / 13.0;
        close(weighted, e.overall.metrics.accuracy);
        assert_eq!(a.recall, vec![Some(0.75), Some(1.0), Some(1.0)]);
        assert_eq!(b.recall, vec![Some(0.5), Some(0.5), None]);
        assert_eq!(u.recall, vec![None, None, Some(1.0)]);
        let gaps = &e.gaps["g"];
        assert_eq!(gaps.groups, 3);
        assert_eq!((gaps.best_group.as_str(), gaps.worst_group.as_str()), (UNKNOWN_GROUP, "b"));
        close(gaps.accuracy_gap, 0.5);
        // Class x: 0.75 vs 0.5; y: 1.0 vs 0.5; z: 1.0 vs 1.0 (a and unknown) -> mean of 0.25, 0.5, 0.
        close(gaps.equal_opportunity_gap.expect("eo"), 0.75 / 3.0);
        // Class metrics: x predicted 5 times (4 right), y 4 (3 right), z 4 (3 right).
        close(e.per_class[0].precision, 4.0 / 5.0);
        close(e.per_class[0].recall, 4.0 / 6.0);
        close(e.per_class[1].f1, 2.0 * 3.0 / (4.0 + 4.0));
        assert_eq!(
            e.per_class.iter().map(|m| m.head).collect::<Vec<_>>(),
            [Some(true), Some(false), Some(false)]
        );
        close(e.overall.head_recall.expect("head"), 4.0 / 6.0);
        close(e.overall.tail_recall.expect("tail"), (0.75 + 1.0) / 2.0);
        // Intervals bracket their estimates and are reproducible from the seed.
        let ci = e.overall.accuracy_ci;
        assert!(
            ci.low <= e.overall.metrics.accuracy && e.overall.metrics.accuracy <= ci.high && ci.low < ci.high
        );
        assert!(gaps.accuracy_gap_ci.low < gaps.accuracy_gap_ci.high);
        let again = analyse(&input, BootstrapOptions { resamples: 200, seed: 3, level: 0.9 }).expect("again");
        assert_eq!(again, e);
        let other = analyse(&input, BootstrapOptions { resamples: 200, seed: 4, level: 0.9 }).expect("other");
        assert_eq!(other.bootstrap.seed, 4);
        assert_ne!(other.groups, e.groups, "another seed draws other resamples");
    }

    #[test]
    fn percentiles_interpolate() {
        let draws: Vec<f64> = (0..=100).map(f64::from).collect();
        let i = percentile_interval(&draws, 0.95);
        close(i.low, 2.5);
        close(i.high, 97.5);
    }

    #[test]
    fn mismatched_inputs_are_refused() {
        let classes = vec!["x".to_string(), "y".to_string()];
        let columns = BTreeMap::new();
        let probs = vec![vec![0.5f32, 0.5]];
        let base = AnalysisInput {
            run: "r",
            preset: "tiny",
            dataset: "d",
            split: "test",
            output: "primary",
            classes: &classes,
            labels: &[0],
            probs: &probs,
            columns: &columns,
            train_counts: None,
        };
        assert!(
            analyse(&AnalysisInput { labels: &[2], ..base.clone() }, BootstrapOptions::default()).is_err()
        );
        assert!(
            analyse(&AnalysisInput { labels: &[0, 1], ..base.clone() }, BootstrapOptions::default()).is_err()
        );
        let e =
            analyse(&base, BootstrapOptions { resamples: 0, ..Default::default() }).expect("no resamples");
        assert_eq!(e.overall.accuracy_ci.low, e.overall.accuracy_ci.high);
        assert_eq!(e.per_class[0].head, None);
    }
}
