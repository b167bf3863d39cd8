//! The `noisy_labels` schema agrees with `data-schemas/noisy_labels.toml`.

use std::path::PathBuf;

use grefel_schema::noise_table::{NOISY_LABELS_SCHEMA_VERSION, noisy_labels_schema};
use grefel_schema::table::TableDefinition;

#[test]
fn noisy_labels_schema_agrees_with_definition() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data-schemas/noisy_labels.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let def = TableDefinition::parse("noisy_labels.toml", &text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(def.version, NOISY_LABELS_SCHEMA_VERSION);
    def.check(&noisy_labels_schema()).unwrap_or_else(|e| panic!("{e}"));
}
