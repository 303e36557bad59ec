"""make_grid / save_image against torchvision's algorithm.

torchvision itself is not a test dependency (its wheels are tied to CUDA builds of torch),
so the reference below is torchvision.utils.make_grid's own loop, written with torch ops.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

import tinytorch.core as tt
from tinytorch.vision import utils


def torchvision_make_grid(tensor, nrow=8, padding=2, normalize=False, value_range=None,
                          scale_each=False, pad_value=0.0):
    if tensor.dim() == 2:
        tensor = tensor.unsqueeze(0)
    if tensor.dim() == 3:
        if tensor.size(0) == 1:
            tensor = torch.cat((tensor, tensor, tensor), 0)
        tensor = tensor.unsqueeze(0)
    if tensor.dim() == 4 and tensor.size(1) == 1:
        tensor = torch.cat((tensor, tensor, tensor), 1)
    if normalize:
        tensor = tensor.clone()

        def norm(img, low, high):
            img.clamp_(min=low, max=high)
            img.sub_(low).div_(max(high - low, 1e-5))

        if scale_each:
            for t in tensor:
                norm(t, *(value_range or (float(t.min()), float(t.max()))))
        else:
            norm(tensor, *(value_range or (float(tensor.min()), float(tensor.max()))))
    if tensor.size(0) == 1:
        return tensor.squeeze(0)
    nmaps = tensor.size(0)
    xmaps = min(nrow, nmaps)
    ymaps = int(math.ceil(float(nmaps) / xmaps))
    height, width = int(tensor.size(2) + padding), int(tensor.size(3) + padding)
    grid = tensor.new_full((tensor.size(1), height * ymaps + padding, width * xmaps + padding),
                           pad_value)
    k = 0
    for y in range(ymaps):
        for x in range(xmaps):
            if k >= nmaps:
                break
            grid.narrow(1, y * height + padding, height - padding).narrow(
                2, x * width + padding, width - padding).copy_(tensor[k])
            k += 1
    return grid


@pytest.mark.parametrize("shape", [(10, 3, 5, 4), (7, 1, 4, 4), (1, 3, 6, 6), (3, 5, 5),
                                   (1, 4, 4), (6, 7), (16, 3, 2, 2)])
@pytest.mark.parametrize("kwargs", [
    {}, {"nrow": 3, "padding": 1, "pad_value": 0.5}, {"nrow": 4, "padding": 0},
    {"normalize": True}, {"normalize": True, "scale_each": True, "nrow": 2},
    {"normalize": True, "value_range": (-0.5, 0.5)},
])
def test_make_grid_matches_torchvision(shape, kwargs):
    images = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    mine = utils.make_grid(tt.tensor(images), **kwargs)
    theirs = torchvision_make_grid(torch.tensor(images), **kwargs)
    assert mine.shape == tuple(theirs.shape)
    np.testing.assert_allclose(mine.array, theirs.numpy(), rtol=1e-6, atol=1e-7)


def test_make_grid_takes_a_list_of_images():
    images = [tt.rand(3, 4, 4) for _ in range(5)]
    np.testing.assert_array_equal(utils.make_grid(images, nrow=2).array,
                                  utils.make_grid(tt.stack(images), nrow=2).array)
    with pytest.raises(ValueError, match="all images must have one shape"):
        utils.make_grid([tt.rand(3, 4, 4), tt.rand(3, 5, 4)])
    with pytest.raises(ValueError, match=r"expected an image batch \(N, C, H, W\)"):
        utils.make_grid(tt.rand(2, 2, 2, 2, 2))


def test_save_image_writes_the_grid_as_torchvision_rounds_it(tmp_path):
    images = np.random.default_rng(1).random((6, 3, 8, 8)).astype(np.float32)
    path = tmp_path / "grid.png"
    utils.save_image(tt.tensor(images), path, nrow=3)
    saved = np.asarray(Image.open(path))
    grid = torchvision_make_grid(torch.tensor(images), nrow=3)
    expected = grid.mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to(torch.uint8).numpy()
    np.testing.assert_array_equal(saved, expected)
    assert [p.name for p in tmp_path.iterdir()] == ["grid.png"]  # no temporary left behind
    utils.save_image(tt.rand(1, 8, 8), tmp_path / "grey.jpg")
    assert Image.open(tmp_path / "grey.jpg").format == "JPEG"
