//! RAF-DB, basic-emotion subset, as distributed (docs/datasets.md §3):
//!
//! ```text
//! <root>/                               (the `basic/` folder; `<root>/basic/` is accepted too)
//!   EmoLabel/list_patition_label.txt    `<original name> <label 1..7>` per line, no header
//!   Image/aligned/<stem>_aligned.jpg    100×100 aligned faces (variant `aligned`, the default)
//!   Image/original/<name>               original photographs (variant `original`)
//!   Annotation/manual/<stem>_manu_attri.txt   5 points, gender, race, age group (optional)
//! ```
//!
//! - The split is the name prefix: `train_*` → train, `test_*` → test.
//! - Labels map through [`RAFDB`] by value; anything outside 1..7 (the compound subset's 8..11,
//!   which ships a label file of the same name) is an `unknown_label` skip.
//! - Lines are split on whitespace, CRLF is tolerated; a line that is not `<name> <integer>` is a
//!   `malformed_row`, a name without the `train_`/`test_` prefix a `malformed_name`, a repeated
//!   name a `duplicate_id` (the first row wins), a row whose image is absent a `missing_file`.
//! - Manual annotations: gender, race and age group are attached in both variants (they describe
//!   the face, not the pixels). The five manual points are in the pixels of the ORIGINAL image
//!   (docs/datasets.md §3.3: the README uses them to align; the alignment transform is not shipped, so they
//!   cannot be mapped into the 100×100 aligned images): they are attached as `landmarks5` only
//!   for the `original` variant. The auto (37-point) annotations and boxes are not read.
//! - `ignored_files` counts the listed files that are not images (label file, annotations,
//!   features, README).

use std::collections::HashSet;

use grefel_schema::labels::RAFDB;
use grefel_schema::table::{Attributes, Split};

use crate::adapter::{Adapter, Candidate, ImageSource, Scan, ScanContext, is_image_name};
use crate::source::DatasetRoot;
use crate::text::{Lines, file_name, find_file, missing_file, split_fields};
use crate::{IngestError, SkipReason};

/// How the dataset frames its faces (what `predict` cuts from a photo): RAF-DB's `aligned` images
/// are eye-aligned face crops (the `original` photographs are not cropped at all: a run trained on
/// them is framed as the aligned ones).
pub const FRAMING: grefel_schema::FaceFraming = grefel_schema::FaceFraming::ALIGNED;

/// The label file, relative to the root, as the release spells it (`patition`, sic).
pub const LABEL_FILE: &str = "EmoLabel/list_patition_label.txt";

/// Where the label file may be, relative to the root: the official spelling first, then the
/// README's spelling, then one level down in a `basic/` folder.
pub const LABEL_FILES: &[&str] = &[
    LABEL_FILE,
    "EmoLabel/list_partition_label.txt",
    "basic/EmoLabel/list_patition_label.txt",
    "basic/EmoLabel/list_partition_label.txt",
];

/// The aligned face of the image with file stem `stem` (`train_00001`), relative to the root:
/// `Image/aligned/<stem>_aligned.jpg`.
pub fn aligned_image(stem: &str) -> String {
    format!("Image/aligned/{stem}_aligned.jpg")
}

/// The original photograph of label-file name `name` (`train_00001.jpg`), relative to the root:
/// `Image/original/<name>`.
pub fn original_image(name: &str) -> String {
    format!("Image/original/{name}")
}

/// The manual annotation (5 points, gender, race, age group) of the image with file stem `stem`,
/// relative to the root: `Annotation/manual/<stem>_manu_attri.txt`.
pub fn manual_annotation(stem: &str) -> String {
    format!("Annotation/manual/{stem}_manu_attri.txt")
}

/// Which images of RAF-DB basic are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RafVariant {
    /// `Image/aligned/<stem>_aligned.jpg` (100×100), the default.
    Aligned,
    /// `Image/original/<name>`.
    Original,
}

impl RafVariant {
    /// The variant's name on the command line and in the manifest.
    pub fn name(self) -> &'static str {
        match self {
            RafVariant::Aligned => "aligned",
            RafVariant::Original => "original",
        }
    }
}

/// The RAF-DB (basic) adapter.
#[derive(Debug, Clone, Copy)]
pub struct RafDb {
    /// The images read.
    pub variant: RafVariant,
}

impl RafDb {
    /// The adapter for layout variant `variant` (`aligned` when `None`).
    pub fn new(variant: Option<&str>) -> Result<RafDb, IngestError> {
        let variant = match variant {
            None | Some("aligned") => RafVariant::Aligned,
            Some("original") => RafVariant::Original,
            Some(other) => {
                return Err(IngestError::InvalidConfig {
                    field: "variant",
                    reason: format!("RAF-DB variants are `aligned` (default) and `original`, got `{other}`"),
                });
            }
        };
        Ok(RafDb { variant })
    }

    /// The image of label-file name `name` (`train_00001.jpg`), relative to `base`.
    fn image_path(&self, base: &str, name: &str, stem: &str) -> String {
        match self.variant {
            RafVariant::Aligned => format!("{base}{}", aligned_image(stem)),
            RafVariant::Original => format!("{base}{}", original_image(name)),
        }
    }
}

impl Adapter for RafDb {
    fn name(&self) -> &'static str {
        "rafdb"
    }

    fn version(&self) -> u32 {
        1
    }

    fn expected_root(&self) -> &'static str {
        "the RAF-DB basic folder: EmoLabel/list_patition_label.txt and Image/aligned/ or Image/original/"
    }

    fn variant(&self) -> Option<String> {
        Some(self.variant.name().to_string())
    }

    fn scan(&self, root: &DatasetRoot, ctx: &ScanContext<'_>) -> Result<Scan, IngestError> {
        const EXPECTED: &str = "the RAF-DB basic label list EmoLabel/list_patition_label.txt, \
                                one `<image name> <label 1..7>` line per image";
        let label_file =
            find_file(root, LABEL_FILES).ok_or_else(|| missing_file(root, LABEL_FILES, EXPECTED))?;
        let base = label_file.rel.strip_suffix(file_name(&label_file.rel)).unwrap_or_default();
        let base = base.strip_suffix("EmoLabel/").unwrap_or(base);
        let mut scan = Scan {
            ignored_files: root.files.iter().filter(|f| !is_image_name(file_name(&f.rel))).count() as u64,
            ..Scan::default()
        };
        let mut seen = HashSet::new();
        for line in Lines::open(&root.dataset, &root.file_path(label_file), EXPECTED)? {
            let (_, line) = line?;
            let fields: Vec<&str> = split_fields(&line, &[]).collect();
            let (name, value) = match fields.as_slice() {
                [] => continue,
                [name, value] if value.parse::<i64>().is_ok() => (*name, *value),
                _ => {
                    scan.skips.add(SkipReason::MalformedRow);
                    continue;
                }
            };
            if !seen.insert(name.to_string()) {
                scan.skips.add(SkipReason::DuplicateId);
                continue;
            }
            match self.candidate(root, ctx, base, name, value) {
                Ok(c) => scan.candidates.push(c),
                Err(reason) => scan.skips.add(reason),
            }
        }
        Ok(scan)
    }
}

impl RafDb {
    fn candidate(
        &self,
        root: &DatasetRoot,
        ctx: &ScanContext<'_>,
        base: &str,
        name: &str,
        value: &str,
    ) -> Result<Candidate, SkipReason> {
        let split = split_of(name)?;
        let stem = name.rsplit_once('.').map(|(s, _)| s).filter(|s| !s.is_empty());
        let stem = stem.ok_or(SkipReason::MalformedName)?;
        let label = RAFDB.lookup(value).ok_or(SkipReason::UnknownLabel)?;
        let rel = self.image_path(base, name, stem);
        let file = find_file(root, &[rel.as_str()]).ok_or(SkipReason::MissingFile)?;
        if file.escapes_root {
            return Err(SkipReason::PathEscapesRoot);
        }
        let manual = format!("{base}{}", manual_annotation(stem));
        let attributes = match find_file(root, &[manual.as_str()]) {
            Some(f) => read_manual(&root.file_path(f), self.variant == RafVariant::Original),
            None => Attributes::default(),
        };
        Ok(Candidate {
            sample_id: format!("{}:{name}", ctx.dataset),
            split,
            label,
            source_path: rel.clone(),
            image: ImageSource::File(rel),
            subject: None,
            crop: None,
            bbox: None,
            landmarks: None,
            soft_label: None,
            attributes,
        })
    }
}

/// The split encoded in a label-file name: `train_*` or `test_*`, a plain file name.
fn split_of(name: &str) -> Result<Split, SkipReason> {
    if name.contains(['/', '\\']) {
        return Err(SkipReason::MalformedName);
    }
    if name.starts_with("train_") {
        Ok(Split::Train)
    } else if name.starts_with("test_") {
        Ok(Split::Test)
    } else {
        Err(SkipReason::MalformedName)
    }
}

/// Reads a manual annotation file into attributes; points only when `with_points`. A part that
/// does not parse is left out (and logged): annotations never cost the sample.
fn read_manual(path: &std::path::Path, with_points: bool) -> Attributes {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let (attrs, problems) = parse_manual(&text, with_points);
            if !problems.is_empty() {
                let path = path.display();
                tracing::warn!(%path, ?problems, "RAF-DB manual annotation partly unreadable");
            }
            attrs
        }
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "RAF-DB manual annotation unreadable");
            Attributes::default()
        }
    }
}

/// Parses `<x> <y>` × 5, then gender, race and age-group codes (tab, space, `;` or `,`
/// separated); returns the attributes and what could not be read.
pub fn parse_manual(text: &str, with_points: bool) -> (Attributes, Vec<&'static str>) {
    const GENDER: [&str; 3] = ["male", "female", "unsure"];
    const RACE: [&str; 3] = ["caucasian", "african-american", "asian"];
    const AGE: [&str; 5] = ["0-3", "4-19", "20-39", "40-69", "70+"];
    let lines: Vec<Vec<&str>> = text
        .lines()
        .map(|l| split_fields(l, &[';', ',']).collect::<Vec<_>>())
        .filter(|f| !f.is_empty())
        .collect();
    let mut problems = Vec::new();
    let mut attrs = Attributes::default();
    if with_points {
        let mut pts = [[0f32; 2]; 5];
        let ok = lines.len() >= 5
            && pts.iter_mut().zip(&lines).all(|(p, f)| match f.as_slice() {
                [x, y] => match (x.parse::<f32>(), y.parse::<f32>()) {
                    (Ok(x), Ok(y)) if x.is_finite() && y.is_finite() => {
                        *p = [x, y];
                        true
                    }
                    _ => false,
                },
                _ => false,
            });
        if ok {
            attrs.landmarks5 = Some(pts);
        } else {
            problems.push("landmarks");
        }
    }
    let code = |i: usize, names: &[&'static str]| -> Option<String> {
        match lines.get(i).map(Vec::as_slice) {
            Some([v]) => v.parse::<usize>().ok().and_then(|k| names.get(k)).map(|s| s.to_string()),
            _ => None,
        }
    };
    attrs.gender = code(5, &GENDER);
    attrs.race = code(6, &RACE);
    attrs.age_group = code(7, &AGE);
    for (v, what) in [(&attrs.gender, "gender"), (&attrs.race, "race"), (&attrs.age_group, "age group")] {
        if v.is_none() {
            problems.push(what);
        }
    }
    (attrs, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_variants_and_annotations() {
        assert_eq!(split_of("train_00001.jpg"), Ok(Split::Train));
        assert_eq!(split_of("test_0001.jpg"), Ok(Split::Test));
        assert_eq!(split_of("val_0001.jpg"), Err(SkipReason::MalformedName));
        assert_eq!(split_of("train_/../x.jpg"), Err(SkipReason::MalformedName));
        assert!(RafDb::new(Some("aligned_224")).is_err());
        let raf = RafDb::new(None).expect("default");
        assert_eq!(raf.image_path("", "test_0001.jpg", "test_0001"), "Image/aligned/test_0001_aligned.jpg");
        let orig = RafDb::new(Some("original")).expect("original");
        assert_eq!(
            orig.image_path("basic/", "test_0001.jpg", "test_0001"),
            "basic/Image/original/test_0001.jpg"
        );

        let text = "37.5\t50.25\r\n60 50\n48;62\n40, 75\n58 75\n1\n2\n3\n";
        let (a, problems) = parse_manual(text, true);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(a.landmarks5.expect("points")[0], [37.5, 50.25]);
        assert_eq!(a.landmarks5.expect("points")[3], [40.0, 75.0]);
        assert_eq!(
            (a.gender.as_deref(), a.race.as_deref(), a.age_group.as_deref()),
            (Some("female"), Some("asian"), Some("40-69"))
        );
        let (a, _) = parse_manual(text, false);
        assert_eq!(a.landmarks5, None);
        assert_eq!(a.gender.as_deref(), Some("female"));
        let (a, problems) = parse_manual("1 2\n3 x\n", true);
        assert_eq!(a, Attributes::default());
        assert_eq!(problems, ["landmarks", "gender", "race", "age group"]);
        let (a, _) = parse_manual("1 2\n3 4\n5 6\n7 8\n9 10\n7\n0\n4\n", false);
        assert_eq!(
            (a.gender, a.race.as_deref(), a.age_group.as_deref()),
            (None, Some("caucasian"), Some("70+"))
        );
    }
}
