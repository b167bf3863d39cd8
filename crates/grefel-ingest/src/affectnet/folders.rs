//! Folder-per-class AffectNet redistributions (docs/datasets.md §1.3): `<split>/<class>/<image>`, class
//! folders named by the AffectNet label integer (`0..7`; DAN's conversion of the `.npy`
//! release). Split folders: `train/` → train; `val/`, `valid/`, `validation/` → val; `test/` →
//! test (POSTER V2's 8-class copy calls the official validation set `test/`).
//!
//! Labels come from the folder's integer through the AffectNet table, never from folder order; a
//! class folder that is not an integer is an `unknown_label` skip.

use grefel_schema::Label;
use grefel_schema::table::Split;

use super::{map_label, missing};
use crate::adapter::{Candidate, ImageSource, Scan, ScanContext, is_image_name};
use crate::source::DatasetRoot;
use crate::{IngestError, SkipReason};

/// The training split folder.
pub const TRAIN: &str = "train";
/// The validation split folder (`valid/`, `validation/` in some copies).
pub const VAL: &str = "val";
/// The test split folder (some copies hold the official validation set there).
pub const TEST: &str = "test";

/// Image `file_name` of AffectNet class `class` (the label integer, `0..7`) in split folder
/// `split` ([`TRAIN`], [`VAL`], [`TEST`]), relative to the root: `<split>/<class>/<file_name>`.
pub fn image_path(split: &str, class: u8, file_name: &str) -> String {
    format!("{split}/{class}/{file_name}")
}

/// One image of a class folder.
#[derive(Debug, Clone, PartialEq)]
pub struct FolderSample<'a> {
    /// Its split.
    pub split: Split,
    /// Its label.
    pub label: Label,
    /// `<split>/<class>/<file>`: the path from the split folder down.
    pub tail: &'a str,
}

/// The split of a split-folder name.
pub fn split_of(folder: &str) -> Option<Split> {
    match folder.to_ascii_lowercase().as_str() {
        TRAIN | "training" => Some(Split::Train),
        VAL | "valid" | "validation" => Some(Split::Val),
        TEST => Some(Split::Test),
        _ => None,
    }
}

/// Parses `…/<split>/<class>/<image>`.
pub fn parse_path(rel: &str) -> Result<FolderSample<'_>, SkipReason> {
    let mut parts = rel.rsplitn(4, '/');
    let (Some(file), Some(class), Some(split)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(SkipReason::MalformedName);
    };
    if !is_image_name(file) {
        return Err(SkipReason::MalformedName);
    }
    let split_folder = split_of(split).ok_or(SkipReason::MalformedName)?;
    if class.is_empty() || !class.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SkipReason::UnknownLabel);
    }
    let trimmed = class.trim_start_matches('0');
    let label = map_label(if trimmed.is_empty() { "0" } else { trimmed })?;
    let tail = &rel[rel.len() - file.len() - class.len() - split.len() - 2..];
    Ok(FolderSample { split: split_folder, label, tail })
}

/// Scans the class folders.
pub fn scan(root: &DatasetRoot, ctx: &ScanContext<'_>) -> Result<Scan, IngestError> {
    let has =
        |want: &[Split]| root.files.iter().any(|f| parse_path(&f.rel).is_ok_and(|s| want.contains(&s.split)));
    if !has(&[Split::Train]) || !has(&[Split::Val, Split::Test]) {
        let dir = if has(&[Split::Train]) { VAL } else { TRAIN };
        return Err(missing(root, dir, "class folders <split>/<0..7>/ for train and val (or valid, test)"));
    }
    let mut scan = Scan::default();
    for f in root.files.iter().filter(|f| is_image_name(super::file_name(&f.rel))) {
        if f.escapes_root {
            scan.skips.add(SkipReason::PathEscapesRoot);
            continue;
        }
        match parse_path(&f.rel) {
            Ok(s) => scan.candidates.push(Candidate {
                sample_id: format!("{}:{}", ctx.dataset, s.tail),
                split: s.split,
                label: s.label,
                source_path: f.rel.clone(),
                image: ImageSource::File(f.rel.clone()),
                subject: None,
                crop: None,
                bbox: None,
                landmarks: None,
                soft_label: None,
                attributes: Default::default(),
            }),
            Err(reason) => scan.skips.add(reason),
        }
    }
    Ok(scan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use grefel_schema::Expression;

    #[test]
    fn folder_rules() {
        let s = parse_path("AffectNet/train/7/a.JPG").expect("contempt");
        assert_eq!(
            (s.split, s.label, s.tail),
            (Split::Train, Label::Class(Expression::Contempt), "train/7/a.JPG")
        );
        let s = parse_path("valid/0/b.png").expect("neutral");
        assert_eq!(
            (s.split, s.label, s.tail),
            (Split::Val, Label::Class(Expression::Neutral), "valid/0/b.png")
        );
        assert_eq!(parse_path("test/06/c.jpg").map(|s| s.label), Ok(Label::Class(Expression::Anger)));
        assert_eq!(parse_path("train/9/a.jpg"), Err(SkipReason::IgnoredLabel));
        assert_eq!(parse_path("train/12/a.jpg"), Err(SkipReason::UnknownLabel));
        assert_eq!(parse_path("train/happy/a.jpg"), Err(SkipReason::UnknownLabel));
        assert_eq!(parse_path("other/1/a.jpg"), Err(SkipReason::MalformedName));
        assert_eq!(parse_path("train/a.jpg"), Err(SkipReason::MalformedName));
        assert_eq!(parse_path("train/1/notes.txt"), Err(SkipReason::MalformedName));
        assert_eq!(image_path(VAL, 3, "f.jpg"), "val/3/f.jpg");
        assert_eq!(parse_path(&image_path(TEST, 6, "g.png")).map(|s| s.split), Ok(Split::Test));
    }
}
