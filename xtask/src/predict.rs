//! `cargo xtask predict --run DIR --input PATH...`: a finished run (trained or imported) on
//! photos (every face found, framed as the run's dataset frames its faces) or, with
//! `--aligned`, on aligned face crops. One record per face; progress on stderr, the summary last.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use grefel_pipeline::predict::{PredictRequest, predict};

/// Arguments of `predict`.
#[derive(Debug, Args)]
#[command(after_help = "\
Records (one per face): {\"path\", \"face\", \"box\": [l,t,r,b], \"label\", \"probs\", \"output\", \"logits\",
\"primary\", \"corrected\", \"reliability\": {\"kappa_p\", \"kappa_m\", \"kappa_alpha\"}, \"landmarks\"}.
An image without a face gives {\"path\", \"faces\": 0}; an unreadable, empty or non-image file
gives {\"path\", \"error\"} and the run goes on (exit 0).

Video files are out of scope: they get an \"error\" record. Extract frames first, e.g.
`ffmpeg -i clip.mp4 frames/%05d.png`, and pass the folder.")]
pub struct PredictArgs {
    /// The run folder (`runs/<dataset>/<run id>`, or one `import-checkpoint` wrote).
    #[arg(long)]
    run: PathBuf,
    /// Image files or folders (read recursively); repeat or list several.
    #[arg(long, num_args = 1.., required = true)]
    input: Vec<PathBuf>,
    /// The inputs are aligned face crops framed like the run's training images: no face search.
    #[arg(long)]
    aligned: bool,
    /// Records file: .jsonl, .csv or .parquet by extension [default: JSON lines on stdout].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write each photo with its faces boxed and labelled into this folder (PNG).
    #[arg(long)]
    annotate: Option<PathBuf>,
    /// Faces per forward pass [default: the run's evaluation batch size].
    #[arg(long)]
    batch_size: Option<usize>,
    /// Folder of the prepared datasets: the run's dataset's manifest gives how its images were
    /// stored (`prepare --image-size`), and crops are stored the same way [default: data].
    #[arg(long)]
    data: Option<PathBuf>,
    /// Device: cpu, cuda:N (needs the `tch` feature), libtorch-cpu.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// dlib's 68-point model [default: $GREFEL_MODELS or ~/.cache/grefel-models].
    #[arg(long)]
    landmark_model: Option<PathBuf>,
    /// rustface's model [default: beside the 68-point model's default].
    #[arg(long)]
    face_model: Option<PathBuf>,
}

/// Runs `predict`.
pub fn run(args: PredictArgs) -> Result<()> {
    let root = crate::workspace_root();
    let resolve = |p: &PathBuf| if p.is_absolute() { p.clone() } else { root.join(p) };
    let mut request = PredictRequest::new(resolve(&args.run), args.input.iter().map(resolve).collect());
    request.aligned = args.aligned;
    request.out = args.out.as_ref().map(resolve);
    request.annotate = args.annotate.as_ref().map(resolve);
    request.batch_size = args.batch_size;
    request.device = args.device;
    request.data = Some(args.data.as_ref().map_or_else(|| root.join("data"), resolve));
    request.landmark_model = args.landmark_model.as_ref().map(resolve);
    request.face_model = args.face_model.as_ref().map(resolve);
    let bar = crate::progress::Bar::new("predict");
    let outcome = predict(&request, &bar)?;
    eprintln!("{}", outcome.summary());
    Ok(())
}
