//! `cargo xtask setup-libtorch`: PyTorch 2.11.0 (and numpy) from PyPI in a venv outside the clone, and the
//! environment a `--features tch` build and its binaries need (docs/backends.md).
//!
//! burn-tch 0.22.1 builds tch 0.22 / torch-sys, whose build script would download libtorch from
//! the web; with `LIBTORCH_USE_PYTORCH=1` it takes libtorch from the venv's `torch` package
//! instead (`LIBTORCH_BYPASS_VERSION_CHECK=1`: tch 0.22 expects 2.9, its wrapper compiles against
//! 2.11). Binaries have no RPATH: they run with `LD_LIBRARY_PATH=<torch>/lib`. The version at run
//! time must equal the one at build time; 2.11.0 is what the GPU machines carry.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::Args;

/// The PyTorch release the `tch` feature is built and run against.
pub const TORCH_VERSION: &str = "2.11.0";

/// Arguments of `setup-libtorch`.
#[derive(Debug, Args)]
pub struct SetupArgs {
    /// The venv [default: $GREFEL_TORCH_VENV, else ~/.cache/grefel-torch].
    #[arg(long)]
    venv: Option<PathBuf>,
    /// Python used to create the venv.
    #[arg(long, default_value = "python3")]
    python: String,
    /// Print only the environment (`export` lines for `eval`), installing first if needed.
    #[arg(long)]
    print_env: bool,
}

/// The default venv folder.
pub fn default_venv() -> PathBuf {
    grefel_model::device::torch_venv()
}

/// Runs `setup-libtorch`.
pub fn run(args: SetupArgs) -> Result<()> {
    let venv = args.venv.clone().unwrap_or_else(default_venv);
    let python = venv.join("bin/python");
    let start = std::time::Instant::now();
    let installed = match torch_lib(&python) {
        Ok((version, _)) if version.split('+').next() == Some(TORCH_VERSION) => false,
        _ => {
            if !python.is_file() {
                tracing::info!(venv = %venv.display(), "creating the venv");
                check(Command::new(&args.python).arg("-m").arg("venv").arg(&venv), "python -m venv")?;
            }
            tracing::info!(
                "pip install torch=={TORCH_VERSION} (PyPI's CUDA 13 wheel and its nvidia-* libraries, ~4.6 GB)"
            );
            check(
                Command::new(&python)
                    .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
                    .arg(format!("torch=={TORCH_VERSION}")),
                "pip install torch",
            )?;
            true
        }
    };
    // `bench/torch_grefel.py` (the reference of `bench train` and of a workspace test) needs
    // numpy, which the torch wheel does not pull in.
    let has_numpy =
        Command::new(&python).args(["-c", "import numpy"]).output().is_ok_and(|o| o.status.success());
    if !has_numpy {
        tracing::info!("pip install numpy (bench/torch_grefel.py)");
        check(
            Command::new(&python).args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "numpy",
            ]),
            "pip install numpy",
        )?;
    }
    let (version, lib) = torch_lib(&python)?;
    if version.split('+').next() != Some(TORCH_VERSION) {
        bail!("{} has torch {version}, expected {TORCH_VERSION}", venv.display());
    }
    let text = environment(&venv, &lib);
    let file = venv.join("grefel-libtorch.env");
    grefel_shards::atomic::write_bytes(&file, text.as_bytes())?;
    if args.print_env {
        print!("{text}");
        return Ok(());
    }
    println!(
        "setup-libtorch: torch {version} {} in {} ({:.0}s); environment in {}",
        if installed { "installed" } else { "already present" },
        venv.display(),
        start.elapsed().as_secs_f64(),
        file.display()
    );
    println!("build and run with the libtorch backend:");
    println!("  source {}", file.display());
    println!("  cargo xtask-tch train --device libtorch-cpu   # or cuda:0");
    Ok(())
}

/// The environment of a `tch` build and run, as shell lines (`PATH` and `LD_LIBRARY_PATH` are
/// prepended to, not replaced).
pub fn environment(venv: &Path, torch_lib: &Path) -> String {
    let lib = shell_quote(&torch_lib.display().to_string());
    let bin = shell_quote(&venv.join("bin").display().to_string());
    format!(
        "export LIBTORCH_USE_PYTORCH=1\n\
         export LIBTORCH_BYPASS_VERSION_CHECK=1\n\
         export PATH={bin}\"${{PATH:+:$PATH}}\"\n\
         export LD_LIBRARY_PATH={lib}\"${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}\"\n"
    )
}

/// The torch version and its `lib` folder, as the venv's Python reports them.
fn torch_lib(python: &Path) -> Result<(String, PathBuf)> {
    let out = Command::new(python)
        .args(["-c", "import os, torch; print(torch.__version__); print(os.path.join(os.path.dirname(torch.__file__), 'lib'))"])
        .output()
        .with_context(|| format!("running {}", python.display()))?;
    if !out.status.success() {
        bail!("{} cannot import torch: {}", python.display(), String::from_utf8_lossy(&out.stderr).trim());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    match (lines.next(), lines.next()) {
        (Some(v), Some(lib)) => Ok((v.trim().to_string(), PathBuf::from(lib.trim()))),
        _ => bail!("unexpected output of {}: {text}", python.display()),
    }
}

fn check(cmd: &mut Command, what: &str) -> Result<()> {
    let status = cmd.status().with_context(|| format!("starting {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}
