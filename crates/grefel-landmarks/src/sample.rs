//! One sample through the landmark stage: given points, or decode → face box → dlib points,
//! with the quality flag. Rows of a shard run in parallel, one rustface detector per worker.

use std::collections::BTreeMap;

use grefel_schema::landmarks_table::{BoxSource, LandmarkRecord, LandmarkSource, Quality};
use grefel_schema::table::SampleRecord;
use rayon::prelude::*;

use crate::boxes::{Detector, FaceModel};
use crate::face::locate;
use crate::intensity::{decode, to_intensity};
use crate::predict::Predictor;
use crate::stage::LandmarkSettings;

/// Why an input row produced no landmark row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// Its image does not decode.
    Undecodable,
    /// It needs the predictor but none was loaded (the stage loads it whenever a row needs it,
    /// so this never counts in practice).
    NoModel,
}

impl SkipReason {
    /// The name counted in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Undecodable => "undecodable",
            SkipReason::NoModel => "no_model",
        }
    }
}

/// What every row of a shard shares.
pub struct Job<'a> {
    /// The run's settings.
    pub settings: &'a LandmarkSettings,
    /// The 68-point predictor, where some row needs it.
    pub predictor: Option<&'a Predictor>,
    /// rustface's model, where some row needs a detected box.
    pub face: Option<&'a FaceModel>,
    /// The source recorded for points the dataset gives.
    pub given: LandmarkSource,
}

/// Processes `records` in parallel; returns the rows (input order) and skips by reason.
pub fn process(job: &Job<'_>, records: &[SampleRecord]) -> (Vec<LandmarkRecord>, BTreeMap<String, u64>) {
    let results: Vec<Result<LandmarkRecord, SkipReason>> = records
        .par_iter()
        .map_init(|| job.face.map(|f| f.detector(&job.settings.boxes)), |det, r| one(job, det.as_mut(), r))
        .collect();
    let mut rows = Vec::with_capacity(results.len());
    let mut skipped = BTreeMap::new();
    for r in results {
        match r {
            Ok(row) => rows.push(row),
            Err(reason) => *skipped.entry(reason.as_str().to_string()).or_default() += 1,
        }
    }
    (rows, skipped)
}

/// A dataset box usable as a dlib rectangle: finite, with positive width and height.
fn usable_box(b: Option<[f32; 4]>) -> Option<[f32; 4]> {
    b.filter(|b| b.iter().all(|v| v.is_finite()) && b[2] > b[0] && b[3] > b[1])
}

fn one(job: &Job<'_>, det: Option<&mut Detector>, r: &SampleRecord) -> Result<LandmarkRecord, SkipReason> {
    let row = |landmarks, bbox, source, box_source, quality, (width, height)| LandmarkRecord {
        sample_id: r.sample_id.clone(),
        dataset: r.dataset.clone(),
        split: r.split,
        width,
        height,
        landmarks,
        bbox,
        source,
        box_source,
        quality,
    };
    let given_box = usable_box(r.bbox);
    if !job.settings.recompute
        && let Some(points) = &r.landmarks
    {
        let (bbox, box_source) = match given_box {
            Some(b) => (b, BoxSource::Dataset),
            None => (points_box(&points[..]), BoxSource::Points),
        };
        return Ok(row(points.clone(), bbox, job.given, box_source, Quality::Ok, (r.width, r.height)));
    }
    let Some(predictor) = job.predictor else { return Err(SkipReason::NoModel) };
    let img = decode(&r.image, &r.sample_id).map_err(|_| SkipReason::Undecodable)?;
    let gray = to_intensity(&img);
    let found = locate(predictor, det, &gray, given_box, job.settings.boxes.inset_ratio);
    let size = gray.dimensions();
    Ok(row(
        found.points,
        found.rect.to_pixel_box(),
        LandmarkSource::Dlib68,
        found.box_source,
        found.quality,
        size,
    ))
}

/// The quality flag of predicted points.
pub fn quality(points: &[[f32; 2]], (width, height): (u32, u32), box_source: BoxSource) -> Quality {
    let (w, h) = (width as f32, height as f32);
    let outside = points.iter().filter(|[x, y]| !(*x >= 0.0 && *y >= 0.0 && *x <= w && *y <= h)).count();
    if outside * 4 > points.len() {
        Quality::OutsideImage
    } else if box_source == BoxSource::Inset {
        Quality::FallbackBox
    } else {
        Quality::Ok
    }
}

/// The bounding box of points.
pub fn points_box(points: &[[f32; 2]]) -> [f32; 4] {
    let init = [f32::INFINITY, f32::INFINITY, f32::NEG_INFINITY, f32::NEG_INFINITY];
    let b = points.iter().fold(init, |[l, t, r, b], [x, y]| [l.min(*x), t.min(*y), r.max(*x), b.max(*y)]);
    if b.iter().all(|v| v.is_finite()) { b } else { [0.0; 4] }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_boxes() {
        let inside = vec![[1.0, 1.0]; 8];
        assert_eq!(quality(&inside, (10, 10), BoxSource::Rustface), Quality::Ok);
        assert_eq!(quality(&inside, (10, 10), BoxSource::Inset), Quality::FallbackBox);
        let mut some_out = inside.clone();
        some_out[0] = [-1.0, 5.0];
        some_out[1] = [5.0, 10.5];
        assert_eq!(quality(&some_out, (10, 10), BoxSource::Dataset), Quality::Ok);
        some_out[2] = [f32::NAN, 5.0];
        assert_eq!(quality(&some_out, (10, 10), BoxSource::Dataset), Quality::OutsideImage);
        assert_eq!(points_box(&[[1.0, 5.0], [3.0, 2.0]]), [1.0, 2.0, 3.0, 5.0]);
        assert_eq!(points_box(&[]), [0.0; 4]);
        assert_eq!(usable_box(Some([5.0, 5.0, 5.0, 9.0])), None);
        assert_eq!(usable_box(Some([5.0, 5.0, f32::NAN, 9.0])), None);
        assert!(usable_box(Some([1.0, 1.0, 5.0, 9.0])).is_some());
    }
}
