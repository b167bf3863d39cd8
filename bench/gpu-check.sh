#!/usr/bin/env bash
# The prepared GPU check of `bench train` (issue: libtorch training throughput), for a machine
# that has PyTorch 2.11 (python3) and a CUDA GPU but no Rust toolchain. Correctness first (a short
# run of the smallest preset must finish with a finite loss, in fp32 and in bf16), then the
# timings: the paper preset at batch 144 in fp32, TF32 and bf16, grefel against the PyTorch eager
# reference in one run each (cuDNN benchmark mode on for both; tf32 re-runs itself with
# TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1 for TF32 matmuls), one fp32 run of grefel without its fused
# ops and one with burn's per-parameter Adam (what each brings on the GPU), and one profiled fp32
# run. Everything lands in $OUT
# (default: gpu-out/).
#
# Build the binary on the Linux x86-64 machine, against the venv's torch 2.11.0:
#   cargo xtask setup-libtorch && source ~/.cache/grefel-torch/grefel-libtorch.env
#   cargo build --release -p xtask --features tch && mkdir -p gpu-bin
#   cp "${CARGO_TARGET_DIR:-target}/release/xtask" gpu-bin/   # gpu-bin/ is git-ignored
# Then, on the GPU machine, in the repository root:
#   bash bench/gpu-check.sh gpu-bin/xtask
# Variables: GREFEL_DEVICE (default cuda:0), GREFEL_PRESET (paper), GREFEL_BATCH (144),
# GREFEL_STEPS (30), PYTHON (python3).
set -uo pipefail
bin=${1:?usage: bash bench/gpu-check.sh PATH/TO/xtask}
out=${OUT:-gpu-out}
device=${GREFEL_DEVICE:-cuda:0}
preset=${GREFEL_PRESET:-paper}
batch=${GREFEL_BATCH:-144}
steps=${GREFEL_STEPS:-30}
python=${PYTHON:-python3}
mkdir -p "$out"

torch_lib=$("$python" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))') || {
  echo "no torch in $python" >&2
  exit 2
}
export LD_LIBRARY_PATH="$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export GREFEL_ROOT="$PWD" RUST_BACKTRACE=0 RUST_LIB_BACKTRACE=0
{ nvidia-smi || true; "$python" -c 'import torch; print(torch.__version__, torch.cuda.is_available())'; } > "$out/machine.txt" 2>&1

status=0
run() {
  local name=$1
  shift
  echo "== $name: $*"
  local start=$SECONDS
  if "$bin" "$@" > "$out/$name.txt" 2>&1; then
    echo "   ok in $((SECONDS - start)) s: $(tail -n 1 "$out/$name.txt")"
  else
    echo "   FAILED (exit $?) in $((SECONDS - start)) s:"
    grep -m 1 '^Error' "$out/$name.txt" || tail -n 15 "$out/$name.txt"
    status=1
  fi
}

# Correctness: the smallest preset trains a few steps on the device, against the reference.
run check bench train --preset micro --batch 16 --device "$device" --steps 5 --warmup 2 --python "$python"
run check-bf16 bench train --preset micro --batch 16 --device "$device" --steps 5 --warmup 2 \
  --precision bf16 --python "$python"
[ "$status" -eq 0 ] || exit 1
# Timings.
case $device in
  cuda*) precisions="fp32 tf32 bf16" ;;
  *) precisions="fp32 bf16" ;; # TF32 is a CUDA mode
esac
for precision in $precisions; do
  run "$preset-$precision" bench train --preset "$preset" --batch "$batch" --device "$device" \
    --precision "$precision" --steps "$steps" --python "$python"
done
run "$preset-fp32-unfused" bench train --preset "$preset" --batch "$batch" --device "$device" \
  --steps "$steps" --no-fused --no-reference
run "$preset-fp32-per-parameter-adam" bench train --preset "$preset" --batch "$batch" --device "$device" \
  --steps "$steps" --per-parameter-adam --no-reference
run "$preset-fp32-profile" bench train --preset "$preset" --batch "$batch" --device "$device" \
  --steps 10 --profile --python "$python"
exit "$status"
