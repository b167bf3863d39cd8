//! The adapter contract: an adapter scans a dataset root into candidate samples (labels mapped to
//! the canonical space, splits assigned, skips counted); the shared driver
//! ([`prepare`](mod@crate::prepare)) loads, normalises and writes them.

use grefel_schema::labels::{Label, NUM_CANONICAL};
use grefel_schema::table::{Attributes, NUM_LANDMARKS, Split};

use crate::IngestError;
use crate::skip::Skips;
use crate::source::DatasetRoot;
use crate::split::SplitConfig;

/// Where a candidate's pixels come from.
#[derive(Clone, Debug, PartialEq)]
pub enum ImageSource {
    /// An encoded image file, relative to the root (already checked not to escape it).
    File(String),
    /// Raw 8-bit grey pixels, row-major (FER2013's pixel strings).
    Gray {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
        /// `width * height` values.
        pixels: Vec<u8>,
    },
}

/// One sample found by a scan, not yet decoded.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// The stable sample id.
    pub sample_id: String,
    /// Its split.
    pub split: Split,
    /// Its canonical label.
    pub label: Label,
    /// The `source_path` column.
    pub source_path: String,
    /// The pixels.
    pub image: ImageSource,
    /// The `subject` column.
    pub subject: Option<String>,
    /// Crop `[left, top, width, height]` in source pixels, applied before resizing.
    pub crop: Option<[u32; 4]>,
    /// Face box `[left, top, right, bottom]` in source pixels.
    pub bbox: Option<[f32; 4]>,
    /// 68 landmarks in source pixels.
    pub landmarks: Option<Box<[[f32; 2]; NUM_LANDMARKS]>>,
    /// Distribution over canonical ids.
    pub soft_label: Option<[f32; NUM_CANONICAL]>,
    /// Further annotations; `landmarks5` in source pixels.
    pub attributes: Attributes,
}

/// What a scan found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Candidates, in any order (the driver sorts them by id).
    pub candidates: Vec<Candidate>,
    /// Candidates refused during the scan, by reason.
    pub skips: Skips,
    /// Files that are not samples (`.DS_Store`, read-me and label files).
    pub ignored_files: u64,
}

/// What an adapter gets besides the root.
#[derive(Debug)]
pub struct ScanContext<'a> {
    /// The output dataset name (the `dataset` column and the id prefix).
    pub dataset: &'a str,
    /// The seeded split, for datasets without an official one.
    pub split: &'a SplitConfig,
}

/// A dataset layout reader.
pub trait Adapter: Send + Sync {
    /// The adapter's name (`fergdb`, …).
    fn name(&self) -> &'static str;
    /// Version of the adapter's logic, recorded in the manifest; bumping it rebuilds shards.
    fn version(&self) -> u32;
    /// What the root should contain, for the error when it is missing.
    fn expected_root(&self) -> &'static str;
    /// The layout variant this adapter reads, recorded in the manifest (`None`: single layout).
    fn variant(&self) -> Option<String> {
        None
    }
    /// Settles what the adapter reads from the listed root before the driver hashes the
    /// configuration: an adapter that detects its layout variant records it here, so that
    /// [`Adapter::variant`] (and with it the configuration hash and the manifest) names the layout
    /// actually read. The default does nothing.
    fn resolve(&self, _root: &DatasetRoot) -> Result<(), IngestError> {
        Ok(())
    }
    /// Scans the listed root into candidates.
    fn scan(&self, root: &DatasetRoot, ctx: &ScanContext<'_>) -> Result<Scan, IngestError>;
}

/// Names of the adapters [`adapter_by_name`] knows.
pub const ADAPTERS: &[&str] = &["fergdb", "rafdb", "jaffe", "fer2013", "ferplus", "affectnet", "affwild2"];

/// The adapter called `name`, reading the layout variant `variant` where the dataset exists in
/// several (`None`: the adapter's default, or detection from the files).
pub fn adapter_by_name(name: &str, variant: Option<&str>) -> Result<Box<dyn Adapter>, IngestError> {
    let no_variant = |adapter: Box<dyn Adapter>| match variant {
        None => Ok(adapter),
        Some(v) => Err(IngestError::InvalidConfig {
            field: "variant",
            reason: format!("dataset `{name}` has no layout variants (got `{v}`)"),
        }),
    };
    match name {
        "fergdb" => no_variant(Box::new(crate::fergdb::FergDb)),
        "rafdb" => Ok(Box::new(crate::rafdb::RafDb::new(variant)?)),
        "jaffe" => no_variant(Box::new(crate::jaffe::Jaffe)),
        "fer2013" => no_variant(Box::new(crate::fer2013::Fer2013)),
        "ferplus" => Ok(Box::new(crate::ferplus::FerPlus::new(variant)?)),
        "affectnet" => Ok(Box::new(crate::affectnet::AffectNet::new(variant)?)),
        "affwild2" => no_variant(Box::new(crate::affwild2::AffWild2)),
        _ => Err(IngestError::UnknownDataset { name: name.into(), known: ADAPTERS.join(", ") }),
    }
}

/// How the dataset read by adapter `name` frames its faces (each adapter's `FRAMING`).
pub fn face_framing(name: &str) -> Result<grefel_schema::FaceFraming, IngestError> {
    Ok(match name {
        "fergdb" => crate::fergdb::FRAMING,
        "rafdb" => crate::rafdb::FRAMING,
        "jaffe" => crate::jaffe::FRAMING,
        "fer2013" => crate::fer2013::FRAMING,
        "ferplus" => crate::ferplus::FRAMING,
        "affectnet" => crate::affectnet::FRAMING,
        "affwild2" => crate::affwild2::FRAMING,
        _ => return Err(IngestError::UnknownDataset { name: name.into(), known: ADAPTERS.join(", ") }),
    })
}

/// Whether a file name has an image extension the adapters read (case-insensitive).
pub fn is_image_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"].iter().any(|e| lower.ends_with(e))
}
