//! `cargo xtask train`: train and evaluate one model on a prepared dataset (default: the `[train]`
//! table of `pipelines/train-synthetic.toml`), into `runs/<config hash>/`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use grefel_train::RunOptions;

use crate::progress::Bar;
use grefel_pipeline::stages::train_stage;
use grefel_pipeline::{Pipeline, TrainOverrides};

/// Arguments of `train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Pipeline file whose `[train]` table holds the settings (its `[prepare].out` is the data
    /// folder).
    #[arg(long, default_value = "pipelines/train-synthetic.toml")]
    pipeline: PathBuf,
    /// Prepared dataset to train on (overrides the pipeline's; the pipeline's class view is then
    /// dropped in favour of the dataset's own, unless --class-view is given).
    #[arg(long)]
    dataset: Option<String>,
    /// Class view: basic7, with-contempt8 (affectnet8, ferplus8), with-other8 (affwild2-8)
    /// [default: the pipeline's, else the dataset's].
    #[arg(long)]
    class_view: Option<String>,
    /// A noisy-label file replacing the training labels (EAC's noise01.txt …: `<image name>
    /// <RAF-DB label>` lines).
    #[arg(long)]
    noise_file: Option<PathBuf>,
    /// Model preset (tiny, tiny-mfn, paper-geometry, paper, arbex, poster, poster-8).
    #[arg(long)]
    preset: Option<String>,
    /// Initial weights of a trunk from a pretrained file, `PART=FILE` (repeatable): `ir50=ir50.pth`
    /// (either IR-50 naming), `mobilefacenet=mobilefacenet_model_best.pth.tar`; the file's
    /// content is part of the run's identity. Over the pipeline's [train.init].
    #[arg(long = "init", value_name = "PART=FILE")]
    init: Vec<String>,
    /// Start from the selected weights of a run folder (trained, or written by
    /// `import-checkpoint`): fine-tuning. The network must have the same shapes; the folder's
    /// weights (SHA-256) are part of the run's identity.
    #[arg(long, value_name = "DIR")]
    init_from: Option<PathBuf>,
    /// Device: cpu, cuda:N (needs the `tch` feature), libtorch-cpu.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Epochs to train.
    #[arg(long)]
    epochs: Option<usize>,
    /// Root seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Folder of the run folders [default: runs].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Folder of the prepared datasets [default: the pipeline's [prepare].out, else data].
    #[arg(long)]
    data: Option<PathBuf>,
    /// Stop after this many epochs in this call; the next call resumes.
    #[arg(long)]
    stop_after_epochs: Option<usize>,
}

/// Runs `train`.
pub fn run(args: TrainArgs) -> Result<()> {
    let root = crate::workspace_root();
    let resolve = |p: &PathBuf| if p.is_absolute() { p.clone() } else { root.join(p) };
    let pipeline = Pipeline::load(&resolve(&args.pipeline), &root)?;
    let overrides = TrainOverrides {
        dataset: args.dataset.clone(),
        preset: args.preset.clone(),
        class_view: args.class_view.clone(),
        epochs: args.epochs,
        seed: args.seed,
        noise_file: args.noise_file.as_ref().map(resolve),
        init: args
            .init
            .iter()
            .map(|spec| {
                let (part, file) = spec
                    .split_once('=')
                    .ok_or_else(|| anyhow::anyhow!("--init {spec}: expected PART=FILE (ir50=ir50.pth)"))?;
                Ok((part.to_string(), resolve(&PathBuf::from(file))))
            })
            .collect::<Result<_>>()?,
        init_from: args.init_from.as_ref().map(resolve),
    };
    let settings = overrides.apply(pipeline.train.clone(), &args.pipeline)?;
    let data = args
        .data
        .as_ref()
        .map(resolve)
        .or(pipeline.prepare.map(|p| p.out))
        .unwrap_or_else(|| root.join("data"));
    let runs = args.out.as_ref().map_or_else(|| root.join("runs"), resolve);
    let options = RunOptions {
        device: args.device,
        stop_after_epochs: args.stop_after_epochs,
        ..RunOptions::default()
    };
    let result = train_stage(settings, &data, &runs, &options, &Bar::new("train"))?;
    println!("{}", result.summary_line());
    Ok(())
}
