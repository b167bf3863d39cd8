//! Batching: samples rendered in parallel (rayon; each sample writes its own slice, so the bytes
//! do not depend on scheduling) and a prefetch thread that keeps a bounded queue of ready
//! batches ahead of the device.

use std::sync::mpsc::{Receiver, sync_channel};
use std::thread::Scope;

use grefel_ingest::pillow::pillow_bilinear;
use grefel_model::config::EvalResize;
use grefel_schema::table::NUM_LANDMARKS;
use rayon::prelude::*;

use crate::TrainError;
use crate::augment::{AugmentConfig, RgbView, render, sample_rng};
use crate::data::SplitData;

/// One batch in host memory, ready to become tensors.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    /// Indices of the samples in their split.
    pub indices: Vec<usize>,
    /// `B·3·S·S` normalised pixels (NCHW).
    pub images: Vec<f32>,
    /// `B·68·2` landmarks in `[0, 1]` of the input, when the model needs them.
    pub landmarks: Option<Vec<f32>>,
    /// Class indices.
    pub labels: Vec<i64>,
    /// `B·C` soft targets (soft-label training: each sample's distribution, one-hot where it has
    /// none); `None` otherwise.
    pub targets: Option<Vec<f32>>,
}

impl Batch {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }
}

/// How a split's samples become batches.
#[derive(Clone, Copy, Debug)]
pub struct BatchSpec<'a> {
    /// The split.
    pub split: &'a SplitData,
    /// Model input side S.
    pub size: usize,
    /// Whether to emit landmarks.
    pub landmarks: bool,
    /// Training augmentation `(config, seed, epoch)`; `None` renders for evaluation.
    pub augment: Option<(&'a AugmentConfig, u64, usize)>,
    /// How evaluation resizes (the model's [`EvalResize`]).
    pub eval_resize: EvalResize,
}

impl BatchSpec<'_> {
    /// Renders the samples `indices` of the split.
    pub fn build(&self, indices: &[usize]) -> Result<Batch, TrainError> {
        let s = self.size;
        let plane = 3 * s * s;
        let mut images = vec![0f32; indices.len() * plane];
        let mut landmarks = vec![0f32; if self.landmarks { indices.len() * NUM_LANDMARKS * 2 } else { 0 }];
        let lm_chunk = if self.landmarks { NUM_LANDMARKS * 2 } else { 1 };
        let mut lm_slices: Vec<Option<&mut [f32]>> = if self.landmarks {
            landmarks.chunks_exact_mut(lm_chunk).map(Some).collect()
        } else {
            indices.iter().map(|_| None).collect()
        };
        let none = AugmentConfig::none();
        images
            .par_chunks_exact_mut(plane)
            .zip(lm_slices.par_iter_mut())
            .zip(indices.par_iter())
            .try_for_each(|((out, lm_out), &i)| {
                let sample = &self.split.samples[i];
                self.split.with_image(i, |img| {
                    let lm = sample.landmarks.as_deref();
                    match self.augment {
                        Some((cfg, seed, epoch)) => {
                            let mut rng = sample_rng(seed, epoch, i);
                            render(img, lm, s, cfg, Some(&mut rng), out, lm_out.as_deref_mut());
                        }
                        None if self.eval_resize == EvalResize::Pillow
                            && (img.width, img.height) != (s, s) =>
                        {
                            // Pillow's 8-bit resize first; the render is then an identity resize.
                            let pixels = pillow_bilinear(img.pixels, img.width, img.height, s, s);
                            let sized = RgbView { width: s, height: s, pixels: &pixels };
                            let scaled = lm.map(|points| {
                                let (fx, fy) = (s as f32 / img.width as f32, s as f32 / img.height as f32);
                                Box::new(points.map(|[x, y]| [x * fx, y * fy]))
                            });
                            render(sized, scaled.as_deref(), s, &none, None, out, lm_out.as_deref_mut())
                        }
                        None => render(img, lm, s, &none, None, out, lm_out.as_deref_mut()),
                    }
                })
            })?;
        drop(lm_slices);
        let labels = indices.iter().map(|&i| self.split.samples[i].label as i64).collect();
        let classes = indices.iter().find_map(|&i| self.split.samples[i].soft.as_ref().map(Vec::len));
        let targets = match (self.augment, classes) {
            (Some(_), Some(c)) => Some(
                indices
                    .iter()
                    .flat_map(|&i| {
                        let s = &self.split.samples[i];
                        s.soft
                            .clone()
                            .unwrap_or_else(|| (0..c).map(|k| f32::from(u8::from(k == s.label))).collect())
                    })
                    .collect(),
            ),
            _ => None,
        };
        Ok(Batch {
            indices: indices.to_vec(),
            images,
            landmarks: self.landmarks.then_some(landmarks),
            labels,
            targets,
        })
    }
}

/// Cuts `order` into batches of `batch_size`; a trailing batch smaller than `min_last` is
/// dropped (training drops a single leftover sample: batch norm needs two).
pub fn chunk(order: &[usize], batch_size: usize, min_last: usize) -> Vec<Vec<usize>> {
    order.chunks(batch_size.max(1)).filter(|c| c.len() >= min_last.max(1)).map(<[usize]>::to_vec).collect()
}

/// Starts a thread in `scope` that renders `batches` in order and queues up to `depth` of them.
/// The thread stops early when the receiver is dropped.
pub fn prefetch<'scope, 'env: 'scope>(
    scope: &'scope Scope<'scope, 'env>,
    spec: BatchSpec<'env>,
    batches: Vec<Vec<usize>>,
    depth: usize,
) -> Receiver<Result<Batch, TrainError>> {
    let (tx, rx) = sync_channel(depth.max(1));
    scope.spawn(move || {
        for indices in batches {
            let batch = spec.build(&indices);
            let failed = batch.is_err();
            if tx.send(batch).is_err() || failed {
                break;
            }
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{ImageStore, Sample};

    fn split(n: usize) -> SplitData {
        let samples = (0..n)
            .map(|i| Sample {
                id: format!("s{i}"),
                label: i % 3,
                clean_label: i % 3,
                landmarks: Some(Box::new([[i as f32, 2.0]; NUM_LANDMARKS])),
                landmark_quality: None,
                soft: (i == 1).then(|| vec![0.25, 0.75, 0.0]),
                groups: Default::default(),
            })
            .collect();
        let images = (0..n).map(|i| (8, 8, vec![(i * 10) as u8; 8 * 8 * 3])).collect();
        SplitData { samples, images: ImageStore::Decoded(images) }
    }

    #[test]
    fn batches_are_complete_ordered_and_deterministic() {
        let data = split(10);
        let cfg = AugmentConfig::default();
        let spec = BatchSpec {
            split: &data,
            size: 8,
            landmarks: true,
            augment: Some((&cfg, 3, 1)),
            eval_resize: EvalResize::Float,
        };
        let batches = chunk(&[9, 2, 4, 0, 1, 3, 5, 6, 7, 8], 4, 2);
        assert_eq!(batches.len(), 3, "a trailing pair is kept with min_last = 2");
        let batches = chunk(&[9, 2, 4, 0, 1, 3, 5, 6, 7], 4, 2);
        assert_eq!(batches.len(), 2, "a single leftover sample is dropped");
        let direct: Vec<Batch> = batches.iter().map(|b| spec.build(b).expect("build")).collect();
        let queued: Vec<Batch> = std::thread::scope(|s| {
            prefetch(s, spec, batches.clone(), 1).into_iter().collect::<Result<_, _>>().expect("prefetch")
        });
        assert_eq!(direct, queued, "prefetching does not change a byte");
        assert_eq!(direct[0].labels, vec![0, 2, 1, 0]);
        assert_eq!(direct[0].images.len(), 4 * 3 * 64);
        assert_eq!(direct[0].landmarks.as_ref().map(Vec::len), Some(4 * 136));
        // Sample 1's soft target, one-hot labels for the others (indices 9, 2, 4, 0).
        assert_eq!(direct[0].targets, None, "no sample of the first batch has a soft target");
        let soft = spec.build(&[1, 2]).expect("soft").targets.expect("targets");
        assert_eq!(soft, [0.25, 0.75, 0.0, 0.0, 0.0, 1.0]);
        let eval = BatchSpec { augment: None, landmarks: false, ..spec };
        let b = eval.build(&[1]).expect("eval");
        assert!(b.landmarks.is_none());
        let want = (10.0 / 255.0 - crate::augment::IMAGENET_MEAN[0]) / crate::augment::IMAGENET_STD[0];
        assert!((b.images[0] - want).abs() < 1e-5);
    }
}
