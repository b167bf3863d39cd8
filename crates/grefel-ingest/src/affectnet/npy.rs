//! AffectNet's later release (docs/datasets.md §1.2): `train_set/` and `val_set/` (`valid_set/` in some
//! copies, sometimes also `test_set/`), each with `images/<id>.<ext>` and
//! `annotations/<id>_exp.npy` (expression), `_val.npy`, `_aro.npy` (valence, arousal) and
//! `_lnd.npy` (68 landmarks, `x,y` interleaved, in image pixels).
//!
//! Every `<id>_exp.npy` is one candidate; its value is coerced through text to an integer
//! (copies store it as a number or as a numeric string). An unreadable or malformed `.npy` is a
//! `malformed_row` skip; a missing `_val`/`_aro`/`_lnd` file leaves that field empty.

use std::collections::HashMap;

use grefel_schema::table::{Attributes, NUM_LANDMARKS, Split};
use rayon::prelude::*;

use super::npy_format::{self, NpyArray};
use super::{affect_value, file_name, map_label, missing};
use crate::adapter::{Candidate, ImageSource, Scan, ScanContext, is_image_name};
use crate::source::{DatasetRoot, SourceFile};
use crate::{IngestError, SkipReason};

/// The training split folder of the release.
pub const TRAIN_SET: &str = "train_set";
/// The validation split folder of the release (`valid_set/` in some copies).
pub const VAL_SET: &str = "val_set";
/// The images folder inside a split folder.
pub const IMAGES: &str = "images";
/// The annotations folder inside a split folder.
pub const ANNOTATIONS: &str = "annotations";

/// What a per-image `.npy` annotation file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnnotationKind {
    /// `<id>_exp.npy`: the expression code (one candidate per file).
    Expression,
    /// `<id>_val.npy`: valence.
    Valence,
    /// `<id>_aro.npy`: arousal.
    Arousal,
    /// `<id>_lnd.npy`: 68 landmarks, `x,y` interleaved.
    Landmarks,
}

impl AnnotationKind {
    /// The file name after the image id (`_exp.npy`, `_val.npy`, `_aro.npy`, `_lnd.npy`).
    pub fn suffix(self) -> &'static str {
        match self {
            AnnotationKind::Expression => "_exp.npy",
            AnnotationKind::Valence => "_val.npy",
            AnnotationKind::Arousal => "_aro.npy",
            AnnotationKind::Landmarks => "_lnd.npy",
        }
    }
}

/// The `kind` annotation of image `id` in split folder `split_dir` ([`TRAIN_SET`], [`VAL_SET`]),
/// relative to the root: `<split_dir>/annotations/<id>_<kind>.npy`.
pub fn annotation_path(split_dir: &str, id: &str, kind: AnnotationKind) -> String {
    format!("{split_dir}/{ANNOTATIONS}/{id}{}", kind.suffix())
}

/// Image `file_name` (`<id>.<ext>`) of split folder `split_dir`, relative to the root:
/// `<split_dir>/images/<file_name>`.
pub fn image_path(split_dir: &str, file_name: &str) -> String {
    format!("{split_dir}/{IMAGES}/{file_name}")
}

/// One `<dir>/annotations/<id>_exp.npy` file.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotation<'a> {
    /// The split folder, relative to the root (`train_set`, `AffectNet/val_set`).
    pub dir: &'a str,
    /// Its split (`None`: a folder name this adapter does not know).
    pub split: Option<Split>,
    /// The image id.
    pub id: &'a str,
}

/// The split of a split-folder name.
pub fn split_of(folder: &str) -> Option<Split> {
    match folder.to_ascii_lowercase().as_str() {
        TRAIN_SET | "training_set" => Some(Split::Train),
        VAL_SET | "valid_set" | "validation_set" => Some(Split::Val),
        "test_set" => Some(Split::Test),
        _ => None,
    }
}

/// Parses `<dir>/annotations/<id>_exp.npy`.
pub fn parse_annotation(rel: &str) -> Option<Annotation<'_>> {
    let (parent, name) = rel.rsplit_once('/')?;
    let id = name.strip_suffix(AnnotationKind::Expression.suffix()).filter(|id| !id.is_empty())?;
    let dir = parent.strip_suffix(ANNOTATIONS)?;
    let dir = match dir.strip_suffix('/') {
        Some(d) => d,
        None if dir.is_empty() => "",
        None => return None,
    };
    Some(Annotation { dir, split: split_of(file_name(dir)), id })
}

/// Scans the `.npy` release.
pub fn scan(root: &DatasetRoot, ctx: &ScanContext<'_>) -> Result<Scan, IngestError> {
    let annotations: Vec<(&SourceFile, Annotation<'_>)> =
        root.files.iter().filter_map(|f| parse_annotation(&f.rel).map(|a| (f, a))).collect();
    for (split, dir) in [(Split::Train, TRAIN_SET), (Split::Val, VAL_SET)] {
        if !annotations.iter().any(|(_, a)| a.split == Some(split)) {
            let expected = "per-image <id>_exp.npy files of the AffectNet .npy release";
            return Err(missing(root, &format!("{dir}/{ANNOTATIONS}"), expected));
        }
    }
    // Images by (split folder, stem), and every file by path, listed once.
    let mut images: HashMap<(&str, &str), &SourceFile> = HashMap::new();
    for f in &root.files {
        let Some((parent, name)) = f.rel.rsplit_once('/') else { continue };
        let Some(dir) =
            parent.strip_suffix(IMAGES).and_then(|d| d.strip_suffix('/').or(d.is_empty().then_some("")))
        else {
            continue;
        };
        if is_image_name(name) {
            let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
            images.entry((dir, stem)).or_insert(f);
        }
    }
    let files: HashMap<&str, &SourceFile> = root.files.iter().map(|f| (f.rel.as_str(), f)).collect();
    let results: Vec<Result<Candidate, SkipReason>> =
        annotations.par_iter().map(|(exp, a)| candidate(root, ctx, exp, a, &images, &files)).collect();
    let mut scan = Scan::default();
    for r in results {
        match r {
            Ok(c) => scan.candidates.push(c),
            Err(reason) => scan.skips.add(reason),
        }
    }
    Ok(scan)
}

fn read_npy(root: &DatasetRoot, rel: &str) -> Result<NpyArray, SkipReason> {
    let bytes = std::fs::read(root.path.join(rel)).map_err(|_| SkipReason::Unreadable)?;
    npy_format::parse(&bytes).map_err(|e| {
        tracing::debug!(file = rel, error = %e, "malformed .npy");
        SkipReason::MalformedRow
    })
}

fn candidate(
    root: &DatasetRoot,
    ctx: &ScanContext<'_>,
    exp: &SourceFile,
    a: &Annotation<'_>,
    images: &HashMap<(&str, &str), &SourceFile>,
    files: &HashMap<&str, &SourceFile>,
) -> Result<Candidate, SkipReason> {
    let split = a.split.ok_or(SkipReason::MalformedName)?;
    if exp.escapes_root {
        return Err(SkipReason::PathEscapesRoot);
    }
    let token = read_npy(root, &exp.rel)?.scalar_token().ok_or(SkipReason::MalformedRow)?;
    let label = map_label(&token)?;
    let image = images.get(&(a.dir, a.id)).ok_or(SkipReason::MissingFile)?;
    if image.escapes_root {
        return Err(SkipReason::PathEscapesRoot);
    }
    let sibling = |kind: AnnotationKind| -> Result<Option<String>, SkipReason> {
        let rel = exp
            .rel
            .strip_suffix(AnnotationKind::Expression.suffix())
            .map(|stem| format!("{stem}{}", kind.suffix()));
        match rel.as_deref().and_then(|r| files.get(r)) {
            None => Ok(None),
            Some(f) if f.escapes_root => Err(SkipReason::PathEscapesRoot),
            Some(f) => Ok(Some(f.rel.clone())),
        }
    };
    let scalar = |kind: AnnotationKind| -> Result<Option<f32>, SkipReason> {
        let Some(rel) = sibling(kind)? else { return Ok(None) };
        match read_npy(root, &rel)?.to_f32().as_deref() {
            Some(&[v]) => Ok(affect_value(Some(v))),
            _ => Err(SkipReason::MalformedRow),
        }
    };
    let (valence, arousal) = (scalar(AnnotationKind::Valence)?, scalar(AnnotationKind::Arousal)?);
    let landmarks = match sibling(AnnotationKind::Landmarks)? {
        None => None,
        Some(rel) => {
            let values = read_npy(root, &rel)?.to_f32().ok_or(SkipReason::MalformedRow)?;
            if values.len() != 2 * NUM_LANDMARKS {
                return Err(SkipReason::MalformedRow);
            }
            let mut pts = Box::new([[0f32; 2]; NUM_LANDMARKS]);
            for (p, xy) in pts.iter_mut().zip(values.chunks_exact(2)) {
                *p = [xy[0], xy[1]];
            }
            Some(pts)
        }
    };
    Ok(Candidate {
        sample_id: format!("{}:{}/{}", ctx.dataset, split.as_str(), a.id),
        split,
        label,
        source_path: image.rel.clone(),
        image: ImageSource::File(image.rel.clone()),
        subject: None,
        crop: None,
        bbox: None,
        landmarks,
        soft_label: None,
        attributes: Attributes { valence, arousal, ..Attributes::default() },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotation_paths() {
        let a = parse_annotation("AffectNet/valid_set/annotations/0012_exp.npy").expect("nested");
        assert_eq!(a, Annotation { dir: "AffectNet/valid_set", split: Some(Split::Val), id: "0012" });
        let a = parse_annotation("train_set/annotations/7_exp.npy").expect("top");
        assert_eq!((a.dir, a.split, a.id), ("train_set", Some(Split::Train), "7"));
        assert_eq!(parse_annotation("annotations/7_exp.npy").map(|a| a.split), Some(None));
        assert_eq!(parse_annotation("extra_set/annotations/7_exp.npy").map(|a| a.split), Some(None));
        assert_eq!(parse_annotation("train_set/annotations/7_val.npy"), None);
        assert_eq!(parse_annotation("train_set/myannotations/7_exp.npy"), None);
        assert_eq!(parse_annotation("train_set/annotations/_exp.npy"), None);
        assert_eq!(split_of("Test_Set"), Some(Split::Test));
        let rel = annotation_path(VAL_SET, "12", AnnotationKind::Expression);
        assert_eq!(rel, "val_set/annotations/12_exp.npy");
        assert_eq!(
            parse_annotation(&rel),
            Some(Annotation { dir: VAL_SET, split: Some(Split::Val), id: "12" })
        );
        assert_eq!(
            annotation_path(TRAIN_SET, "0", AnnotationKind::Landmarks),
            "train_set/annotations/0_lnd.npy"
        );
        assert_eq!(image_path(TRAIN_SET, "0.jpg"), "train_set/images/0.jpg");
    }
}
