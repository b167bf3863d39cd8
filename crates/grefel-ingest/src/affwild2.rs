//! Aff-Wild2, ABAW expression (EXPR) task (docs/datasets.md §2).
//!
//! - Annotations: one `<video>.txt` per video in `Train_Set/` (or `Training_Set/`, → train) and
//!   `Validation_Set/` (→ val) under a folder whose name contains `EXPR`
//!   (`EXPR_Classification_Challenge`, `EXPR_Recognition_Challenge`, `EXPR_Set`, at any depth, so
//!   the release-dependent annotation roots all work; `VA_Set`/`AU_Set` are not read). There are
//!   no public test labels.
//! - A header line of class names, then one integer per video frame: data line k is frame
//!   `%05d.jpg` number k of the video's crop folder. `-1` lines are `ignored_label` skips; 7 is
//!   `other` (never contempt, [`grefel_schema::labels::AFFWILD2`]).
//! - Frames: `cropped_aligned*/<video>/<frame>.jpg`; every `cropped_aligned*` folder is merged. A
//!   frame found in several is taken from the first in sorted path order, each further copy counted
//!   as `duplicate_id`. Annotated frames without an image (no face detected) are `missing_file`.
//! - `<video>_left` / `<video>_right` are separate videos with their own folders; `subject` is
//!   the video name. Sample ids are `affwild2:<video>/<frame, 5 digits>`.
//!
//! The frame files are indexed once from the root listing (no per-frame file system calls).

use std::collections::HashMap;

use grefel_schema::Label;
use grefel_schema::labels::AFFWILD2;
use grefel_schema::table::Split;

use crate::adapter::{Adapter, Candidate, ImageSource, Scan, ScanContext, is_image_name};
use crate::source::{DatasetRoot, SourceFile};
use crate::{IngestError, SkipReason};

/// How the dataset frames its faces (what `predict` cuts from a photo): Aff-Wild2's
/// `cropped_aligned` frames are eye-aligned face crops.
pub const FRAMING: grefel_schema::FaceFraming = grefel_schema::FaceFraming::ALIGNED;

/// Prefix of the frame folders (`cropped_aligned`, `cropped_aligned_new_50_vids`, …).
pub const CROP_PREFIX: &str = "cropped_aligned";
/// The frame folders of the release: the main one, then the one with the 50 videos added later.
pub const CROP_FOLDERS: [&str; 2] = [CROP_PREFIX, "cropped_aligned_new_50_vids"];
/// The EXPR annotation folder of the ABAW release, relative to the root (the adapter accepts any
/// folder whose name contains `EXPR`; see the module documentation).
pub const EXPR_ANNOTATIONS: &str = "annotations/EXPR_Classification_Challenge";
/// The annotation sub-folder of the training videos.
pub const TRAIN_SET: &str = "Train_Set";
/// The annotation sub-folder of the validation videos.
pub const VALIDATION_SET: &str = "Validation_Set";

/// The EXPR annotation file of `video` in annotation sub-folder `set` ([`TRAIN_SET`],
/// [`VALIDATION_SET`]), relative to the root:
/// `annotations/EXPR_Classification_Challenge/<set>/<video>.txt`.
pub fn annotation(set: &str, video: &str) -> String {
    format!("{EXPR_ANNOTATIONS}/{set}/{video}.txt")
}

/// Frame `k` (numbered from 1) of `video` in frame folder `crop` (one of [`CROP_FOLDERS`]),
/// relative to the root: `<crop>/<video>/<k, 5 digits>.jpg`.
pub fn frame(crop: &str, video: &str, k: u32) -> String {
    format!("{crop}/{video}/{k:05}.jpg")
}

/// The Aff-Wild2 EXPR adapter.
#[derive(Debug, Clone, Copy)]
pub struct AffWild2;

impl Adapter for AffWild2 {
    fn name(&self) -> &'static str {
        "affwild2"
    }

    fn version(&self) -> u32 {
        1
    }

    fn expected_root(&self) -> &'static str {
        "the Aff-Wild2 folder: cropped_aligned*/<video>/<frame>.jpg and an EXPR annotation folder \
         (e.g. annotations/EXPR_Classification_Challenge/{Train_Set,Validation_Set}/<video>.txt)"
    }

    fn scan(&self, root: &DatasetRoot, ctx: &ScanContext<'_>) -> Result<Scan, IngestError> {
        let annotations: Vec<(&SourceFile, Split, &str)> =
            root.files.iter().filter_map(|f| parse_annotation(&f.rel).map(|(s, v)| (f, s, v))).collect();
        for (split, folder) in [(Split::Train, TRAIN_SET), (Split::Val, VALIDATION_SET)] {
            if !annotations.iter().any(|&(_, s, _)| s == split) {
                return Err(IngestError::MissingFile {
                    dataset: root.dataset.clone(),
                    path: root.path.join(EXPR_ANNOTATIONS).join(folder),
                    expected: "per-video EXPR annotation files <video>.txt in Train_Set/ and Validation_Set/ \
                               under a folder whose name contains EXPR",
                });
            }
        }
        let frames = FrameIndex::new(&root.files);
        let mut scan = Scan {
            ignored_files: root.files.iter().filter(|f| !is_image_name(&f.rel)).count() as u64,
            ..Scan::default()
        };
        for (file, split, video) in annotations {
            if file.escapes_root {
                scan.skips.add(SkipReason::PathEscapesRoot);
                continue;
            }
            let bytes = match std::fs::read(root.file_path(file)) {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(file = %file.rel, error = %e, "unreadable annotation file");
                    scan.skips.add(SkipReason::Unreadable);
                    continue;
                }
            };
            for (k, label) in parse_labels(&String::from_utf8_lossy(&bytes)) {
                match label.and_then(|l| frame_candidate(root, &frames, ctx, split, video, k, l)) {
                    Ok((c, copies)) => {
                        scan.candidates.push(c);
                        (0..copies).for_each(|_| scan.skips.add(SkipReason::DuplicateId));
                    }
                    Err(reason) => scan.skips.add(reason),
                }
            }
        }
        Ok(scan)
    }
}

/// The candidate for annotated frame `k` of `video`, and how many further copies of its image
/// other crop folders hold.
fn frame_candidate(
    root: &DatasetRoot,
    frames: &FrameIndex<'_>,
    ctx: &ScanContext<'_>,
    split: Split,
    video: &str,
    k: u32,
    label: Label,
) -> Result<(Candidate, usize), SkipReason> {
    let (index, copies) = frames.get(video, k).ok_or(SkipReason::MissingFile)?;
    let file = root.files.get(index).ok_or(SkipReason::MissingFile)?;
    if file.escapes_root {
        return Err(SkipReason::PathEscapesRoot);
    }
    let c = Candidate {
        sample_id: format!("{}:{video}/{k:05}", ctx.dataset),
        split,
        label,
        source_path: file.rel.clone(),
        image: ImageSource::File(file.rel.clone()),
        subject: Some(video.to_string()),
        crop: None,
        bbox: None,
        landmarks: None,
        soft_label: None,
        attributes: Default::default(),
    };
    Ok((c, copies))
}

/// Parses `…/<…EXPR…>/…/<Train_Set|Training_Set|Validation_Set>/<video>.txt` into its split and
/// video name.
pub fn parse_annotation(rel: &str) -> Option<(Split, &str)> {
    let (dirs, name) = rel.rsplit_once('/')?;
    let video = name.strip_suffix(".txt").filter(|v| !v.is_empty())?;
    let (above, folder) = dirs.rsplit_once('/')?;
    let split = match folder.to_ascii_lowercase().as_str() {
        "train_set" | "training_set" => Split::Train,
        "validation_set" => Split::Val,
        _ => return None,
    };
    above.split('/').any(|d| d.to_ascii_lowercase().contains("expr")).then_some((split, video))
}

/// Parses `…/cropped_aligned*/<video>/<digits>.<image ext>` into the video and frame number.
pub fn parse_frame(rel: &str) -> Option<(&str, u32)> {
    let mut parts = rel.rsplitn(4, '/');
    let (name, video, crop) = (parts.next()?, parts.next()?, parts.next()?);
    if !crop.to_ascii_lowercase().starts_with(CROP_PREFIX) || video.is_empty() || !is_image_name(name) {
        return None;
    }
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    if stem.is_empty() || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    stem.parse().ok().map(|n| (video, n))
}

/// The label of each data line, numbered from 1 (frame k). The first line is a header unless it
/// is an integer; trailing blank lines are dropped; a line that is not an integer is a
/// `malformed_row`, an integer outside the encoding an `unknown_label`, `-1` an `ignored_label`.
pub fn parse_labels(text: &str) -> Vec<(u32, Result<Label, SkipReason>)> {
    let mut lines: Vec<&str> =
        text.lines().map(|l| l.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')).collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let skip = usize::from(lines.first().is_some_and(|l| l.parse::<i64>().is_err()));
    lines
        .into_iter()
        .skip(skip)
        .zip(1u32..)
        .map(|(line, k)| {
            let label = match line.parse::<i64>() {
                Err(_) => Err(SkipReason::MalformedRow),
                Ok(v) => match AFFWILD2.lookup(&v.to_string()) {
                    None => Err(SkipReason::UnknownLabel),
                    Some(Label::Ignore) => Err(SkipReason::IgnoredLabel),
                    Some(l) => Ok(l),
                },
            };
            (k, label)
        })
        .collect()
}

/// Frame images by video, from the sorted root listing: per video, `(frame, file index)` sorted,
/// so the copy in the first crop folder (in path order) comes first.
struct FrameIndex<'a> {
    videos: HashMap<&'a str, Vec<(u32, usize)>>,
}

impl<'a> FrameIndex<'a> {
    fn new(files: &'a [SourceFile]) -> FrameIndex<'a> {
        let mut videos: HashMap<&str, Vec<(u32, usize)>> = HashMap::new();
        for (i, f) in files.iter().enumerate() {
            if let Some((video, frame)) = parse_frame(&f.rel) {
                videos.entry(video).or_default().push((frame, i));
            }
        }
        for v in videos.values_mut() {
            v.sort_unstable();
        }
        FrameIndex { videos }
    }

    /// The file index of frame `k` of `video`, and the number of further copies.
    fn get(&self, video: &str, k: u32) -> Option<(usize, usize)> {
        let v = self.videos.get(video)?;
        let start = v.partition_point(|&(f, _)| f < k);
        let &(frame, index) = v.get(start)?;
        if frame != k {
            return None;
        }
        let copies = v[start + 1..].iter().take_while(|&&(f, _)| f == k).count();
        Some((index, copies))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use grefel_schema::Expression;

    #[test]
    fn annotation_and_frame_paths() {
        let p = "Third ABAW Annotations/EXPR_Classification_Challenge/Train_Set/video2_left.txt";
        assert_eq!(parse_annotation(p), Some((Split::Train, "video2_left")));
        assert_eq!(
            parse_annotation("annotations/EXPR_Set/Training_Set/1-30-1280x720.txt"),
            Some((Split::Train, "1-30-1280x720"))
        );
        assert_eq!(
            parse_annotation("x/EXPR_Recognition_Challenge/Validation_Set/v.txt"),
            Some((Split::Val, "v"))
        );
        assert_eq!(parse_annotation("annotations/VA_Set/Train_Set/v.txt"), None, "other tasks are not read");
        assert_eq!(parse_annotation("EXPR/Test_Set/v.txt"), None);
        assert_eq!(parse_annotation("Train_Set/v.txt"), None);
        assert_eq!(parse_frame("cropped_aligned/vid/00012.jpg"), Some(("vid", 12)));
        assert_eq!(parse_frame("data/cropped_aligned_new_50_vids/v_right/00001.JPG"), Some(("v_right", 1)));
        assert_eq!(parse_frame("cropped_aligned/vid/frame1.jpg"), None);
        assert_eq!(parse_frame("cropped_aligned/vid/00001.txt"), None);
        assert_eq!(parse_frame("videos/vid/00001.jpg"), None);
        assert_eq!(parse_frame("cropped_aligned/00001.jpg"), None);
        assert_eq!(frame(CROP_FOLDERS[1], "v_left", 3), "cropped_aligned_new_50_vids/v_left/00003.jpg");
        assert_eq!(parse_frame(&frame(CROP_FOLDERS[0], "vid", 12)), Some(("vid", 12)));
        let a = annotation(VALIDATION_SET, "vidB");
        assert_eq!(a, "annotations/EXPR_Classification_Challenge/Validation_Set/vidB.txt");
        assert_eq!(parse_annotation(&a), Some((Split::Val, "vidB")));
    }

    #[test]
    fn label_lines() {
        use Expression::*;
        let got = parse_labels(
            "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other\r\n0\r\n-1\r\n7\r\nx\r\n\r\n8\r\n 4 \r\n\r\n",
        );
        let want: Vec<(u32, Result<Label, SkipReason>)> = vec![
            (1, Ok(Label::Class(Neutral))),
            (2, Err(SkipReason::IgnoredLabel)),
            (3, Ok(Label::Class(Other))),
            (4, Err(SkipReason::MalformedRow)),
            (5, Err(SkipReason::MalformedRow)),
            (6, Err(SkipReason::UnknownLabel)),
            (7, Ok(Label::Class(Happy))),
        ];
        assert_eq!(got, want);
        assert_eq!(parse_labels("1\n2\n").first(), Some(&(1, Ok(Label::Class(Anger)))), "no header");
        assert!(parse_labels("Neutral,Anger\n").is_empty());
    }

    #[test]
    fn frame_index_prefers_the_first_folder() {
        let file = |rel: &str| SourceFile { rel: rel.into(), len: 1, mtime_ns: 0, escapes_root: false };
        let files = [
            file("cropped_aligned/a/00001.jpg"),
            file("cropped_aligned/a/00003.jpg"),
            file("cropped_aligned_new_50_vids/a/00003.jpg"),
            file("cropped_aligned_new_50_vids/a/00004.jpg"),
            file("cropped_aligned_x/a/00003.jpg"),
        ];
        let idx = FrameIndex::new(&files);
        assert_eq!(idx.get("a", 1), Some((0, 0)));
        assert_eq!(idx.get("a", 2), None);
        assert_eq!(idx.get("a", 3), Some((1, 2)));
        assert_eq!(idx.get("a", 4), Some((3, 0)));
        assert_eq!(idx.get("b", 1), None);
    }
}
