//! AffectNet, in the three owner-derived layouts (docs/datasets.md §1.1–1.3), one variant each:
//!
//! - `csv`: the original release, `Manually_Annotated_file_lists/{training,validation}.csv` with
//!   hash-named images under `Manually_Annotated_Images/` ([`csv`](mod@csv));
//! - `npy`: the later release, `train_set/` and `val_set/` (or `valid_set/`) with `images/` and
//!   per-image `annotations/<id>_{exp,val,aro,lnd}.npy` ([`npy`]);
//! - `folders`: folder-per-class redistributions, `<split>/<0..7>/<image>` ([`folders`]).
//!
//! Labels go through [`grefel_schema::labels::AFFECTNET`] (8 None → other; 9 Uncertain and
//! 10 Non-Face are counted `ignored_label` skips). Training data goes to `train`, the official
//! validation set to `val`. Without `--variant`, the layout is detected from the files present.

pub mod csv;
pub mod folders;
pub mod npy;
pub mod npy_format;

use std::sync::Mutex;

use grefel_schema::Label;

use crate::adapter::{Adapter, Scan, ScanContext, is_image_name};
use crate::source::DatasetRoot;
use crate::{IngestError, SkipReason};

/// How the dataset frames its faces (what `predict` cuts from a photo): AffectNet's images are cut
/// to the face box (the CSV layout's `face_*` columns; the other layouts ship those crops).
pub const FRAMING: grefel_schema::FaceFraming = grefel_schema::FaceFraming::FACE_BOX;

/// What an AffectNet root should contain (for the missing-root and detection errors).
const EXPECTED: &str = "an AffectNet release: Manually_Annotated_file_lists/{training,validation}.csv with \
     Manually_Annotated_Images/ (csv), train_set/ and val_set/ with images/ and annotations/<id>_exp.npy \
     (npy), or train/ and val/ with class folders 0..7 (folders)";

/// An AffectNet layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// The original CSV release (docs/datasets.md §1.1).
    Csv,
    /// The `.npy` annotation release (docs/datasets.md §1.2).
    Npy,
    /// Folder-per-class redistributions (docs/datasets.md §1.3).
    Folders,
}

impl Variant {
    /// Every variant, in detection order.
    pub const ALL: [Variant; 3] = [Variant::Csv, Variant::Npy, Variant::Folders];

    /// The name used by `--variant` and recorded in the manifest.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Csv => "csv",
            Variant::Npy => "npy",
            Variant::Folders => "folders",
        }
    }

    /// The variant called `name`.
    pub fn parse(name: &str) -> Option<Variant> {
        Variant::ALL.into_iter().find(|v| v.name() == name)
    }

    /// Whether the listed root looks like this layout.
    fn present(self, root: &DatasetRoot) -> bool {
        match self {
            Variant::Csv => csv::label_file(root, csv::TRAINING).is_some(),
            Variant::Npy => root.files.iter().any(|f| npy::parse_annotation(&f.rel).is_some()),
            Variant::Folders => root.files.iter().any(|f| folders::parse_path(&f.rel).is_ok()),
        }
    }
}

/// The AffectNet adapter.
#[derive(Debug, Default)]
pub struct AffectNet {
    requested: Option<Variant>,
    /// The variant the last scan detected (when none was requested).
    detected: Mutex<Option<Variant>>,
}

impl AffectNet {
    /// The adapter for layout `variant` (`None`: detected from the files at scan time).
    pub fn new(variant: Option<&str>) -> Result<AffectNet, IngestError> {
        let requested = match variant {
            None => None,
            Some(v) => Some(Variant::parse(v).ok_or_else(|| IngestError::InvalidConfig {
                field: "variant",
                reason: format!(
                    "AffectNet has no layout variant `{v}`; known: {}",
                    Variant::ALL.map(Variant::name).join(", ")
                ),
            })?),
        };
        Ok(AffectNet { requested, detected: Mutex::new(None) })
    }

    /// The layout to read: the requested one, or the first whose files are present.
    pub fn resolve_variant(&self, root: &DatasetRoot) -> Result<Variant, IngestError> {
        if let Some(v) = self.requested {
            return Ok(v);
        }
        let found =
            Variant::ALL.into_iter().find(|v| v.present(root)).ok_or_else(|| IngestError::MissingFile {
                dataset: root.dataset.clone(),
                path: root.given.clone(),
                expected: EXPECTED,
            })?;
        if let Ok(mut detected) = self.detected.lock()
            && detected.replace(found) != Some(found)
        {
            tracing::info!(variant = found.name(), "detected the AffectNet layout");
        }
        Ok(found)
    }
}

impl Adapter for AffectNet {
    fn name(&self) -> &'static str {
        "affectnet"
    }

    fn version(&self) -> u32 {
        1
    }

    fn expected_root(&self) -> &'static str {
        EXPECTED
    }

    /// The requested variant, or the detected one once a scan has run.
    fn variant(&self) -> Option<String> {
        let detected = || self.detected.lock().ok().and_then(|d| *d);
        self.requested.or_else(detected).map(|v| v.name().to_string())
    }

    /// Detects the layout when none was requested.
    fn resolve(&self, root: &DatasetRoot) -> Result<(), IngestError> {
        self.resolve_variant(root).map(|_| ())
    }

    fn scan(&self, root: &DatasetRoot, ctx: &ScanContext<'_>) -> Result<Scan, IngestError> {
        let mut scan = match self.resolve_variant(root)? {
            Variant::Csv => csv::scan(root, ctx)?,
            Variant::Npy => npy::scan(root, ctx)?,
            Variant::Folders => folders::scan(root, ctx)?,
        };
        scan.ignored_files = root.files.iter().filter(|f| !is_image_name(file_name(&f.rel))).count() as u64;
        Ok(scan)
    }
}

/// The last component of a `/`-separated path.
fn file_name(rel: &str) -> &str {
    rel.rsplit('/').next().unwrap_or(rel)
}

/// Maps a native expression token to a written label, or the skip it causes.
fn map_label(token: &str) -> Result<Label, SkipReason> {
    match grefel_schema::labels::AFFECTNET.lookup(token) {
        Some(Label::Ignore) => Err(SkipReason::IgnoredLabel),
        Some(l) => Ok(l),
        None => Err(SkipReason::UnknownLabel),
    }
}

/// Valence or arousal: kept when in [-1, 1]; AffectNet writes -2 where it has none.
fn affect_value(v: Option<f32>) -> Option<f32> {
    v.filter(|v| (-1.0..=1.0).contains(v))
}

/// The error for a required file that is missing.
fn missing(root: &DatasetRoot, rel: &str, expected: &'static str) -> IngestError {
    IngestError::MissingFile { dataset: root.dataset.clone(), path: root.path.join(rel), expected }
}

#[cfg(test)]
mod tests {
    use super::*;
    use grefel_schema::Expression;

    #[test]
    fn variants_and_labels() {
        for v in Variant::ALL {
            assert_eq!(Variant::parse(v.name()), Some(v));
        }
        let err = AffectNet::new(Some("yolo")).expect_err("unknown variant");
        assert!(err.to_string().contains("yolo") && err.to_string().contains("csv, npy, folders"), "{err}");
        assert_eq!(AffectNet::new(Some("npy")).expect("npy").variant().as_deref(), Some("npy"));
        assert_eq!(AffectNet::new(None).expect("auto").variant(), None);
        assert_eq!(map_label("8"), Ok(Label::Class(Expression::Other)));
        assert_eq!(map_label(" 7\r"), Ok(Label::Class(Expression::Contempt)));
        assert_eq!(map_label("9"), Err(SkipReason::IgnoredLabel));
        assert_eq!(map_label("10"), Err(SkipReason::IgnoredLabel));
        assert_eq!(map_label("11"), Err(SkipReason::UnknownLabel));
        assert_eq!(affect_value(Some(-2.0)), None);
        assert_eq!(affect_value(Some(-0.5)), Some(-0.5));
    }
}
