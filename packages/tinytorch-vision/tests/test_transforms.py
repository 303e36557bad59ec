"""Transforms: ToTensor, Normalize, RandomCrop, RandomHorizontalFlip, Compose."""

import numpy as np
import pytest
import torch

import tinytorch.core as tt
from tinytorch.vision import transforms as T


def images(n=6, h=8, w=7, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


def test_to_tensor_single_and_batch():
    batch = images()
    out = T.ToTensor()(batch)
    assert out.shape == (6, 3, 8, 7) and out.dtype == np.float32 and out.array.flags.c_contiguous
    np.testing.assert_allclose(out.array, batch.transpose(0, 3, 1, 2) / 255, atol=1e-7)
    single = T.ToTensor()(batch[2])
    np.testing.assert_array_equal(single.array, out.array[2])
    assert T.ToTensor()(np.zeros((4, 5), np.uint8)).shape == (1, 4, 5)
    floats = T.ToTensor()(np.full((2, 2, 3), 7.0))
    assert floats.dtype == np.float32 and floats.array.max() == 7.0  # not rescaled
    with pytest.raises(ValueError, match=r"ToTensor: expected an image.*\(5,\)"):
        T.ToTensor()(np.zeros(5, np.uint8))


def test_normalize_matches_torch_formula():
    x = T.ToTensor()(images())
    mean, std = (0.49, 0.48, 0.45), (0.25, 0.24, 0.26)
    out = T.Normalize(mean, std)(x)
    expected = (torch.from_numpy(x.array) - torch.tensor(mean).view(3, 1, 1)) / \
        torch.tensor(std).view(3, 1, 1)
    np.testing.assert_allclose(out.array, expected.numpy(), atol=1e-5)
    assert out.dtype == np.float32
    with pytest.raises(ValueError, match="std evaluated to zero"):
        T.Normalize((0.5,), (0.0,))
    with pytest.raises(ValueError, match=r"2 means for an input with 3 channels"):
        T.Normalize((0.5, 0.5), (1, 1))(x)
    with pytest.raises(TypeError, match="apply ToTensor first"):
        T.Normalize((0.5,), (1,))(images())


def offsets_of(crop, padded):
    """Every (dy, dx) at which `crop` appears in `padded` (both (H, W, C))."""
    h, w = crop.shape[:2]
    return [(dy, dx) for dy in range(padded.shape[0] - h + 1)
            for dx in range(padded.shape[1] - w + 1)
            if np.array_equal(padded[dy:dy + h, dx:dx + w], crop)]


def test_random_crop_takes_a_window_of_the_padded_image_per_image():
    batch = images(n=32)
    out = T.RandomCrop((8, 7), padding=2, generator=tt.Generator(0))(batch)
    assert out.shape == batch.shape and out.dtype == np.uint8
    padded = np.pad(batch, ((0, 0), (2, 2), (2, 2), (0, 0)))
    found = [offsets_of(out[i], padded[i]) for i in range(32)]
    assert all(found), "every crop must be a window of its padded image"
    assert len({f[0] for f in found}) > 8, "each image should get its own random offset"


def test_random_crop_on_tensors_single_images_and_reproducibility():
    batch = images(n=4)
    x = T.ToTensor()(batch)
    crop = T.RandomCrop(5, padding=(1, 2), generator=tt.Generator(3))
    out = crop(x)
    assert isinstance(out, tt.Tensor) and out.shape == (4, 3, 5, 5)
    again = T.RandomCrop(5, padding=(1, 2), generator=tt.Generator(3))(x)
    np.testing.assert_array_equal(out.array, again.array)
    single = T.RandomCrop(4)(batch[0])
    assert single.shape == (4, 4, 3)
    assert offsets_of(single, batch[0])
    assert T.RandomCrop(10, pad_if_needed=True)(batch).shape == (4, 10, 10, 3)
    reflect = T.RandomCrop(8, padding=3, padding_mode="reflect")(batch)
    assert reflect.shape == (4, 8, 8, 3)
    with pytest.raises(ValueError, match=r"RandomCrop: crop size \(9, 9\) is larger"):
        T.RandomCrop(9)(batch)
    with pytest.raises(ValueError, match="RandomCrop: padding must be"):
        T.RandomCrop(4, padding=(1, 2, 3))


def test_random_horizontal_flip_per_image():
    batch = images(n=200)
    out = T.RandomHorizontalFlip(generator=tt.Generator(0))(batch)
    flipped = np.array([np.array_equal(o, b[:, ::-1]) for o, b in zip(out, batch)])
    kept = np.array([np.array_equal(o, b) for o, b in zip(out, batch)])
    assert np.all(flipped | kept) and 70 < flipped.sum() < 130
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(batch), batch[:, :, ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(0.0)(batch), batch)
    x = T.ToTensor()(batch[:3])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(x).array, x.array[..., ::-1])
    with pytest.raises(ValueError, match="RandomHorizontalFlip: p must be in"):
        T.RandomHorizontalFlip(2.0)
    with pytest.raises(ValueError, match=r"RandomHorizontalFlip: expected an image.*\(3, 3\)"):
        T.RandomHorizontalFlip()(np.zeros((3, 3)))


def test_compose_the_training_pipeline():
    tf = T.Compose([T.RandomCrop(8, padding=1), T.RandomHorizontalFlip(), T.ToTensor(),
                    T.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])
    out = tf(images(h=8, w=8))
    assert out.shape == (6, 3, 8, 8) and out.dtype == np.float32
    assert out.array.min() >= -1.0 and out.array.max() <= 1.0
    assert "RandomCrop" in repr(tf)
    with pytest.raises(TypeError, match="Compose: transform 1"):
        T.Compose([T.ToTensor(), 3])
