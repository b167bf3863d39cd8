//! Reading a PyTorch file and applying its tensors to a part of the network.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use burn::store::burn_pack::Tensor;
use burn::store::{ModuleSnapshot, ModuleStore, PyTorchToBurnAdapter, PytorchStore};
use burn::tensor::Bytes;
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
pub(crate) fn by_pattern<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<(String, usize)> {
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

/// How [`import_with`] reads a file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// The file's classifier order: its output `k` is the network's class `class_order[k]`
    /// (POSTER++'s RAF-DB checkpoints put surprise first, grefel puts neutral first). `None`: the
    /// same order. Only a whole checkpoint ([`Part::Checkpoint`]) has a classifier.
    pub class_order: Option<Vec<usize>>,
}

/// What [`import_with`] gives back.
pub struct Imported {
    /// The network with the file's tensors.
    pub model: Grefel,
    /// What was applied, unused and missing.
    pub report: ImportReport,
    /// The file's tensors the network has no counterpart of, named by their keys without
    /// DataParallel's `module.` (what an export in the file's naming writes back).
    pub unused: Vec<Tensor>,
}

/// Reads `file` (a PyTorch checkpoint in any of its serialisations; a `state_dict` entry is used
/// when the file has one) and applies the tensors of `part` to `model`. Linear weights are
/// transposed and norm parameters renamed by burn-store's PyTorch adapter.
pub fn import(model: Grefel, part: Part, file: &Path) -> Result<(Grefel, ImportReport), WeightsError> {
    let imported = import_with(model, part, file, &ImportOptions::default())?;
    Ok((imported.model, imported.report))
}

/// [`import`] with options, also handing back the file's unused tensors. Besides PyTorch's
/// formats, a safetensors file (what `export` writes) is read, in POSTER's naming or grefel's own.
pub fn import_with(
    mut model: Grefel,
    part: Part,
    file: &Path,
    options: &ImportOptions,
) -> Result<Imported, WeightsError> {
    let names: Vec<String> = model.collect(None, None, true).into_iter().map(|t| t.name).collect();
    let known: BTreeSet<&str> = names.iter().map(String::as_str).collect();
    let mut unused_keys: Vec<String> = Vec::new();
    let mut unused_tensors = Vec::new();
    let mut mapped = Vec::new();
    for (key, mut tensor) in read(file)? {
        // A file in grefel's own naming (`export --names grefel`) maps to itself.
        let path = part
            .map(&key)
            .or_else(|| (part == Part::Checkpoint && known.contains(key.as_str())).then(|| key.clone()));
        match path {
            Some(path) => {
                if part == Part::Checkpoint
                    && let Some(order) = &options.class_order
                    && (path == "head.out.weight" || path == "head.out.bias")
                {
                    tensor = reorder_rows(tensor, order, file)?;
                }
                tensor.name = path;
                mapped.push(tensor);
            }
            None => {
                let bare = key.strip_prefix("module.").unwrap_or(&key).to_string();
                tensor.name = bare;
                unused_tensors.push(tensor);
                unused_keys.push(key);
            }
        }
    }
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
    Ok(Imported { model, report, unused: unused_tensors })
}

/// `tensor` (a classifier weight `[C, in]` or bias `[C]`, PyTorch's layout) with its rows in the
/// network's class order: the file's row `k` becomes row `order[k]`.
pub(crate) fn reorder_rows(tensor: Tensor, order: &[usize], file: &Path) -> Result<Tensor, WeightsError> {
    let classes = tensor.shape.first().copied().unwrap_or(0);
    permute_rows(tensor, order, true).ok_or_else(|| WeightsError::ClassOrder {
        file: file.to_path_buf(),
        order: order.to_vec(),
        classes,
    })
}

/// The rows of `tensor` permuted by `order` (a permutation of its rows, else `None`): row `k`
/// goes to row `order[k]` (`scatter`), or row `k` is taken from row `order[k]` (the inverse).
pub(crate) fn permute_rows(tensor: Tensor, order: &[usize], scatter: bool) -> Option<Tensor> {
    let rows = tensor.shape.first().copied().unwrap_or(0);
    let mut seen = vec![false; rows];
    if order.len() != rows || !order.iter().all(|&k| k < rows && !std::mem::replace(&mut seen[k], true)) {
        return None;
    }
    let (name, dtype, shape, id, bytes) = tensor.into_parts().ok()?;
    let row = bytes.len() / rows.max(1);
    let mut out = vec![0u8; bytes.len()];
    for (k, &other) in order.iter().enumerate() {
        let (to, from) = if scatter { (other, k) } else { (k, other) };
        out[to * row..(to + 1) * row].copy_from_slice(&bytes[from * row..(from + 1) * row]);
    }
    Some(Tensor::new(name, dtype, shape, id, Bytes::from_bytes_vec(out)))
}

/// Every tensor of the file, by its key: those under `state_dict` (without that prefix) when the
/// file has that entry. The file is parsed once; nested entries come back as dotted keys.
fn read(file: &Path) -> Result<BTreeMap<String, Tensor>, WeightsError> {
    if !file.is_file() {
        return Err(WeightsError::Read { file: file.to_path_buf(), reason: "no such file".into() });
    }
    if crate::safetensors::is_safetensors(file) {
        return crate::safetensors::read(file);
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
    fn class_rows_permute_and_come_back() {
        use burn::tensor::DType;
        let rows: Vec<u8> = (0u8..6).flat_map(|r| [r, r]).collect(); // 3 rows of 4 bytes
        let tensor =
            Tensor::new("w".into(), DType::U8, vec![3, 4], None, Bytes::from_bytes_vec(rows.clone()));
        let order = [2, 0, 1];
        let moved = permute_rows(tensor, &order, true).expect("a permutation");
        let bytes = moved.to_bytes().expect("bytes").to_vec();
        // File row 0 (bytes 0,0,1,1) goes to row 2, row 1 to row 0, row 2 to row 1.
        assert_eq!(bytes, vec![2, 2, 3, 3, 4, 4, 5, 5, 0, 0, 1, 1]);
        let back = permute_rows(moved, &order, false).expect("inverse");
        assert_eq!(back.to_bytes().expect("bytes").to_vec(), rows);
        let t = Tensor::new("b".into(), DType::U8, vec![3], None, Bytes::from_bytes_vec(vec![0, 1, 2]));
        assert!(permute_rows(t.clone(), &[0, 0, 1], true).is_none(), "a repeated class");
        assert!(permute_rows(t, &[0, 1], true).is_none(), "too few classes");
    }

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
