//! The schemas the Rust code writes agree with the readable definitions in `data-schemas/`.

use std::path::PathBuf;

use grefel_schema::table::{SAMPLES_SCHEMA_VERSION, TableDefinition, samples_schema};

fn definition(name: &str) -> TableDefinition {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data-schemas").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    TableDefinition::parse(name, &text).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn samples_schema_agrees_with_definition() {
    let def = definition("samples.toml");
    assert_eq!(def.table, "samples");
    assert_eq!(def.version, SAMPLES_SCHEMA_VERSION);
    def.check(&samples_schema()).unwrap_or_else(|e| panic!("{e}"));
    for c in &def.columns {
        assert!(!c.description.trim().is_empty(), "column {} has no description", c.name);
    }
}
