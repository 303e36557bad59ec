"""Checks that a picture is a picture: a real PNG of the expected size, not blank."""

from __future__ import annotations

import numpy as np

from tinytorch.core.plot import read_png

MIN_PIXEL_STD = 0.02  # a blank (single-colour) image has 0; any drawn plot is far above


def assert_picture(path, min_size=(200, 200), min_std: float = MIN_PIXEL_STD) -> np.ndarray:
    """The pixels of `path` after checking it is a PNG at least `min_size` (w, h), not blank."""
    pixels = read_png(path)
    height, width = pixels.shape[:2]
    assert width >= min_size[0] and height >= min_size[1], (path, width, height)
    std = float(pixels[..., :3].std())
    assert std > min_std, f"{path} looks blank: pixel std {std:.4f} <= {min_std}"
    return pixels


def assert_pictures_differ(a: np.ndarray, b: np.ndarray, min_fraction: float = 0.001) -> None:
    """Two renderings differ in more than `min_fraction` of their pixels."""
    assert a.shape == b.shape, (a.shape, b.shape)
    changed = np.any(np.abs(a - b) > 1e-3, axis=-1).mean()
    assert changed > min_fraction, f"only {changed:.5f} of the pixels changed"
