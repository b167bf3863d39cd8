//! FER2013 (docs/datasets.md §6.1): `fer2013.csv` with header `emotion,pixels,Usage`, one 48×48 grey face per
//! row as 2,304 space-separated values.
//!
//! - The CSV is looked for at the root and in `fer2013/` (the Kaggle tarball's folder).
//!   Columns are found by header name (trimmed and case-insensitive: leading blanks as in
//!   `icml_face_data.csv`'s header are tolerated); a file without a header is read as
//!   `emotion,pixels,Usage`. Blank lines are not rows.
//! - Rows are numbered from 0 over the non-empty data lines; the number is the sample id
//!   (`fer2013:<row>`) and `source_path` is `<csv path>#<row>`.
//! - `Usage`: `Training` → train, `PublicTest` → val, `PrivateTest` → test.
//! - A row with the wrong number of fields, a pixel count other than 2,304, a pixel value outside
//!   0..=255 or an unknown `Usage` is a `malformed_row`; an `emotion` outside [`FER2013`] an
//!   `unknown_label`. The `pixels` field may be double-quoted.
//! - `ignored_files` counts the listed non-image files (the CSV itself, README, `.bib`, …).
//!
//! [`Fer2013Rows`] is shared with the FER+ adapter, which joins its votes to these rows.

use grefel_schema::labels::FER2013;
use grefel_schema::table::Split;

use crate::adapter::{Adapter, Candidate, ImageSource, Scan, ScanContext, is_image_name};
use crate::source::DatasetRoot;
use crate::text::{Lines, file_name, find_file, header_positions, missing_file, split_csv};
use crate::{IngestError, SkipReason};

/// How the dataset frames its faces (what `predict` cuts from a photo): FER2013's 48×48 faces are
/// registered crops, not rotated.
pub const FRAMING: grefel_schema::FaceFraming = grefel_schema::FaceFraming::PRECROPPED;

/// The Kaggle table's file name, `fer2013.csv` (at the root, as a FERPlus checkout holds it).
pub const FER2013_CSV: &str = "fer2013.csv";
/// The table where the Kaggle tarball puts it, `fer2013/fer2013.csv`.
pub const FER2013_TARBALL_CSV: &str = "fer2013/fer2013.csv";
/// Where `fer2013.csv` may be, relative to the root.
pub const FER2013_FILES: &[&str] = &[FER2013_CSV, FER2013_TARBALL_CSV];
/// What `fer2013.csv` is, for the missing-file error.
pub const FER2013_EXPECTED: &str = "the Kaggle FER2013 table fer2013.csv (emotion,pixels,Usage)";
/// Side of a FER2013 face in pixels.
pub const SIDE: u32 = 48;

/// The FER2013 adapter.
#[derive(Debug, Clone, Copy)]
pub struct Fer2013;

/// The split of a `Usage` value (`Training`, `PublicTest`, `PrivateTest`; case-insensitive).
pub fn usage_split(usage: &str) -> Option<Split> {
    match usage.trim().to_ascii_lowercase().as_str() {
        "training" => Some(Split::Train),
        "publictest" => Some(Split::Val),
        "privatetest" => Some(Split::Test),
        _ => None,
    }
}

/// Parses a pixel string: exactly 48×48 whitespace-separated values in 0..=255.
pub fn parse_pixels(text: &str) -> Option<Vec<u8>> {
    let n = (SIDE * SIDE) as usize;
    let mut out = Vec::with_capacity(n);
    for v in text.split_ascii_whitespace() {
        if out.len() == n {
            return None;
        }
        out.push(v.parse::<u8>().ok()?);
    }
    (out.len() == n).then_some(out)
}

/// One data row of `fer2013.csv`, fields not yet interpreted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fer2013Row {
    /// The `emotion` field.
    pub emotion: String,
    /// The `pixels` field.
    pub pixels: String,
    /// The `Usage` field.
    pub usage: String,
}

/// The data rows of `fer2013.csv`, streamed: `(row, fields or malformed_row)`.
pub struct Fer2013Rows {
    lines: Lines,
    /// Positions of emotion, pixels, Usage.
    columns: [usize; 3],
    /// A first line that turned out to be data, not a header.
    pending: Option<String>,
    row: usize,
    /// The CSV, relative to the root.
    pub rel: String,
}

impl Fer2013Rows {
    /// Opens the root's `fer2013.csv` (see [`FER2013_FILES`]) and reads its header.
    pub fn open(root: &DatasetRoot) -> Result<Fer2013Rows, IngestError> {
        let file = find_file(root, FER2013_FILES)
            .ok_or_else(|| missing_file(root, FER2013_FILES, FER2013_EXPECTED))?;
        let mut lines = Lines::open(&root.dataset, &root.file_path(file), FER2013_EXPECTED)?;
        let mut pending = None;
        let mut columns = [0, 1, 2];
        for line in lines.by_ref() {
            let (_, line) = line?;
            if line.trim().is_empty() {
                continue;
            }
            match split_csv(&line).and_then(|f| header_positions(&f, &["emotion", "pixels", "usage"])) {
                Some(pos) => columns = [pos[0], pos[1], pos[2]],
                None => pending = Some(line),
            }
            break;
        }
        Ok(Fer2013Rows { lines, columns, pending, row: 0, rel: file.rel.clone() })
    }

    /// The CSV's absolute path.
    pub fn path(&self) -> &std::path::Path {
        self.lines.path()
    }

    fn parse(&self, line: &str) -> Result<Fer2013Row, SkipReason> {
        let fields = split_csv(line).ok_or(SkipReason::MalformedRow)?;
        if fields.len() != 3 {
            return Err(SkipReason::MalformedRow);
        }
        let [e, p, u] = self.columns.map(|i| fields.get(i).cloned().unwrap_or_default());
        Ok(Fer2013Row { emotion: e, pixels: p, usage: u })
    }
}

impl Iterator for Fer2013Rows {
    type Item = Result<(usize, Result<Fer2013Row, SkipReason>), IngestError>;

    fn next(&mut self) -> Option<Self::Item> {
        let line = match self.pending.take() {
            Some(line) => line,
            None => loop {
                match self.lines.next()? {
                    Ok((_, line)) if line.trim().is_empty() => continue,
                    Ok((_, line)) => break line,
                    Err(e) => return Some(Err(e)),
                }
            },
        };
        let row = self.row;
        self.row += 1;
        Some(Ok((row, self.parse(&line))))
    }
}

impl Adapter for Fer2013 {
    fn name(&self) -> &'static str {
        "fer2013"
    }

    fn version(&self) -> u32 {
        1
    }

    fn expected_root(&self) -> &'static str {
        "the folder holding fer2013.csv (or fer2013/fer2013.csv) from the Kaggle download"
    }

    fn scan(&self, root: &DatasetRoot, ctx: &ScanContext<'_>) -> Result<Scan, IngestError> {
        let mut scan = Scan {
            ignored_files: root.files.iter().filter(|f| !is_image_name(file_name(&f.rel))).count() as u64,
            ..Scan::default()
        };
        let rows = Fer2013Rows::open(root)?;
        let rel = rows.rel.clone();
        for item in rows {
            let (row, fields) = item?;
            let sample = fields.and_then(|f| {
                let split = usage_split(&f.usage).ok_or(SkipReason::MalformedRow)?;
                let pixels = parse_pixels(&f.pixels).ok_or(SkipReason::MalformedRow)?;
                let label = FER2013.lookup(&f.emotion).ok_or(SkipReason::UnknownLabel)?;
                Ok((split, pixels, label))
            });
            match sample {
                Ok((split, pixels, label)) => scan.candidates.push(Candidate {
                    sample_id: format!("{}:{row}", ctx.dataset),
                    split,
                    label,
                    source_path: format!("{rel}#{row}"),
                    image: ImageSource::Gray { width: SIDE, height: SIDE, pixels },
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixels_and_usage() {
        let ok = vec!["7"; 2304].join(" ");
        assert_eq!(parse_pixels(&ok).map(|p| p.len()), Some(2304));
        assert_eq!(parse_pixels(&vec!["7"; 2303].join(" ")), None);
        assert_eq!(parse_pixels(&vec!["7"; 2305].join(" ")), None);
        assert_eq!(parse_pixels(&ok.replacen('7', "256", 1)), None);
        assert_eq!(parse_pixels(&ok.replacen('7', "-1", 1)), None);
        assert_eq!(usage_split("PublicTest"), Some(Split::Val));
        assert_eq!(usage_split(" PrivateTest\r"), Some(Split::Test));
        assert_eq!(usage_split("Training"), Some(Split::Train));
        assert_eq!(usage_split("Test"), None);
    }
}
