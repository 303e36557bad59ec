"""Small CIFAR-10 look-alikes on disk, in each layout the loader understands."""

from __future__ import annotations

import io
import pickle
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck"]


def random_split_arrays(count: int, seed: int):
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, size=(count, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, size=count).astype(np.int64)
    return data, labels


def write_image_folders(root: Path, per_split=None, ext: str = "png") -> dict:
    """<root>/cifar10-jpg/{train,test}/<class>/NNNN.<ext>; returns the arrays written."""
    per_split = per_split or {"train": 20, "test": 10}
    written = {}
    for split, count in per_split.items():
        data, labels = random_split_arrays(count, seed=len(split))
        order = np.argsort(labels, kind="stable")  # folders list classes in sorted order
        data, labels = data[order], labels[order]
        for i, (image, label) in enumerate(zip(data, labels)):
            folder = root / "cifar10-jpg" / split / CLASSES[label]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(folder / f"{i:04d}.{ext}")
        written[split] = (data, labels)
    return written


def official_batches(per_batch: int = 4) -> tuple[dict[str, bytes], dict]:
    """The official pickles (5 train batches, 1 test, meta) as bytes, and the arrays in them."""
    files, arrays = {}, {"train": [], "test": []}
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for seed, name in enumerate(names):
        data, labels = random_split_arrays(per_batch, seed=100 + seed)
        rows = data.transpose(0, 3, 1, 2).reshape(per_batch, 3072)  # R plane, G, B
        payload = {b"batch_label": name.encode(), b"labels": labels.tolist(), b"data": rows,
                   b"filenames": [b"x.png"] * per_batch}
        files[name] = pickle.dumps(payload, protocol=2)
        arrays["test" if name == "test_batch" else "train"].append((data, labels))
    meta = {b"label_names": [c.encode() for c in CLASSES], b"num_cases_per_batch": per_batch}
    files["batches.meta"] = pickle.dumps(meta, protocol=2)
    merged = {split: tuple(np.concatenate(column) for column in zip(*parts))
              for split, parts in arrays.items()}
    return files, merged


def write_official_archive(path: Path, files: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as archive:
        for name, raw in files.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(raw)
            archive.addfile(info, io.BytesIO(raw))
    return path


def write_extracted(root: Path, files: dict[str, bytes]) -> Path:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name, raw in files.items():
        (folder / name).write_bytes(raw)
    return folder
