//! FER+: the votes of microsoft/FERPlus on the faces of FER2013 (Kaggle `fer2013.csv`), read
//! from either of the two sources the FERPlus repository carries.
//!
//! Sources (the adapter's layout variants):
//! - `label-csv` (the default when the root holds them): the committed per-split files
//!   `data/FER2013Train/label.csv`, `data/FER2013Valid/label.csv`, `data/FER2013Test/label.csv`
//!   (or the same folders at the root) that the official training code reads: one row per image,
//!   `name,"(0, 0, 48, 48)",<ten votes>`, no header. The split is the folder's (Train → train,
//!   Valid → val, Test → test). The image is `<folder>/<name>` when `generate_training_data.py`
//!   has written it, else the FER2013 row that `fer2013new.csv` names it (the last such row, as
//!   the generation script writes duplicates over each other). Ids are `ferplus:<name>`.
//! - `fer2013new`: `fer2013new.csv` joined to `fer2013.csv` by row position (never by `Image
//!   name`, which lags the row index from row 59 on). Columns are found by header name (`Usage`,
//!   `Image name`, the ten vote columns); the first release without `Image name` is read too.
//!   `Usage` comes from the FER+ file (Training → train, PublicTest → val, PrivateTest → test).
//!   A name that occurs more than once becomes one sample, its last row's (the generation script
//!   writes the image of each row under its name, so the last write stays), the others counted as
//!   `duplicate_id`; rows with an empty name (the 173 non-faces) are `ignored_label`. Ids are
//!   `ferplus:<row>`. The two files must have the same number of data rows.
//!
//! Labels follow the official code (`src/ferplus.py`, `_process_data`):
//! - outlier removal: vote counts ≤ 1 become 0;
//! - label ([`majority`]): the largest remaining count wins when it is strictly greater than half
//!   of the remaining total (never on a tie); otherwise, or when the winner is `unknown` or `NF`,
//!   the row is dropped (`ignored_label`). Validation and test always use this label.
//! - soft label ([`official_target`], the official `probability` and `crossentropy` modes): the
//!   largest remaining counts (all ties of a count at once) are kept while they cover less than
//!   75 % of the votes and fewer than three classes are kept; a tie with `unknown`/`NF` stops the
//!   collection; the target is discarded when it covers at most half of the votes, keeps more
//!   than three classes, or peaks at `unknown`/`NF`; otherwise it is normalised over the eight
//!   emotions and stored at canonical ids. `probability` mode samples one class from it per use,
//!   `crossentropy` trains against it (the trainer's `soft_labels`).
//! - A row that does not parse (field count, a vote that is not a non-negative number, an
//!   unknown `Usage`), or whose FER2013 row has no valid 48×48 pixels, is a `malformed_row`.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use grefel_schema::labels::{FERPLUS_VOTES, Label, NUM_CANONICAL};
use grefel_schema::table::Split;

use crate::adapter::{Adapter, Candidate, ImageSource, Scan, ScanContext, is_image_name};
use crate::fer2013::{Fer2013Rows, SIDE, parse_pixels, usage_split};
use crate::source::DatasetRoot;
use crate::text::{Lines, file_name, find_file, header_positions, missing_file, split_csv};
use crate::{IngestError, SkipReason};

/// How the dataset frames its faces (what `predict` cuts from a photo): FER+ relabels FER2013's
/// 48×48 crops.
pub const FRAMING: grefel_schema::FaceFraming = grefel_schema::FaceFraming::PRECROPPED;

/// The FERPlus vote table, `fer2013new.csv`, at the root of a FERPlus checkout.
pub const FER2013NEW_CSV: &str = "fer2013new.csv";
/// Where `fer2013new.csv` is, relative to the root.
pub const FERPLUS_FILES: &[&str] = &[FER2013NEW_CSV];
/// The official per-split folders and their splits.
pub const LABEL_FOLDERS: [(&str, Split); 3] =
    [("FER2013Train", Split::Train), ("FER2013Valid", Split::Val), ("FER2013Test", Split::Test)];
/// The FERPlus checkout's folder that holds the per-split folders, `data/`.
pub const DATA_FOLDER: &str = "data/";
/// The file name of each per-split vote file.
pub const LABEL_CSV: &str = "label.csv";
/// Where the official folders are looked for, relative to the root (the FERPlus checkout's
/// `data/`, or the root itself).
const LABEL_PARENTS: [&str; 2] = [DATA_FOLDER, ""];

/// The official vote file of per-split folder `folder` (`FER2013Train`), relative to the root:
/// `data/<folder>/label.csv`.
pub fn label_csv(folder: &str) -> String {
    label_csv_under(DATA_FOLDER, folder)
}

/// Image `name` (`fer0000008.png`) of per-split folder `folder`, where FERPlus's
/// `generate_training_data.py` writes it, relative to the root: `data/<folder>/<name>`.
pub fn image(folder: &str, name: &str) -> String {
    format!("{DATA_FOLDER}{folder}/{name}")
}

/// `<parent><folder>/label.csv` (`parent` empty or ending in `/`).
fn label_csv_under(parent: &str, folder: &str) -> String {
    format!("{parent}{folder}/{LABEL_CSV}")
}
/// The ten vote columns, in `fer2013new.csv` order (their positions key [`FERPLUS_VOTES`]).
pub const VOTE_COLUMNS: [&str; 10] =
    ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt", "unknown", "NF"];
const EXPECTED: &str = "the FER+ vote table fer2013new.csv (Usage,Image name,neutral,…,NF)";
const EXPECTED_LABELS: &str = "the FERPlus label file <folder>/label.csv (name,\"(0, 0, 48, 48)\",ten votes)";

/// Which FER+ label source to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The committed per-split `label.csv` files the official training reads.
    LabelCsv,
    /// `fer2013new.csv`, joined to `fer2013.csv` by position.
    Fer2013New,
}

impl Source {
    /// Every source, in detection order.
    pub const ALL: [Source; 2] = [Source::LabelCsv, Source::Fer2013New];

    /// The variant name (`label-csv`, `fer2013new`).
    pub fn name(self) -> &'static str {
        match self {
            Source::LabelCsv => "label-csv",
            Source::Fer2013New => "fer2013new",
        }
    }

    fn parse(name: &str) -> Option<Source> {
        Source::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// The FER+ adapter.
#[derive(Debug, Default)]
pub struct FerPlus {
    requested: Option<Source>,
    detected: Mutex<Option<Source>>,
}

impl FerPlus {
    /// The adapter for source `variant` (`None`: `label-csv` when the root holds the official
    /// folders, else `fer2013new`).
    pub fn new(variant: Option<&str>) -> Result<FerPlus, IngestError> {
        let requested = match variant {
            None => None,
            Some(v) => Some(Source::parse(v).ok_or_else(|| IngestError::InvalidConfig {
                field: "variant",
                reason: format!(
                    "FER+ has no label source `{v}`; known: {}",
                    Source::ALL.map(Source::name).join(", ")
                ),
            })?),
        };
        Ok(FerPlus { requested, detected: Mutex::new(None) })
    }

    /// The source to read: the requested one, or `label-csv` when its three files are present.
    pub fn resolve_source(&self, root: &DatasetRoot) -> Source {
        if let Some(s) = self.requested {
            return s;
        }
        let found =
            if label_files(root).iter().all(Option::is_some) { Source::LabelCsv } else { Source::Fer2013New };
        if let Ok(mut detected) = self.detected.lock()
            && detected.replace(found) != Some(found)
        {
            tracing::info!(source = found.name(), "FER+ label source");
        }
        found
    }
}

/// The relative paths of the three official `label.csv` files, where present.
fn label_files(root: &DatasetRoot) -> [Option<String>; 3] {
    LABEL_FOLDERS.map(|(folder, _)| {
        let candidates: Vec<String> = LABEL_PARENTS.iter().map(|p| label_csv_under(p, folder)).collect();
        let refs: Vec<&str> = candidates.iter().map(String::as_str).collect();
        find_file(root, &refs).map(|f| f.rel.clone())
    })
}

/// One parsed row of `fer2013new.csv`.
#[derive(Debug, Clone, PartialEq)]
struct VoteRow {
    split: Split,
    /// The `Image name` (empty for the non-faces without an image; empty in the first release).
    name: String,
    /// `false` for an empty `Image name` (a non-face without an image).
    named: bool,
    votes: [f64; 10],
}

/// Outlier removal (official): vote counts ≤ 1 become 0.
fn without_outliers(votes: &[f64; 10]) -> [f64; 10] {
    votes.map(|v| if v < 1.0 + f64::EPSILON { 0.0 } else { v })
}

/// The official majority rule: the winning vote column (0..10), or `None` when no column holds
/// strictly more than half of the votes left after dropping counts ≤ 1.
pub fn majority(votes: &[f64; 10]) -> Option<usize> {
    let kept = without_outliers(votes);
    let total: f64 = kept.iter().sum();
    let (winner, max) =
        kept.iter().enumerate().fold((0, 0.0), |best, (i, &v)| if v > best.1 { (i, v) } else { best });
    (max > 0.5 * total).then_some(winner)
}

/// The official `probability`/`crossentropy` target over the ten vote columns (see the module
/// documentation), normalised; `None` when the official code marks the row unknown.
pub fn official_target(votes: &[f64; 10]) -> Option<[f64; 10]> {
    let mut raw = without_outliers(votes);
    let total: f64 = raw.iter().sum();
    let mut target = [0f64; 10];
    let (mut covered, mut count, mut valid) = (0.0, 0usize, true);
    while covered < 0.75 * total && count < 3 && valid {
        let max = raw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        for i in 0..10 {
            if raw[i] == max {
                target[i] = max;
                raw[i] = 0.0;
                covered += max;
                count += 1;
                if i >= 8 {
                    valid = false;
                    if target.iter().sum::<f64>() > max {
                        target[i] = 0.0;
                        count -= 1;
                    }
                    break;
                }
            }
        }
    }
    let sum: f64 = target.iter().sum();
    if sum <= 0.5 * total || count > 3 {
        return None;
    }
    let peak = target
        .iter()
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |b, (i, &v)| if v > b.1 { (i, v) } else { b })
        .0;
    (peak < 8).then(|| target.map(|v| v / sum))
}

/// The official soft target at canonical ids (the eight emotions renormalised), or `None`.
pub fn soft_label(votes: &[f64; 10]) -> Option<[f32; NUM_CANONICAL]> {
    let target = official_target(votes)?;
    let emotions: f64 = target[..8].iter().sum();
    let mut out = [0f32; NUM_CANONICAL];
    for (i, &v) in target[..8].iter().enumerate() {
        if let Some(Label::Class(e)) = FERPLUS_VOTES.lookup(&i.to_string()) {
            out[usize::from(e.id())] += (v / emotions) as f32;
        }
    }
    Some(out)
}

/// The label of a vote vector, or the skip it causes.
fn label_of(votes: &[f64; 10]) -> Result<Label, SkipReason> {
    majority(votes)
        .and_then(|w| FERPLUS_VOTES.lookup(&w.to_string()))
        .filter(|l| *l != Label::Ignore)
        .ok_or(SkipReason::IgnoredLabel)
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
        let name = self.name.map(|i| fields[i].trim().to_string()).unwrap_or_default();
        let named = self.name.is_none() || !name.is_empty();
        let mut votes = [0f64; 10];
        for (v, &i) in votes.iter_mut().zip(&self.votes) {
            *v = fields[i].trim().parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0)?;
        }
        Some(VoteRow { split, name, named, votes })
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
        2
    }

    fn expected_root(&self) -> &'static str {
        "a FERPlus checkout (data/FER2013{Train,Valid,Test}/label.csv, fer2013new.csv) with fer2013.csv (Kaggle; at the root or in fer2013/)"
    }

    /// The requested source, or the detected one once a scan has run.
    fn variant(&self) -> Option<String> {
        let detected = || self.detected.lock().ok().and_then(|d| *d);
        self.requested.or_else(detected).map(|s| s.name().to_string())
    }

    fn resolve(&self, root: &DatasetRoot) -> Result<(), IngestError> {
        self.resolve_source(root);
        Ok(())
    }

    fn scan(&self, root: &DatasetRoot, ctx: &ScanContext<'_>) -> Result<Scan, IngestError> {
        let mut scan = match self.resolve_source(root) {
            Source::Fer2013New => scan_fer2013new(root, ctx)?,
            Source::LabelCsv => scan_label_csv(root, ctx)?,
        };
        scan.ignored_files = root.files.iter().filter(|f| !is_image_name(file_name(&f.rel))).count() as u64;
        Ok(scan)
    }
}

/// The `fer2013new` source: see the module documentation.
fn scan_fer2013new(root: &DatasetRoot, ctx: &ScanContext<'_>) -> Result<Scan, IngestError> {
    let (plus_path, votes) = read_votes(root)?;
    let faces = Fer2013Rows::open(root)?;
    let (fer_rel, fer_path) = (faces.rel.clone(), faces.path().to_path_buf());
    // The last row of every name: earlier rows of a name are overwritten by the generation.
    let last: HashMap<&str, usize> = votes
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.as_ref().filter(|v| !v.name.is_empty()).map(|v| (v.name.as_str(), i)))
        .collect();
    let mut scan = Scan::default();
    let mut fer_rows = 0;
    let mut usage_disagrees = 0u64;
    for item in faces {
        let (row, face) = item?;
        fer_rows = row + 1;
        let Some(vote) = votes.get(row) else { continue };
        let kept = vote.as_ref().ok_or(SkipReason::MalformedRow).and_then(|v| {
            if !v.named {
                return Err(SkipReason::IgnoredLabel);
            }
            if !v.name.is_empty() && last.get(v.name.as_str()) != Some(&row) {
                return Err(SkipReason::DuplicateId);
            }
            let label = label_of(&v.votes)?;
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
    same_row_count(root, plus_path, votes.len(), &fer_path, fer_rows)?;
    if usage_disagrees > 0 {
        tracing::warn!(rows = usage_disagrees, "FER+ and FER2013 Usage disagree; FER+ Usage used");
    }
    Ok(scan)
}

/// FER+ rows are joined to FER2013 rows by position: a different row count is fatal.
fn same_row_count(
    root: &DatasetRoot,
    plus_path: std::path::PathBuf,
    plus_rows: usize,
    fer_path: &std::path::Path,
    fer_rows: usize,
) -> Result<(), IngestError> {
    if fer_rows == plus_rows {
        return Ok(());
    }
    Err(IngestError::Malformed {
        dataset: root.dataset.clone(),
        path: plus_path,
        line: 0,
        detail: format!(
            "{plus_rows} FER+ data rows but {} has {fer_rows}; FER+ rows are joined to FER2013 rows by \
             position, so both files must have the same number of rows",
            fer_path.display()
        ),
    })
}

/// One row of an official `label.csv`.
struct LabelRow {
    split: Split,
    folder: String,
    name: String,
    votes: [f64; 10],
}

/// Parses `name,"(l, t, r, b)",v0,…,v9`.
fn parse_label_row(fields: &[String]) -> Option<(String, [f64; 10])> {
    if fields.len() != 12 {
        return None;
    }
    let name = fields[0].trim().to_string();
    if name.is_empty() || !is_image_name(&name) {
        return None;
    }
    let mut votes = [0f64; 10];
    for (v, f) in votes.iter_mut().zip(&fields[2..]) {
        *v = f.trim().parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0)?;
    }
    Some((name, votes))
}

/// The `label-csv` source: see the module documentation.
fn scan_label_csv(root: &DatasetRoot, ctx: &ScanContext<'_>) -> Result<Scan, IngestError> {
    let mut scan = Scan::default();
    let mut rows: Vec<Result<LabelRow, SkipReason>> = Vec::new();
    let mut seen: HashSet<(String, String)> = HashSet::new();
    for (rel, (_, split)) in label_files(root).into_iter().zip(LABEL_FOLDERS) {
        let rel = rel.ok_or_else(|| {
            let first = label_csv_under(
                LABEL_PARENTS[0],
                LABEL_FOLDERS.iter().find(|f| f.1 == split).map_or("", |f| f.0),
            );
            IngestError::MissingFile {
                dataset: root.dataset.clone(),
                path: root.path.join(first),
                expected: EXPECTED_LABELS,
            }
        })?;
        let folder = rel.rsplit_once('/').map_or("", |(f, _)| f).to_string();
        for line in Lines::open(&root.dataset, &root.path.join(&rel), EXPECTED_LABELS)? {
            let (_, line) = line?;
            if line.trim().is_empty() {
                continue;
            }
            let parsed = split_csv(&line).as_deref().and_then(parse_label_row);
            rows.push(match parsed {
                None => Err(SkipReason::MalformedRow),
                Some((name, _)) if !seen.insert((folder.clone(), name.clone())) => {
                    Err(SkipReason::DuplicateId)
                }
                Some((name, votes)) => Ok(LabelRow { split, folder: folder.clone(), name, votes }),
            });
        }
    }
    // Images the generation script has not written come from fer2013.csv through the names of
    // fer2013new.csv (the last row of a name, as the script overwrites).
    let present: HashSet<&str> = root.files.iter().map(|f| f.rel.as_str()).collect();
    let file_of = |r: &LabelRow| format!("{}/{}", r.folder, r.name);
    let needs_pixels =
        rows.iter().flatten().any(|r| label_of(&r.votes).is_ok() && !present.contains(file_of(r).as_str()));
    let mut pixels: HashMap<String, Result<Vec<u8>, SkipReason>> = HashMap::new();
    let mut fer_rel = String::new();
    if needs_pixels && find_file(root, FERPLUS_FILES).is_some() {
        let (plus_path, votes) = read_votes(root)?;
        let row_of: HashMap<usize, &str> = votes
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.as_ref().filter(|v| !v.name.is_empty()).map(|v| (i, v.name.as_str())))
            .collect();
        let faces = Fer2013Rows::open(root)?;
        fer_rel = faces.rel.clone();
        let fer_path = faces.path().to_path_buf();
        let mut fer_rows = 0;
        for item in faces {
            let (row, face) = item?;
            fer_rows = row + 1;
            if let Some(name) = row_of.get(&row) {
                let px = face.ok().and_then(|f| parse_pixels(&f.pixels)).ok_or(SkipReason::MalformedRow);
                pixels.insert((*name).to_string(), px);
            }
        }
        same_row_count(root, plus_path, votes.len(), &fer_path, fer_rows)?;
    }
    for row in rows {
        let kept = row.and_then(|r| {
            let label = label_of(&r.votes)?;
            let file = file_of(&r);
            let image = if present.contains(file.as_str()) {
                (ImageSource::File(file.clone()), file)
            } else {
                match pixels.get(&r.name) {
                    Some(Ok(px)) => (
                        ImageSource::Gray { width: SIDE, height: SIDE, pixels: px.clone() },
                        format!("{fer_rel}#{}", r.name),
                    ),
                    Some(Err(reason)) => return Err(*reason),
                    None => return Err(SkipReason::MissingFile),
                }
            };
            Ok((r, label, image))
        });
        match kept {
            Ok((r, label, (image, source_path))) => scan.candidates.push(Candidate {
                sample_id: format!("{}:{}", ctx.dataset, r.name),
                split: r.split,
                label,
                source_path,
                image,
                subject: None,
                crop: None,
                bbox: None,
                landmarks: None,
                soft_label: soft_label(&r.votes),
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
        assert_eq!(label_of(&v([0, 0, 0, 0, 0, 0, 0, 0, 10, 0])), Err(SkipReason::IgnoredLabel), "unknown");
        assert_eq!(label_of(&v([0, 0, 0, 0, 0, 0, 0, 0, 0, 10])), Err(SkipReason::IgnoredLabel), "NF");
    }

    /// The official `crossentropy`/`probability` targets, rule by rule.
    #[test]
    fn official_soft_targets() {
        let t = |x| official_target(&v(x));
        // Votes ≤ 1 are dropped before anything else: 4 and 2 of the 6 left.
        let got = t([4, 2, 1, 1, 1, 0, 0, 0, 1, 0]).expect("kept");
        assert_eq!(got[..2], [4.0 / 6.0, 2.0 / 6.0]);
        assert!(got[2..].iter().all(|&x| x == 0.0));
        // The largest counts are taken until 75 % is covered: 6 alone is not enough, 6 + 3 is.
        let got = t([6, 3, 0, 0, 0, 0, 0, 0, 0, 1]).expect("kept");
        assert_eq!(got[..2], [6.0 / 9.0, 3.0 / 9.0]);
        // 4 + 3 of 9 cover 75 %: the 2 is not taken.
        let got = t([4, 3, 2, 0, 0, 0, 0, 0, 0, 0]).expect("kept");
        assert_eq!(got[..3], [4.0 / 7.0, 3.0 / 7.0, 0.0]);
        // At most three classes: 6 + 5 + 4 of 24 cover less than 75 %, and the collection stops.
        let got = t([6, 5, 4, 3, 3, 3, 0, 0, 0, 0]).expect("kept");
        assert_eq!(got[..4], [6.0 / 15.0, 5.0 / 15.0, 4.0 / 15.0, 0.0]);
        // Ties are taken together: two 2s after 3 + 3 make four classes, discarded.
        assert_eq!(t([3, 3, 2, 2, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(t([2, 2, 2, 2, 2, 0, 0, 0, 0, 0]), None, "five tied classes");
        // A tie with unknown after an emotion: unknown is not kept, and the emotion alone covers
        // half of the votes: discarded.
        assert_eq!(t([4, 0, 0, 0, 0, 0, 0, 0, 4, 0]), None);
        // Unknown first: the target peaks at unknown: discarded.
        assert_eq!(t([0, 0, 0, 0, 0, 0, 0, 0, 8, 2]), None);
        // A 5/5 tie has no majority but a valid soft target.
        assert_eq!(t([0, 0, 0, 5, 5, 0, 0, 0, 0, 0]).map(|x| (x[3], x[4])), Some((0.5, 0.5)));
        assert_eq!(t([1, 1, 1, 1, 1, 1, 1, 1, 1, 1]), None, "all outliers");
        // At canonical ids: surprise (column 2) is canonical 3, sadness (column 3) canonical 2.
        let s = soft_label(&v([0, 0, 7, 0, 0, 0, 3, 0, 0, 0])).expect("soft");
        assert!((s[3] - 0.7).abs() < 1e-6 && (s[4] - 0.3).abs() < 1e-6, "{s:?}");
        assert_eq!(s.iter().sum::<f32>(), 1.0);
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
        let label = split_csv("fer0000000.png,\"(0, 0, 48, 48)\",4,0,0,1,3,2,0,0,0,0").expect("csv");
        assert_eq!(parse_label_row(&label).map(|(n, v)| (n, v[4])), Some(("fer0000000.png".into(), 3.0)));
        assert!(parse_label_row(&label[..11]).is_none());
        assert!(FerPlus::new(Some("csv")).is_err());
        assert_eq!(FerPlus::new(Some("fer2013new")).expect("ok").variant().as_deref(), Some("fer2013new"));
        assert_eq!(label_csv("FER2013Valid"), "data/FER2013Valid/label.csv");
        assert_eq!(image("FER2013Train", "fer0000008.png"), "data/FER2013Train/fer0000008.png");
    }
}
