//! The sample plan and the FERG-DB file layout.
//!
//! Sample indices run class by class in canonical basic order (neutral first, anger last).
//! Within a class the `j`-th sample belongs to identity `(j + class) % identities` (round-robin,
//! offset per class so small classes do not all start at `p00`) and is that person's
//! `k = j / identities + 1`-th image of the expression. Its file is
//! `<char>/<char>_<expr>/<char>_<expr>_<k>.png`, with `<char>` = `p00`, `p01`, … and `<expr>` the
//! FERG-DB token of the expression (`joy` for happy, `sadness` for sad, …).

use grefel_schema::Expression;
use grefel_schema::labels::FERGDB;

use crate::SynthConfig;

/// Where each sample index goes: its class, person and file.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    /// Images per class, canonical basic order.
    pub counts: [usize; 7],
    /// First sample index of each class.
    starts: [usize; 7],
    /// Number of people.
    identities: usize,
}

/// One planned sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Item {
    /// Its expression.
    pub expression: Expression,
    /// Its person (0-based).
    pub identity: usize,
    /// Its 1-based number within the person's folder for the expression.
    pub k: usize,
}

impl Plan {
    /// The plan of `config` (which should be valid; identities is taken as at least 1).
    pub fn new(config: &SynthConfig) -> Plan {
        let counts = config.class_counts();
        let mut starts = [0; 7];
        for c in 1..7 {
            starts[c] = starts[c - 1] + counts[c - 1];
        }
        Plan { counts, starts, identities: config.identities.max(1) }
    }

    /// Total number of samples.
    pub fn len(&self) -> usize {
        self.counts.iter().sum()
    }

    /// The sample at `index` (which must be below [`Plan::len`]).
    pub fn item(&self, index: usize) -> Item {
        assert!(index < self.len(), "sample index {index} out of range 0..{}", self.len());
        let class = (0..7).rev().find(|&c| self.starts[c] <= index && self.counts[c] > 0).unwrap_or(0);
        let j = index - self.starts[class];
        Item {
            expression: Expression::BASIC[class],
            identity: (j + class) % self.identities,
            k: j / self.identities + 1,
        }
    }
}

/// The folder name of person `i`: `p00`, `p01`, ….
pub(crate) fn identity_name(i: usize) -> String {
    format!("p{i:02}")
}

/// The FERG-DB token of `e` (`joy`, `sadness`, …).
pub(crate) fn expression_token(e: Expression) -> &'static str {
    FERGDB.native_of(e).unwrap_or(e.name())
}

impl Item {
    /// The folder of the item relative to the root: `p03/p03_joy`.
    pub fn dir(&self) -> String {
        let who = identity_name(self.identity);
        format!("{who}/{who}_{}", expression_token(self.expression))
    }

    /// The file of the item relative to the root: `p03/p03_joy/p03_joy_1.png`.
    pub fn rel_path(&self) -> String {
        let who = identity_name(self.identity);
        let expr = expression_token(self.expression);
        format!("{who}/{who}_{expr}/{who}_{expr}_{}.png", self.k)
    }
}

/// Whether `name` is a person folder this generator writes (`p` and two digits).
pub(crate) fn is_identity_dir(name: &str) -> bool {
    name.len() == 3 && name.starts_with('p') && name[1..].bytes().all(|b| b.is_ascii_digit())
}

/// Whether `name` is an image file name of the layout inside the folder `dir` (`p03_joy`), or a
/// leftover temporary of one.
pub(crate) fn is_layout_file(dir: &str, name: &str) -> bool {
    let stem = name.strip_suffix(".png.tmp").or_else(|| name.strip_suffix(".png"));
    let Some(k) = stem.and_then(|s| s.strip_prefix(dir)).and_then(|s| s.strip_prefix('_')) else {
        return false;
    };
    !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `name` is an expression folder of the layout inside person folder `who`.
pub(crate) fn is_expression_dir(who: &str, name: &str) -> bool {
    name.strip_prefix(who)
        .and_then(|s| s.strip_prefix('_'))
        .is_some_and(|token| FERGDB.lookup(token).is_some() && token == token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_follow_the_layout() {
        let config = SynthConfig { count: 70, identities: 3, ..SynthConfig::default() };
        let plan = Plan::new(&config);
        assert_eq!(plan.len(), 70);
        let first = plan.item(0);
        assert_eq!(first.expression, Expression::Neutral);
        assert_eq!(first.rel_path(), "p00/p00_neutral/p00_neutral_1.png");
        assert_eq!(plan.item(3).rel_path(), "p00/p00_neutral/p00_neutral_2.png");
        let happy = plan.item(plan.counts[0]);
        assert_eq!(happy.rel_path(), "p01/p01_joy/p01_joy_1.png");
        assert_eq!(plan.item(69).expression, Expression::Anger);
        assert!(is_identity_dir("p07") && !is_identity_dir("p7") && !is_identity_dir("q07"));
        assert!(is_expression_dir("p03", "p03_sadness") && !is_expression_dir("p03", "p03_sad"));
        assert!(is_layout_file("p03_joy", "p03_joy_12.png"));
        assert!(is_layout_file("p03_joy", "p03_joy_12.png.tmp"));
        assert!(!is_layout_file("p03_joy", "p03_joy_.png") && !is_layout_file("p03_joy", "x.png"));
    }
}
