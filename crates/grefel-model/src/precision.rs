//! Numeric precision of the convolutions, linear layers and attention, chosen per thread like PyTorch's
//! `torch.autocast`: the trainer sets it around a step, the layers read it.

use std::cell::Cell;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ModelError;

/// Precision of the matrix products (convolutions, linear layers, attention). Everything else
/// (norms, activations, losses, the optimizer and the master weights) stays f32 in every mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// IEEE f32 throughout (on CUDA, cuDNN's TF32 convolutions are switched off).
    #[default]
    Fp32,
    /// f32 storage, TF32 tensor-core convolutions and matmuls (CUDA; the same as `fp32` on a CPU).
    Tf32,
    /// Convolutions, linear layers and attention compute in bf16 on f32 master weights, their
    /// outputs and gradients cast back to f32 (libtorch devices only).
    Bf16,
}

impl Precision {
    /// All modes, in the order the CLI lists them.
    pub const ALL: [Precision; 3] = [Precision::Fp32, Precision::Tf32, Precision::Bf16];

    /// The lower-case name (`fp32`, `tf32`, `bf16`).
    pub fn name(self) -> &'static str {
        match self {
            Precision::Fp32 => "fp32",
            Precision::Tf32 => "tf32",
            Precision::Bf16 => "bf16",
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Precision {
    type Err = ModelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        Precision::ALL.into_iter().find(|p| p.name() == wanted).ok_or_else(|| {
            ModelError::InvalidConfig(format!("unknown precision `{s}` (expected fp32, tf32 or bf16)"))
        })
    }
}

thread_local! {
    static CURRENT: Cell<Precision> = const { Cell::new(Precision::Fp32) };
}

/// The precision the fused layers of this thread use now.
pub fn current() -> Precision {
    CURRENT.with(Cell::get)
}

/// Runs `f` with `precision` for the fused layers of this thread, then restores the previous
/// mode (also when `f` panics). The backward pass may run outside: each layer records the
/// precision of its forward pass.
pub fn with_precision<T>(precision: Precision, f: impl FnOnce() -> T) -> T {
    struct Restore(Precision);
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(CURRENT.with(|c| c.replace(precision)));
    f()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for p in Precision::ALL {
            assert_eq!(p.name().parse::<Precision>().unwrap(), p);
            assert_eq!(serde_json::to_string(&p).unwrap(), format!("\"{}\"", p.name()));
        }
        assert_eq!(" BF16 ".parse::<Precision>().unwrap(), Precision::Bf16);
        assert!("fp16".parse::<Precision>().is_err());
    }

    #[test]
    fn the_mode_is_scoped_and_restored_after_a_panic() {
        assert_eq!(current(), Precision::Fp32);
        let inner = with_precision(Precision::Bf16, || {
            with_precision(Precision::Tf32, current) == Precision::Tf32 && current() == Precision::Bf16
        });
        assert!(inner);
        assert_eq!(current(), Precision::Fp32);
        let caught = std::panic::catch_unwind(|| with_precision(Precision::Bf16, || panic!("boom")));
        assert!(caught.is_err());
        assert_eq!(current(), Precision::Fp32);
    }
}
