//! `cargo xtask run --pipeline FILE`: every stage of a pipeline file in order — `[synth]`,
//! `[prepare]`, `[landmarks]`, `[train]` — each a no-op when its output is current, so a rerun
//! (or a run after a kill) only does what is left. Prints one summary line per stage.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::Args;
use grefel_pipeline::Pipeline;
use grefel_pipeline::stages::{RunRequest, run_pipeline};

use crate::progress::Bar;

/// Arguments of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The pipeline file (`pipelines/rafdb.toml`, …); edit its `[prepare] root` first.
    #[arg(long)]
    pipeline: PathBuf,
    /// Device of the training stage: cpu, cuda:N (needs the `tch` feature), libtorch-cpu.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Folder of the run folders [default: runs].
    #[arg(long)]
    runs: Option<PathBuf>,
}

/// Runs `run`.
pub fn run(args: RunArgs) -> Result<()> {
    let start = Instant::now();
    let root = crate::workspace_root();
    let resolve = |p: &PathBuf| if p.is_absolute() { p.clone() } else { root.join(p) };
    let path = resolve(&args.pipeline);
    let pipeline = Pipeline::load(&path, &root)?;
    let request = RunRequest {
        path: path.clone(),
        runs: args.runs.as_ref().map_or_else(|| root.join("runs"), resolve),
        default_data: root.join("data"),
        device: args.device.clone(),
    };
    let lines = run_pipeline(&pipeline, &request, &Bar::new("run"))?;
    for line in &lines {
        println!("{line}");
    }
    eprintln!("run {}: {} stage(s) in {:.1}s", path.display(), lines.len(), start.elapsed().as_secs_f64());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use grefel_landmarks::models::default_dlib68_path;

    /// A pipeline file on the RAF-DB fixture tree: prepare, landmarks and train run in order, and
    /// a second run finds every stage current (the run folder is not trained again).
    #[test]
    fn a_pipeline_runs_its_stages_and_resumes_as_a_no_op() {
        if !default_dlib68_path().is_file() {
            assert!(std::env::var_os("CI").is_none(), "CI must install the landmark models");
            eprintln!("skipped: the landmark models are absent (`cargo xtask setup-landmarks`)");
            return;
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("rafdb");
        grefel_ingest::fixtures::rafdb(&root).expect("fixture");
        let (data, runs) = (tmp.path().join("data"), tmp.path().join("runs"));
        let pipeline = tmp.path().join("rafdb.toml");
        let text = format!(
            "[prepare]\nadapter = \"rafdb\"\nroot = {:?}\nout = {:?}\n\n[landmarks]\n\n[train]\ndataset = \"rafdb\"\npreset = \"tiny\"\nepochs = 1\nbatch_size = 4\n",
            root.display().to_string(),
            data.display().to_string()
        );
        std::fs::write(&pipeline, text).expect("pipeline");
        let args = || RunArgs { pipeline: pipeline.clone(), device: "cpu".into(), runs: Some(runs.clone()) };
        run(args()).expect("first run");
        assert!(data.join("rafdb/landmarks/manifest.json").is_file(), "the landmark stage ran");
        let finished = || -> Vec<PathBuf> {
            std::fs::read_dir(&runs)
                .expect("runs")
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.join(grefel_artifacts::files::RUN_METRICS).is_file())
                .collect()
        };
        let first = finished();
        assert_eq!(first.len(), 1, "{first:?}");
        let stamp = std::fs::metadata(first[0].join(grefel_artifacts::files::RUN_METRICS))
            .and_then(|m| m.modified())
            .expect("mtime");
        run(args()).expect("second run");
        assert_eq!(finished(), first);
        let again = std::fs::metadata(first[0].join(grefel_artifacts::files::RUN_METRICS))
            .and_then(|m| m.modified())
            .expect("mtime");
        assert_eq!(stamp, again, "the finished run is not trained again");
    }
}
