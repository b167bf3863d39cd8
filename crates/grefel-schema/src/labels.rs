//! The canonical label space (AffectNet order) and the per-dataset, name-based mapping tables.
//!
//! Every dataset stores its expression labels in its own native order; the adapters never map by
//! position. Each native encoding is a [`LabelMap`]: a table from the native token (an integer
//! written as text, a folder or file-name token, a column name) to a [`Label`].

use std::fmt;

/// A canonical expression class, in AffectNet order (ids 0 to 8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Expression {
    /// 0: neutral.
    Neutral = 0,
    /// 1: happy (happiness, joy).
    Happy = 1,
    /// 2: sad (sadness).
    Sad = 2,
    /// 3: surprise.
    Surprise = 3,
    /// 4: fear.
    Fear = 4,
    /// 5: disgust.
    Disgust = 5,
    /// 6: anger.
    Anger = 6,
    /// 7: contempt (AffectNet and FER+ only).
    Contempt = 7,
    /// 8: out-of-set affect (Aff-Wild2 "Other", AffectNet "None").
    Other = 8,
}

/// Number of canonical expression classes (ids 0..=8).
pub const NUM_CANONICAL: usize = 9;

impl Expression {
    /// Every canonical class, in id order.
    pub const ALL: [Expression; NUM_CANONICAL] = [
        Expression::Neutral,
        Expression::Happy,
        Expression::Sad,
        Expression::Surprise,
        Expression::Fear,
        Expression::Disgust,
        Expression::Anger,
        Expression::Contempt,
        Expression::Other,
    ];

    /// The seven basic expressions (ids 0..=6), in id order.
    pub const BASIC: [Expression; 7] = [
        Expression::Neutral,
        Expression::Happy,
        Expression::Sad,
        Expression::Surprise,
        Expression::Fear,
        Expression::Disgust,
        Expression::Anger,
    ];

    /// The canonical id (0..=8).
    pub fn id(self) -> u8 {
        self as u8
    }

    /// The class with canonical id `id`, if there is one.
    pub fn from_id(id: u8) -> Option<Expression> {
        Expression::ALL.get(usize::from(id)).copied()
    }

    /// The canonical lower-case name (`neutral`, `happy`, …).
    pub fn name(self) -> &'static str {
        match self {
            Expression::Neutral => "neutral",
            Expression::Happy => "happy",
            Expression::Sad => "sad",
            Expression::Surprise => "surprise",
            Expression::Fear => "fear",
            Expression::Disgust => "disgust",
            Expression::Anger => "anger",
            Expression::Contempt => "contempt",
            Expression::Other => "other",
        }
    }

    /// The class whose canonical name is `name`.
    pub fn from_name(name: &str) -> Option<Expression> {
        Expression::ALL.into_iter().find(|e| e.name() == name)
    }
}

impl fmt::Display for Expression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A canonical label: a class, or "ignore" (unlabelled, uncertain, not a face; stored as -1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Label {
    /// A canonical expression class.
    Class(Expression),
    /// Not usable for training or evaluation (stored as id -1).
    Ignore,
}

impl Label {
    /// The stored integer: the class id, or -1 for [`Label::Ignore`].
    pub fn id(self) -> i16 {
        match self {
            Label::Class(e) => i16::from(e.id()),
            Label::Ignore => -1,
        }
    }

    /// The label stored as `id` (-1 or 0..=8).
    pub fn from_id(id: i16) -> Option<Label> {
        if id == -1 {
            return Some(Label::Ignore);
        }
        u8::try_from(id).ok().and_then(Expression::from_id).map(Label::Class)
    }

    /// The class, if this label is not [`Label::Ignore`].
    pub fn expression(self) -> Option<Expression> {
        match self {
            Label::Class(e) => Some(e),
            Label::Ignore => None,
        }
    }

    /// The canonical name (`ignore` for [`Label::Ignore`]).
    pub fn name(self) -> &'static str {
        match self {
            Label::Class(e) => e.name(),
            Label::Ignore => "ignore",
        }
    }
}

/// A class view: which canonical classes a model sees, and at which output index.
///
/// Samples outside the view are dropped, never remapped (docs/datasets.md §7.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClassView {
    /// Ids 0..=6: the seven basic expressions.
    Basic7,
    /// Ids 0..=7: the basic expressions and contempt (AffectNet-8, FER+); also read as
    /// `affectnet8` and `ferplus8`.
    #[serde(alias = "affectnet8", alias = "ferplus8")]
    WithContempt8,
    /// Ids 0..=6 and 8: the basic expressions and "other" (Aff-Wild2 EXPR); also read as
    /// `affwild2-8`.
    #[serde(alias = "affwild2-8")]
    WithOther8,
}

impl ClassView {
    /// The classes of the view, in output-index order.
    pub fn classes(self) -> &'static [Expression] {
        const WITH_OTHER: [Expression; 8] = [
            Expression::Neutral,
            Expression::Happy,
            Expression::Sad,
            Expression::Surprise,
            Expression::Fear,
            Expression::Disgust,
            Expression::Anger,
            Expression::Other,
        ];
        match self {
            ClassView::Basic7 => &Expression::BASIC,
            ClassView::WithContempt8 => &Expression::ALL[..8],
            ClassView::WithOther8 => &WITH_OTHER,
        }
    }

    /// Number of classes in the view.
    pub fn num_classes(self) -> usize {
        self.classes().len()
    }

    /// The view's name in configurations (`basic7`, `with-contempt8`, `with-other8`).
    pub fn name(self) -> &'static str {
        match self {
            ClassView::Basic7 => "basic7",
            ClassView::WithContempt8 => "with-contempt8",
            ClassView::WithOther8 => "with-other8",
        }
    }

    /// The output index of `label` in this view, or `None` when the sample is outside it.
    pub fn index_of(self, label: Label) -> Option<usize> {
        let e = label.expression()?;
        self.classes().iter().position(|&c| c == e)
    }
}

/// A native label encoding: the table from native tokens to canonical labels.
#[derive(Debug)]
pub struct LabelMap {
    /// Name of the dataset variant this table describes (`fergdb-path`, `rafdb-basic`, …).
    pub name: &'static str,
    /// `(native token, canonical label)` pairs.
    pub entries: &'static [(&'static str, Label)],
}

impl LabelMap {
    /// The canonical label of a native token (exact match after trimming ASCII whitespace).
    pub fn lookup(&self, native: &str) -> Option<Label> {
        let native = native.trim();
        self.entries.iter().find(|(n, _)| *n == native).map(|&(_, l)| l)
    }

    /// The native token of a canonical class, if the encoding has one.
    pub fn native_of(&self, e: Expression) -> Option<&'static str> {
        self.entries.iter().find(|(_, l)| *l == Label::Class(e)).map(|&(n, _)| n)
    }

    /// Every canonical class this encoding can express.
    pub fn classes(&self) -> Vec<Expression> {
        let mut v: Vec<Expression> = self.entries.iter().filter_map(|(_, l)| l.expression()).collect();
        v.sort();
        v.dedup();
        v
    }
}

use Expression::*;
const fn c(e: Expression) -> Label {
    Label::Class(e)
}
const IGN: Label = Label::Ignore;

/// AffectNet CSV, `.npy` and folder-per-class `0..7` releases: 0-based AffectNet order; 8 = None
/// maps to `other` (outside the 7- and 8-class views, so those views drop it); 9 = Uncertain and
/// 10 = Non-Face are ignored.
pub static AFFECTNET: LabelMap = LabelMap {
    name: "affectnet",
    entries: &[
        ("0", c(Neutral)),
        ("1", c(Happy)),
        ("2", c(Sad)),
        ("3", c(Surprise)),
        ("4", c(Fear)),
        ("5", c(Disgust)),
        ("6", c(Anger)),
        ("7", c(Contempt)),
        ("8", c(Other)),
        ("9", IGN),
        ("10", IGN),
    ],
};

/// AffectNet "YOLO format" redistribution: 0-based alphabetical classes.
pub static AFFECTNET_YOLO: LabelMap = LabelMap {
    name: "affectnet-yolo",
    entries: &[
        ("0", c(Anger)),
        ("1", c(Contempt)),
        ("2", c(Disgust)),
        ("3", c(Fear)),
        ("4", c(Happy)),
        ("5", c(Neutral)),
        ("6", c(Sad)),
        ("7", c(Surprise)),
    ],
};

/// Aff-Wild2 EXPR (ABAW3+): 0-based; 7 is "Other" (never contempt); -1 is not annotated.
pub static AFFWILD2: LabelMap = LabelMap {
    name: "affwild2-expr",
    entries: &[
        ("0", c(Neutral)),
        ("1", c(Anger)),
        ("2", c(Disgust)),
        ("3", c(Fear)),
        ("4", c(Happy)),
        ("5", c(Sad)),
        ("6", c(Surprise)),
        ("7", c(Other)),
        ("-1", IGN),
    ],
};

/// RAF-DB basic `list_patition_label.txt` and the 1..7 folder redistribution: 1-based RAF order.
pub static RAFDB: LabelMap = LabelMap {
    name: "rafdb-basic",
    entries: &[
        ("1", c(Surprise)),
        ("2", c(Fear)),
        ("3", c(Disgust)),
        ("4", c(Happy)),
        ("5", c(Sad)),
        ("6", c(Anger)),
        ("7", c(Neutral)),
    ],
};

/// FER2013 `emotion` column: 0-based FER order.
pub static FER2013: LabelMap = LabelMap {
    name: "fer2013",
    entries: &[
        ("0", c(Anger)),
        ("1", c(Disgust)),
        ("2", c(Fear)),
        ("3", c(Happy)),
        ("4", c(Sad)),
        ("5", c(Surprise)),
        ("6", c(Neutral)),
    ],
};

/// FER2013 folder-per-class redistribution: folder names.
pub static FER2013_FOLDERS: LabelMap = LabelMap {
    name: "fer2013-folders",
    entries: &[
        ("angry", c(Anger)),
        ("disgust", c(Disgust)),
        ("fear", c(Fear)),
        ("happy", c(Happy)),
        ("neutral", c(Neutral)),
        ("sad", c(Sad)),
        ("surprise", c(Surprise)),
    ],
};

/// FER+ vote columns, by their position among the ten vote columns.
pub static FERPLUS_VOTES: LabelMap = LabelMap {
    name: "ferplus-votes",
    entries: &[
        ("0", c(Neutral)),
        ("1", c(Happy)),
        ("2", c(Surprise)),
        ("3", c(Sad)),
        ("4", c(Anger)),
        ("5", c(Disgust)),
        ("6", c(Fear)),
        ("7", c(Contempt)),
        ("8", IGN),
        ("9", IGN),
    ],
};

/// FERG-DB: the expression token of `<char>_<expr>` folders and file names.
pub static FERGDB: LabelMap = LabelMap {
    name: "fergdb-path",
    entries: &[
        ("anger", c(Anger)),
        ("disgust", c(Disgust)),
        ("fear", c(Fear)),
        ("joy", c(Happy)),
        ("neutral", c(Neutral)),
        ("sadness", c(Sad)),
        ("surprise", c(Surprise)),
    ],
};

/// JAFFE: the two-letter expression code in file names (`KA.HA1.29.tiff`).
pub static JAFFE_CODES: LabelMap = LabelMap {
    name: "jaffe-code",
    entries: &[
        ("NE", c(Neutral)),
        ("HA", c(Happy)),
        ("SA", c(Sad)),
        ("SU", c(Surprise)),
        ("FE", c(Fear)),
        ("DI", c(Disgust)),
        ("AN", c(Anger)),
    ],
};

/// JAFFE semantic-ratings columns (there is no neutral column).
pub static JAFFE_RATINGS: LabelMap = LabelMap {
    name: "jaffe-ratings",
    entries: &[
        ("HAP", c(Happy)),
        ("SAD", c(Sad)),
        ("SUR", c(Surprise)),
        ("FEA", c(Fear)),
        ("DIS", c(Disgust)),
        ("ANG", c(Anger)),
    ],
};

/// Every mapping table, for tests and documentation.
pub static ALL_MAPS: [&LabelMap; 10] = [
    &AFFECTNET,
    &AFFECTNET_YOLO,
    &AFFWILD2,
    &RAFDB,
    &FER2013,
    &FER2013_FOLDERS,
    &FERPLUS_VOTES,
    &FERGDB,
    &JAFFE_CODES,
    &JAFFE_RATINGS,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        for e in Expression::ALL {
            assert_eq!(Expression::from_id(e.id()), Some(e));
            assert_eq!(Expression::from_name(e.name()), Some(e));
            assert_eq!(Label::from_id(Label::Class(e).id()), Some(Label::Class(e)));
        }
        assert_eq!(Label::from_id(-1), Some(Label::Ignore));
        assert_eq!(Label::from_id(9), None);
        assert_eq!(Label::from_id(-2), None);
        assert_eq!(Expression::Anger.id(), 6);
        assert_eq!(Expression::Contempt.id(), 7);
    }

    #[test]
    fn spec_mapping_table() {
        // docs/datasets.md §7.3, one row per encoding: the native token of neutral, happy, sad, surprise,
        // fear, disgust, anger (in canonical order).
        let rows: [(&LabelMap, [&str; 7]); 9] = [
            (&AFFECTNET, ["0", "1", "2", "3", "4", "5", "6"]),
            (&AFFECTNET_YOLO, ["5", "4", "6", "7", "3", "2", "0"]),
            (&AFFWILD2, ["0", "4", "5", "6", "3", "2", "1"]),
            (&RAFDB, ["7", "4", "5", "1", "2", "3", "6"]),
            (&FER2013, ["6", "3", "4", "5", "2", "1", "0"]),
            (&FER2013_FOLDERS, ["neutral", "happy", "sad", "surprise", "fear", "disgust", "angry"]),
            (&FERPLUS_VOTES, ["0", "1", "3", "2", "6", "5", "4"]),
            (&FERGDB, ["neutral", "joy", "sadness", "surprise", "fear", "disgust", "anger"]),
            (&JAFFE_CODES, ["NE", "HA", "SA", "SU", "FE", "DI", "AN"]),
        ];
        for (map, natives) in rows {
            for (e, native) in Expression::BASIC.into_iter().zip(natives) {
                assert_eq!(map.lookup(native), Some(Label::Class(e)), "{} {native}", map.name);
                assert_eq!(map.native_of(e), Some(native), "{} {e}", map.name);
            }
        }
        assert_eq!(AFFWILD2.lookup("7"), Some(Label::Class(Other)), "ABAW 7 is other, never contempt");
        assert_eq!(AFFWILD2.lookup("-1"), Some(Label::Ignore));
        assert_eq!(AFFECTNET.lookup("7"), Some(Label::Class(Contempt)));
        assert_eq!(AFFECTNET.lookup("9"), Some(Label::Ignore));
        assert_eq!(AFFECTNET.lookup("10"), Some(Label::Ignore));
        assert_eq!(AFFECTNET.lookup("11"), None);
        assert_eq!(RAFDB.lookup("8"), None, "compound-subset values are refused");
        assert_eq!(RAFDB.lookup("0"), None);
        assert_eq!(FERPLUS_VOTES.lookup("7"), Some(Label::Class(Contempt)));
        assert_eq!(FERPLUS_VOTES.lookup("9"), Some(Label::Ignore));
        assert_eq!(JAFFE_RATINGS.lookup("HAP"), Some(Label::Class(Happy)));
        assert_eq!(JAFFE_RATINGS.native_of(Neutral), None);
        assert_eq!(FERGDB.lookup(" joy\r"), Some(Label::Class(Happy)), "whitespace and CR tolerated");
        assert_eq!(FERGDB.lookup("Joy"), None, "tokens match exactly");
    }

    #[test]
    fn tables_are_functions() {
        for map in ALL_MAPS {
            for (i, (a, _)) in map.entries.iter().enumerate() {
                for (b, _) in &map.entries[i + 1..] {
                    assert_ne!(a, b, "duplicate token in {}", map.name);
                }
            }
        }
    }

    #[test]
    fn views() {
        assert_eq!(ClassView::Basic7.num_classes(), 7);
        assert_eq!(ClassView::WithContempt8.num_classes(), 8);
        assert_eq!(ClassView::WithOther8.num_classes(), 8);
        assert_eq!(ClassView::Basic7.index_of(Label::Class(Anger)), Some(6));
        assert_eq!(ClassView::Basic7.index_of(Label::Class(Contempt)), None);
        assert_eq!(ClassView::Basic7.index_of(Label::Class(Other)), None);
        assert_eq!(ClassView::Basic7.index_of(Label::Ignore), None);
        assert_eq!(ClassView::WithContempt8.index_of(Label::Class(Contempt)), Some(7));
        assert_eq!(ClassView::WithContempt8.index_of(Label::Class(Other)), None);
        assert_eq!(ClassView::WithOther8.index_of(Label::Class(Other)), Some(7));
        assert_eq!(ClassView::WithOther8.index_of(Label::Class(Contempt)), None);
    }
}
