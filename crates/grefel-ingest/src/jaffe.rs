//! JAFFE (docs/datasets.md §5): a flat folder of `<SUBJ>.<EXP><n>.<N>.tiff` images (`KA.HA1.29.tiff`) and a
//! read-me that carries the semantic-ratings table.
//!
//! - Label: the posed expression coded in the file name, through [`JAFFE_CODES`] (the FER
//!   convention); `subject` is the two-letter poser code. Names are matched case-insensitively and
//!   stored upper-case in `subject`; a name that does not follow the pattern is a `malformed_name`,
//!   an unknown code an `unknown_label`, a second file with the same stem a `duplicate_id`.
//! - Split: JAFFE has no official split. Each sample's split is drawn from the configured seed and
//!   its id (`jaffe:KA.HA1.29`), like FERG-DB. The `subject` column is kept so subject-independent
//!   (leave-one-poser-out) protocols can be built downstream; with only 10 posers a seeded
//!   subject-disjoint 80/10/10 split would leave val or test empty for many seeds.
//! - Soft label: the first table in a non-image file under the root whose header (`# HAP SAD SUR
//!   ANG DIS FEA PIC`) names all six rating columns (the "fear included" table; the five-column
//!   "fear excluded" table is a separate study and is not used). Rows are `N v1..v6 PIC`; row `N`
//!   belongs to the image whose name ends in `.N`. The six mean ratings (1–5) are divided by their
//!   sum, giving a distribution over the canonical ids; JAFFE has no neutral column, so neutral
//!   (and contempt, other) get 0. Checks: the row's `PIC` (`KA-HA1`) must name the same poser,
//!   code and repetition as the image, after fixing the known typo `YN-HA2` → `YM-HA2` (row 53,
//!   image `YM.HA2.53.tiff`); a row that disagrees is logged and not attached. A ratings row whose
//!   `N` no image carries counts as `missing_file` (six in the real table); a row that does not
//!   parse as `malformed_row`, a repeated `N` as `duplicate_id`.
//! - Hidden files (`._*` AppleDouble copies, `.DS_Store`) and all non-image files are ignored.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashSet};

use grefel_schema::labels::{JAFFE_CODES, JAFFE_RATINGS, Label, NUM_CANONICAL};

use crate::adapter::{Adapter, Candidate, ImageSource, Scan, ScanContext, is_image_name};
use crate::source::DatasetRoot;
use crate::text::{Lines, file_name, split_fields};
use crate::{IngestError, SkipReason};

/// How the dataset frames its faces (what `predict` cuts from a photo): JAFFE's 256×256 images are
/// frontal faces filling most of the frame.
pub const FRAMING: grefel_schema::FaceFraming = grefel_schema::FaceFraming::PRECROPPED;

/// Known typos in the ratings table's `PIC` column: (as printed, meant).
pub const PIC_TYPOS: &[(&str, &str)] = &[("YN-HA2", "YM-HA2")];

/// Non-image files larger than this are not searched for the ratings table.
const MAX_RATINGS_FILE: u64 = 4 << 20;

/// The read-me the release carries the semantic-ratings tables in. The adapter does not rely on
/// the name: it searches every non-image file for the table.
pub const README: &str = "README_FIRST.txt";

/// The file name of poser `subject` (`KA`) showing expression `code` (`HA`), repetition `rep`,
/// ratings-table row `row`: `<SUBJ>.<EXP><rep>.<row>.tiff` (`KA.HA1.29.tiff`).
pub fn image_name(subject: &str, code: &str, rep: u32, row: u32) -> String {
    format!("{subject}.{code}{rep}.{row}.tiff")
}

/// The JAFFE adapter.
#[derive(Debug, Clone, Copy)]
pub struct Jaffe;

/// The parts of an image name `KA.HA1.29.tiff`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JaffeName {
    /// Poser code, upper-case (`KA`).
    pub subject: String,
    /// Expression code, upper-case (`HA`).
    pub code: String,
    /// Repetition (`1`).
    pub rep: u32,
    /// Row of the ratings table (`29`).
    pub row: u32,
}

/// One row of the ratings table.
#[derive(Debug, Clone, PartialEq)]
pub struct Rating {
    /// The `PIC` column, typos fixed (`KA-HA1`).
    pub pic: String,
    /// Distribution over canonical ids.
    pub soft_label: [f32; NUM_CANONICAL],
}

impl Adapter for Jaffe {
    fn name(&self) -> &'static str {
        "jaffe"
    }

    fn version(&self) -> u32 {
        1
    }

    fn expected_root(&self) -> &'static str {
        "the JAFFE folder (jaffe/ or jaffedbase/) with the <SUBJ>.<EXP><n>.<N>.tiff images and its README"
    }

    fn scan(&self, root: &DatasetRoot, ctx: &ScanContext<'_>) -> Result<Scan, IngestError> {
        let mut scan = Scan::default();
        let ratings = find_ratings(root, &mut scan)?;
        let mut seen_ids = HashSet::new();
        let mut rows_with_image = HashSet::new();
        for file in &root.files {
            let name = file_name(&file.rel);
            if name.starts_with('.') || !is_image_name(name) {
                scan.ignored_files += 1;
                continue;
            }
            if file.escapes_root {
                scan.skips.add(SkipReason::PathEscapesRoot);
                continue;
            }
            let parsed = match parse_name(name) {
                Ok(p) => p,
                Err(reason) => {
                    scan.skips.add(reason);
                    continue;
                }
            };
            rows_with_image.insert(parsed.row);
            let Some(label) = JAFFE_CODES.lookup(&parsed.code) else {
                scan.skips.add(SkipReason::UnknownLabel);
                continue;
            };
            let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
            let sample_id = format!("{}:{stem}", ctx.dataset);
            if !seen_ids.insert(sample_id.clone()) {
                scan.skips.add(SkipReason::DuplicateId);
                continue;
            }
            let soft_label = ratings.get(&parsed.row).and_then(|r| {
                let own = format!("{}-{}{}", parsed.subject, parsed.code, parsed.rep);
                let agrees = r.pic.eq_ignore_ascii_case(&own);
                if !agrees {
                    let (image, row, pic) = (&file.rel, parsed.row, &r.pic);
                    tracing::warn!(%image, row, %pic, "ratings row names another image; not attached");
                }
                agrees.then_some(r.soft_label)
            });
            scan.candidates.push(Candidate {
                split: ctx.split.assign(&sample_id),
                sample_id,
                label,
                source_path: file.rel.clone(),
                image: ImageSource::File(file.rel.clone()),
                subject: Some(parsed.subject),
                crop: None,
                bbox: None,
                landmarks: None,
                soft_label,
                attributes: Default::default(),
            });
        }
        for row in ratings.keys() {
            if !rows_with_image.contains(row) {
                scan.skips.add(SkipReason::MissingFile);
            }
        }
        Ok(scan)
    }
}

/// Parses `<SUBJ>.<EXP><n>.<N>.<ext>` (case-insensitive).
pub fn parse_name(name: &str) -> Result<JaffeName, SkipReason> {
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    let parts: Vec<&str> = stem.split('.').collect();
    let [subject, expr, row] = parts.as_slice() else {
        return Err(SkipReason::MalformedName);
    };
    let letters = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_alphabetic());
    let number =
        |s: &str| (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse::<u32>().ok());
    let (code, rep) = expr.split_at_checked(2).ok_or(SkipReason::MalformedName)?;
    match (letters(subject), letters(code), number(rep).flatten(), number(row).flatten()) {
        (true, true, Some(rep), Some(row)) => {
            Ok(JaffeName { subject: subject.to_ascii_uppercase(), code: code.to_ascii_uppercase(), rep, row })
        }
        _ => Err(SkipReason::MalformedName),
    }
}

/// Searches the root's non-image files, in path order, for the six-column ratings table; rows
/// that do not parse are counted into `scan.skips`.
fn find_ratings(root: &DatasetRoot, scan: &mut Scan) -> Result<BTreeMap<u32, Rating>, IngestError> {
    for file in &root.files {
        let name = file_name(&file.rel);
        if name.starts_with('.') || is_image_name(name) || file.len > MAX_RATINGS_FILE || file.escapes_root {
            continue;
        }
        let lines = Lines::open(&root.dataset, &root.file_path(file), "a JAFFE text file")?;
        let mut text = Vec::new();
        for line in lines {
            text.push(line?.1);
        }
        let mut skips = crate::Skips::default();
        if let Some(table) = parse_ratings(text.iter().map(String::as_str), &mut skips) {
            tracing::info!(file = %file.rel, rows = table.len(), "JAFFE semantic ratings");
            scan.skips.merge(&skips);
            return Ok(table);
        }
    }
    tracing::info!(dataset = %root.dataset, "no JAFFE ratings table found; no soft labels");
    Ok(BTreeMap::new())
}

/// Parses the first table whose `#` header names all six rating columns and `PIC`. `None` when
/// the text has no such table.
pub fn parse_ratings<'a>(
    lines: impl IntoIterator<Item = &'a str>,
    skips: &mut crate::Skips,
) -> Option<BTreeMap<u32, Rating>> {
    // Header columns: Some(label) for a rating column, None for PIC; or None outside the table.
    let mut columns: Option<Vec<Option<Label>>> = None;
    let mut table: Option<BTreeMap<u32, Rating>> = None;
    for line in lines {
        let fields: Vec<&str> = split_fields(line, &[',']).collect();
        if let Some(header) = line.trim_start().strip_prefix('#') {
            if table.is_some() {
                break;
            }
            columns = rating_header(header);
            table = columns.as_ref().map(|_| BTreeMap::new());
            continue;
        }
        let (Some(cols), Some(rows)) = (&columns, &mut table) else { continue };
        let Some(first) = fields.first() else { continue };
        if !first.bytes().all(|b| b.is_ascii_digit()) {
            break; // prose after the table
        }
        match parse_rating_row(&fields, cols) {
            Some((n, rating)) => match rows.entry(n) {
                Entry::Vacant(e) => {
                    e.insert(rating);
                }
                Entry::Occupied(_) => skips.add(SkipReason::DuplicateId),
            },
            None => skips.add(SkipReason::MalformedRow),
        }
    }
    table
}

/// The header's columns when it names all six ratings and `PIC` exactly once each.
fn rating_header(header: &str) -> Option<Vec<Option<Label>>> {
    let mut cols = Vec::new();
    for token in split_fields(header, &[',']) {
        if token.eq_ignore_ascii_case("PIC") {
            cols.push(None);
        } else {
            cols.push(Some(JAFFE_RATINGS.lookup(&token.to_ascii_uppercase())?));
        }
    }
    let rated: HashSet<Label> = cols.iter().flatten().copied().collect();
    let complete = rated.len() == 6 && cols.len() == 7 && cols.iter().filter(|c| c.is_none()).count() == 1;
    complete.then_some(cols)
}

/// `N v1 .. v6 PIC` in header order.
fn parse_rating_row(fields: &[&str], cols: &[Option<Label>]) -> Option<(u32, Rating)> {
    let (n, rest) = fields.split_first()?;
    if rest.len() != cols.len() {
        return None;
    }
    let n = n.parse::<u32>().ok()?;
    let mut soft = [0f32; NUM_CANONICAL];
    let mut pic = None;
    for (value, col) in rest.iter().zip(cols) {
        match col {
            Some(label) => {
                let v = value.parse::<f32>().ok().filter(|v| v.is_finite() && *v >= 0.0)?;
                soft[usize::try_from(label.id()).ok()?] = v;
            }
            None => pic = Some(*value),
        }
    }
    let total: f32 = soft.iter().sum();
    if total <= 0.0 {
        return None;
    }
    soft.iter_mut().for_each(|v| *v /= total);
    let pic = pic?.to_ascii_uppercase();
    let pic = PIC_TYPOS.iter().find(|(typo, _)| *typo == pic).map_or(pic, |(_, fixed)| fixed.to_string());
    Some((n, Rating { pic, soft_label: soft }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let p = parse_name("KA.HA1.29.tiff").expect("parse");
        assert_eq!(p, JaffeName { subject: "KA".into(), code: "HA".into(), rep: 1, row: 29 });
        assert_eq!(parse_name("ym.ha2.53.TIF").expect("parse").subject, "YM");
        assert_eq!(parse_name("KA.HA.29.tiff"), Err(SkipReason::MalformedName));
        assert_eq!(parse_name("KA.HA1.tiff"), Err(SkipReason::MalformedName));
        assert_eq!(parse_name("KAX.HA1.29.tiff"), Err(SkipReason::MalformedName));
        assert_eq!(parse_name("KA.H\u{e9}1.29.tiff"), Err(SkipReason::MalformedName));
        assert_eq!(image_name("KA", "HA", 1, 29), "KA.HA1.29.tiff");
        assert_eq!(parse_name(&image_name("YM", "HA", 2, 53)).map(|p| (p.rep, p.row)), Ok((2, 53)));
    }

    #[test]
    fn ratings_table() {
        let text = "JAFFE ratings\n\n# HAP SAD SUR ANG DIS FEA PIC\n\
                    1 2.87 1.52 2.45 1.65 1.77 1.42 KM-NE1\r\n\
                    53 4.00 1.00 1.00 1.00 1.00 2.00 YN-HA2\n\
                    54 x 1 1 1 1 1 KA-HA1\n53 1 1 1 1 1 1 KA-HA2\n\
                    end of table\n# HAP SAD SUR ANG DIS PIC\n2 1 1 1 1 1 KM-NE2\n";
        let mut skips = crate::Skips::default();
        let table = parse_ratings(text.lines(), &mut skips).expect("table");
        assert_eq!(table.len(), 2);
        assert_eq!(skips.get(SkipReason::MalformedRow), 1);
        assert_eq!(skips.get(SkipReason::DuplicateId), 1);
        let r = &table[&53];
        assert_eq!(r.pic, "YM-HA2", "typo fixed");
        assert_eq!(r.soft_label[0], 0.0, "no neutral column");
        assert!((r.soft_label[1] - 0.4).abs() < 1e-6 && (r.soft_label[4] - 0.2).abs() < 1e-6);
        assert!((r.soft_label.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        let mut skips = crate::Skips::default();
        assert!(
            parse_ratings("# HAP SAD SUR ANG DIS PIC\n2 1 1 1 1 1 KM-NE2\n".lines(), &mut skips).is_none()
        );
        assert_eq!(skips.total(), 0);
    }
}
