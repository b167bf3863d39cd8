//! FERG-DB: `<char>/<char>_<expr>/<char>_<expr>_<k>.png`; the label is only in the path.
//!
//! The dataset has no official split: each sample's split is drawn from the configured seed and
//! its id. A root may carry `landmarks_68.csv` (`path,x0,y0,…,x67,y67`, paths relative to the
//! root), as the embedded synthetic dataset does: its points become the `landmarks` column.

use std::collections::HashMap;

use grefel_schema::labels::FERGDB;
use grefel_schema::table::NUM_LANDMARKS;

use crate::adapter::{Adapter, Candidate, ImageSource, Scan, ScanContext, is_image_name};
use crate::source::DatasetRoot;
use crate::{IngestError, SkipReason};

/// How the dataset frames its faces (what `predict` cuts from a photo): FERG-DB's renders are
/// character faces filling the frame.
pub const FRAMING: grefel_schema::FaceFraming = grefel_schema::FaceFraming::PRECROPPED;

/// Name of the optional landmark sidecar at the root.
pub const LANDMARK_SIDECAR: &str = "landmarks_68.csv";

/// Image `k` of `character` (`aia`) showing `expression` (the folder suffix: `joy`, `anger`, …),
/// relative to the root: `<char>/<char>_<expr>/<char>_<expr>_<k>.png`.
pub fn image_path(character: &str, expression: &str, k: u32) -> String {
    format!("{character}/{character}_{expression}/{character}_{expression}_{k}.png")
}

/// The FERG-DB adapter.
#[derive(Debug, Clone, Copy)]
pub struct FergDb;

type Points = Box<[[f32; 2]; NUM_LANDMARKS]>;

impl Adapter for FergDb {
    fn name(&self) -> &'static str {
        "fergdb"
    }

    fn version(&self) -> u32 {
        1
    }

    fn expected_root(&self) -> &'static str {
        "the FERG_DB_256 folder with one folder per character"
    }

    fn scan(&self, root: &DatasetRoot, ctx: &ScanContext<'_>) -> Result<Scan, IngestError> {
        let sidecar = read_sidecar(root)?;
        let mut scan = Scan::default();
        for file in &root.files {
            let name = file.rel.rsplit('/').next().unwrap_or(&file.rel);
            if !is_image_name(name) {
                scan.ignored_files += 1;
                continue;
            }
            if file.escapes_root {
                scan.skips.add(SkipReason::PathEscapesRoot);
                continue;
            }
            let (subject, label) = match parse_path(&file.rel) {
                Ok(v) => v,
                Err(reason) => {
                    scan.skips.add(reason);
                    continue;
                }
            };
            if file.len == 0 {
                scan.skips.add(SkipReason::ZeroByte);
                continue;
            }
            let sample_id = format!("{}:{}", ctx.dataset, file.rel);
            scan.candidates.push(Candidate {
                split: ctx.split.assign(&sample_id),
                sample_id,
                label,
                source_path: file.rel.clone(),
                image: ImageSource::File(file.rel.clone()),
                subject: Some(subject.to_string()),
                crop: None,
                bbox: None,
                landmarks: sidecar.get(&file.rel).cloned(),
                soft_label: None,
                attributes: Default::default(),
            });
        }
        Ok(scan)
    }
}

/// Parses `…/<char>/<char>_<expr>/<char>_<expr>_<k>.<ext>` into the character and the label.
fn parse_path(rel: &str) -> Result<(&str, grefel_schema::Label), SkipReason> {
    let mut parts = rel.rsplit('/');
    let (Some(file), Some(folder), Some(character)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(SkipReason::MalformedName);
    };
    let Some((folder_char, expr)) = folder.split_once('_') else {
        return Err(SkipReason::MalformedName);
    };
    if folder_char != character {
        return Err(SkipReason::MalformedName);
    }
    let label = FERGDB.lookup(expr).ok_or(SkipReason::UnknownLabel)?;
    let stem = file.rsplit_once('.').map_or(file, |(s, _)| s);
    let k = stem.strip_prefix(folder).and_then(|r| r.strip_prefix('_'));
    match k {
        Some(k) if !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()) => Ok((character, label)),
        _ => Err(SkipReason::MalformedName),
    }
}

fn read_sidecar(root: &DatasetRoot) -> Result<HashMap<String, Points>, IngestError> {
    let path = root.path.join(LANDMARK_SIDECAR);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(source) => return Err(IngestError::Io { dataset: root.dataset.clone(), path, source }),
    };
    let malformed = |line: usize, detail: String| IngestError::Malformed {
        dataset: root.dataset.clone(),
        path: path.clone(),
        line,
        detail,
    };
    let mut out = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if i == 0 || line.is_empty() {
            continue; // header
        }
        let mut fields = line.split(',');
        let rel = fields.next().unwrap_or_default().to_string();
        let values: Result<Vec<f32>, _> = fields.map(|v| v.trim().parse::<f32>()).collect();
        let values = values.map_err(|e| malformed(i + 1, format!("bad coordinate: {e}")))?;
        if values.len() != 2 * NUM_LANDMARKS || values.iter().any(|v| !v.is_finite()) {
            return Err(malformed(
                i + 1,
                format!("expected {} finite coordinates, got {}", 2 * NUM_LANDMARKS, values.len()),
            ));
        }
        let mut pts = Box::new([[0f32; 2]; NUM_LANDMARKS]);
        for (p, xy) in pts.iter_mut().zip(values.chunks_exact(2)) {
            *p = [xy[0], xy[1]];
        }
        out.insert(rel, pts);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use grefel_schema::{Expression, Label};

    #[test]
    fn path_rules() {
        assert_eq!(parse_path("aia/aia_joy/aia_joy_10.png"), Ok(("aia", Label::Class(Expression::Happy))));
        assert_eq!(
            parse_path("FERG_DB_256/ray/ray_sadness/ray_sadness_2.PNG"),
            Ok(("ray", Label::Class(Expression::Sad)))
        );
        assert_eq!(parse_path("aia/aia_joyful/aia_joyful_1.png"), Err(SkipReason::UnknownLabel));
        assert_eq!(parse_path("aia/bonnie_joy/bonnie_joy_1.png"), Err(SkipReason::MalformedName));
        assert_eq!(parse_path("aia/aia_joy/aia_joy_x.png"), Err(SkipReason::MalformedName));
        assert_eq!(parse_path("aia/aia_joy/aia_anger_1.png"), Err(SkipReason::MalformedName));
        assert_eq!(parse_path("aia_joy_1.png"), Err(SkipReason::MalformedName));
        assert_eq!(image_path("aia", "joy", 10), "aia/aia_joy/aia_joy_10.png");
        assert_eq!(parse_path(&image_path("ray", "sadness", 2)), Ok(("ray", Label::Class(Expression::Sad))));
    }
}
