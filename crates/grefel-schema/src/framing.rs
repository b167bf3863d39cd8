//! How a dataset frames its faces: the crop `predict` cuts around a face found in a photo so
//! that the model sees faces framed as in the dataset it was trained on.
//!
//! Every dataset grefel reads ships face crops (or, for AffectNet's CSV layout, a face box the
//! adapter crops to). Their framing is described by two numbers relative to the dlib-style face
//! box of the 68-point predictor:
//! - `box_scale`: the crop's side over the face box's side. Pre-cropped datasets use the
//!   landmark stage's own assumption for them (the face box is the crop's central part, side /
//!   1.25: `boxes.inset_ratio`); AffectNet's crop *is* its face box (1.0).
//! - `level_eyes`: whether the dataset's crops are rotated so the eyes are level (the datasets
//!   distributed as "aligned": RAF-DB's `aligned` images, Aff-Wild2's `cropped_aligned` frames).

use serde::{Deserialize, Serialize};

/// The framing of a dataset's face crops ([module docs](self)).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaceFraming {
    /// Side of the square crop over the side of the face box (at least 1).
    pub box_scale: f64,
    /// Rotate the crop so that the line through the two eye centres is horizontal.
    pub level_eyes: bool,
}

impl FaceFraming {
    /// A pre-cropped dataset: the face box is the central `1 / 1.25` of the crop.
    pub const PRECROPPED: FaceFraming = FaceFraming { box_scale: 1.25, level_eyes: false };
    /// A pre-cropped and eye-aligned dataset.
    pub const ALIGNED: FaceFraming = FaceFraming { box_scale: 1.25, level_eyes: true };
    /// A dataset whose crop is the face box itself.
    pub const FACE_BOX: FaceFraming = FaceFraming { box_scale: 1.0, level_eyes: false };
}
