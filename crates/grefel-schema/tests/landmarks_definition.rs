//! The `landmarks` schema the Rust code writes agrees with `data-schemas/landmarks.toml`.

use std::path::PathBuf;

use grefel_schema::landmarks_table::{LANDMARKS_SCHEMA_VERSION, LANDMARKS_TABLE, landmarks_schema};
use grefel_schema::table::TableDefinition;

#[test]
fn landmarks_schema_agrees_with_definition() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data-schemas/landmarks.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let def = TableDefinition::parse("landmarks.toml", &text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(def.table, LANDMARKS_TABLE);
    assert_eq!(def.version, LANDMARKS_SCHEMA_VERSION);
    def.check(&landmarks_schema()).unwrap_or_else(|e| panic!("{e}"));
    for c in &def.columns {
        assert!(!c.description.trim().is_empty(), "column {} has no description", c.name);
    }
}
