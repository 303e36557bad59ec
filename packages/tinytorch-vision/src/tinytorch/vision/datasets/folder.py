"""ImageFolder: a dataset from a `<root>/<class>/<image>` directory tree (Pillow decodes).

What it teaches: the simplest labelled-image format there is: the folder name is the
label. Classes are the sorted sub-directory names (so class indices are reproducible),
samples are the sorted image files inside them.

Systems lessons:
- Decoding dominates: opening a file and decoding a JPEG costs ~100 us, far more than
  the arithmetic of a small model on that image. Pillow releases the GIL while decoding,
  so a few threads decode in parallel (`decode_images`). For a dataset read every epoch,
  decode once and cache the arrays (see cache.py and CIFAR10).
- Batches: `__getitems__` decodes a whole batch and, when the images share a size,
  stacks them into one uint8 (N, H, W, C) array so the transforms run vectorized.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tinytorch.core.data import Dataset, default_collate

from .arrays import transform_batch

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def load_image(path: str | Path) -> np.ndarray:
    """One image file -> uint8 (H, W, 3) RGB array; a clear error for a corrupt file."""
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise RuntimeError(f"load_image: cannot decode {path}: {error}. The file is corrupt or "
                           "not an image; delete or replace it.") from error


def decode_images(paths: Sequence, description: str = "decoding images",
                  progress: bool = True, threads: int | None = None) -> np.ndarray:
    """Decode same-sized images into one uint8 (N, H, W, 3) array, in parallel threads."""
    if not paths:
        raise ValueError("decode_images: no image paths given")
    first = load_image(paths[0])
    out = np.empty((len(paths), *first.shape), dtype=np.uint8)
    threads = threads or min(4, (os.cpu_count() or 1) + 1)
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())

    def decode(i: int) -> None:
        image = load_image(paths[i])
        if image.shape != first.shape:
            raise ValueError(f"decode_images: {paths[i]} has shape {image.shape}, expected "
                             f"{first.shape} like {paths[0]}; every image must be the same size")
        out[i] = image

    with Progress(*columns, disable=not progress) as bar, ThreadPoolExecutor(threads) as pool:
        task = bar.add_task(description, total=len(paths))
        chunk = 512
        for start in range(0, len(paths), chunk):  # chunks keep the progress bar moving
            list(pool.map(decode, range(start, min(start + chunk, len(paths)))))
            bar.advance(task, min(chunk, len(paths) - start))
    return out


def find_classes(root: Path) -> tuple[list[str], dict[str, int]]:
    if not root.is_dir():
        raise FileNotFoundError(f"ImageFolder: {root} is not a directory; expected "
                                "<root>/<class>/<image files>")
    classes = sorted(entry.name for entry in os.scandir(root) if entry.is_dir())
    if not classes:
        raise FileNotFoundError(f"ImageFolder: no class folders in {root}; expected "
                                "<root>/<class>/<image files>")
    return classes, {name: i for i, name in enumerate(classes)}


def make_samples(root: Path, class_to_idx: dict[str, int],
                 extensions: tuple[str, ...] = IMG_EXTENSIONS) -> list[tuple[str, int]]:
    """(path, class index) for every image file, classes and files in sorted order."""
    samples = []
    for name, index in sorted(class_to_idx.items(), key=lambda item: item[1]):
        files = sorted(entry.name for entry in os.scandir(root / name)
                       if entry.is_file() and entry.name.lower().endswith(extensions))
        samples.extend((str(root / name / file), index) for file in files)
    if not samples:
        raise FileNotFoundError(f"ImageFolder: found no files with extensions {extensions} in "
                                f"the class folders of {root}")
    return samples


class ImageFolder(Dataset):
    """Samples (image, class index) from `<root>/<class>/*.{jpg,png,...}` (like torchvision).

    An image is a uint8 (H, W, 3) array until a transform (e.g. ToTensor) converts it.
    """

    def __init__(self, root, transform: Callable | None = None,
                 target_transform: Callable | None = None,
                 extensions: tuple[str, ...] = IMG_EXTENSIONS):
        self.root = Path(root).expanduser()
        self.transform, self.target_transform = transform, target_transform
        self.classes, self.class_to_idx = find_classes(self.root)
        self.samples = make_samples(self.root, self.class_to_idx, tuple(extensions))
        self.targets = np.array([target for _, target in self.samples], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        path, target = self.samples[index]
        image = load_image(path)
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def __getitems__(self, indices) -> list:
        """A collated batch; decoded images of one size are transformed as one array."""
        indices = np.asarray(indices, dtype=np.int64)
        images = [load_image(self.samples[i][0]) for i in indices]
        shapes = {image.shape for image in images}
        if len(shapes) > 1:  # mixed sizes: transform one at a time, then collate
            return default_collate([self[int(i)] for i in indices])
        return transform_batch(np.stack(images), self.targets[indices], self.transform,
                               self.target_transform)

    def __repr__(self) -> str:
        return (f"ImageFolder(root={str(self.root)!r}, {len(self)} images, "
                f"{len(self.classes)} classes)")
