//! The sample record and the Arrow schemas of the pipeline's Parquet tables.
//!
//! The readable, versioned definitions live in `data-schemas/*.toml` at the workspace root; the
//! schemas built here must agree with them column for column (a test checks it), so a change to
//! either without the other fails the build's tests.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema};
use serde::Deserialize;

use crate::labels::{Label, NUM_CANONICAL};

/// Version of the `samples` table schema; bump on any column change.
pub const SAMPLES_SCHEMA_VERSION: u32 = 1;
/// Name of the `samples` table.
pub const SAMPLES_TABLE: &str = "samples";
/// Number of landmark points per face (iBUG 68).
pub const NUM_LANDMARKS: usize = 68;

/// Parquet key-value metadata key naming the table and its schema version (`samples/1`).
pub const META_SCHEMA_KEY: &str = "grefel.schema";

/// A dataset split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// Training data.
    Train,
    /// Validation data (model selection).
    Val,
    /// Held-out test data.
    Test,
}

impl Split {
    /// Every split, in canonical order.
    pub const ALL: [Split; 3] = [Split::Train, Split::Val, Split::Test];

    /// The stored name (`train`, `val`, `test`).
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Val => "val",
            Split::Test => "test",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Split> {
        Split::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// One row of the `samples` table: a normalised image with its canonical label and provenance.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleRecord {
    /// Unique, stable id (`<dataset>:<source path>` or the dataset's own id).
    pub sample_id: String,
    /// Dataset name (`rafdb`, `synthetic`, …).
    pub dataset: String,
    /// Split the sample belongs to.
    pub split: Split,
    /// Canonical label.
    pub label: Label,
    /// Encoded image (PNG).
    pub image: Vec<u8>,
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
    /// Path of the source file relative to the dataset root (`/` separators).
    pub source_path: String,
    /// Subject, identity or video the sample comes from.
    pub subject: Option<String>,
    /// Face box `[left, top, right, bottom]` in pixels of the stored image.
    pub bbox: Option<[f32; 4]>,
    /// 68 landmarks `(x, y)` in pixels of the stored image, iBUG order.
    pub landmarks: Option<Box<[[f32; 2]; NUM_LANDMARKS]>>,
    /// A distribution over the canonical ids 0..=8 (FER+ votes, JAFFE ratings).
    pub soft_label: Option<[f32; NUM_CANONICAL]>,
    /// Further per-sample annotations some datasets carry.
    pub attributes: Attributes,
}

/// Optional per-sample annotations beyond the label (all `None` where a dataset has none).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Attributes {
    /// 5 points `(x, y)` in pixels of the stored image (RAF-DB's manual landmarks: eye centres,
    /// nose tip, mouth corners).
    pub landmarks5: Option<[[f32; 2]; 5]>,
    /// Valence in [-1, 1] (AffectNet).
    pub valence: Option<f32>,
    /// Arousal in [-1, 1] (AffectNet).
    pub arousal: Option<f32>,
    /// Perceived gender as the dataset names it (`male`, `female`, `unsure`).
    pub gender: Option<String>,
    /// Perceived race as the dataset names it (`caucasian`, `african-american`, `asian`).
    pub race: Option<String>,
    /// Age group as the dataset names it (`0-3`, `4-19`, `20-39`, `40-69`, `70+`).
    pub age_group: Option<String>,
}

fn fixed_f32(len: i32) -> DataType {
    DataType::FixedSizeList(Arc::new(Field::new("item", DataType::Float32, false)), len)
}

/// The Arrow schema of the `samples` table (see `data-schemas/samples.toml`).
pub fn samples_schema() -> Schema {
    let fields = vec![
        Field::new("sample_id", DataType::Utf8, false),
        Field::new("dataset", DataType::Utf8, false),
        Field::new("split", DataType::Utf8, false),
        Field::new("label", DataType::Int16, false),
        Field::new("image", DataType::Binary, false),
        Field::new("width", DataType::Int32, false),
        Field::new("height", DataType::Int32, false),
        Field::new("source_path", DataType::Utf8, false),
        Field::new("subject", DataType::Utf8, true),
        Field::new("bbox", fixed_f32(4), true),
        Field::new("landmarks", fixed_f32(2 * NUM_LANDMARKS as i32), true),
        Field::new("soft_label", fixed_f32(NUM_CANONICAL as i32), true),
        Field::new("landmarks5", fixed_f32(10), true),
        Field::new("valence", DataType::Float32, true),
        Field::new("arousal", DataType::Float32, true),
        Field::new("gender", DataType::Utf8, true),
        Field::new("race", DataType::Utf8, true),
        Field::new("age_group", DataType::Utf8, true),
    ];
    Schema::new(fields)
        .with_metadata([(META_SCHEMA_KEY.to_string(), format!("{SAMPLES_TABLE}/{SAMPLES_SCHEMA_VERSION}"))])
}

/// The readable type name of an Arrow type, as written in `data-schemas/*.toml`.
///
/// Covers the types the pipeline's tables use; anything else renders as Arrow's debug form,
/// which never matches a definition and so fails the agreement test loudly.
pub fn type_name(dt: &DataType) -> String {
    match dt {
        DataType::Utf8 => "utf8".into(),
        DataType::Binary => "binary".into(),
        DataType::Boolean => "bool".into(),
        DataType::Int8 => "int8".into(),
        DataType::Int16 => "int16".into(),
        DataType::Int32 => "int32".into(),
        DataType::Int64 => "int64".into(),
        DataType::UInt32 => "uint32".into(),
        DataType::UInt64 => "uint64".into(),
        DataType::Float32 => "float32".into(),
        DataType::Float64 => "float64".into(),
        DataType::FixedSizeList(f, n) => format!("fixed_size_list<{}, {n}>", type_name(f.data_type())),
        DataType::List(f) => format!("list<{}>", type_name(f.data_type())),
        other => format!("{other:?}"),
    }
}

/// A table definition from `data-schemas/`: the readable, versioned contract of one table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableDefinition {
    /// Table name.
    pub table: String,
    /// Schema version.
    pub version: u32,
    /// What the table holds.
    pub description: String,
    /// Columns, in order.
    #[serde(rename = "column")]
    pub columns: Vec<ColumnDefinition>,
}

/// One column of a [`TableDefinition`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnDefinition {
    /// Column name.
    pub name: String,
    /// Readable type name (see [`type_name`]).
    #[serde(rename = "type")]
    pub type_name: String,
    /// Whether the column may hold nulls.
    pub nullable: bool,
    /// What the column means (units, coordinate frame, encoding).
    pub description: String,
}

/// Errors of schema definitions.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// A definition file did not parse.
    #[error("table definition {file} is malformed: {source}")]
    Parse {
        /// The definition file.
        file: String,
        /// The TOML error.
        source: toml::de::Error,
    },
    /// A schema disagrees with its definition.
    #[error("table `{table}` disagrees with its definition: {detail}")]
    Mismatch {
        /// Table name.
        table: String,
        /// What differs.
        detail: String,
    },
}

impl TableDefinition {
    /// Parses a definition from TOML text (`file` names it in errors).
    pub fn parse(file: &str, text: &str) -> Result<TableDefinition, SchemaError> {
        toml::from_str(text).map_err(|source| SchemaError::Parse { file: file.into(), source })
    }

    /// Checks that `schema` has exactly these columns (names, order, types, nullability) and
    /// carries this table's name and version in its metadata.
    pub fn check(&self, schema: &Schema) -> Result<(), SchemaError> {
        let mismatch = |detail: String| SchemaError::Mismatch { table: self.table.clone(), detail };
        let expected_meta = format!("{}/{}", self.table, self.version);
        match schema.metadata().get(META_SCHEMA_KEY) {
            Some(m) if *m == expected_meta => {}
            other => {
                return Err(mismatch(format!(
                    "metadata {META_SCHEMA_KEY} is {other:?}, expected {expected_meta}"
                )));
            }
        }
        let got: Vec<(String, String, bool)> = schema
            .fields()
            .iter()
            .map(|f| (f.name().clone(), type_name(f.data_type()), f.is_nullable()))
            .collect();
        let want: Vec<(String, String, bool)> =
            self.columns.iter().map(|c| (c.name.clone(), c.type_name.clone(), c.nullable)).collect();
        if got != want {
            return Err(mismatch(format!("columns are {got:?}, definition says {want:?}")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_names() {
        for s in Split::ALL {
            assert_eq!(Split::parse(s.as_str()), Some(s));
        }
        assert_eq!(Split::parse("valid"), None);
    }

    #[test]
    fn check_catches_differences() {
        let def = TableDefinition::parse(
            "t.toml",
            r#"
            table = "t"
            version = 2
            description = "d"
            [[column]]
            name = "a"
            type = "fixed_size_list<float32, 4>"
            nullable = true
            description = "x"
            "#,
        )
        .expect("parses");
        let meta = |v: &str| [(META_SCHEMA_KEY.to_string(), v.to_string())];
        let good = Schema::new(vec![Field::new("a", fixed_f32(4), true)]).with_metadata(meta("t/2"));
        def.check(&good).expect("agrees");
        let wrong_len = Schema::new(vec![Field::new("a", fixed_f32(3), true)]).with_metadata(meta("t/2"));
        assert!(def.check(&wrong_len).is_err());
        let wrong_null = Schema::new(vec![Field::new("a", fixed_f32(4), false)]).with_metadata(meta("t/2"));
        assert!(def.check(&wrong_null).is_err());
        let wrong_version = good.clone().with_metadata(meta("t/1"));
        assert!(def.check(&wrong_version).is_err());
        assert!(TableDefinition::parse("bad.toml", "table = 1").is_err());
    }
}
