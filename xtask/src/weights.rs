//! `cargo xtask import-checkpoint` (pretrained weights in, as a run folder) and `cargo xtask
//! export` (a run's weights out, as safetensors).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use grefel_pipeline::overrides::parse_view;
use grefel_shards::atomic;
use grefel_train::imported::{ExportRequest, ImportRequest, export_run, import_run};
use grefel_train::saved::SavedRun;
use grefel_weights::Names;

/// Arguments of `import-checkpoint`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  # a released POSTER++ RAF-DB checkpoint (its classifier order is RAF-DB's: surprise first)
  cargo xtask import-checkpoint --preset poster --checkpoint raf-db-model_best.pth --out runs/imported/poster-raf
  # GReFEL from the two trunk files (the rest from the seed), to fine-tune with train --init-from
  cargo xtask import-checkpoint --preset paper --init ir50=ir50.pth \\
      --init mobilefacenet=mobilefacenet_model_best.pth.tar --out runs/imported/paper-trunks

Prints what each file gave (applied / expected tensors, the file's unused keys by pattern) and
exits non-zero, writing nothing, when a tensor does not fit or a part is left short.")]
pub struct ImportArgs {
    /// Preset of the network (poster, poster-8; paper, arbex, … with --init).
    #[arg(long)]
    preset: String,
    /// A whole POSTER++ checkpoint as its training script saves it (`module.` keys, `best_acc`,
    /// `optimizer`, pickled recorders; zip or legacy), or a safetensors file `export` wrote.
    #[arg(long, value_name = "FILE")]
    checkpoint: Option<PathBuf>,
    /// A trunk file, `PART=FILE` (repeatable): `ir50=ir50.pth` (either IR-50 naming),
    /// `mobilefacenet=mobilefacenet_model_best.pth.tar`. Read before the checkpoint.
    #[arg(long = "init", value_name = "PART=FILE")]
    init: Vec<String>,
    /// The dataset whose classes and face framing the run uses [default: rafdb for 7 classes,
    /// affectnet for 8].
    #[arg(long)]
    dataset: Option<String>,
    /// Class view [default: the dataset's].
    #[arg(long)]
    class_view: Option<String>,
    /// The checkpoint's classifier order, class names separated by commas [default for rafdb:
    /// surprise,fear,disgust,happy,sad,anger,neutral (POSTER's RAF-DB folders 1-7); otherwise
    /// grefel's order, which AffectNet's folders 0-7 follow].
    #[arg(long, value_delimiter = ',')]
    class_order: Option<Vec<String>>,
    /// Seed of the weights no file gives.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The run folder to write.
    #[arg(long)]
    out: PathBuf,
}

/// Runs `import-checkpoint`.
pub fn import(args: ImportArgs) -> Result<()> {
    let root = crate::workspace_root();
    let resolve = |p: &PathBuf| if p.is_absolute() { p.clone() } else { root.join(p) };
    if args.checkpoint.is_none() && args.init.is_empty() {
        bail!("nothing to import: give --checkpoint FILE and/or --init PART=FILE");
    }
    let mut init = BTreeMap::new();
    for spec in &args.init {
        let (part, file) = spec
            .split_once('=')
            .with_context(|| format!("--init {spec}: expected PART=FILE (ir50=ir50.pth)"))?;
        if init.insert(part.to_string(), resolve(&PathBuf::from(file))).is_some() {
            bail!("--init {part}=… is given twice");
        }
    }
    let request = ImportRequest {
        preset: args.preset,
        dataset: args.dataset,
        class_view: args.class_view.as_deref().map(parse_view).transpose()?,
        checkpoint: args.checkpoint.as_ref().map(resolve),
        init,
        class_order: args.class_order,
        seed: args.seed,
        out: resolve(&args.out),
    };
    let outcome = import_run(&request)?;
    for report in &outcome.reports {
        println!("{report}; missing: none");
    }
    println!("{}", outcome.summary());
    Ok(())
}

/// Arguments of `export`.
#[derive(Debug, Args)]
#[command(after_help = "\
With --names poster the file loads strictly into POSTER_V2's model:
  model.load_state_dict(safetensors.torch.load_file(F), strict=True)
(no `module.` prefix: load it into the bare model, before any DataParallel wrapping).")]
pub struct ExportArgs {
    /// The run folder (trained, or written by `import-checkpoint`).
    #[arg(long)]
    run: PathBuf,
    /// The safetensors file to write.
    #[arg(long)]
    out: PathBuf,
    /// Key naming: poster (POSTER_V2's state_dict; poster presets) or grefel (grefel's tensor
    /// paths, any preset). Both in PyTorch's layouts.
    #[arg(long, default_value = "poster")]
    names: String,
    /// The file's classifier order, class names separated by commas (poster naming) [default:
    /// an imported run's checkpoint order, else the run's own].
    #[arg(long, value_delimiter = ',')]
    class_order: Option<Vec<String>>,
}

/// Runs `export`.
pub fn export(args: ExportArgs) -> Result<()> {
    let start = std::time::Instant::now();
    let root = crate::workspace_root();
    let resolve = |p: &PathBuf| if p.is_absolute() { p.clone() } else { root.join(p) };
    let names: Names = args.names.parse()?;
    let run = SavedRun::open(&resolve(&args.run))?;
    let exported = export_run(&run, &ExportRequest { names, class_order: args.class_order })?;
    let out = resolve(&args.out);
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    atomic::write_bytes(&out, &exported.bytes)?;
    let dropped = if exported.dropped.is_empty() {
        "none".to_string()
    } else {
        exported.dropped.iter().map(|(p, n)| format!("{p} ({n})")).collect::<Vec<_>>().join(", ")
    };
    println!(
        "export: run {} ({}) -> {}: {} tensors ({} from the network, {} kept from the imported checkpoint, {} filled), not exported: {dropped}; {:.1} MB, {:.1} s",
        run.id,
        run.config.preset,
        out.display(),
        exported.tensors,
        exported.from_network,
        exported.kept,
        exported.filled,
        exported.bytes.len() as f64 / 1e6,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
