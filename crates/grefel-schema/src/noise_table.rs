//! The `noisy_labels` table: one materialised label-noise draw over a dataset's training split.

use arrow_schema::{DataType, Field, Schema};

use crate::table::META_SCHEMA_KEY;

/// Name of the `noisy_labels` table.
pub const NOISY_LABELS_TABLE: &str = "noisy_labels";
/// Version of the `noisy_labels` schema.
pub const NOISY_LABELS_SCHEMA_VERSION: u32 = 1;

/// One training sample's clean and noisy label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoisyLabelRecord {
    /// The sample (`samples.sample_id`).
    pub sample_id: String,
    /// The dataset's label (canonical id).
    pub clean_label: i16,
    /// The label training sees (canonical id).
    pub noisy_label: i16,
    /// `noisy_label != clean_label`.
    pub flipped: bool,
}

/// The Arrow schema of the `noisy_labels` table (see `data-schemas/noisy_labels.toml`).
pub fn noisy_labels_schema() -> Schema {
    Schema::new(vec![
        Field::new("sample_id", DataType::Utf8, false),
        Field::new("clean_label", DataType::Int16, false),
        Field::new("noisy_label", DataType::Int16, false),
        Field::new("flipped", DataType::Boolean, false),
    ])
    .with_metadata([(
        META_SCHEMA_KEY.to_string(),
        format!("{NOISY_LABELS_TABLE}/{NOISY_LABELS_SCHEMA_VERSION}"),
    )])
}
