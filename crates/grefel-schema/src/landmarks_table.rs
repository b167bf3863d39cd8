//! The `landmarks` table: one row per sample of a prepared dataset, keyed by `sample_id`, with 68
//! points in pixels of the stored image, the face box, and where both came from.
//!
//! Readable definition: `data-schemas/landmarks.toml` (a test keeps the two in agreement).
//!
//! Coordinates use the `samples` convention: pixel `(i, j)` covers `[i, i+1) x [j, j+1)`, so
//! its centre is `(i + 0.5, j + 0.5)`. A dlib point `p` (a pixel index) is `p + 0.5` here, and a
//! dlib rectangle `(l, t, r, b)` (inclusive corners) is stored as `[l+0.5, t+0.5, r+0.5, b+0.5]`:
//! the centres of its corner pixels, so the box's width is dlib's `r - l`.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema};

use crate::table::{META_SCHEMA_KEY, NUM_LANDMARKS, Split};

/// Version of the `landmarks` table schema; bump on any column change.
pub const LANDMARKS_SCHEMA_VERSION: u32 = 1;
/// Name of the `landmarks` table.
pub const LANDMARKS_TABLE: &str = "landmarks";

macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Parses a stored name.
            pub fn parse(s: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named_enum! {
    /// Where a row's 68 points come from.
    LandmarkSource {
        /// Exact points of a generated face (the synthetic dataset).
        GroundTruth => "ground_truth",
        /// The dataset's own annotation (AffectNet's 68 points).
        Dataset => "dataset",
        /// dlib's 68-point `shape_predictor` (the pure-Rust port), float output.
        Dlib68 => "dlib68",
    }
}

named_enum! {
    /// Where a row's face box comes from.
    BoxSource {
        /// The dataset's face box (the sample's `bbox` column).
        Dataset => "dataset",
        /// rustface (SeetaFace) on the image upscaled to at least 96 px, mapped to a dlib-HOG-like
        /// box.
        Rustface => "rustface",
        /// The fixed inset box (image side / 1.25, centred): no detector fired.
        Inset => "inset",
        /// The bounding box of given points (ground-truth or dataset points, no box used).
        Points => "points",
    }
}

named_enum! {
    /// A coarse quality flag of a row's points.
    Quality {
        /// Nothing suspicious.
        Ok => "ok",
        /// Predicted on the fixed inset box because no face was detected: treat with care.
        FallbackBox => "fallback_box",
        /// More than a quarter of the points lie outside the image.
        OutsideImage => "outside_image",
    }
}

/// One row of the `landmarks` table.
#[derive(Clone, Debug, PartialEq)]
pub struct LandmarkRecord {
    /// The sample's id (the key joining to the `samples` table).
    pub sample_id: String,
    /// Dataset name.
    pub dataset: String,
    /// The sample's split.
    pub split: Split,
    /// Width of the stored image the coordinates refer to.
    pub width: u32,
    /// Height of the stored image the coordinates refer to.
    pub height: u32,
    /// 68 points `(x, y)` in pixels of the stored image, iBUG order.
    pub landmarks: Box<[[f32; 2]; NUM_LANDMARKS]>,
    /// Face box `[left, top, right, bottom]` in pixels of the stored image.
    pub bbox: [f32; 4],
    /// Where the points come from.
    pub source: LandmarkSource,
    /// Where the box comes from.
    pub box_source: BoxSource,
    /// Quality flag.
    pub quality: Quality,
}

fn fixed_f32(len: i32) -> DataType {
    DataType::FixedSizeList(Arc::new(Field::new("item", DataType::Float32, false)), len)
}

/// The Arrow schema of the `landmarks` table (see `data-schemas/landmarks.toml`).
pub fn landmarks_schema() -> Schema {
    let fields = vec![
        Field::new("sample_id", DataType::Utf8, false),
        Field::new("dataset", DataType::Utf8, false),
        Field::new("split", DataType::Utf8, false),
        Field::new("width", DataType::Int32, false),
        Field::new("height", DataType::Int32, false),
        Field::new("landmarks", fixed_f32(2 * NUM_LANDMARKS as i32), false),
        Field::new("bbox", fixed_f32(4), false),
        Field::new("source", DataType::Utf8, false),
        Field::new("box_source", DataType::Utf8, false),
        Field::new("quality", DataType::Utf8, false),
    ];
    Schema::new(fields).with_metadata([(
        META_SCHEMA_KEY.to_string(),
        format!("{LANDMARKS_TABLE}/{LANDMARKS_SCHEMA_VERSION}"),
    )])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in LandmarkSource::ALL {
            assert_eq!(LandmarkSource::parse(s.as_str()), Some(*s));
        }
        for s in BoxSource::ALL {
            assert_eq!(BoxSource::parse(s.as_str()), Some(*s));
        }
        for s in Quality::ALL {
            assert_eq!(Quality::parse(&s.to_string()), Some(*s));
        }
        assert_eq!(LandmarkSource::parse("dlib"), None);
        assert_eq!(landmarks_schema().fields().len(), 10);
    }
}
