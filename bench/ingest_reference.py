#!/usr/bin/env python3
"""Reference ingest in Python for `cargo xtask bench ingest`.

Does the same work as grefel's RAF-DB and AffectNet (CSV) adapters on the trees the benchmark
generates: read the label file, decode each JPEG, crop the face box (AffectNet), convert to RGB,
resize to SIZE x SIZE (bilinear), encode PNG (fast compression), and write Parquet shards of at
most 1024 rows with pyarrow. Work is spread over all cores with multiprocessing, one chunk per task.

Usage: ingest_reference.py {rafdb|affectnet} ROOT OUT SIZE
Prints one JSON line: {"dataset": ..., "images": N, "seconds": S, "images_per_s": R}.
"""

import csv
import io
import json
import os
import sys
import time
from multiprocessing import Pool

import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

CHUNK = 256  # items per task (and per output file): small tasks keep every core busy


def rafdb_items(root):
    items = []
    with open(os.path.join(root, "EmoLabel", "list_patition_label.txt")) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 2:
                continue
            name, label = parts
            stem = name.rsplit(".", 1)[0]
            path = os.path.join(root, "Image", "aligned", stem + "_aligned.jpg")
            split = "train" if name.startswith("train_") else "test"
            items.append((name, split, int(label), path, None))
    return items


def affectnet_items(root):
    items = []
    lists = os.path.join(root, "Manually_Annotated_file_lists")
    images = os.path.join(root, "Manually_Annotated", "Manually_Annotated_Images")
    for fname, split in (("training.csv", "train"), ("validation.csv", "val")):
        path = os.path.join(lists, fname)
        if not os.path.exists(path):
            continue
        with open(path, newline="") as f:
            for row in csv.reader(f):
                if not row or row[0] == "subDirectory_filePath":
                    continue
                x, y, w, h = (int(v) for v in row[1:5])
                items.append((row[0], split, int(row[6]), os.path.join(images, row[0]), (x, y, w, h)))
    return items


def process(args):
    chunk, out_path, size = args
    ids, splits, labels, blobs, widths, heights = [], [], [], [], [], []
    for sample_id, split, label, path, box in chunk:
        try:
            img = Image.open(path)
            img.load()
        except Exception:
            continue
        if box is not None:
            x, y, w, h = box
            img = img.crop((x, y, x + w, y + h))
        img = img.convert("RGB").resize((size, size), Image.BILINEAR)
        buf = io.BytesIO()
        img.save(buf, format="PNG", compress_level=1)
        ids.append(sample_id)
        splits.append(split)
        labels.append(label)
        blobs.append(buf.getvalue())
        widths.append(size)
        heights.append(size)
    table = pa.table({
        "sample_id": ids,
        "split": splits,
        "label": pa.array(labels, pa.int16()),
        "image": pa.array(blobs, pa.binary()),
        "width": pa.array(widths, pa.int32()),
        "height": pa.array(heights, pa.int32()),
    })
    pq.write_table(table, out_path, compression="snappy")
    return len(ids)


def main():
    dataset, root, out, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    start = time.perf_counter()
    items = rafdb_items(root) if dataset == "rafdb" else affectnet_items(root)
    os.makedirs(out, exist_ok=True)
    tasks = [
        (items[i:i + CHUNK], os.path.join(out, f"part-{i // CHUNK:05d}.parquet"), size)
        for i in range(0, len(items), CHUNK)
    ]
    with Pool(os.cpu_count()) as pool:
        done = sum(pool.map(process, tasks, chunksize=1))
    seconds = time.perf_counter() - start
    print(json.dumps({"dataset": dataset, "images": done, "seconds": round(seconds, 3),
                      "images_per_s": round(done / seconds, 1)}))


if __name__ == "__main__":
    main()
