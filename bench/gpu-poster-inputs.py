"""Aligned face-crop stand-ins for bench/gpu-poster.sh: 16 PNG files of several sizes (smooth
random content) in DATA/faces/, and their POSTER++ test-transform tensors (PIL
`Resize((224, 224))` bilinear, `ToTensor`, ImageNet `Normalize`) in DATA/input.bin, float32 NCHW
in sorted file order. Needs Pillow and numpy.

    python bench/gpu-poster-inputs.py gpu-bin
"""
import os
import sys

import numpy as np
from PIL import Image


def main(data):
    faces = os.path.join(data, "faces")
    os.makedirs(faces, exist_ok=True)
    rng = np.random.default_rng(21)
    sizes = [(100, 100), (224, 224), (300, 260), (150, 97)] * 4
    mean = np.array([0.485, 0.456, 0.406], dtype=np.float32)
    std = np.array([0.229, 0.224, 0.225], dtype=np.float32)
    xs = []
    for i, (w, h) in enumerate(sizes):
        coarse = rng.integers(0, 256, size=(h // 8 + 2, w // 8 + 2, 3)).astype(np.uint8)
        img = Image.fromarray(coarse).resize((w, h), Image.BICUBIC)
        noise = rng.integers(-12, 13, size=(h, w, 3))
        img = Image.fromarray(np.clip(np.asarray(img).astype(np.int32) + noise, 0, 255).astype(np.uint8))
        path = os.path.join(faces, f"f{i:02d}.png")
        img.save(path)
        t = Image.open(path).convert("RGB").resize((224, 224), Image.BILINEAR)
        x = (np.asarray(t).astype(np.float32) / np.float32(255) - mean) / std
        xs.append(np.ascontiguousarray(x.transpose(2, 0, 1), dtype=np.float32))
    np.stack(xs).astype("<f4").tofile(os.path.join(data, "input.bin"))
    print(f"wrote {len(xs)} crops to {faces} and {data}/input.bin")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "gpu-bin")
