//! Device selection: one function maps a `--device` string to a burn [`Device`].

use burn::tensor::Device;

use crate::error::ModelError;

/// Whether `spec` names the default CPU backend (Flex): `cpu` or `flex`, any case.
pub fn is_flex(spec: &str) -> bool {
    matches!(spec.trim().to_ascii_lowercase().as_str(), "cpu" | "flex")
}

/// Maps a device string to a [`Device`]:
/// - `cpu` (or `flex`): the pure-Rust Flex CPU backend (always available);
/// - `cuda` / `cuda:N`: libtorch on CUDA device N (default 0), needs the `tch` feature;
/// - `libtorch-cpu`: libtorch on the CPU, needs the `tch` feature.
///
/// The returned device has no autodiff; call `.autodiff()` on it for training.
pub fn device_from_str(spec: &str) -> Result<Device, ModelError> {
    if is_flex(spec) {
        return Ok(Device::flex());
    }
    let s = spec.trim().to_ascii_lowercase();
    match s.as_str() {
        "libtorch-cpu" | "tch-cpu" => libtorch_cpu(spec),
        _ => {
            let index = match s.strip_prefix("cuda") {
                Some("") => 0,
                Some(rest) => rest
                    .strip_prefix(':')
                    .and_then(|n| n.parse::<usize>().ok())
                    .ok_or_else(|| ModelError::UnknownDevice(spec.to_string()))?,
                None => return Err(ModelError::UnknownDevice(spec.to_string())),
            };
            libtorch_cuda(spec, index)
        }
    }
}

#[cfg(feature = "tch")]
#[allow(deprecated)] // burn 0.22 marks burn-tch deprecated; it is this project's GPU path.
fn libtorch_cuda(_spec: &str, index: usize) -> Result<Device, ModelError> {
    Ok(Device::libtorch_cuda(index))
}

#[cfg(not(feature = "tch"))]
fn libtorch_cuda(spec: &str, _index: usize) -> Result<Device, ModelError> {
    Err(ModelError::BackendUnavailable { device: spec.to_string(), feature: "tch" })
}

#[cfg(feature = "tch")]
#[allow(deprecated)]
fn libtorch_cpu(_spec: &str) -> Result<Device, ModelError> {
    Ok(Device::libtorch())
}

#[cfg(not(feature = "tch"))]
fn libtorch_cpu(spec: &str) -> Result<Device, ModelError> {
    Err(ModelError::BackendUnavailable { device: spec.to_string(), feature: "tch" })
}

/// Serialises seeded draws: the Flex backend's random number generator is global to the process,
/// so two runs in one process (a sweep with several CPU workers) must not interleave their draws.
static SEEDED: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Seeds `device` with `seed` and runs `f` while no other thread can seed or draw through this
/// function: every random number `f` draws on `device` comes from `seed`'s stream, whatever
/// other threads of the process do. Use it for the initialisation and for every forward pass
/// that draws (dropout, DropPath) when runs may share the process.
pub fn with_seed<R>(device: &Device, seed: u64, f: impl FnOnce() -> R) -> R {
    let _guard = SEEDED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    device.seed(seed);
    f()
}

/// Seeds the random number generator of `device` (burn's `Device::seed`; on the Flex backend
/// the seed is global to the backend). Call it before building the model for a reproducible
/// initialisation, and before a training step for reproducible dropout/DropPath masks.
pub fn seed_device(device: &Device, seed: u64) {
    device.seed(seed);
}

/// The PyTorch venv that `cargo xtask setup-libtorch` installs (the libtorch backend's runtime):
/// `$GREFEL_TORCH_VENV` when set and not empty, else `~/.cache/grefel-torch`.
pub fn torch_venv() -> std::path::PathBuf {
    if let Some(v) = std::env::var_os("GREFEL_TORCH_VENV").filter(|v| !v.is_empty()) {
        return v.into();
    }
    let home = std::env::var_os("HOME").map_or_else(|| std::path::PathBuf::from("."), Into::into);
    home.join(".cache/grefel-torch")
}

/// The Python of [`torch_venv`], when it exists (what the PyTorch reference tests run).
pub fn torch_venv_python() -> Option<std::path::PathBuf> {
    let python = torch_venv().join("bin/python");
    python.is_file().then_some(python)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_names_and_unknown_devices() {
        assert!(is_flex("cpu") && is_flex(" CPU ") && is_flex("flex"));
        assert!(!is_flex("libtorch-cpu") && !is_flex("cuda:0") && !is_flex("cpu:1"));
        assert!(device_from_str("Flex").is_ok());
        for bad in ["gpu", "cuda:x", "cpu:1"] {
            let e = device_from_str(bad).expect_err("unknown device");
            assert!(matches!(e, ModelError::UnknownDevice(ref s) if s == bad), "{bad}: {e}");
        }
    }
}
