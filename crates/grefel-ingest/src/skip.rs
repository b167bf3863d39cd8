//! Counted reasons for samples that are not written.

use std::collections::BTreeMap;

/// Why a candidate sample was not written. The names are stable: they are the keys of the
/// manifest's `skipped` object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SkipReason {
    /// The image file has zero bytes.
    ZeroByte,
    /// The image could not be decoded (corrupt, truncated or not an image).
    Undecodable,
    /// A label file names an image that does not exist.
    MissingFile,
    /// A label value outside the dataset's declared encoding.
    UnknownLabel,
    /// A label-file row that does not parse.
    MalformedRow,
    /// A file or folder name that does not follow the dataset's layout.
    MalformedName,
    /// A path that resolves outside the dataset root.
    PathEscapesRoot,
    /// A second row with an id already seen.
    DuplicateId,
    /// A label that maps to "ignore" (uncertain, not a face, not annotated).
    IgnoredLabel,
    /// A face box outside the image or of non-positive size.
    BadBox,
    /// The file could not be read.
    Unreadable,
}

impl SkipReason {
    /// The stable manifest key.
    pub fn key(self) -> &'static str {
        match self {
            SkipReason::ZeroByte => "zero_byte",
            SkipReason::Undecodable => "undecodable",
            SkipReason::MissingFile => "missing_file",
            SkipReason::UnknownLabel => "unknown_label",
            SkipReason::MalformedRow => "malformed_row",
            SkipReason::MalformedName => "malformed_name",
            SkipReason::PathEscapesRoot => "path_escapes_root",
            SkipReason::DuplicateId => "duplicate_id",
            SkipReason::IgnoredLabel => "ignored_label",
            SkipReason::BadBox => "bad_box",
            SkipReason::Unreadable => "unreadable",
        }
    }
}

/// Skip counts by reason.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Skips(BTreeMap<SkipReason, u64>);

impl Skips {
    /// Counts one skip.
    pub fn add(&mut self, reason: SkipReason) {
        *self.0.entry(reason).or_default() += 1;
    }

    /// Adds all counts of `other`.
    pub fn merge(&mut self, other: &Skips) {
        for (&r, &n) in &other.0 {
            *self.0.entry(r).or_default() += n;
        }
    }

    /// The count for one reason.
    pub fn get(&self, reason: SkipReason) -> u64 {
        self.0.get(&reason).copied().unwrap_or(0)
    }

    /// Total skips.
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// As the manifest's `{reason: count}` object.
    pub fn to_map(&self) -> BTreeMap<String, u64> {
        self.0.iter().map(|(r, &n)| (r.key().to_string(), n)).collect()
    }

    /// `reason=count` pairs for a summary line (`none` when empty).
    pub fn describe(&self) -> String {
        if self.0.is_empty() {
            return "none".into();
        }
        self.0.iter().map(|(r, n)| format!("{}={n}", r.key())).collect::<Vec<_>>().join(" ")
    }
}

impl SkipReason {
    /// Every reason, for parsing stored keys.
    pub const ALL: [SkipReason; 11] = [
        SkipReason::ZeroByte,
        SkipReason::Undecodable,
        SkipReason::MissingFile,
        SkipReason::UnknownLabel,
        SkipReason::MalformedRow,
        SkipReason::MalformedName,
        SkipReason::PathEscapesRoot,
        SkipReason::DuplicateId,
        SkipReason::IgnoredLabel,
        SkipReason::BadBox,
        SkipReason::Unreadable,
    ];

    /// The reason stored under `key`.
    pub fn from_key(key: &str) -> Option<SkipReason> {
        SkipReason::ALL.into_iter().find(|r| r.key() == key)
    }
}

impl Skips {
    /// Rebuilds counts from a stored `{reason: count}` map; unknown keys are returned as errors.
    pub fn from_map(map: &BTreeMap<String, u64>) -> Result<Skips, String> {
        let mut s = Skips::default();
        for (k, &n) in map {
            let r = SkipReason::from_key(k).ok_or_else(|| format!("unknown skip reason `{k}`"))?;
            *s.0.entry(r).or_default() += n;
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_count() {
        for r in SkipReason::ALL {
            assert_eq!(SkipReason::from_key(r.key()), Some(r));
        }
        let mut s = Skips::default();
        s.add(SkipReason::ZeroByte);
        s.add(SkipReason::ZeroByte);
        s.add(SkipReason::Undecodable);
        assert_eq!(s.total(), 3);
        assert_eq!(s.describe(), "zero_byte=2 undecodable=1");
        assert_eq!(Skips::from_map(&s.to_map()).expect("parse"), s);
        assert!(Skips::from_map(&[("nope".to_string(), 1)].into()).is_err());
        let mut t = Skips::default();
        t.merge(&s);
        t.merge(&s);
        assert_eq!(t.get(SkipReason::ZeroByte), 4);
    }
}
