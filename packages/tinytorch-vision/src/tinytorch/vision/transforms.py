"""Transforms: turning uint8 images into normalised float tensors, with augmentation.

    train_tf = transforms.Compose([
        transforms.RandomCrop(32, padding=4),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    ])

What it teaches: augmentation shows the network a slightly different image every epoch
(shifted by a few pixels, mirrored), which is free extra data: on CIFAR-10 it is worth
several points of test accuracy. Normalisation centres each input channel so the first
layer starts in the regime its initialisation assumed.

Every transform accepts one image or a whole batch: a numpy array is channels-last
((H, W, C) or (N, H, W, C), e.g. uint8 images as stored), a Tensor is channels-first
((C, H, W) or (N, C, H, W), after ToTensor). On a batch each image still gets its own
random crop and flip, drawn as arrays of offsets and coin flips.

Systems lesson: applied image by image in Python, augmentation costs ~10 us of
interpreter overhead per image per transform and can starve a fast model; on a batch it
is one padded copy and one gather (the crop windows are a strided view indexed once
with per-image offsets), a few milliseconds for 512 images.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from tinytorch.core.bad_input import number_in
from tinytorch.core.memory import allocating
from tinytorch.core.random import get_rng
from tinytorch.core.tensor import Tensor


class Compose:
    """Apply transforms in order."""

    def __init__(self, transforms: Sequence[Callable]):
        for i, t in enumerate(transforms):
            if not callable(t):
                raise TypeError(f"Compose: transform {i} ({t!r}) is not callable")
        self.transforms = list(transforms)

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self) -> str:
        body = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{body}\n])"


class ToTensor:
    """uint8 (H, W, C) / (N, H, W, C) images -> float32 (C, H, W) / (N, C, H, W) in [0, 1].

    Other dtypes are converted to float32 without scaling (as torchvision does); a 2-D
    (H, W) array becomes (1, H, W). PIL images are accepted too.
    """

    def __call__(self, image) -> Tensor:
        try:
            array = np.asarray(image)
        except ValueError:
            raise ValueError("ToTensor: expected an image array (H, W, C), got a ragged "
                             f"{type(image).__name__}") from None
        if array.dtype.kind not in "biuf":
            raise TypeError(f"ToTensor: expected an image of numbers, got {type(image).__name__}"
                            f" of dtype {array.dtype}")
        if array.ndim == 2:
            array = array[:, :, None]
        if array.ndim not in (3, 4):
            raise ValueError(f"ToTensor: expected an image (H, W, C) or a batch (N, H, W, C), "
                             f"got an array of shape {array.shape}")
        scale = np.float32(1 / 255) if array.dtype == np.uint8 else np.float32(1)
        channels_first = np.moveaxis(array, -1, -3)
        out = np.multiply(channels_first, scale, dtype=np.float32)
        return Tensor._make(np.ascontiguousarray(out))

    def __repr__(self) -> str:
        return "ToTensor()"


class Normalize:
    """(x - mean[c]) / std[c] for every channel c of a float (C, H, W) or (N, C, H, W) tensor."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]):
        self.mean, self.std = _numbers("mean", mean), _numbers("std", std)
        if self.mean.shape != self.std.shape:
            raise ValueError(f"Normalize: mean has {self.mean.size} values but std has "
                             f"{self.std.size}; give one of each per channel")
        if np.any(self.std == 0):
            raise ValueError(f"Normalize: std evaluated to zero ({list(self.std)}), leading "
                             "to division by zero")

    def __call__(self, x) -> Tensor:
        if not isinstance(x, Tensor) or x.dtype.kind != "f" or x.ndim not in (3, 4):
            what = f"{x.dtype} tensor of shape {x.shape}" if isinstance(x, Tensor) \
                else type(x).__name__
            raise TypeError(f"Normalize: expected a float tensor (C, H, W) or (N, C, H, W) "
                            f"(apply ToTensor first), got {what}")
        channels = x.shape[-3]
        if self.mean.size not in (1, channels):
            raise ValueError(f"Normalize: {self.mean.size} means for an input with {channels} "
                             f"channels (shape {x.shape})")
        mean = self.mean.astype(x.dtype).reshape(-1, 1, 1)
        inv_std = (1 / self.std).astype(x.dtype).reshape(-1, 1, 1)
        return Tensor._make((x.array - mean) * inv_std)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


def _numbers(name: str, values) -> np.ndarray:
    try:
        array = np.asarray(values.array if isinstance(values, Tensor) else values,
                           dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        array = None
    if array is None or array.size == 0 or not np.all(np.isfinite(array)):
        raise ValueError(f"Normalize: {name} must be finite numbers (one per channel), got "
                         f"{values!r:.60}")
    return array


# ---------------------------------------------------------------- random augmentation


def _as_batch(name: str, x):
    """(array (N, H, W, C) view, height axis, was it a single image?, was it a Tensor?)."""
    is_tensor = isinstance(x, Tensor)
    try:
        array = x.array if is_tensor else np.asarray(x)
    except ValueError:
        raise ValueError(f"{name}: expected an image array, got a ragged "
                         f"{type(x).__name__}") from None
    if array.ndim not in (3, 4):
        layout = "(C, H, W) or (N, C, H, W) tensor" if is_tensor \
            else "(H, W, C) or (N, H, W, C) array"
        raise ValueError(f"{name}: expected an image or a batch as a {layout}, got shape "
                         f"{array.shape}")
    single = array.ndim == 3
    batch = array[None] if single else array
    channels_last = batch if not is_tensor else batch.transpose(0, 2, 3, 1)
    return channels_last, single, is_tensor


def _restore(channels_last: np.ndarray, single: bool, is_tensor: bool):
    out = channels_last.transpose(0, 3, 1, 2) if is_tensor else channels_last
    out = np.ascontiguousarray(out[0] if single else out)
    return Tensor._make(out) if is_tensor else out


class RandomCrop:
    """Pad by `padding`, then cut a random `size` window from each image (its own offset)."""

    def __init__(self, size, padding=None, pad_if_needed: bool = False, fill: float = 0,
                 padding_mode: str = "constant", generator=None):
        self.size = (size, size) if isinstance(size, int) else size
        if not isinstance(self.size, (tuple, list)) or len(self.size) != 2 or not all(
                isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in self.size):
            raise ValueError(f"RandomCrop: size must be a positive int or (h, w), got {size!r}")
        self.size = tuple(self.size)
        self.padding = _padding_pairs(padding)
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError(f"RandomCrop: padding_mode must be constant, edge, reflect or "
                             f"symmetric, got {padding_mode!r}")
        self.pad_if_needed, self.fill, self.padding_mode = pad_if_needed, fill, padding_mode
        self.generator = generator

    def __call__(self, x):
        batch, single, is_tensor = _as_batch("RandomCrop", x)
        (top, bottom), (left, right) = self.padding
        height, width = self.size
        if self.pad_if_needed:
            bottom += max(0, height - (batch.shape[1] + top + bottom))
            right += max(0, width - (batch.shape[2] + left + right))
        with allocating("RandomCrop", f"images padded by {self.padding}"):
            padded = self._pad(batch, ((0, 0), (top, bottom), (left, right), (0, 0)))
        free_h, free_w = padded.shape[1] - height, padded.shape[2] - width
        if free_h < 0 or free_w < 0:
            raise ValueError(f"RandomCrop: crop size {self.size} is larger than the padded "
                             f"image {padded.shape[1:3]} (padding {self.padding})")
        rng = get_rng(self.generator)
        n = padded.shape[0]
        dy = rng.integers(0, free_h + 1, size=n)
        dx = rng.integers(0, free_w + 1, size=n)
        windows = sliding_window_view(padded, (height, width), axis=(1, 2))  # a view
        crops = windows[np.arange(n), dy, dx]  # (N, C, h, w): one gather for the batch
        return _restore(crops.transpose(0, 2, 3, 1), single, is_tensor)

    def _pad(self, batch, pads):
        if not any(any(p) for p in pads):
            return batch
        if self.padding_mode == "constant":
            return np.pad(batch, pads, constant_values=self.fill)
        return np.pad(batch, pads, mode=self.padding_mode)

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror each image left-right with probability p (an independent coin per image)."""

    def __init__(self, p: float = 0.5, generator=None):
        number_in("RandomHorizontalFlip", "p", p, 0.0, 1.0)
        self.p, self.generator = p, generator

    def __call__(self, x):
        batch, single, is_tensor = _as_batch("RandomHorizontalFlip", x)
        flip = get_rng(self.generator).random(batch.shape[0]) < self.p
        out = batch.copy()
        out[flip] = batch[flip][:, :, ::-1]
        return _restore(out, single, is_tensor)

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


def _padding_pairs(padding):
    """torchvision's padding forms: int, (lr, tb) or (left, top, right, bottom)."""
    if padding is None:
        return (0, 0), (0, 0)
    values = (padding,) if isinstance(padding, int) else \
        tuple(padding) if isinstance(padding, (tuple, list)) else (None,)
    if any(not isinstance(v, int) or v < 0 for v in values) or len(values) not in (1, 2, 4):
        raise ValueError(f"RandomCrop: padding must be an int >= 0, (left/right, top/bottom) or "
                         f"(left, top, right, bottom), got {padding!r}")
    if len(values) == 1:
        values = values * 4
    elif len(values) == 2:
        values = (values[0], values[1], values[0], values[1])
    left, top, right, bottom = values
    return (top, bottom), (left, right)
