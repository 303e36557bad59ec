"""Looking at images: `make_grid` tiles a batch into one picture, `save_image` writes it.

What it teaches: an image batch is a 4-D array (N, C, H, W). Tiling it is pure index
arithmetic: pad every image, reshape the batch into a (rows, cols) arrangement, and
interleave the axes as (C, rows, H, cols, W). No loop over images is needed. Mirrors
`torchvision.utils.make_grid` / `save_image` (same layout, padding and normalisation).

Systems lesson: a grid of 64 CIFAR images is 3 x 274 x 274 floats (900 KB as float32),
and 225 KB once quantised to uint8 for the PNG: pixels are stored as bytes, computed on as
floats.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image

from tinytorch.core.atomic import atomic_path
from tinytorch.core.tensor import Tensor


def _as_batch(tensor) -> np.ndarray:
    """(H, W), (C, H, W), (N, C, H, W) or a list of (C, H, W) -> float (N, C, H, W)."""
    if isinstance(tensor, (list, tuple)):
        if not tensor or not all(isinstance(t, Tensor) for t in tensor):
            raise TypeError("make_grid: expected a tensor or a non-empty list of tensors")
        shapes = {t.shape for t in tensor}
        if len(shapes) != 1:
            raise ValueError(f"make_grid: all images must have one shape, got {sorted(shapes)}")
        array = np.stack([t.array for t in tensor])
    elif isinstance(tensor, Tensor):
        array = tensor.array
    else:
        raise TypeError(f"make_grid: expected a Tensor, got {type(tensor).__name__}")
    if array.ndim == 2:
        array = array[None]
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4:
        raise ValueError(f"make_grid: expected an image batch (N, C, H, W), got shape "
                         f"{array.shape}")
    if array.shape[1] == 1:  # grey -> RGB, as torchvision does
        array = np.repeat(array, 3, axis=1)
    return array.astype(np.float32) if array.dtype.kind != "f" else array


def _normalized(batch: np.ndarray, value_range, scale_each: bool) -> np.ndarray:
    def scale(x, low, high):
        return (np.clip(x, low, high) - low) / max(high - low, 1e-5)

    if value_range is not None:
        low, high = value_range
        return scale(batch, low, high)
    if scale_each:
        return np.stack([scale(img, float(img.min()), float(img.max())) for img in batch])
    return scale(batch, float(batch.min()), float(batch.max()))


def make_grid(tensor, nrow: int = 8, padding: int = 2, normalize: bool = False,
              value_range: tuple | None = None, scale_each: bool = False,
              pad_value: float = 0.0) -> Tensor:
    """Tile images into a (C, rows*(H+p)+p, cols*(W+p)+p) grid, `nrow` images per row."""
    if not isinstance(nrow, int) or nrow < 1 or not isinstance(padding, int) or padding < 0:
        raise ValueError(f"make_grid: nrow must be >= 1 and padding >= 0, got nrow={nrow!r}, "
                         f"padding={padding!r}")
    batch = _as_batch(tensor)
    if normalize:
        batch = _normalized(batch, value_range, scale_each)
    n, channels, height, width = batch.shape
    if n == 1:
        return Tensor._make(batch[0].copy())
    cols = min(nrow, n)
    rows = math.ceil(n / cols)
    cell_h, cell_w = height + padding, width + padding
    cells = np.full((rows * cols, channels, cell_h, cell_w), pad_value, dtype=batch.dtype)
    cells[:n, :, padding:, padding:] = batch  # each image sits at the cell's bottom-right
    tiled = cells.reshape(rows, cols, channels, cell_h, cell_w).transpose(2, 0, 3, 1, 4)
    grid = np.full((channels, rows * cell_h + padding, cols * cell_w + padding), pad_value,
                   dtype=batch.dtype)
    grid[:, :rows * cell_h, :cols * cell_w] = tiled.reshape(channels, rows * cell_h,
                                                            cols * cell_w)
    return Tensor._make(grid)


def to_uint8_image(grid: np.ndarray) -> np.ndarray:
    """A (C, H, W) float image in [0, 1] -> (H, W, C) uint8, rounded as torchvision does."""
    return np.clip(grid * 255 + 0.5, 0, 255).transpose(1, 2, 0).astype(np.uint8)


def save_image(tensor, fp, format: str | None = None, **grid_kwargs) -> None:
    """Write `make_grid(tensor, **grid_kwargs)` as an image file (PNG, JPEG, ... by suffix).

    Values are expected in [0, 1] (or pass `normalize=True`). The file is written to a
    temporary name and renamed (core's atomic_path), so a crash never leaves half an image.
    """
    pixels = to_uint8_image(make_grid(tensor, **grid_kwargs).array)
    image = Image.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels)
    if not isinstance(fp, (str, Path)):
        image.save(fp, format=format)  # a file object: the caller owns it
        return
    path = Path(fp)
    format = format or Image.registered_extensions().get(path.suffix.lower())
    with atomic_path(path) as temporary:
        image.save(temporary, format=format)
