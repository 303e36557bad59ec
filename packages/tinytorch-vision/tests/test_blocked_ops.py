"""The blocked, multi-threaded paths of conv (im2col, col2im), max pooling and batch norm.

Each op splits its batch (or its rows) into blocks that run on a thread pool
(tinytorch.core.parallel). On arrays big enough to be split, the result must equal the
one-block, one-thread computation (the reference path: exactly for copies, adds in the
same order and maxima; to rounding for sums over the batch: batch norm's statistics and
conv's weight gradient) and agree with PyTorch.
"""

import numpy as np
import pytest
import torch.nn.functional as TF

import tinytorch.core as tt
import tinytorch.vision.functional as VF
from tinytorch.core import parallel
from tinytorch.core.testing import check_op
from tinytorch.vision.ops import conv as conv_op

SMALL_BLOCKS = 16 * 1024  # many blocks even for these test-sized batches


@pytest.fixture
def blocked():
    """Run with many small blocks on 2 threads (and nothing inline because it is small)."""
    with parallel.configured(threads=2, block_bytes=SMALL_BLOCKS, min_parallel_bytes=0):
        yield


def one_block(fn, *arrays):
    """fn's output and input gradients with one block on one thread: the reference path."""
    with parallel.configured(threads=1, block_bytes=1 << 60):
        return run(fn, *arrays)


def run(fn, *arrays):
    tensors = [tt.Tensor(a.copy(), requires_grad=True) for a in arrays]
    out = fn(*tensors)
    upstream = np.random.default_rng(1).standard_normal(out.shape).astype(out.dtype)
    out.backward(tt.Tensor(upstream))
    return [out.array.copy()] + [t.grad.array.copy() for t in tensors]


def images(shape, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("stride,padding", [(1, 1), (2, 1), (1, 0)])
def test_conv_blocked_equals_one_block_and_torch(blocked, dtype, stride, padding):
    x, w = images((9, 6, 12, 12), dtype), images((8, 6, 3, 3), dtype, seed=2)

    def conv(a, b):
        return VF.conv2d(a, b, stride=stride, padding=padding)

    columns = conv_op.image_blocks(9, np.empty((1, 54, 8)), (12, 12), np.dtype(dtype).itemsize)
    assert len(columns) > 1, "the test should run conv in several blocks of images"
    references = one_block(conv, x, w)
    # Blocks of images change the products' shapes: BLAS may round a row of a block of 3
    # images differently from the same row in all 9 (a different kernel path), and the
    # weight gradient adds one partial sum per block. So: equal to rounding, not bitwise.
    eps = np.finfo(dtype).eps
    for mine, reference in zip(run(conv, x, w), references):
        np.testing.assert_allclose(mine, reference, rtol=64 * eps,
                                   atol=64 * eps * float(np.abs(reference).max()))
    # The weight gradient sums ~1,300 products per entry, with entries up to ~100: in
    # float32 both libraries round at the scale of the largest, so a small entry made by
    # cancellation can differ from torch's by more than a fixed atol of 1e-5 (found on an
    # AVX-512 machine, where TinyTorch was the closer of the two to the float64 result).
    # The tolerance follows the scale of the sums; float64 keeps the default.
    scale = max(float(np.abs(r).max()) for r in references)
    atol = None if dtype == np.float64 else 2e-6 * max(scale, 1.0)
    check_op(None, conv, lambda a, b: TF.conv2d(a, b, stride=stride, padding=padding),
             arrays=[x, w], atol=atol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kernel,stride,padding", [(2, 2, 0), (3, 2, 1), (3, 1, 1)])
def test_max_pool_blocked_equals_one_block_and_torch(blocked, dtype, kernel, stride, padding):
    x = images((11, 5, 10, 10), dtype)
    x[:, :, ::3, ::2] = 0.5  # ties inside windows: the first maximum wins, as in PyTorch

    def pool(a):
        return VF.max_pool2d(a, kernel, stride=stride, padding=padding)

    for mine, reference in zip(run(pool, x), one_block(pool, x)):
        np.testing.assert_array_equal(mine, reference)
    check_op(None, pool, lambda a: TF.max_pool2d(a, kernel, stride=stride, padding=padding),
             arrays=[x])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_norm_blocked_matches_one_block_and_torch(blocked, dtype):
    x = images((16, 7, 9, 9), dtype) * 3 + 5  # a mean far from 0: the variance must be exact
    weight, bias = images((7,), dtype, seed=3), images((7,), dtype, seed=4)

    def norm(a, w, b):
        return VF.batch_norm(a, None, None, w, b, training=True)

    tolerance = {np.float32: 1e-5, np.float64: 1e-12}[dtype]
    for mine, reference in zip(run(norm, x, weight, bias), one_block(norm, x, weight, bias)):
        scale = max(1.0, float(np.abs(reference).max()))
        np.testing.assert_allclose(mine, reference, atol=tolerance * scale, rtol=tolerance)
    check_op(None, norm, lambda a, w, b: TF.batch_norm(a, None, None, w, b, training=True),
             arrays=[x, weight, bias])


def test_batch_norm_blocks_are_really_several(blocked):
    rows = 16 * 9 * 9
    assert len(parallel.blocks(rows, 7 * 8)) > 4  # the fixture's blocks split this batch
