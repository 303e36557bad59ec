"""ImageArrays: a dataset whose images live in one uint8 (N, H, W, C) array.

What it teaches: once images are decoded, a dataset is two arrays, `data` (uint8, N x H x
W x C, exactly torchvision's CIFAR10.data) and `targets`. A batch is then one fancy
index, and the transforms run on the whole (B, H, W, C) batch at once instead of image by
image.

Systems lesson: uint8 is 4x smaller than float32: CIFAR-10's 60,000 images are 184 MB as
uint8 and would be 737 MB as float32. Keep the bytes, convert per batch (ToTensor).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tinytorch.core.data import Dataset, default_collate
from tinytorch.core.tensor import Tensor


def transform_batch(images: np.ndarray, targets: np.ndarray, transform: Callable | None,
                    target_transform: Callable | None) -> list:
    """[transformed images, targets] as Tensors, the way the DataLoader wants a batch."""
    batch = images if transform is None else transform(images)
    if not isinstance(batch, Tensor):
        batch = Tensor(np.asarray(batch))
    if target_transform is None:
        labels = Tensor(np.asarray(targets, dtype=np.int64))
    else:
        labels = default_collate([target_transform(int(t)) for t in targets])
    return [batch, labels]


class ImageArrays(Dataset):
    """(image, target) pairs from a uint8 (N, H, W, C) array and an int target array."""

    def __init__(self, data: np.ndarray, targets, transform: Callable | None = None,
                 target_transform: Callable | None = None, classes: list[str] | None = None):
        data = np.asarray(data)
        targets = np.asarray(targets, dtype=np.int64)
        if data.ndim != 4 or data.dtype != np.uint8:
            raise ValueError(f"{type(self).__name__}: data must be a uint8 (N, H, W, C) array, "
                             f"got {data.dtype} of shape {data.shape}")
        if targets.shape != (data.shape[0],):
            raise ValueError(f"{type(self).__name__}: expected {data.shape[0]} targets, got "
                             f"shape {targets.shape}")
        self.data, self.targets = data, targets
        self.transform, self.target_transform = transform, target_transform
        self.classes = list(classes) if classes is not None else \
            [str(i) for i in range(int(targets.max()) + 1 if targets.size else 0)]
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int):
        image, target = self.data[index], int(self.targets[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def __getitems__(self, indices) -> list:
        indices = np.asarray(indices, dtype=np.int64)
        return transform_batch(self.data[indices], self.targets[indices], self.transform,
                               self.target_transform)
