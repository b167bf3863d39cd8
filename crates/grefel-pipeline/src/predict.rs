//! A finished run on images: aligned face crops (`--aligned`), or photos searched for faces.
//!
//! - **Photos:** rustface finds every face ([`Detector::detect_all`]); each gets its 68 points
//!   from the dlib-exact predictor started from its box; the crop the run's dataset frames its
//!   faces with ([`grefel_ingest::adapter::face_framing`]: box scale, eyes levelled or not) is cut
//!   from the photo ([`frame_face`]). From there a face goes the way every training image went:
//!   ingest's normalisation (RGB, PNG), the landmark stage's rule on the crop ([`locate`]: rustface,
//!   else the inset box, then the points), evaluation rendering (resize to the model's side,
//!   ImageNet normalisation) and the selected epoch at the run's evaluation trust.
//! - **Aligned crops:** each image is taken as a face crop framed like the training images and
//!   goes the same way from the normalisation on.
//! - A run whose model resizes as Pillow does (the `poster` presets, [`EvalResize::Pillow`]: what
//!   POSTER++'s test transform feeds checkpoints trained by its authors' code) gets each decoded
//!   crop as it is, and resizes it to its side with Pillow's arithmetic, to the byte.
//!
//! Inputs are files or folders (read recursively, in sorted order). One record per face
//! ([`FaceRecord`]); an image with no face gives one record with `faces: 0`; a file that cannot be
//! read or decoded (empty, corrupt, not an image, a video) one record with `error`, and the run
//! goes on. Records go to JSON lines, CSV or Parquet by the output's extension (JSON lines on
//! standard output without one); `annotate` writes each photo with its faces boxed and labelled.
//! Faces are batched `batch_size` at a time in input order, as evaluation batches a split.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow_array::builder::{Float32Builder, ListBuilder, StringBuilder, UInt32Builder};
use arrow_array::{ArrayRef, RecordBatch};
use grefel_ingest::normalize::{ImageConfig, decode, normalize, to_rgb};
use grefel_landmarks::boxes::{BoxConfig, Detector, FaceModel};
use grefel_landmarks::face::{CropGeometry, frame_face, locate};
use grefel_landmarks::intensity::to_intensity;
use grefel_landmarks::models::{default_dlib68_path, default_rustface_path, load_predictor};
use grefel_landmarks::{Predictor, Progress};
use grefel_model::config::EvalResize;
use grefel_model::device_from_str;
use grefel_schema::FaceFraming;
use grefel_schema::table::NUM_LANDMARKS;
use grefel_train::saved::{FaceImage, ImagePrediction, SavedRun};
use image::RgbImage;
use rayon::prelude::*;
use serde::Serialize;

use crate::PipelineError;

/// Extensions of video files, refused with a hint (video is out of scope).
const VIDEO_EXTENSIONS: [&str; 8] = ["mp4", "avi", "mov", "mkv", "webm", "m4v", "wmv", "mpg"];

/// The largest side of a face crop in pixels (a face filling a 50-megapixel photo is cut at this
/// resolution; the model sees a few hundred pixels at most).
const MAX_CROP_PIXELS: u32 = 1024;

/// What `predict` is asked to do.
#[derive(Clone, Debug)]
pub struct PredictRequest {
    /// The run folder (trained or imported).
    pub run: PathBuf,
    /// Image files and folders.
    pub inputs: Vec<PathBuf>,
    /// Inputs are aligned face crops: no face search.
    pub aligned: bool,
    /// Where the records go: `.jsonl`, `.csv` or `.parquet`; `None`: JSON lines on stdout.
    pub out: Option<PathBuf>,
    /// Folder for the annotated photos (`None`: none written).
    pub annotate: Option<PathBuf>,
    /// Faces per forward pass [default: the run's evaluation batch size].
    pub batch_size: Option<usize>,
    /// Images read and searched before a forward pass.
    pub images_per_chunk: usize,
    /// Device: `cpu`, `cuda:N`, `libtorch-cpu`.
    pub device: String,
    /// Folder of the prepared datasets: where the run's dataset is, its manifest says how its
    /// images were stored (`--image-size`), and crops are stored the same way before the model
    /// sees them; without it, at their own size (prepare's default).
    pub data: Option<PathBuf>,
    /// dlib's 68-point model [default: the models folder].
    pub landmark_model: Option<PathBuf>,
    /// rustface's model [default: the models folder].
    pub face_model: Option<PathBuf>,
}

impl PredictRequest {
    /// A request with the defaults for `run` and `inputs`.
    pub fn new(run: PathBuf, inputs: Vec<PathBuf>) -> Self {
        Self {
            run,
            inputs,
            aligned: false,
            out: None,
            annotate: None,
            batch_size: None,
            images_per_chunk: 64,
            device: "cpu".into(),
            data: None,
            landmark_model: None,
            face_model: None,
        }
    }
}

/// The reliability terms of the corrected output (GReFEL's correction).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Reliability {
    /// κ(p): confidence of the primary distribution.
    pub kappa_p: f32,
    /// κ(m): confidence of the anchor distribution.
    pub kappa_m: f32,
    /// κ(α): confidence of the attention distribution.
    pub kappa_alpha: f32,
}

/// One output record: a face, an image without a face (`faces: 0`), or a file that failed
/// (`error`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FaceRecord {
    /// The file, as reached from the inputs.
    pub path: String,
    /// Index of the face in its photo (left to right, then top to bottom); absent for aligned
    /// crops, images without a face and errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub face: Option<usize>,
    /// The face box `[left, top, right, bottom]` in pixels of the photo.
    #[serde(rename = "box", skip_serializing_if = "Option::is_none")]
    pub bbox: Option<[f32; 4]>,
    /// `0` on the record of an image in which no face was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub faces: Option<usize>,
    /// Why the file gave no prediction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The predicted class (argmax of `probs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The distribution the run selected its epoch by (`output`), over `classes`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probs: Option<Vec<f32>>,
    /// Which output `probs` is: `corrected` (ŷ) or `primary` (p).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<&'static str>,
    /// The classifier's raw output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logits: Option<Vec<f32>>,
    /// The primary distribution p.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary: Option<Vec<f32>>,
    /// The corrected distribution ŷ.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub corrected: Option<Vec<f32>>,
    /// The reliability terms of the correction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reliability: Option<Reliability>,
    /// The landmark stage's flag of the crop's points (`ok`, `fallback_box`, `outside_image`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub landmarks: Option<String>,
}

impl FaceRecord {
    fn bare(path: String) -> Self {
        Self {
            path,
            face: None,
            bbox: None,
            faces: None,
            error: None,
            label: None,
            probs: None,
            output: None,
            logits: None,
            primary: None,
            corrected: None,
            reliability: None,
            landmarks: None,
        }
    }
}

/// What a `predict` call did.
#[derive(Clone, Debug, Default)]
pub struct PredictOutcome {
    /// Files read.
    pub files: usize,
    /// Faces classified.
    pub faces: usize,
    /// Images in which no face was found.
    pub without_face: usize,
    /// Files that gave an `error` record.
    pub errors: usize,
    /// Annotated photos written.
    pub annotated: usize,
    /// The records file (`None`: standard output).
    pub out: Option<PathBuf>,
    /// The class names, in the order of every distribution.
    pub classes: Vec<String>,
    /// The manifest whose image settings crops were stored with (`None`: prepare's defaults).
    pub image_settings: Option<PathBuf>,
    /// Crops went to the model as decoded, for its Pillow resize (POSTER's test transform).
    pub raw_crops: bool,
    /// Seconds taken.
    pub seconds: f64,
}

impl PredictOutcome {
    /// The one-line summary.
    pub fn summary(&self) -> String {
        let to = self.out.as_ref().map_or_else(|| "stdout".to_string(), |p| p.display().to_string());
        let crops = match (&self.image_settings, self.raw_crops) {
            (_, true) => "crops as decoded, resized as Pillow does (POSTER's test transform)".to_string(),
            (Some(p), false) => format!("crops stored as in {}", p.display()),
            (None, false) => "crops stored as in prepare's defaults".to_string(),
        };
        format!(
            "predict: {} files, {} faces, {} without a face, {} errors, {} annotated, {crops} -> {to} in {:.1}s",
            self.files, self.faces, self.without_face, self.errors, self.annotated, self.seconds
        )
    }
}

/// One input file and where it was reached from.
#[derive(Clone, Debug)]
struct Input {
    /// The file.
    path: PathBuf,
    /// Its path below the input it was found in (its name for a file input).
    relative: PathBuf,
}

/// The files of `inputs`: files as given, folders walked recursively in sorted order (hidden
/// files skipped). A missing input is an error before anything runs.
fn list_inputs(inputs: &[PathBuf]) -> Result<Vec<Input>, PipelineError> {
    let mut files = Vec::new();
    for input in inputs {
        let meta = std::fs::metadata(input)
            .map_err(|e| PipelineError::Request(format!("--input {}: {e}", input.display())))?;
        if meta.is_dir() {
            for entry in walkdir::WalkDir::new(input).sort_by_file_name() {
                let entry =
                    entry.map_err(|e| PipelineError::Request(format!("--input {}: {e}", input.display())))?;
                let hidden = entry.file_name().to_string_lossy().starts_with('.') && entry.depth() > 0;
                if hidden || !entry.file_type().is_file() {
                    continue;
                }
                let relative = entry.path().strip_prefix(input).unwrap_or(entry.path()).to_path_buf();
                files.push(Input { path: entry.path().to_path_buf(), relative });
            }
        } else {
            let relative = input.file_name().map_or_else(|| input.clone(), PathBuf::from);
            files.push(Input { path: input.clone(), relative });
        }
    }
    Ok(files)
}

/// The models a photo needs.
struct Finders<'a> {
    image: ImageConfig,
    predictor: Option<&'a Predictor>,
    faces: Option<&'a FaceModel>,
    boxes: BoxConfig,
    framing: FaceFraming,
    aligned: bool,
    /// The model resizes as Pillow does (POSTER++'s test transform): it gets the decoded crop
    /// itself, not the stored form that ingest would make of it.
    raw_crops: bool,
}

/// A face ready for the model, with where it came from.
struct Prepared {
    image: FaceImage,
    bbox: Option<[f32; 4]>,
    quality: Option<String>,
}

/// What reading and searching one file gave.
enum Found {
    Faces { photo: Option<RgbImage>, faces: Vec<Prepared> },
    Error(String),
}

/// A crop through ingest's normalisation (the stored PNG) and the landmark stage's rule.
fn prepare_crop(
    crop: RgbImage,
    finders: &Finders<'_>,
    det: Option<&mut Detector>,
) -> Result<Prepared, String> {
    let stored = if finders.raw_crops {
        crop
    } else {
        let normalized = normalize(image::DynamicImage::ImageRgb8(crop), None, &finders.image)
            .map_err(|e| e.to_string())?;
        decode(&normalized.png).map_err(|e| e.to_string())?.into_rgb8()
    };
    let (landmarks, quality) = match finders.predictor {
        Some(predictor) => {
            let gray = to_intensity(&image::DynamicImage::ImageRgb8(stored.clone()));
            let found = locate(predictor, det, &gray, None, finders.boxes.inset_ratio);
            (Some(found.points), Some(found.quality.as_str().to_string()))
        }
        None => (None, None),
    };
    let (width, height) = (stored.width() as usize, stored.height() as usize);
    Ok(Prepared {
        image: FaceImage { width, height, rgb: stored.into_raw(), landmarks },
        bbox: None,
        quality,
    })
}

fn find(input: &Input, finders: &Finders<'_>, mut det: Option<&mut Detector>) -> Found {
    let ext = input.path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    if VIDEO_EXTENSIONS.contains(&ext.as_str()) {
        return Found::Error(
            "video files are not read: extract frames first (ffmpeg -i VIDEO frames/%05d.png)".into(),
        );
    }
    let bytes = match std::fs::read(&input.path) {
        Ok(b) if b.is_empty() => return Found::Error("empty file".into()),
        Ok(b) => b,
        Err(e) => return Found::Error(format!("cannot read: {e}")),
    };
    let image = match decode(&bytes) {
        Ok(img) => to_rgb(img, finders.image.background),
        Err(e) => return Found::Error(e.to_string()),
    };
    if finders.aligned {
        return match prepare_crop(image, finders, det) {
            Ok(face) => Found::Faces { photo: None, faces: vec![face] },
            Err(e) => Found::Error(e),
        };
    }
    let (Some(predictor), Some(d)) = (finders.predictor, det.as_deref_mut()) else {
        return Found::Error("no face finder loaded".into());
    };
    let gray = to_intensity(&image::DynamicImage::ImageRgb8(image.clone()));
    let mut found: Vec<_> = d
        .detect_all(&gray)
        .into_iter()
        .map(|detection| {
            let b = detection.rect.to_pixel_box();
            let on_photo = locate(predictor, None, &gray, Some(b), finders.boxes.inset_ratio);
            (b, CropGeometry::of(detection.rect, &on_photo.points[..], finders.framing, MAX_CROP_PIXELS))
        })
        .collect();
    // Left to right, then top to bottom.
    found.sort_by(|a, b| a.0[0].total_cmp(&b.0[0]).then(a.0[1].total_cmp(&b.0[1])));
    let mut faces = Vec::with_capacity(found.len());
    for (bbox, geometry) in found {
        let crop = frame_face(&image, &geometry, finders.image.background);
        match prepare_crop(crop, finders, det.as_deref_mut()) {
            Ok(mut face) => {
                face.bbox = Some(bbox);
                faces.push(face);
            }
            Err(e) => return Found::Error(e),
        }
    }
    Found::Faces { photo: Some(image), faces }
}

/// Where the records go.
enum Sink {
    Stdout(std::io::StdoutLock<'static>),
    Jsonl(Vec<u8>),
    Csv(Vec<FaceRecord>),
    Parquet(Vec<FaceRecord>),
}

fn sink_for(out: Option<&Path>) -> Result<Sink, PipelineError> {
    let Some(path) = out else { return Ok(Sink::Stdout(std::io::stdout().lock())) };
    let ext = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "jsonl" | "ndjson" => Ok(Sink::Jsonl(Vec::new())),
        "csv" => Ok(Sink::Csv(Vec::new())),
        "parquet" => Ok(Sink::Parquet(Vec::new())),
        _ => Err(PipelineError::Request(format!(
            "--out {}: the extension picks the format: .jsonl, .csv or .parquet",
            path.display()
        ))),
    }
}

/// Runs a finished run on images ([module docs](self)).
pub fn predict(request: &PredictRequest, progress: &dyn Progress) -> Result<PredictOutcome, PipelineError> {
    let start = Instant::now();
    let run = SavedRun::open(&request.run)?;
    let inputs = list_inputs(&request.inputs)?;
    let mut sink = sink_for(request.out.as_deref())?;
    let device = device_from_str(&request.device)
        .map_err(|source| PipelineError::Device { device: request.device.clone(), source })?;
    let model = run.model(&device)?;
    let adapter = run.adapter();
    let framing = grefel_ingest::adapter::face_framing(adapter)?;
    // Photos need the face finder and the points (to frame the face); crops need the points only
    // when the model reads them, and rustface to place them as the landmark stage does.
    let needs_points = !request.aligned || run.config.needs_landmarks();
    let predictor = match needs_points {
        true => {
            let path = request.landmark_model.clone().unwrap_or_else(default_dlib68_path);
            Some(load_predictor(&path, Some(NUM_LANDMARKS))?.predictor)
        }
        false => None,
    };
    let faces_model = match needs_points {
        true => Some(FaceModel::load(&request.face_model.clone().unwrap_or_else(default_rustface_path))?),
        false => None,
    };
    let (image, image_settings) = stored_image_config(request.data.as_deref(), run.config.dataset.as_str())?;
    let finders = Finders {
        image,
        predictor: predictor.as_ref(),
        faces: faces_model.as_ref(),
        boxes: BoxConfig::default(),
        framing,
        aligned: request.aligned,
        raw_crops: run.config.model.eval_resize == EvalResize::Pillow,
    };
    if let Some(dir) = &request.annotate {
        std::fs::create_dir_all(dir)
            .map_err(|e| PipelineError::Request(format!("--annotate {}: {e}", dir.display())))?;
    }
    let classes = run.classes();
    let output = run.selected_output();
    let batch_size = request.batch_size.unwrap_or(run.config.eval_batch_size).max(1);
    let mut outcome = PredictOutcome {
        files: inputs.len(),
        classes: classes.clone(),
        image_settings,
        raw_crops: finders.raw_crops,
        ..Default::default()
    };
    progress.begin("predict", inputs.len() as u64);
    for chunk in inputs.chunks(request.images_per_chunk.max(1)) {
        let mut found: Vec<Found> = chunk
            .par_iter()
            .map_init(
                || finders.faces.map(|f| f.detector(&finders.boxes)),
                |det, input| find(input, &finders, det.as_mut()),
            )
            .collect();
        // The crops move to the model; what the records need (box, flag) stays.
        let mut images: Vec<FaceImage> = Vec::new();
        for f in &mut found {
            if let Found::Faces { faces, .. } = f {
                images.extend(faces.iter_mut().map(|p| std::mem::replace(&mut p.image, FaceImage::EMPTY)));
            }
        }
        let mut predictions = if images.is_empty() {
            Vec::new().into_iter()
        } else {
            run.predict_images(&model, &device, images, batch_size)?.into_iter()
        };
        for (input, found) in chunk.iter().zip(found) {
            let path = input.path.display().to_string();
            let records = match found {
                Found::Error(error) => {
                    outcome.errors += 1;
                    vec![FaceRecord { error: Some(error), ..FaceRecord::bare(path) }]
                }
                Found::Faces { faces, .. } if faces.is_empty() => {
                    outcome.without_face += 1;
                    vec![FaceRecord { faces: Some(0), ..FaceRecord::bare(path) }]
                }
                Found::Faces { photo, faces } => {
                    let mut records = Vec::with_capacity(faces.len());
                    for (i, face) in faces.into_iter().enumerate() {
                        let Some(p) = predictions.next() else {
                            return Err(PipelineError::Request(
                                "the model returned fewer outputs than faces".into(),
                            ));
                        };
                        records.push(face_record(&path, i, face, p, &classes, output, request.aligned));
                    }
                    outcome.faces += records.len();
                    if let (Some(dir), Some(photo)) = (&request.annotate, photo) {
                        write_annotated(dir, &input.relative, &photo, &records)?;
                        outcome.annotated += 1;
                    }
                    records
                }
            };
            emit(&mut sink, records)?;
        }
        progress.advance(chunk.len() as u64);
    }
    progress.end();
    finish(sink, request.out.as_deref(), &classes)?;
    outcome.out = request.out.clone();
    outcome.seconds = start.elapsed().as_secs_f64();
    Ok(outcome)
}

/// How the run's dataset stored its images: the `image` block of `<data>/<dataset>/manifest.json`
/// where that file exists, else prepare's defaults.
fn stored_image_config(
    data: Option<&Path>,
    dataset: &str,
) -> Result<(ImageConfig, Option<PathBuf>), PipelineError> {
    let Some(manifest) = data.map(|d| grefel_shards::DataLayout::new(d).dataset(dataset).manifest()) else {
        return Ok((ImageConfig::default(), None));
    };
    let Some(m) = grefel_artifacts::read_json_if_exists::<grefel_shards::Manifest>(&manifest)? else {
        return Ok((ImageConfig::default(), None));
    };
    let image = m.config.get("image").cloned().unwrap_or_default();
    let config: ImageConfig = serde_json::from_value(image).map_err(|e| {
        PipelineError::Request(format!("{}: the `image` settings do not parse: {e}", manifest.display()))
    })?;
    Ok((config, Some(manifest)))
}

fn face_record(
    path: &str,
    index: usize,
    face: Prepared,
    p: ImagePrediction,
    classes: &[String],
    output: &'static str,
    aligned: bool,
) -> FaceRecord {
    let probs = if output == "primary" { p.primary.clone() } else { p.corrected.clone() };
    let best = probs.iter().enumerate().fold(0, |best, (i, &v)| if v > probs[best] { i } else { best });
    FaceRecord {
        face: (!aligned).then_some(index),
        bbox: face.bbox,
        label: classes.get(best).cloned(),
        probs: Some(probs),
        output: Some(output),
        logits: Some(p.logits),
        primary: Some(p.primary),
        corrected: Some(p.corrected),
        reliability: Some(Reliability { kappa_p: p.kappa[0], kappa_m: p.kappa[1], kappa_alpha: p.kappa[2] }),
        landmarks: face.quality,
        ..FaceRecord::bare(path.to_string())
    }
}

fn write_annotated(
    dir: &Path,
    relative: &Path,
    photo: &RgbImage,
    records: &[FaceRecord],
) -> Result<(), PipelineError> {
    let marks: Vec<grefel_report::FaceMark> = records
        .iter()
        .filter_map(|r| {
            let rect = r.bbox?;
            let label = r.label.as_deref()?;
            let p = r.probs.as_ref().and_then(|p| p.iter().copied().reduce(f32::max)).unwrap_or(0.0);
            Some(grefel_report::FaceMark { rect, text: format!("{}: {label} {p:.2}", r.face.unwrap_or(0)) })
        })
        .collect();
    let drawn = grefel_report::annotate(photo, &marks);
    let path = dir.join(relative).with_extension("png");
    let err = |e: String| PipelineError::Request(format!("writing {}: {e}", path.display()));
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| err(e.to_string()))?;
    }
    let mut png = Vec::new();
    drawn
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| err(e.to_string()))?;
    grefel_shards::atomic::write_bytes(&path, &png).map_err(|e| err(e.to_string()))
}

fn emit(sink: &mut Sink, records: Vec<FaceRecord>) -> Result<(), PipelineError> {
    match sink {
        Sink::Stdout(w) => write_lines(w, &records)?,
        Sink::Jsonl(w) => write_lines(w, &records)?,
        Sink::Csv(all) | Sink::Parquet(all) => all.extend(records),
    }
    Ok(())
}

fn finish(sink: Sink, out: Option<&Path>, classes: &[String]) -> Result<(), PipelineError> {
    let write = |path: &Path, bytes: &[u8]| {
        grefel_shards::atomic::write_bytes(path, bytes)
            .map_err(|e| PipelineError::Request(format!("writing {}: {e}", path.display())))
    };
    match (sink, out) {
        (Sink::Stdout(mut w), _) => {
            w.flush().map_err(|e| PipelineError::Request(format!("writing a record: {e}")))
        }
        (Sink::Jsonl(bytes), Some(path)) => write(path, &bytes),
        (Sink::Csv(records), Some(path)) => write(path, csv(&records, classes).as_bytes()),
        (Sink::Parquet(records), Some(path)) => {
            let batch = arrow_table(&records)?;
            let props = grefel_shards::table_io::base_properties(&Default::default())
                .set_key_value_metadata(Some(vec![parquet::file::metadata::KeyValue::new(
                    "classes".to_string(),
                    classes.join(","),
                )]))
                .build();
            grefel_shards::table_io::write_batch(path, &batch, props)
                .map(|_| ())
                .map_err(|e| PipelineError::Request(format!("writing {}: {e}", path.display())))
        }
        (Sink::Jsonl(_) | Sink::Csv(_) | Sink::Parquet(_), None) => Ok(()),
    }
}

fn write_lines(w: &mut impl Write, records: &[FaceRecord]) -> Result<(), PipelineError> {
    for r in records {
        let line = serde_json::to_string(r).map_err(|e| PipelineError::Request(e.to_string()))?;
        writeln!(w, "{line}").map_err(|e| PipelineError::Request(format!("writing a record: {e}")))?;
    }
    Ok(())
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
fn csv_field(v: &str) -> String {
    if v.contains([',', '"', '\n', '\r']) { format!("\"{}\"", v.replace('"', "\"\"")) } else { v.to_string() }
}

/// The records as CSV: `path, face, left, top, right, bottom, faces, error, label, output`, then
/// the selected distribution (`p_<class>`), the logits (`logit_<class>`) and the reliability terms.
fn csv(records: &[FaceRecord], classes: &[String]) -> String {
    let mut header: Vec<String> =
        ["path", "face", "left", "top", "right", "bottom", "faces", "error", "label", "output", "landmarks"]
            .map(String::from)
            .to_vec();
    header.extend(classes.iter().map(|c| format!("p_{c}")));
    header.extend(classes.iter().map(|c| format!("logit_{c}")));
    header.extend(["kappa_p", "kappa_m", "kappa_alpha"].map(String::from));
    let mut out = header.join(",") + "\n";
    let opt = |v: Option<String>| v.unwrap_or_default();
    for r in records {
        let mut row = vec![csv_field(&r.path), opt(r.face.map(|f| f.to_string()))];
        row.extend((0..4).map(|k| opt(r.bbox.map(|b| b[k].to_string()))));
        row.push(opt(r.faces.map(|f| f.to_string())));
        row.push(csv_field(r.error.as_deref().unwrap_or("")));
        row.push(csv_field(r.label.as_deref().unwrap_or("")));
        row.push(r.output.unwrap_or("").to_string());
        row.push(opt(r.landmarks.clone()));
        for values in [&r.probs, &r.logits] {
            row.extend(
                (0..classes.len()).map(|k| opt(values.as_ref().and_then(|v| v.get(k)).map(f32::to_string))),
            );
        }
        let kappa = r.reliability.as_ref().map(|k| [k.kappa_p, k.kappa_m, k.kappa_alpha]);
        row.extend((0..3).map(|k| opt(kappa.map(|v| v[k].to_string()))));
        out += &row.join(",");
        out.push('\n');
    }
    out
}

/// The records as one Arrow batch: scalar columns as in the CSV, distributions as lists.
fn arrow_table(records: &[FaceRecord]) -> Result<RecordBatch, PipelineError> {
    let mut path = StringBuilder::new();
    let mut face = UInt32Builder::new();
    let mut bbox = ListBuilder::new(Float32Builder::new());
    let mut faces = UInt32Builder::new();
    let mut error = StringBuilder::new();
    let mut label = StringBuilder::new();
    let mut output = StringBuilder::new();
    let mut landmarks = StringBuilder::new();
    let mut lists: [ListBuilder<Float32Builder>; 5] =
        std::array::from_fn(|_| ListBuilder::new(Float32Builder::new()));
    let as_u32 = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
    for r in records {
        path.append_value(&r.path);
        face.append_option(r.face.map(as_u32));
        match r.bbox {
            Some(b) => bbox.append_value(b.map(Some)),
            None => bbox.append_null(),
        }
        faces.append_option(r.faces.map(as_u32));
        error.append_option(r.error.as_deref());
        label.append_option(r.label.as_deref());
        output.append_option(r.output);
        landmarks.append_option(r.landmarks.as_deref());
        let kappa = r.reliability.as_ref().map(|k| vec![k.kappa_p, k.kappa_m, k.kappa_alpha]);
        for (builder, values) in lists.iter_mut().zip([&r.probs, &r.logits, &r.primary, &r.corrected, &kappa])
        {
            match values {
                Some(v) => builder.append_value(v.iter().map(|&x| Some(x))),
                None => builder.append_null(),
            }
        }
    }
    let [probs, logits, primary, corrected, reliability] =
        lists.map(|mut b| Arc::new(b.finish()) as ArrayRef);
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("path", Arc::new(path.finish())),
        ("face", Arc::new(face.finish())),
        ("box", Arc::new(bbox.finish())),
        ("faces", Arc::new(faces.finish())),
        ("error", Arc::new(error.finish())),
        ("label", Arc::new(label.finish())),
        ("output", Arc::new(output.finish())),
        ("landmarks", Arc::new(landmarks.finish())),
        ("probs", probs),
        ("logits", logits),
        ("primary", primary),
        ("corrected", corrected),
        ("reliability", reliability),
    ];
    RecordBatch::try_from_iter(columns)
        .map_err(|e| PipelineError::Request(format!("building the records table: {e}")))
}
