//! AffectNet's original release (docs/datasets.md §1.1): `training.csv` (→ train) and `validation.csv`
//! (→ val), rows `subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,
//! expression,valence,arousal`, image paths relative to `Manually_Annotated_Images/`.
//!
//! The header is sniffed per file (`validation.csv` may lack one; header iff the first field is
//! `subDirectory_filePath`), and a header's column names are honoured. Each image is cropped to
//! its face box; the landmarks (68 `x;y` pairs) and the box stay in source pixels for the driver
//! to map. Rows are checked in this order: field count (`malformed_row`), label (`ignored_label`,
//! `unknown_label`), numbers (`malformed_row`), box (`bad_box`), path (`path_escapes_root`,
//! `missing_file`).

use std::collections::HashMap;

use grefel_schema::Label;
use grefel_schema::table::{Attributes, NUM_LANDMARKS, Split};

use super::{affect_value, file_name, map_label, missing};
use crate::adapter::{Candidate, ImageSource, Scan, ScanContext};
use crate::source::{DatasetRoot, SourceFile};
use crate::{IngestError, SkipReason};

/// File name of the training list.
pub const TRAINING: &str = "training.csv";
/// File name of the validation list.
pub const VALIDATION: &str = "validation.csv";
/// Folder the list's image paths are relative to.
pub const IMAGE_FOLDER: &str = "Manually_Annotated_Images";
/// The folder that holds [`IMAGE_FOLDER`] in the release, relative to the root (the adapter
/// finds [`IMAGE_FOLDER`] at any depth).
pub const IMAGE_PARENT: &str = "Manually_Annotated";
/// Folder of the two lists, relative to the root (preferred when a list is found elsewhere too).
pub const LIST_FOLDER: &str = "Manually_Annotated_file_lists";
/// The header line of the lists (without the line end), the names of [`COLUMNS`] in order.
pub const HEADER: &str =
    "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal";
/// The columns of the lists, in the release's order.
pub const COLUMNS: [&str; 9] = [
    "subDirectory_filePath",
    "face_x",
    "face_y",
    "face_width",
    "face_height",
    "facial_landmarks",
    "expression",
    "valence",
    "arousal",
];

type Points = Box<[[f32; 2]; NUM_LANDMARKS]>;

/// The list called `name` ([`TRAINING`], [`VALIDATION`]) where the release puts it, relative to
/// the root: `Manually_Annotated_file_lists/<name>`.
pub fn list_path(name: &str) -> String {
    format!("{LIST_FOLDER}/{name}")
}

/// The image a list row's `subDirectory_filePath` (`1/<hash>.jpg`) names, where the release puts
/// it, relative to the root: `Manually_Annotated/Manually_Annotated_Images/<path>`.
pub fn image_path(sub_path: &str) -> String {
    format!("{IMAGE_PARENT}/{IMAGE_FOLDER}/{sub_path}")
}

/// The label list called `name` (case-insensitive), preferring one in
/// `Manually_Annotated_file_lists/`, then the shallowest.
pub fn label_file<'a>(root: &'a DatasetRoot, name: &str) -> Option<&'a SourceFile> {
    let rank = |f: &SourceFile| (!f.rel.contains(LIST_FOLDER), f.rel.matches('/').count());
    let found = root.files.iter().filter(|f| !f.escapes_root && file_name(&f.rel).eq_ignore_ascii_case(name));
    found.min_by_key(|f| rank(f))
}

/// Scans both lists.
pub fn scan(root: &DatasetRoot, ctx: &ScanContext<'_>) -> Result<Scan, IngestError> {
    let expected = "an AffectNet label list (subDirectory_filePath,face_x,…,expression,valence,arousal)";
    let find = |name: &str| label_file(root, name).ok_or_else(|| missing(root, &list_path(name), expected));
    let lists = [(find(TRAINING)?, Split::Train), (find(VALIDATION)?, Split::Val)];
    let files: HashMap<&str, &SourceFile> = root.files.iter().map(|f| (f.rel.as_str(), f)).collect();
    let bases = image_bases(root);
    if bases.len() == 1 {
        tracing::warn!(
            "no {IMAGE_FOLDER}/ folder under the root; image paths are taken relative to the root"
        );
    }
    let mut scan = Scan::default();
    for (list, split) in lists {
        let path = root.file_path(list);
        let bytes = std::fs::read(&path).map_err(|source| IngestError::Io {
            dataset: root.dataset.clone(),
            path: path.clone(),
            source,
        })?;
        let text = String::from_utf8_lossy(&bytes);
        let mut lines = text.lines().map(|l| l.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}'));
        let mut lines = lines.by_ref().enumerate().filter(|(_, l)| !l.is_empty()).peekable();
        let cols = match lines.peek().and_then(|(_, l)| header(l)) {
            Some(parsed) => {
                let (i, _) = lines.next().unwrap_or_default();
                parsed.map_err(|detail| IngestError::Malformed {
                    dataset: root.dataset.clone(),
                    path: path.clone(),
                    line: i + 1,
                    detail,
                })?
            }
            None => Columns::DEFAULT,
        };
        for (_, line) in lines {
            match parse_row(line, &cols).and_then(|row| candidate(row, split, root, &bases, &files, ctx)) {
                Ok(c) => scan.candidates.push(c),
                Err(reason) => scan.skips.add(reason),
            }
        }
    }
    Ok(scan)
}

/// Folders the list paths may be relative to: every `…/Manually_Annotated_Images` (sorted), then
/// the root itself.
fn image_bases(root: &DatasetRoot) -> Vec<String> {
    let mut bases: Vec<String> = root
        .files
        .iter()
        .filter_map(|f| {
            let mut end = 0;
            for part in f.rel.split('/') {
                end += part.len();
                if part.eq_ignore_ascii_case(IMAGE_FOLDER) {
                    return Some(f.rel[..end].to_string());
                }
                end += 1;
            }
            None
        })
        .collect();
    bases.sort();
    bases.dedup();
    bases.push(String::new());
    bases
}

/// Column positions of a list.
#[derive(Debug, PartialEq)]
struct Columns {
    /// Positions of the nine columns, in [`COLUMNS`] order (`usize::MAX`: absent, optional).
    at: [usize; 9],
    /// Fields per row.
    count: usize,
}

impl Columns {
    const DEFAULT: Columns = Columns { at: [0, 1, 2, 3, 4, 5, 6, 7, 8], count: 9 };

    fn field<'a>(&self, fields: &[&'a str], col: usize) -> &'a str {
        fields.get(self.at[col]).copied().unwrap_or("")
    }
}

/// The columns of a header line; `None` when the line is a data row.
fn header(line: &str) -> Option<Result<Columns, String>> {
    let names: Vec<&str> = line.split(',').map(clean).collect();
    if !names.first()?.eq_ignore_ascii_case(COLUMNS[0]) {
        return None;
    }
    let mut at = [usize::MAX; 9];
    for (slot, want) in at.iter_mut().zip(COLUMNS) {
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(want)) {
            *slot = i;
        }
    }
    // Landmarks, valence and arousal may be absent; the rest is needed.
    if let Some(i) = [0, 1, 2, 3, 4, 6].into_iter().find(|&i| at[i] == usize::MAX) {
        return Some(Err(format!("header lacks the `{}` column", COLUMNS[i])));
    }
    Some(Ok(Columns { at, count: names.len() }))
}

fn clean(field: &str) -> &str {
    let f = field.trim();
    f.strip_prefix('"').and_then(|f| f.strip_suffix('"')).unwrap_or(f).trim()
}

/// One parsed list row, before its image is looked up.
#[derive(Debug, PartialEq)]
struct Row<'a> {
    path: &'a str,
    label: Label,
    /// `[left, top, width, height]`, whole pixels, positive size.
    face: [u32; 4],
    landmarks: Option<Points>,
    valence: Option<f32>,
    arousal: Option<f32>,
}

fn parse_row<'a>(line: &'a str, cols: &Columns) -> Result<Row<'a>, SkipReason> {
    let fields: Vec<&str> = line.split(',').map(clean).collect();
    if fields.len() != cols.count {
        return Err(SkipReason::MalformedRow);
    }
    let path = cols.field(&fields, 0);
    if path.is_empty() {
        return Err(SkipReason::MalformedRow);
    }
    let label = map_label(cols.field(&fields, 6))?;
    let number = |col: usize| {
        let v: f64 = cols.field(&fields, col).parse().map_err(|_| SkipReason::MalformedRow)?;
        if v.is_finite() { Ok(v.round()) } else { Err(SkipReason::MalformedRow) }
    };
    let [x, y, w, h] = [number(1)?, number(2)?, number(3)?, number(4)?];
    let optional = |col: usize| match cols.field(&fields, col) {
        "" => Ok(None),
        v => v.parse::<f32>().map(Some).map_err(|_| SkipReason::MalformedRow),
    };
    let (valence, arousal) = (optional(7)?, optional(8)?);
    let landmarks = parse_landmarks(cols.field(&fields, 5))?;
    let fits = |v: f64| (0.0..=f64::from(u32::MAX)).contains(&v);
    if w <= 0.0 || h <= 0.0 || !fits(x) || !fits(y) || !fits(x + w) || !fits(y + h) {
        return Err(SkipReason::BadBox);
    }
    let face = [x as u32, y as u32, w as u32, h as u32];
    Ok(Row { path, label, face, landmarks, valence: affect_value(valence), arousal: affect_value(arousal) })
}

/// 68 `x;y` pairs (an empty field: none).
fn parse_landmarks(field: &str) -> Result<Option<Points>, SkipReason> {
    if field.is_empty() {
        return Ok(None);
    }
    let values: Result<Vec<f32>, _> =
        field.split(';').map(str::trim).filter(|v| !v.is_empty()).map(str::parse::<f32>).collect();
    let values = values.map_err(|_| SkipReason::MalformedRow)?;
    if values.len() != 2 * NUM_LANDMARKS || values.iter().any(|v| !v.is_finite()) {
        return Err(SkipReason::MalformedRow);
    }
    let mut pts = Box::new([[0f32; 2]; NUM_LANDMARKS]);
    for (p, xy) in pts.iter_mut().zip(values.chunks_exact(2)) {
        *p = [xy[0], xy[1]];
    }
    Ok(Some(pts))
}

/// `path` with `.` and `..` resolved, or [`SkipReason::PathEscapesRoot`] when it is absolute or
/// climbs out of the folder it is relative to.
fn normalize_path(path: &str) -> Result<String, SkipReason> {
    let path = path.replace('\\', "/");
    if path.starts_with('/') {
        return Err(SkipReason::PathEscapesRoot);
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop().ok_or(SkipReason::PathEscapesRoot)?;
            }
            p => parts.push(p),
        }
    }
    if parts.is_empty() { Err(SkipReason::MalformedRow) } else { Ok(parts.join("/")) }
}

fn candidate(
    row: Row<'_>,
    split: Split,
    root: &DatasetRoot,
    bases: &[String],
    files: &HashMap<&str, &SourceFile>,
    ctx: &ScanContext<'_>,
) -> Result<Candidate, SkipReason> {
    let id_path = normalize_path(row.path)?;
    let rel = bases
        .iter()
        .map(|b| if b.is_empty() { id_path.clone() } else { format!("{b}/{id_path}") })
        .find(|rel| files.contains_key(rel.as_str()))
        .ok_or(SkipReason::MissingFile)?;
    if files.get(rel.as_str()).is_some_and(|f| f.escapes_root) {
        return Err(SkipReason::PathEscapesRoot);
    }
    root.resolve(&rel)?;
    let [x, y, w, h] = row.face;
    let bbox = [x as f32, y as f32, (x + w) as f32, (y + h) as f32];
    Ok(Candidate {
        sample_id: format!("{}:{id_path}", ctx.dataset),
        split,
        label: row.label,
        source_path: rel.clone(),
        image: ImageSource::File(rel),
        subject: None,
        crop: Some(row.face),
        bbox: Some(bbox),
        landmarks: row.landmarks,
        soft_label: None,
        attributes: Attributes { valence: row.valence, arousal: row.arousal, ..Attributes::default() },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use grefel_schema::Expression;

    fn lm() -> String {
        (0..2 * NUM_LANDMARKS).map(|i| format!("{}.5", i % 50)).collect::<Vec<_>>().join(";")
    }

    #[test]
    fn layout_paths_and_header() {
        assert_eq!(HEADER, COLUMNS.join(","));
        assert_eq!(header(HEADER), Some(Ok(Columns::DEFAULT)));
        assert_eq!(list_path(TRAINING), "Manually_Annotated_file_lists/training.csv");
        assert_eq!(image_path("1/a.jpg"), "Manually_Annotated/Manually_Annotated_Images/1/a.jpg");
    }

    #[test]
    fn rows_parse_in_order_of_checks() {
        let cols = Columns::DEFAULT;
        let line = format!("1/a.JPG,10,5,20,20,{},1,0.5,-2", lm());
        let row = parse_row(&line, &cols).expect("row");
        assert_eq!(
            (row.path, row.label, row.face),
            ("1/a.JPG", Label::Class(Expression::Happy), [10, 5, 20, 20])
        );
        assert_eq!((row.valence, row.arousal), (Some(0.5), None));
        assert_eq!(row.landmarks.as_ref().map(|p| p[1]), Some([2.5, 3.5]));
        let bad = |l: &str| parse_row(l, &cols).err();
        assert_eq!(bad(&format!("1/a.jpg,1,1,-5,10,{},1,0,0", lm())), Some(SkipReason::BadBox));
        assert_eq!(bad(&format!("1/a.jpg,-1,1,5,10,{},1,0,0", lm())), Some(SkipReason::BadBox));
        assert_eq!(bad("1/a.jpg,x,y,z,w,garbage,9,-2,-2"), Some(SkipReason::IgnoredLabel));
        assert_eq!(bad("1/a.jpg,1,1,5,10,,11,0,0"), Some(SkipReason::UnknownLabel));
        assert_eq!(bad("1/a.jpg,1,1,5,10,1;2;3,1,0,0"), Some(SkipReason::MalformedRow));
        assert_eq!(bad("1/a.jpg,1,1,5"), Some(SkipReason::MalformedRow));
        assert_eq!(bad("1/a.jpg,1,one,5,10,,1,0,0"), Some(SkipReason::MalformedRow));
        assert_eq!(bad(",1,1,5,10,,1,0,0"), Some(SkipReason::MalformedRow));
        assert!(parse_row("\"1/a.jpg\",1,1,5,10,,0,,", &cols).is_ok(), "quotes and empty optionals");
    }

    #[test]
    fn headers_are_sniffed() {
        assert_eq!(header("1/a.jpg,1,2,3,4,,1,0,0"), None);
        let h = header(
            "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal",
        );
        assert_eq!(h, Some(Ok(Columns::DEFAULT)));
        let h =
            header("subDirectory_filePath,expression,face_x,face_y,face_width,face_height").expect("header");
        let cols = h.expect("valid");
        let row = parse_row("2/b.png,3,1,2,3,4", &cols).expect("reordered");
        assert_eq!(
            (row.label, row.face, row.landmarks),
            (Label::Class(Expression::Surprise), [1, 2, 3, 4], None)
        );
        assert!(matches!(header("subDirectory_filePath,face_x"), Some(Err(_))));
    }

    #[test]
    fn paths_stay_inside() {
        assert_eq!(normalize_path("1/./a.jpg"), Ok("1/a.jpg".into()));
        assert_eq!(normalize_path("1\\..\\2\\a.jpg"), Ok("2/a.jpg".into()));
        assert_eq!(normalize_path("../a.jpg"), Err(SkipReason::PathEscapesRoot));
        assert_eq!(normalize_path("1/../../a.jpg"), Err(SkipReason::PathEscapesRoot));
        assert_eq!(normalize_path("/etc/passwd"), Err(SkipReason::PathEscapesRoot));
    }
}
