//! Each dataset's evaluation protocol: which stored split is evaluated, where model selection
//! happens, the natural class view, and the classes the dataset can express at all.
//!
//! | adapter | default view | evaluated | selection |
//! | --- | --- | --- | --- |
//! | `rafdb` | `basic7` | `test` | `val` (RAF-DB has none: carved from train, seeded) |
//! | `fer2013` | `basic7` | `test` (PrivateTest) | `val` (PublicTest) |
//! | `ferplus` | `with-contempt8` | `test` (PrivateTest) | `val` (PublicTest) |
//! | `affectnet` | `with-contempt8` | `val` (the official validation set) | carved from train, seeded |
//! | `affwild2` | `with-other8` | `val` (the official validation set) | carved from train by video |
//! | `fergdb`, `jaffe` | `basic7` | `test` (seeded split) | `val` (seeded split) |
//!
//! A carve-out takes the groups (samples, or videos for Aff-Wild2) whose seeded key falls below
//! `val_fraction`, at least one group, and always leaves one group for training. With
//! `split = "subject"` the stored splits are ignored and the dataset is split by its `subject`
//! column (JAFFE's posers, FERG-DB's characters): every subject's rows go to one split.
//! Rows of a stored split the protocol does not use (a `test` folder of an AffectNet
//! redistribution) are counted in `metrics.json` as unused, never trained on.

use grefel_schema::rng::{derive_seed, keyed_unit};
use grefel_schema::table::Split;
use grefel_schema::{ClassView, Expression};
use serde::{Deserialize, Serialize};

use crate::TrainError;

/// How the rows of a prepared dataset are split for training (the `split` setting).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitRule {
    /// The stored splits, used as the dataset's protocol says.
    #[default]
    Official,
    /// Subject-disjoint splits drawn from the `subject` column (train, then `val_fraction` of the
    /// subjects each for selection and evaluation; at least one subject each).
    Subject,
}

/// Where model selection happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SelectionSource {
    /// The stored `val` split (carved from train when it is empty).
    StoredVal,
    /// Always a seeded part of train (the stored `val` is the evaluated split).
    CarvedFromTrain,
}

/// What a part of train is carved by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CarveUnit {
    /// Sample by sample.
    Sample,
    /// Whole subjects (Aff-Wild2 videos): frames of one video never sit on both sides.
    Subject,
}

/// The protocol of one adapter's datasets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Protocol {
    /// The adapter (`rafdb`, …).
    pub adapter: &'static str,
    /// The class view used when the settings name none.
    pub default_view: ClassView,
    /// The canonical classes the dataset's labels can take.
    pub classes: &'static [Expression],
    /// The stored split whose rows are evaluated (the `test` block of `metrics.json`).
    pub evaluation: Split,
    /// Where model selection happens.
    pub selection: SelectionSource,
    /// What a carve-out from train is made of.
    pub carve: CarveUnit,
}

const BASIC: &[Expression] = &Expression::BASIC;
const WITH_CONTEMPT: &[Expression] = {
    use Expression::*;
    &[Neutral, Happy, Sad, Surprise, Fear, Disgust, Anger, Contempt]
};
const WITH_OTHER: &[Expression] = {
    use Expression::*;
    &[Neutral, Happy, Sad, Surprise, Fear, Disgust, Anger, Other]
};

/// Every adapter's protocol.
pub const PROTOCOLS: &[Protocol] = &[
    Protocol {
        adapter: "rafdb",
        default_view: ClassView::Basic7,
        classes: BASIC,
        evaluation: Split::Test,
        selection: SelectionSource::StoredVal,
        carve: CarveUnit::Sample,
    },
    Protocol {
        adapter: "fer2013",
        default_view: ClassView::Basic7,
        classes: BASIC,
        evaluation: Split::Test,
        selection: SelectionSource::StoredVal,
        carve: CarveUnit::Sample,
    },
    Protocol {
        adapter: "ferplus",
        default_view: ClassView::WithContempt8,
        classes: WITH_CONTEMPT,
        evaluation: Split::Test,
        selection: SelectionSource::StoredVal,
        carve: CarveUnit::Sample,
    },
    Protocol {
        adapter: "affectnet",
        default_view: ClassView::WithContempt8,
        classes: &Expression::ALL,
        evaluation: Split::Val,
        selection: SelectionSource::CarvedFromTrain,
        carve: CarveUnit::Sample,
    },
    Protocol {
        adapter: "affwild2",
        default_view: ClassView::WithOther8,
        classes: WITH_OTHER,
        evaluation: Split::Val,
        selection: SelectionSource::CarvedFromTrain,
        carve: CarveUnit::Subject,
    },
    Protocol {
        adapter: "fergdb",
        default_view: ClassView::Basic7,
        classes: BASIC,
        evaluation: Split::Test,
        selection: SelectionSource::StoredVal,
        carve: CarveUnit::Sample,
    },
    Protocol {
        adapter: "jaffe",
        default_view: ClassView::Basic7,
        classes: BASIC,
        evaluation: Split::Test,
        selection: SelectionSource::StoredVal,
        carve: CarveUnit::Sample,
    },
];

impl Protocol {
    /// The protocol of datasets prepared by `adapter`.
    pub fn of(adapter: &str) -> Result<&'static Protocol, TrainError> {
        PROTOCOLS.iter().find(|p| p.adapter == adapter).ok_or_else(|| {
            let known: Vec<&str> = PROTOCOLS.iter().map(|p| p.adapter).collect();
            TrainError::config(
                "dataset",
                format!("adapter `{adapter}` has no protocol; known: {}", known.join(", ")),
            )
        })
    }

    /// Refuses a view with a class this dataset's labels can never take (contempt on RAF-DB).
    pub fn check_view(&self, dataset: &str, view: ClassView) -> Result<(), TrainError> {
        let missing: Vec<&str> =
            view.classes().iter().filter(|c| !self.classes.contains(c)).map(|c| c.name()).collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(TrainError::Data {
            dataset: dataset.into(),
            reason: format!(
                "class view {} needs {}, which {} labels never contain; set `class_view = \"{}\"` (the dataset's default) or another view it can fill",
                view.name(),
                missing.join(", "),
                self.adapter,
                self.default_view.name()
            ),
        })
    }

    /// A one-line description for `metrics.json` and logs.
    pub fn describe(&self, rule: SplitRule) -> String {
        let selection = match (rule, self.selection, self.carve) {
            (SplitRule::Subject, _, _) => "subject-disjoint splits drawn from the subject column".to_string(),
            (_, SelectionSource::StoredVal, _) => {
                "selection on val (carved from train, seeded, when empty)".into()
            }
            (_, SelectionSource::CarvedFromTrain, CarveUnit::Sample) => {
                "selection on a seeded part of train".into()
            }
            (_, SelectionSource::CarvedFromTrain, CarveUnit::Subject) => {
                "selection on a seeded part of train, carved by video".into()
            }
        };
        let evaluated = match rule {
            SplitRule::Subject => "evaluation on the held-out subjects".to_string(),
            SplitRule::Official => format!("evaluation on the official {} split", self.evaluation.as_str()),
        };
        format!("{}: {evaluated}; {selection}", self.adapter)
    }
}

/// Which role a row plays in one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Trained on.
    Train,
    /// Model selection.
    Selection,
    /// Evaluated (reported, never used for selection).
    Evaluation,
    /// Not used (a stored split outside the protocol).
    Unused,
}

/// The role of every row: `rows` are `(stored split, group key)` pairs (the group is the subject
/// where carving or splitting by subject needs it, else the sample id). Deterministic in `seed`.
pub fn assign_roles(
    protocol: &Protocol,
    rule: SplitRule,
    rows: &[(Split, &str)],
    val_fraction: f64,
    seed: u64,
) -> Vec<Role> {
    match rule {
        SplitRule::Subject => by_subject(rows, val_fraction, derive_seed(seed, "subject-split")),
        SplitRule::Official => {
            let mut roles: Vec<Role> = rows
                .iter()
                .map(|&(split, _)| match (split, protocol.selection) {
                    (s, _) if s == protocol.evaluation => Role::Evaluation,
                    (Split::Train, _) => Role::Train,
                    (Split::Val, SelectionSource::StoredVal) => Role::Selection,
                    _ => Role::Unused,
                })
                .collect();
            if !roles.contains(&Role::Selection) {
                carve(&mut roles, rows, val_fraction, derive_seed(seed, "val-carve"));
            }
            roles
        }
    }
}

/// Moves the train groups whose key is below `fraction` to selection: at least one group, never
/// every group.
fn carve(roles: &mut [Role], rows: &[(Split, &str)], fraction: f64, seed: u64) {
    let mut groups: Vec<(f64, &str)> = rows
        .iter()
        .zip(roles.iter())
        .filter(|(_, r)| **r == Role::Train)
        .map(|((_, g), _)| (keyed_unit(seed, g), *g))
        .collect();
    groups.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(b.1)));
    groups.dedup_by(|a, b| a.1 == b.1);
    if groups.len() < 2 {
        return;
    }
    let below = groups.iter().filter(|(u, _)| *u < fraction).count();
    let take = below.clamp(1, groups.len() - 1);
    let chosen: std::collections::HashSet<&str> = groups[..take].iter().map(|(_, g)| *g).collect();
    for ((_, g), role) in rows.iter().zip(roles.iter_mut()) {
        if *role == Role::Train && chosen.contains(g) {
            *role = Role::Selection;
        }
    }
}

/// Subject-disjoint roles: subjects sorted by their seeded key; the first `fraction` of them (at
/// least one) are evaluated, the next `fraction` (at least one) select, the rest train.
fn by_subject(rows: &[(Split, &str)], fraction: f64, seed: u64) -> Vec<Role> {
    let mut subjects: Vec<(f64, &str)> = rows.iter().map(|(_, g)| (keyed_unit(seed, g), *g)).collect();
    subjects.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(b.1)));
    subjects.dedup_by(|a, b| a.1 == b.1);
    let n = subjects.len();
    let share = ((fraction * n as f64).round() as usize).max(1);
    let role_of: std::collections::HashMap<&str, Role> = subjects
        .iter()
        .enumerate()
        .map(|(i, (_, s))| {
            let role = if i < share {
                Role::Evaluation
            } else if i < 2 * share {
                Role::Selection
            } else {
                Role::Train
            };
            (*s, role)
        })
        .collect();
    rows.iter().map(|(_, g)| role_of[g]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(adapter: &str) -> &'static Protocol {
        Protocol::of(adapter).expect("known")
    }

    #[test]
    fn every_adapter_has_a_protocol_whose_default_view_it_can_fill() {
        for a in ["rafdb", "fer2013", "ferplus", "affectnet", "affwild2", "fergdb", "jaffe"] {
            let proto = p(a);
            proto.check_view(a, proto.default_view).expect("default view");
        }
        assert!(Protocol::of("nosuch").is_err());
        let err = p("rafdb").check_view("rafdb", ClassView::WithContempt8).expect_err("contempt");
        assert!(err.to_string().contains("contempt") && err.to_string().contains("basic7"), "{err}");
        assert!(p("ferplus").check_view("ferplus", ClassView::WithOther8).is_err());
        p("affectnet").check_view("affectnet", ClassView::WithOther8).expect("AffectNet's None is other");
    }

    #[test]
    fn official_roles_follow_the_protocol() {
        let rows = [(Split::Train, "a"), (Split::Train, "b"), (Split::Val, "c"), (Split::Test, "d")];
        let raf = assign_roles(p("fer2013"), SplitRule::Official, &rows, 0.1, 0);
        assert_eq!(raf, [Role::Train, Role::Train, Role::Selection, Role::Evaluation]);
        // AffectNet: val is evaluated, selection is carved from train, a test folder is unused.
        let aff = assign_roles(p("affectnet"), SplitRule::Official, &rows, 0.1, 0);
        assert_eq!(aff.iter().filter(|r| **r == Role::Selection).count(), 1, "{aff:?}");
        assert_eq!(aff.iter().filter(|r| **r == Role::Train).count(), 1, "{aff:?}");
        assert_eq!((aff[2], aff[3]), (Role::Evaluation, Role::Unused));
    }

    #[test]
    fn carving_keeps_groups_whole_and_both_sides_non_empty() {
        let names: Vec<String> = (0..40).map(|i| format!("vid{}", i % 4)).collect();
        let rows: Vec<(Split, &str)> = names.iter().map(|n| (Split::Train, n.as_str())).collect();
        let roles = assign_roles(p("affwild2"), SplitRule::Official, &rows, 0.1, 7);
        for g in ["vid0", "vid1", "vid2", "vid3"] {
            let mine: Vec<Role> =
                rows.iter().zip(&roles).filter(|((_, n), _)| *n == g).map(|(_, r)| *r).collect();
            assert!(mine.iter().all(|r| *r == mine[0]), "{g} is split: {mine:?}");
        }
        assert!(roles.contains(&Role::Selection) && roles.contains(&Role::Train));
        assert_eq!(roles, assign_roles(p("affwild2"), SplitRule::Official, &rows, 0.1, 7), "seeded");
        // Two samples: one each side; one sample: nothing carved.
        let two = [(Split::Train, "x"), (Split::Train, "y")];
        let r = assign_roles(p("rafdb"), SplitRule::Official, &two, 0.1, 0);
        assert!(r.contains(&Role::Train) && r.contains(&Role::Selection), "{r:?}");
        let one = [(Split::Train, "x")];
        assert_eq!(assign_roles(p("rafdb"), SplitRule::Official, &one, 0.1, 0), [Role::Train]);
    }

    #[test]
    fn subject_split_is_disjoint() {
        let names: Vec<String> = (0..50).map(|i| format!("S{}", i % 10)).collect();
        let rows: Vec<(Split, &str)> = names.iter().map(|n| (Split::Train, n.as_str())).collect();
        let roles = assign_roles(p("jaffe"), SplitRule::Subject, &rows, 0.1, 0);
        let count = |want: Role| roles.iter().filter(|r| **r == want).count();
        assert_eq!((count(Role::Evaluation), count(Role::Selection), count(Role::Train)), (5, 5, 40));
        for s in 0..10 {
            let g = format!("S{s}");
            let mine: Vec<Role> =
                rows.iter().zip(&roles).filter(|((_, n), _)| **n == g).map(|(_, r)| *r).collect();
            assert!(mine.iter().all(|r| *r == mine[0]));
        }
    }
}
