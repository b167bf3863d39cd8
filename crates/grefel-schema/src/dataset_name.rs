//! [`DatasetName`]: the name of a prepared dataset (`data/<name>/`, the `dataset` column, the id
//! prefix of its samples), validated once where it enters the program.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest accepted name.
pub const MAX_LEN: usize = 64;

/// A dataset name: 1 to [`MAX_LEN`] lower-case ASCII letters, digits, `-` or `_`, so it is safe
/// as a folder name and as the prefix of sample ids.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DatasetName(String);

/// Why a text is not a [`DatasetName`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{name}` is not a dataset name: use 1 to {MAX_LEN} lower-case letters, digits, `-` or `_`")]
pub struct InvalidDatasetName {
    /// The text given.
    pub name: String,
}

impl DatasetName {
    /// Validates `name`.
    pub fn new(name: impl Into<String>) -> Result<Self, InvalidDatasetName> {
        let name = name.into();
        let ok = !name.is_empty()
            && name.len() <= MAX_LEN
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if ok { Ok(Self(name)) } else { Err(InvalidDatasetName { name }) }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DatasetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for DatasetName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl AsRef<std::path::Path> for DatasetName {
    fn as_ref(&self) -> &std::path::Path {
        std::path::Path::new(&self.0)
    }
}

impl FromStr for DatasetName {
    type Err = InvalidDatasetName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl Serialize for DatasetName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for DatasetName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::new(text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_once() {
        for good in ["rafdb", "affectnet-8", "my_set2"] {
            assert_eq!(DatasetName::new(good).expect(good).as_str(), good);
        }
        for bad in ["", "RAF", "../x", "a/b", "a b", "é", &"x".repeat(MAX_LEN + 1)] {
            let e = DatasetName::new(bad).expect_err(bad);
            assert!(e.to_string().contains("lower-case letters"), "{e}");
        }
        let parsed: Result<DatasetName, _> = serde_json::from_str("\"../etc\"");
        assert!(parsed.is_err(), "deserialising validates too");
        assert_eq!(
            serde_json::to_string(&DatasetName::new("rafdb").expect("ok")).expect("json"),
            "\"rafdb\""
        );
    }
}
