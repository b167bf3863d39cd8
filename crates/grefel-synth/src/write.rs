//! Writing the dataset tree: images, the landmark table and the stamp, each atomically; reuse of
//! a complete tree; removal of images a previous config left behind.

use std::collections::{BTreeSet, HashSet};
use std::fmt::Write as _;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::Instant;

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, ImageEncoder};
use rayon::prelude::*;
use tracing::info;

use crate::layout::{Item, Plan, is_expression_dir, is_identity_dir, is_layout_file};
use crate::stamp::stamp_bytes;
use crate::{LANDMARKS_FILE, STAMP_FILE, SynthConfig, SynthError, SynthSummary, render_planned};

/// Writes the dataset of `config` under `root` (created if missing), or reuses it when the stamp
/// there matches this config and every listed file exists.
///
/// On regeneration the stale stamp is removed first, every image and the landmark table are
/// rewritten, images of the layout (`pNN/pNN_<expr>/pNN_<expr>_<k>.png`) that the new plan does
/// not list are deleted, and the stamp is written last. Nothing else under `root` is touched.
pub fn generate(config: &SynthConfig, root: &Path) -> Result<SynthSummary, SynthError> {
    config.validate()?;
    let start = Instant::now();
    let plan = Plan::new(config);
    let stamp_path = root.join(STAMP_FILE);
    let stamp = stamp_bytes(config, &plan, &stamp_path)?;
    let items: Vec<Item> = (0..plan.len()).map(|i| plan.item(i)).collect();
    let summary = |reused: bool| SynthSummary {
        root: root.to_path_buf(),
        files: plan.len(),
        counts: plan.counts,
        reused,
        elapsed: start.elapsed(),
    };
    if is_complete(root, &stamp_path, &stamp, &items) {
        info!(root = %root.display(), files = plan.len(), "synth dataset is up to date; reused");
        return Ok(summary(true));
    }
    info!(
        root = %root.display(),
        count = config.count,
        image_size = config.image_size,
        identities = config.identities,
        seed = config.seed,
        "generating synthetic expression dataset"
    );
    match fs::remove_file(&stamp_path) {
        Err(e) if e.kind() != ErrorKind::NotFound => return Err(SynthError::io(&stamp_path, e)),
        _ => {}
    }
    let dirs: BTreeSet<String> = items.iter().map(Item::dir).collect();
    for dir in &dirs {
        let path = root.join(dir);
        fs::create_dir_all(&path).map_err(|e| SynthError::io(&path, e))?;
    }
    let mut rows = (0..plan.len())
        .into_par_iter()
        .map(|index| write_sample(config, &plan, &items[index], index, root))
        .collect::<Result<Vec<_>, _>>()?;
    rows.sort_unstable();
    let mut table = String::from("path");
    for k in 0..68 {
        let _ = write!(table, ",x{k},y{k}");
    }
    table.push('\n');
    for (_, row) in &rows {
        table.push_str(row);
    }
    write_atomic(&root.join(LANDMARKS_FILE), table.as_bytes())?;
    let keep: HashSet<String> = rows.into_iter().map(|(path, _)| path).collect();
    let removed = prune(root, &keep)?;
    write_atomic(&stamp_path, &stamp)?;
    let done = summary(false);
    info!(
        root = %root.display(),
        files = done.files,
        counts = ?done.counts,
        removed_stale = removed,
        elapsed_s = done.elapsed.as_secs_f64(),
        "synthetic expression dataset written"
    );
    Ok(done)
}

/// Whether `root` holds a stamp equal to `stamp` and every file it lists.
fn is_complete(root: &Path, stamp_path: &Path, stamp: &[u8], items: &[Item]) -> bool {
    fs::read(stamp_path).is_ok_and(|old| old == stamp)
        && root.join(LANDMARKS_FILE).is_file()
        && items.iter().all(|item| root.join(item.rel_path()).is_file())
}

/// Renders and writes sample `index`; returns its relative path and its landmark-table row.
fn write_sample(
    config: &SynthConfig,
    plan: &Plan,
    item: &Item,
    index: usize,
    root: &Path,
) -> Result<(String, String), SynthError> {
    let sample = render_planned(config, plan, index);
    let rel = item.rel_path();
    let path = root.join(&rel);
    let mut png = Vec::with_capacity(8 * 1024);
    PngEncoder::new_with_quality(&mut png, CompressionType::Fast, FilterType::Adaptive)
        .write_image(
            sample.image.as_raw(),
            sample.image.width(),
            sample.image.height(),
            ExtendedColorType::Rgb8,
        )
        .map_err(|source| SynthError::Encode { path: path.clone(), source })?;
    write_atomic(&path, &png)?;
    let mut row = rel.clone();
    for [x, y] in sample.landmarks {
        let _ = write!(row, ",{x:.3},{y:.3}");
    }
    row.push('\n');
    Ok((rel, row))
}

/// Writes `bytes` to `<path>.tmp`, then renames it over `path`.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SynthError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    fs::write(&tmp, bytes).map_err(|e| SynthError::io(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| SynthError::io(path, e))
}

/// The names of the entries of `dir` that satisfy `keep`, sorted.
fn entries(dir: &Path, keep: impl Fn(&str, bool) -> bool) -> Result<Vec<String>, SynthError> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| SynthError::io(dir, e))? {
        let entry = entry.map_err(|e| SynthError::io(dir, e))?;
        let is_dir = entry.file_type().map_err(|e| SynthError::io(entry.path(), e))?.is_dir();
        if let Some(name) = entry.file_name().to_str()
            && keep(name, is_dir)
        {
            names.push(name.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Deletes layout images (and their temporaries) under `root` that are not in `keep`, then the
/// layout folders left empty; returns the number of files deleted.
fn prune(root: &Path, keep: &HashSet<String>) -> Result<usize, SynthError> {
    let mut removed = 0;
    for who in entries(root, |name, is_dir| is_dir && is_identity_dir(name))? {
        let person = root.join(&who);
        for expr in entries(&person, |name, is_dir| is_dir && is_expression_dir(&who, name))? {
            let folder = person.join(&expr);
            let stale = entries(&folder, |name, is_dir| {
                !is_dir && is_layout_file(&expr, name) && !keep.contains(&format!("{who}/{expr}/{name}"))
            })?;
            for name in stale {
                let path = folder.join(name);
                fs::remove_file(&path).map_err(|e| SynthError::io(&path, e))?;
                removed += 1;
            }
            remove_if_empty(&folder)?;
        }
        remove_if_empty(&person)?;
    }
    Ok(removed)
}

/// Removes the folder `dir` if it has no entries.
fn remove_if_empty(dir: &Path) -> Result<(), SynthError> {
    let mut listing = fs::read_dir(dir).map_err(|e| SynthError::io(dir, e))?;
    if listing.next().is_none() {
        fs::remove_dir(dir).map_err(|e| SynthError::io(dir, e))?;
    }
    Ok(())
}
