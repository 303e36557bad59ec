"""max_pool2d, avg_pool2d, adaptive_avg_pool2d and their modules against PyTorch."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import tinytorch.core as tt
import tinytorch.vision.functional as VF
from tinytorch.core.testing import check_gradcheck, check_op
from tinytorch.vision import nn as vnn
from tinytorch.vision.ops import pooling as pooling_op

DTYPES = [np.float32, np.float64]

# (input shape, kernel, stride, padding, dilation, ceil_mode)
MAX_CASES = [
    ((2, 3, 8, 8), 2, None, 0, 1, False),
    ((2, 3, 7, 9), 3, 2, 1, 1, False),
    ((1, 2, 7, 7), 3, 2, 1, 1, True),
    ((2, 2, 9, 8), (3, 2), (2, 1), (1, 0), (1, 2), False),
    ((1, 4, 10, 10), 2, 3, 1, 2, True),
    ((3, 1, 5, 6), (1, 3), 1, (0, 1), 1, False),
    ((1, 3, 6, 5), 4, 1, 2, 1, True),
    ((2, 3, 6, 9), (2, 3), None, 0, 1, False),  # non-square windows that tile the input
    ((1, 2, 6, 6), 4, 4, 1, 1, False),  # tiles the padded input
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", MAX_CASES, ids=[str(i) for i in range(len(MAX_CASES))])
def test_max_pool2d_matches_torch(case, dtype):
    shape, kernel, stride, padding, dilation, ceil_mode = case
    x = np.random.default_rng(len(shape) + sum(shape)).standard_normal(shape).astype(dtype)
    check_op(None,
             lambda t: VF.max_pool2d(t, kernel, stride, padding, dilation, ceil_mode),
             lambda t: TF.max_pool2d(t, kernel, stride, padding, dilation, ceil_mode), arrays=[x])


def test_max_pool_ties_send_gradient_to_first_maximum_like_torch():
    """After a ReLU whole windows are 0: exactly one element per window gets the gradient."""
    x = np.zeros((1, 2, 4, 4), dtype=np.float32)
    x[0, 0, 1, 1] = x[0, 0, 0, 1] = 1.0  # a tie inside one window
    check_op(None, lambda t: VF.max_pool2d(t, 2), lambda t: TF.max_pool2d(t, 2), arrays=[x])
    check_op(None, lambda t: VF.max_pool2d(t, 3, 1, 1), lambda t: TF.max_pool2d(t, 3, 1, 1),
             arrays=[x])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel,padding,shape", [(2, 0, (3, 4, 8, 12)),
                                                  ((2, 3), 0, (3, 4, 8, 12)),
                                                  (4, 1, (3, 4, 6, 10))])
def test_tiled_max_pool_backward_equals_the_loop_over_offsets(kernel, padding, shape, dtype,
                                                              monkeypatch):
    """Windows that tile the input take route_to_tiles; the loop over offsets must give
    the same gradient bit for bit, ties included (integer inputs: many equal maxima)."""
    x = np.random.default_rng(5).integers(-2, 3, size=shape).astype(dtype)
    calls = []
    route = pooling_op.route_to_tiles
    monkeypatch.setattr(pooling_op, "route_to_tiles",
                        lambda *args, **kwargs: calls.append(1) or route(*args, **kwargs))

    def input_gradient():
        t = tt.Tensor(x, requires_grad=True)
        out = VF.max_pool2d(t, kernel, padding=padding)
        upstream = np.random.default_rng(6).standard_normal(out.shape).astype(dtype)
        out.backward(tt.Tensor(upstream))
        return t.grad.array

    tiled = input_gradient()
    assert calls, "these windows tile the input: the tiled path should have run"
    monkeypatch.setattr(pooling_op, "windows_tile", lambda *args: False)
    assert np.array_equal(tiled, input_gradient())
    assert np.count_nonzero(tiled) > 0


# (input shape, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
AVG_CASES = [
    ((2, 3, 8, 8), 2, None, 0, False, True, None),
    ((2, 3, 7, 9), 3, 2, 1, False, True, None),
    ((2, 3, 7, 9), 3, 2, 1, False, False, None),
    ((1, 2, 7, 7), 3, 2, 1, True, True, None),
    ((1, 2, 8, 7), (3, 2), (2, 3), (1, 1), True, False, None),
    ((2, 2, 6, 6), 3, 1, 1, False, True, 5),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", AVG_CASES, ids=[str(i) for i in range(len(AVG_CASES))])
def test_avg_pool2d_matches_torch(case, dtype):
    shape, kernel, stride, padding, ceil_mode, include_pad, divisor = case
    x = np.random.default_rng(sum(shape)).standard_normal(shape).astype(dtype)
    check_op(None,
             lambda t: VF.avg_pool2d(t, kernel, stride, padding, ceil_mode, include_pad,
                                     divisor),
             lambda t: TF.avg_pool2d(t, kernel, stride, padding, ceil_mode, include_pad,
                                     divisor), arrays=[x])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,size", [((2, 3, 8, 8), 1), ((2, 3, 7, 9), (3, 4)),
                                        ((1, 2, 5, 5), (5, None)), ((2, 2, 6, 4), (4, 3)),
                                        ((1, 1, 3, 3), 5)])
def test_adaptive_avg_pool2d_matches_torch(shape, size, dtype):
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    check_op(None, lambda t: VF.adaptive_avg_pool2d(t, size),
             lambda t: TF.adaptive_avg_pool2d(t, size), arrays=[x])


def test_gradchecks():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 2, 5, 6))
    check_gradcheck(None, lambda t: VF.max_pool2d(t, 3, 2, 1, ceil_mode=True), arrays=[x])
    check_gradcheck(None, lambda t: VF.avg_pool2d(t, 3, 2, 1, count_include_pad=False), arrays=[x])
    check_gradcheck(None, lambda t: VF.adaptive_avg_pool2d(t, (3, 4)), arrays=[x])


def test_pooling_keeps_channels_last_memory_and_unbatched_input():
    conv_out = vnn.Conv2d(3, 4, 3, padding=1)(tt.randn(2, 3, 8, 8))
    pooled = vnn.MaxPool2d(2)(conv_out)
    assert pooled.shape == (2, 4, 4, 4)
    assert pooled.array.transpose(0, 2, 3, 1).flags.c_contiguous
    assert vnn.AvgPool2d(2)(tt.randn(3, 8, 8)).shape == (3, 4, 4)
    assert vnn.AdaptiveAvgPool2d((1, 1))(tt.randn(2, 5, 7, 7)).shape == (2, 5, 1, 1)


def test_modules_match_torch_modules():
    x = np.random.default_rng(0).standard_normal((2, 3, 9, 9)).astype(np.float32)
    pairs = [(vnn.MaxPool2d(3, 2, 1), torch.nn.MaxPool2d(3, 2, 1)),
             (vnn.AvgPool2d(2, ceil_mode=True), torch.nn.AvgPool2d(2, ceil_mode=True)),
             (vnn.AdaptiveAvgPool2d(4), torch.nn.AdaptiveAvgPool2d(4))]
    for mine, theirs in pairs:
        np.testing.assert_allclose(mine(tt.tensor(x)).array, theirs(torch.from_numpy(x)).numpy(),
                                   atol=1e-6, err_msg=repr(mine))


# ---------------------------------------------------------------- bad input


def test_bad_pooling_arguments():
    with pytest.raises(ValueError, match=r"MaxPool2d\(kernel_size=2.*padding \(2, 2\) should "
                                         r"be at most half of kernel size \(2, 2\)"):
        vnn.MaxPool2d(2, padding=2)(tt.randn(1, 1, 8, 8))
    with pytest.raises(ValueError, match=r"max_pool2d: kernel size \(5, 5\).*padded input "
                                         r"\(3, 3\).*\(1, 1, 3, 3\)"):
        VF.max_pool2d(tt.randn(1, 1, 3, 3), 5)
    with pytest.raises(ValueError, match=r"AvgPool2d.*4-D input.*\(4, 4\)"):
        vnn.AvgPool2d(2)(tt.randn(4, 4))
    with pytest.raises(TypeError, match="max_pool2d: input must be floating point, got int64"):
        VF.max_pool2d(tt.tensor(np.zeros((1, 1, 4, 4), dtype=np.int64)), 2)
    with pytest.raises(ValueError, match="adaptive_avg_pool2d: output_size"):
        VF.adaptive_avg_pool2d(tt.randn(1, 1, 4, 4), (0, 2))
    with pytest.raises(ValueError, match="divisor_override must be a positive int"):
        VF.avg_pool2d(tt.randn(1, 1, 4, 4), 2, divisor_override=0)
