//! FER+ (spec §6.2, §6.4): the votes of `fer2013new.csv` (microsoft/FERPlus) on the faces of
//! `fer2013.csv` (Kaggle).
//!
//! Layout: `<root>/fer2013new.csv` and `<root>/fer2013.csv` (or `<root>/fer2013/fer2013.csv`,
//! the Kaggle tarball's folder).
//!
//! - Join: FER+ data row `i` belongs to FER2013 data row `i` (by position; the `Image name` is
//!   never used: it lags the row index from row 59 on and four names occur twice). A different
//!   number of data rows in the two files is fatal. Ids are `ferplus:<row>` and `source_path` is
//!   `<fer2013 csv>#<row>`, so rows that share a name are distinct samples.
//! - Columns are found by header name (`Usage`, `Image name`, the ten vote columns `neutral` …
//!   `NF`); the first release without `Image name` is accepted, and a file without a header is
//!   read in the current column order. `Usage` comes from the FER+ file (Training → train,
//!   PublicTest → val, PrivateTest → test); a disagreement with FER2013's `Usage` is logged.
//! - Label, the official majority rule ([`majority`]): vote counts ≤ 1 become 0; the largest
//!   remaining count wins when it is strictly greater than half of the remaining total (on a tie
//!   there is no such count); otherwise the result is "unknown". Rows whose result is unknown or
//!   not-a-face are dropped as `ignored_label`, and so are rows with an empty `Image name` (the
//!   173 non-faces). The winner maps to a canonical id through [`FERPLUS_VOTES`].
//! - Soft label: the raw votes of the eight emotion columns (before outlier removal, without
//!   `unknown` and `NF`), placed at their canonical ids and divided by their sum.
//! - A FER+ row that does not parse (field count, a vote that is not a non-negative number, an
//!   unknown `Usage`), or whose FER2013 row has no valid 48×48 pixels, is a `malformed_row`.

use grefel_schema::labels::{FERPLUS_VOTES, Label, NUM_CANONICAL};
use grefel_schema::table::Split;

use crate::adapter::{Adapter, Candidate, ImageSource, Scan, ScanContext, is_image_name};
use crate::fer2013::{Fer2013Rows, SIDE, parse_pixels, usage_split};
use crate::source::DatasetRoot;
use crate::text::{Lines, file_name, find_file, header_positions, missing_file, split_csv};
use crate::{IngestError, SkipReason};

/// Where `fer2013new.csv` is, relative to the root.
pub const FERPLUS_FILES: &[&str] = &["fer2013new.csv"];
/// The ten vote columns, in `fer2013new.csv` order (their positions key [`FERPLUS_VOTES`]).
pub const VOTE_COLUMNS: [&str; 10] =
    ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt", "unknown", "NF"];
const EXPECTED: &str = "the FER+ vote table fer2013new.csv (Usage,Image name,neutral,…,NF)";

/// The FER+ adapter.
#[derive(Debug, Clone, Copy)]
pub struct FerPlus;

/// One parsed row of `fer2013new.csv`.
#[derive(Debug, Clone, PartialEq)]
struct VoteRow {
    split: Split,
    /// `false` for an empty `Image name` (a non-face without an image).
    named: bool,
    votes: [f64; 10],
}

/// The official majority rule (spec §6.4): the winning vote column (0..10), or `None` when no
/// column holds strictly more than half of the votes left after dropping counts ≤ 1.
pub fn majority(votes: &[f64; 10]) -> Option<usize> {
    let kept = votes.map(|v| if v <= 1.0 { 0.0 } else { v });
    let total: f64 = kept.iter().sum();
    let (winner, max) =
        kept.iter().enumerate().fold((0, 0.0), |best, (i, &v)| if v > best.1 { (i, v) } else { best });
    (max > 0.5 * total).then_some(winner)
}

/// The raw votes of the eight emotion columns as a distribution over canonical ids (`None` when
/// they sum to 0).
pub fn soft_label(votes: &[f64; 10]) -> Option<[f32; NUM_CANONICAL]> {
    let mut out = [0f32; NUM_CANONICAL];
    let mut total = 0.0;
    for (i, &v) in votes.iter().enumerate() {
        if let Some(Label::Class(e)) = FERPLUS_VOTES.lookup(&i.to_string()) {
            out[usize::from(e.id())] += v as f32;
            total += v;
        }
    }
    if total <= 0.0 {
        return None;
    }
    out.iter_mut().for_each(|p| *p /= total as f32);
    Some(out)
}

/// Column positions of `Usage`, `Image name` (if any) and the ten votes.
struct Layout {
    usage: usize,
    name: Option<usize>,
    votes: [usize; 10],
    width: usize,
}

impl Layout {
    /// The layout a header line names, or the current column order (`None`: the line is data).
    fn sniff(fields: &[String]) -> (Layout, bool) {
        let current = Layout { usage: 0, name: Some(1), votes: std::array::from_fn(|i| i + 2), width: 12 };
        let Some(votes) = header_positions(fields, &VOTE_COLUMNS) else {
            return (current, false);
        };
        let usage = header_positions(fields, &["usage"]).map_or(0, |p| p[0]);
        let name = header_positions(fields, &["image name"]).map(|p| p[0]);
        let votes = std::array::from_fn(|i| votes[i]);
        (Layout { usage, name, votes, width: fields.len() }, true)
    }

    fn parse(&self, fields: &[String]) -> Option<VoteRow> {
        if fields.len() != self.width {
            return None;
        }
        let split = usage_split(&fields[self.usage])?;
        let named = self.name.is_none_or(|i| !fields[i].trim().is_empty());
        let mut votes = [0f64; 10];
        for (v, &i) in votes.iter_mut().zip(&self.votes) {
            *v = fields[i].trim().parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0)?;
        }
        Some(VoteRow { split, named, votes })
    }
}

/// Reads every data row of `fer2013new.csv` (`None`: malformed).
fn read_votes(root: &DatasetRoot) -> Result<(std::path::PathBuf, Vec<Option<VoteRow>>), IngestError> {
    let file = find_file(root, FERPLUS_FILES).ok_or_else(|| missing_file(root, FERPLUS_FILES, EXPECTED))?;
    let path = root.file_path(file);
    let mut layout = None;
    let mut rows = Vec::new();
    for line in Lines::open(&root.dataset, &path, EXPECTED)? {
        let (number, line) = line?;
        if line.trim().is_empty() {
            continue;
        }
        let fields = split_csv(&line);
        if layout.is_none() {
            let first = fields.as_deref().unwrap_or_default();
            let (sniffed, header) = Layout::sniff(first);
            if !header && first.first().is_some_and(|f| f.trim().eq_ignore_ascii_case("usage")) {
                return Err(IngestError::Malformed {
                    dataset: root.dataset.clone(),
                    path,
                    line: number,
                    detail: format!("the header does not name the vote columns {}", VOTE_COLUMNS.join(",")),
                });
            }
            layout = Some(sniffed);
            if header {
                continue;
            }
        }
        let Some(current) = &layout else { continue };
        rows.push(fields.and_then(|f| current.parse(&f)));
    }
    Ok((path, rows))
}

impl Adapter for FerPlus {
    fn name(&self) -> &'static str {
        "ferplus"
    }

    fn version(&self) -> u32 {
        1
    }

    fn expected_root(&self) -> &'static str {
        "a folder with fer2013new.csv (microsoft/FERPlus) and fer2013.csv (Kaggle; beside it or in fer2013/)"
    }

    fn scan(&self, root: &DatasetRoot, ctx: &ScanContext<'_>) -> Result<Scan, IngestError> {
        let (plus_path, votes) = read_votes(root)?;
        let faces = Fer2013Rows::open(root)?;
        let (fer_rel, fer_path) = (faces.rel.clone(), faces.path().to_path_buf());
        let mut scan = Scan {
            ignored_files: root.files.iter().filter(|f| !is_image_name(file_name(&f.rel))).count() as u64,
            ..Scan::default()
        };
        let mut fer_rows = 0;
        let mut usage_disagrees = 0u64;
        for item in faces {
            let (row, face) = item?;
            fer_rows = row + 1;
            let Some(vote) = votes.get(row) else { continue };
            let kept = vote.as_ref().ok_or(SkipReason::MalformedRow).and_then(|v| {
                let winner = majority(&v.votes).filter(|_| v.named);
                let label = winner.and_then(|w| FERPLUS_VOTES.lookup(&w.to_string()));
                let label = label.filter(|l| *l != Label::Ignore).ok_or(SkipReason::IgnoredLabel)?;
                let face = face.map_err(|_| SkipReason::MalformedRow)?;
                let pixels = parse_pixels(&face.pixels).ok_or(SkipReason::MalformedRow)?;
                if usage_split(&face.usage) != Some(v.split) {
                    usage_disagrees += 1;
                }
                Ok((v, label, pixels))
            });
            match kept {
                Ok((v, label, pixels)) => scan.candidates.push(Candidate {
                    sample_id: format!("{}:{row}", ctx.dataset),
                    split: v.split,
                    label,
                    source_path: format!("{fer_rel}#{row}"),
                    image: ImageSource::Gray { width: SIDE, height: SIDE, pixels },
                    subject: None,
                    crop: None,
                    bbox: None,
                    landmarks: None,
                    soft_label: soft_label(&v.votes),
                    attributes: Default::default(),
                }),
                Err(reason) => scan.skips.add(reason),
            }
        }
        if fer_rows != votes.len() {
            return Err(IngestError::Malformed {
                dataset: root.dataset.clone(),
                path: plus_path,
                line: 0,
                detail: format!(
                    "{} FER+ data rows but {} has {fer_rows}; FER+ rows are joined to FER2013 rows by \
                     position, so both files must have the same number of rows",
                    votes.len(),
                    fer_path.display()
                ),
            });
        }
        if usage_disagrees > 0 {
            tracing::warn!(rows = usage_disagrees, "FER+ and FER2013 Usage disagree; FER+ Usage used");
        }
        Ok(scan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(x: [u8; 10]) -> [f64; 10] {
        x.map(f64::from)
    }

    #[test]
    fn majority_rule() {
        assert_eq!(majority(&v([6, 4, 0, 0, 0, 0, 0, 0, 0, 0])), Some(0));
        assert_eq!(majority(&v([5, 5, 0, 0, 0, 0, 0, 0, 0, 0])), None, "tie: not strictly more than half");
        // Outlier removal first: 4 of 6 remaining votes win though 4 of 10 raw votes would not.
        assert_eq!(majority(&v([4, 2, 1, 1, 1, 1, 0, 0, 0, 0])), Some(0));
        assert_eq!(majority(&v([1, 1, 1, 1, 1, 1, 1, 1, 1, 1])), None, "all outliers");
        assert_eq!(majority(&v([0, 0, 0, 0, 0, 0, 0, 0, 10, 0])), Some(8));
        assert_eq!(majority(&v([0, 0, 0, 0, 0, 0, 0, 0, 0, 10])), Some(9));
        assert_eq!(majority(&v([0, 0, 3, 0, 0, 0, 0, 6, 0, 0])), Some(7));
        let s = soft_label(&v([4, 2, 1, 1, 1, 0, 0, 0, 1, 0])).expect("soft");
        assert_eq!(s[0], 4.0 / 9.0, "neutral");
        assert_eq!(s[3], 1.0 / 9.0, "surprise (column 2) at canonical 3");
        assert_eq!(s[2], 1.0 / 9.0, "sadness (column 3) at canonical 2");
        assert_eq!(s[8], 0.0);
        assert_eq!(soft_label(&v([0, 0, 0, 0, 0, 0, 0, 0, 0, 10])), None);
    }

    #[test]
    fn layouts() {
        let header: Vec<String> =
            "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF"
                .split(',')
                .map(String::from)
                .collect();
        let (l, is_header) = Layout::sniff(&header);
        assert!(is_header);
        let row: Vec<String> = "PublicTest,,0,0,0,0,0,0,0,0,0,10".split(',').map(String::from).collect();
        let r = l.parse(&row).expect("row");
        assert_eq!((r.split, r.named, r.votes[9]), (Split::Val, false, 10.0));
        let (old, is_header) =
            Layout::sniff(&header.iter().filter(|h| *h != "Image name").cloned().collect::<Vec<_>>());
        assert!(is_header && old.name.is_none() && old.width == 11);
        let (cur, is_header) = Layout::sniff(&row);
        assert!(!is_header && cur.parse(&row).is_some());
        let bad: Vec<String> = "Training,x,0,0,0,-1,0,0,0,0,0,10".split(',').map(String::from).collect();
        assert!(cur.parse(&bad).is_none());
    }
}
