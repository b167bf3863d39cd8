#!/usr/bin/env bash
# The prepared GPU check of the POSTER++ import (issue: pretrained weights), for a machine that
# has PyTorch (python3) and a CUDA GPU but no Rust toolchain. Correctness first: the mirror
# (bench/poster_mirror.py) draws a POSTER checkpoint and computes its logits on aligned crops
# (their POSTER test-transform tensors made beforehand with Pillow, DATA/input.bin) on the CPU and
# on CUDA (TF32 off); grefel imports the checkpoint and runs `predict --aligned` on the crop files
# on cuda:0, libtorch-cpu and cpu: every logit is compared. Then the timings: `predict` on 512
# crops on cuda:0 and cpu (files decoded, resized and batched: the whole command), and the
# mirror's bare eager forward at batch 64. Everything lands in $OUT (default gpu-out/).
#
# Prepare DATA (default gpu-bin/) on the build machine:
#   cargo xtask setup-libtorch && source ~/.cache/grefel-torch/grefel-libtorch.env
#   cargo build --release -p xtask --features tch && mkdir -p gpu-bin
#   cp "${CARGO_TARGET_DIR:-target}/release/xtask" gpu-bin/ && strip gpu-bin/xtask
#   GREFEL_PYTHON=... python bench/gpu-poster-inputs.py gpu-bin   # faces/*.png and input.bin
# Then, on the GPU machine, in the repository root:
#   bash bench/gpu-poster.sh gpu-bin/xtask gpu-bin
set -uo pipefail
bin=${1:?usage: bash bench/gpu-poster.sh PATH/TO/xtask [DATA]}
data=${2:-gpu-bin}
out=${OUT:-gpu-out}
python=${PYTHON:-python3}
mkdir -p "$out"
torch_lib=$("$python" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))') || {
  echo "no torch in $python" >&2
  exit 2
}
export LD_LIBRARY_PATH="$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export GREFEL_ROOT="$PWD" GREFEL_LOG=warn RUST_BACKTRACE=0
{ nvidia-smi -L || true; "$python" -c 'import torch; print(torch.__version__, torch.cuda.is_available())'; } > "$out/machine.txt" 2>&1
w=$(mktemp -d)
status=0
step() { echo "== $*" >> "$out/log.txt"; "$@" >> "$out/log.txt" 2>&1 || { echo "FAILED: $*" >> "$out/log.txt"; status=1; }; }

step "$python" bench/poster_mirror.py --classes 7 --seed 5 --save-checkpoint "$w/poster.pth"
for d in cpu cuda; do
  step "$python" bench/poster_mirror.py --load-state-dict "$w/poster.pth" --input "$data/input.bin" \
    --logits-out "$out/torch-$d.json" --device "$d" --time-batch 64
done
step "$bin" import-checkpoint --preset poster --checkpoint "$w/poster.pth" --out "$w/run"
for d in cuda:0 libtorch-cpu cpu; do
  step "$bin" predict --run "$w/run" --aligned --input "$data/faces" --device "$d" --out "$out/pred-${d/:/}.jsonl"
done

mkdir -p "$w/many"
for i in $(seq -w 0 31); do for f in "$data"/faces/*.png; do cp "$f" "$w/many/$i-$(basename "$f")"; done; done
for d in cuda:0 cpu; do
  s=$(date +%s%N)
  step "$bin" predict --run "$w/run" --aligned --input "$w/many" --device "$d" --batch-size 64 --out "$w/many-${d/:/}.jsonl"
  e=$(date +%s%N)
  echo "{\"device\": \"$d\", \"faces\": $(ls "$w/many" | wc -l), \"ms\": $(( (e - s) / 1000000 ))}" >> "$out/predict-timing.jsonl"
done

"$python" - "$out" > "$out/compare.txt" 2>&1 <<'EOF' || status=1
import json, os, sys
out = sys.argv[1]
raf = ["surprise", "fear", "disgust", "happy", "sad", "anger", "neutral"]
grefel = ["neutral", "happy", "sad", "surprise", "fear", "disgust", "anger"]
ref = {d: json.load(open(f"{out}/torch-{d}.json"))["logits"] for d in ("cpu", "cuda")}
gated = {"cuda0": "cuda", "libtorch-cpu": "cpu", "cpu": "cpu"}
ok = True
for dev, same_kind in gated.items():
    path = f"{out}/pred-{dev}.jsonl"
    if not os.path.exists(path):
        print(dev, "no predictions"); ok = False; continue
    recs = sorted((json.loads(l) for l in open(path)), key=lambda r: r["path"])
    for against, logits in ref.items():
        worst = max(abs(r["logits"][grefel.index(c)] - want[k])
                    for r, want in zip(recs, logits) for k, c in enumerate(raf))
        gate = against == same_kind
        ok = ok and (worst <= 1e-4 or not gate)
        print(f"grefel {dev} vs PyTorch {against}: max |diff| over {len(recs)} x 7 logits = {worst:.3e}"
              + (" (gated, <= 1e-4)" if gate else ""))
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
EOF
rm -rf "$w"
exit $status
