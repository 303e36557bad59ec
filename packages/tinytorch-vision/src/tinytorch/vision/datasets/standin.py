"""A labelled stand-in for CIFAR-10, for smoke runs on a machine without the data.

What it teaches: a smoke test needs data with the right *shape* and a signal a network
can learn, not the real images. Each of the ten classes here is one random 32x32x3
template; an image is its class template plus Gaussian noise (sigma 60 of 255). A CNN
learns that in a few hundred steps, so a quick run still proves the whole pipeline
(decode -> normalise -> augment -> train -> evaluate -> save) works end to end.

It is never CIFAR-10 and never claims a CIFAR-10 figure: its classes are called
"stand-in 0" .. "stand-in 9", and callers label every result computed on it.

Systems lesson: generating 12,000 images costs ~0.2 s and 37 MB; nothing is downloaded
and nothing is cached.
"""

from __future__ import annotations

import numpy as np

from .arrays import ImageArrays

STAND_IN_CLASSES = [f"stand-in {k}" for k in range(10)]
NOISE = 60.0


def cifar10_stand_in(train: bool = True, size: int | None = None, seed: int = 0) -> ImageArrays:
    """uint8 (N, 32, 32, 3) images in CIFAR-10's layout; N defaults to 10,000 / 2,000.

    Train and test splits share the class templates (drawn from `seed`) and differ in
    their noise, so accuracy on the test split measures generalisation, not memory.
    """
    count = size if size is not None else 10_000 if train else 2_000
    if count < 1:
        raise ValueError(f"cifar10_stand_in: size must be >= 1, got {count}")
    templates = np.random.default_rng(seed).integers(0, 256, size=(10, 32, 32, 3))
    rng = np.random.default_rng([seed, 1 if train else 2])
    labels = rng.integers(0, 10, size=count)
    noise = rng.normal(0.0, NOISE, size=(count, 32, 32, 3))
    images = np.clip(templates[labels] + noise, 0, 255).astype(np.uint8)
    return ImageArrays(images, labels.astype(np.int64), classes=list(STAND_IN_CLASSES))
