//! Reading a PyTorch file and applying its tensors to a part of the network.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::store::{ModuleSnapshot, ModuleStore, PyTorchToBurnAdapter, PytorchStore};
use grefel_model::Grefel;

use crate::WeightsError;
use crate::keys::Part;

/// What one file gave the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportReport {
    /// The part it filled.
    pub part: Part,
    /// The file.
    pub file: PathBuf,
    /// Tensors applied.
    pub applied: usize,
    /// Tensors of the network the part covers.
    pub expected: usize,
    /// Keys of the file left unused (no counterpart in the network), by name pattern (`*` for
    /// indices), with their counts.
    pub unused: Vec<(String, usize)>,
    /// Tensors of the part the file did not fill, by pattern (empty on success).
    pub missing: Vec<(String, usize)>,
}

impl std::fmt::Display for ImportReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} <- {}: applied {}/{} tensors; unused in the file: {}",
            self.part.name(),
            self.file.display(),
            self.applied,
            self.expected,
            if self.unused.is_empty() { "none".to_string() } else { patterns_inline(&self.unused) }
        )
    }
}

/// `a.*.b (3), c (1)`.
fn patterns_inline(groups: &[(String, usize)]) -> String {
    groups.iter().map(|(p, n)| format!("{p} ({n})")).collect::<Vec<_>>().join(", ")
}

/// One pattern per line.
fn patterns_lines(groups: &[(String, usize)]) -> String {
    if groups.is_empty() {
        return "  (none)".into();
    }
    groups.iter().map(|(p, n)| format!("  {p} ({n})")).collect::<Vec<_>>().join("\n")
}

/// Names grouped by pattern: every numeric segment becomes `*`.
fn by_pattern<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<(String, usize)> {
    let mut groups: BTreeMap<String, usize> = BTreeMap::new();
    for name in names {
        // BatchNorm's step counters have no counterpart anywhere: one line for all of them.
        if name.ends_with("num_batches_tracked") {
            *groups.entry("*.num_batches_tracked".into()).or_default() += 1;
            continue;
        }
        let pattern: Vec<&str> =
            name.split('.').map(|s| if s.chars().all(|c| c.is_ascii_digit()) { "*" } else { s }).collect();
        *groups.entry(pattern.join(".")).or_default() += 1;
    }
    groups.into_iter().collect()
}

/// Reads `file` (a PyTorch checkpoint in any of its serialisations; a `state_dict` entry is used
/// when the file has one) and applies the tensors of `part` to `model`. Linear weights are
/// transposed and norm parameters renamed by burn-store's PyTorch adapter.
pub fn import(mut model: Grefel, part: Part, file: &Path) -> Result<(Grefel, ImportReport), WeightsError> {
    let mut unused_keys: Vec<String> = Vec::new();
    let mut mapped = Vec::new();
    for (key, mut tensor) in read(file)? {
        match part.map(&key) {
            Some(path) => {
                tensor.name = path;
                mapped.push(tensor);
            }
            None => unused_keys.push(key),
        }
    }
    let names: Vec<String> = model.collect(None, None, true).into_iter().map(|t| t.name).collect();
    let expected = names.iter().filter(|n| part.covers(n)).count();
    let result = model.apply(mapped, None, Some(Box::new(PyTorchToBurnAdapter)), true);
    if !result.errors.is_empty() {
        return Err(WeightsError::Mismatch {
            file: file.to_path_buf(),
            part: part.name(),
            count: result.errors.len(),
            details: result.errors.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"),
        });
    }
    let applied = result.applied.iter().filter(|p| part.covers(p)).count();
    // Keys that were mapped but name nothing in the network (another preset's layers).
    let unused_paths: Vec<&str> = result.unused.iter().map(String::as_str).collect();
    let unused = by_pattern(unused_keys.iter().map(String::as_str).chain(unused_paths));
    let missing = by_pattern(result.missing.iter().map(|(p, _)| p.as_str()).filter(|p| part.covers(p)));
    if applied < expected {
        return Err(WeightsError::TooFew {
            file: file.to_path_buf(),
            part: part.name(),
            applied,
            expected,
            missing: patterns_lines(&missing),
            unused: patterns_lines(&unused),
        });
    }
    let report = ImportReport { part, file: file.to_path_buf(), applied, expected, unused, missing };
    Ok((model, report))
}

/// Every tensor of the file, by its key: those under `state_dict` (without that prefix) when the
/// file has that entry. The file is parsed once; nested entries come back as dotted keys.
fn read(file: &Path) -> Result<BTreeMap<String, burn::store::burn_pack::Tensor>, WeightsError> {
    if !file.is_file() {
        return Err(WeightsError::Read { file: file.to_path_buf(), reason: "no such file".into() });
    }
    let mut store = PytorchStore::from_file(file).map_indices_contiguous(false);
    let all = store
        .get_all_tensors()
        .map_err(|e| WeightsError::Read { file: file.to_path_buf(), reason: e.to_string() })?;
    const NESTED: &str = "state_dict.";
    if !all.keys().any(|k| k.starts_with(NESTED)) {
        return Ok(all.clone());
    }
    Ok(all
        .iter()
        .filter_map(|(k, t)| k.strip_prefix(NESTED).map(|key| (key.to_string(), t.clone())))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_group_by_pattern() {
        let groups = by_pattern([
            "a.0.b",
            "a.1.b",
            "c.weight",
            "a.12.b",
            "x.bn.num_batches_tracked",
            "y.num_batches_tracked",
        ]);
        let want = [("*.num_batches_tracked", 2), ("a.*.b", 3), ("c.weight", 1)];
        assert_eq!(groups, want.map(|(p, n)| (p.to_string(), n)).to_vec());
    }
}
