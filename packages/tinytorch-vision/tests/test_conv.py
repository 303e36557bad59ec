"""conv2d and Conv2d against PyTorch: values and gradients over random geometries."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import tinytorch.core as tt
import tinytorch.vision.functional as VF
from tinytorch.core.testing import check_gradcheck, check_op
from tinytorch.vision import nn as vnn
from tinytorch.vision.ops import conv as conv_op


def random_geometries(count, seed):
    """Random (input shape, weight shape, stride, padding, dilation, groups) that fit."""
    rng = np.random.default_rng(seed)
    cases = []
    while len(cases) < count:
        groups = int(rng.choice([1, 1, 2, 3]))
        c_in, c_out = groups * int(rng.integers(1, 4)), groups * int(rng.integers(1, 4))
        kh, kw = (int(k) for k in rng.integers(1, 5, size=2))
        stride = tuple(int(s) for s in rng.integers(1, 4, size=2))
        padding = tuple(int(p) for p in rng.integers(0, 3, size=2))
        dilation = tuple(int(d) for d in rng.integers(1, 3, size=2))
        h, w = (int(s) for s in rng.integers(3, 11, size=2))
        span = (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)
        if span[0] > h + 2 * padding[0] or span[1] > w + 2 * padding[1]:
            continue
        n = int(rng.integers(1, 4))
        cases.append(((n, c_in, h, w), (c_out, c_in // groups, kh, kw), stride, padding,
                      dilation, groups))
    return cases


GEOMETRIES = random_geometries(24, seed=1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("geometry", GEOMETRIES, ids=[str(i) for i in range(len(GEOMETRIES))])
def test_conv2d_matches_torch(geometry, dtype):
    x_shape, w_shape, stride, padding, dilation, groups = geometry
    rng = np.random.default_rng(hash(geometry) % 2**32)
    arrays = [rng.standard_normal(x_shape).astype(dtype),
              rng.standard_normal(w_shape).astype(dtype),
              rng.standard_normal(w_shape[0]).astype(dtype)]
    check_op(None,
             lambda x, w, b: VF.conv2d(x, w, b, stride, padding, dilation, groups),
             lambda x, w, b: TF.conv2d(x, w, b, stride, padding, dilation, groups), arrays=arrays)


UNGROUPED = [g for g in GEOMETRIES if g[-1] == 1]


@pytest.mark.parametrize("channel_major", [False, True], ids=["pixel-major", "channel-major"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("geometry", UNGROUPED, ids=[str(i) for i in range(len(UNGROUPED))])
def test_both_column_layouts_match_torch(geometry, dtype, channel_major, monkeypatch):
    """Each geometry through each im2col layout, whichever the rule would pick."""
    x_shape, w_shape, stride, padding, dilation, _ = geometry
    monkeypatch.setattr(conv_op, "uses_channel_major", lambda *args: channel_major)
    rng = np.random.default_rng(hash(geometry) % 2**32 + 1)
    arrays = [rng.standard_normal(x_shape).astype(dtype),
              rng.standard_normal(w_shape).astype(dtype),
              rng.standard_normal(w_shape[0]).astype(dtype)]
    check_op(None,
             lambda x, w, b: VF.conv2d(x, w, b, stride, padding, dilation),
             lambda x, w, b: TF.conv2d(x, w, b, stride, padding, dilation), arrays=arrays)


def test_gradcheck_channel_major_columns(monkeypatch):
    monkeypatch.setattr(conv_op, "uses_channel_major", lambda *args: True)
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal((2, 2, 6, 5)), rng.standard_normal((3, 2, 3, 2)),
              rng.standard_normal(3)]
    check_gradcheck(None, lambda x, w, b: VF.conv2d(x, w, b, stride=(1, 2), padding=(2, 1),
                                                    dilation=(2, 1)), arrays=arrays)


def test_channel_major_columns_for_rgb_images_only():
    """NCHW images with 3 channels get channel-major columns (9-number patch rows are
    short runs to copy); a channels-last activation or a wide input keeps im2col's."""
    def rule(x, kernel=(3, 3), stride=(1, 1), pads=((1, 1), (1, 1)), groups=1):
        return conv_op.uses_channel_major(x, kernel, stride, pads, (1, 1), groups)

    images = np.zeros((4, 3, 32, 32), np.float32)
    assert rule(images)
    assert not rule(np.ascontiguousarray(images.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2))
    assert not rule(np.zeros((4, 64, 16, 16), np.float32))  # 192-number patch rows
    assert not rule(images, stride=(2, 2))  # strided output rows: runs of one number
    assert not rule(images, groups=3)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("kernel", [(3, 3), (2, 4)])
def test_string_padding_matches_torch(padding, kernel):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((2, 3, 7, 9)).astype(np.float32),
              rng.standard_normal((4, 3, *kernel)).astype(np.float32), None]
    check_op(None, lambda x, w, b: VF.conv2d(x, w, padding=padding, dilation=(1, 2)),
             lambda x, w, b: TF.conv2d(x, w, padding=padding, dilation=(1, 2)), arrays=arrays)


def test_unbatched_input_and_no_bias():
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((3, 6, 6)).astype(np.float32),
              rng.standard_normal((5, 3, 3, 3)).astype(np.float32)]
    out = check_op(None, lambda x, w: VF.conv2d(x, w, stride=2, padding=1),
                   lambda x, w: TF.conv2d(x, w, stride=2, padding=1), arrays=arrays)
    assert out.shape == (5, 3, 3)


def test_depthwise_convolution():
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((2, 4, 8, 8)).astype(np.float32),
              rng.standard_normal((8, 1, 3, 3)).astype(np.float32),
              rng.standard_normal(8).astype(np.float32)]
    check_op(None, lambda x, w, b: VF.conv2d(x, w, b, padding=1, groups=4),
             lambda x, w, b: TF.conv2d(x, w, b, padding=1, groups=4), arrays=arrays)


def test_gradcheck_conv2d():
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((2, 2, 5, 4)), rng.standard_normal((4, 1, 3, 2)),
              rng.standard_normal(4)]
    check_gradcheck(None, lambda x, w, b: VF.conv2d(x, w, b, stride=(2, 1), padding=(1, 2),
                                                    dilation=(1, 2), groups=2), arrays=arrays)


def test_first_layer_skips_input_gradient():
    """Images need no gradient: only weight and bias get one (and no grad_x is computed)."""
    layer = vnn.Conv2d(3, 4, 3)
    x = tt.randn(2, 3, 6, 6)
    layer(x).sum().backward()
    assert x.grad is None and layer.weight.grad is not None and layer.bias.grad is not None


def test_output_is_channels_last_memory():
    """NCHW shape, NHWC memory: the next layer reads it without a transpose copy."""
    out = vnn.Conv2d(3, 8, 3, padding=1)(tt.randn(2, 3, 5, 5))
    assert out.shape == (2, 8, 5, 5)
    assert out.array.transpose(0, 2, 3, 1).flags.c_contiguous


def test_conv2d_init_matches_pytorch_distribution():
    tt.manual_seed(0)
    layer = vnn.Conv2d(16, 32, 3)
    fan_in = 16 * 9
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform(a=sqrt(5)) gives the same bound
    assert layer.weight.shape == (32, 16, 3, 3) and layer.bias.shape == (32,)
    assert np.abs(layer.weight.array).max() <= bound
    assert np.abs(layer.weight.array).max() > 0.95 * bound
    # uniform(-b, b) has std b / sqrt(3)
    assert abs(layer.weight.array.std() - bound / math.sqrt(3)) < 0.05 * bound
    assert np.abs(layer.bias.array).max() <= bound
    assert layer.weight.dtype == np.float32


def test_conv2d_module_matches_torch_module():
    tt.manual_seed(0)
    mine = vnn.Conv2d(4, 6, (3, 2), stride=(1, 2), padding=(2, 1), dilation=(2, 1), groups=2)
    theirs = torch.nn.Conv2d(4, 6, (3, 2), stride=(1, 2), padding=(2, 1), dilation=(2, 1),
                             groups=2)
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(mine.weight.array))
        theirs.bias.copy_(torch.from_numpy(mine.bias.array))
    x = np.random.default_rng(0).standard_normal((2, 4, 9, 9)).astype(np.float32)
    np.testing.assert_allclose(mine(tt.tensor(x)).array,
                               theirs(torch.from_numpy(x)).detach().numpy(), atol=1e-5)
    assert mine.state_dict().keys() == theirs.state_dict().keys()


# ---------------------------------------------------------------- bad input


def test_wrong_channel_count_names_layer_and_shapes():
    layer = vnn.Conv2d(3, 16, 3)
    with pytest.raises(ValueError, match=r"Conv2d\(3, 16, kernel_size=\(3, 3\).*expected "
                                         r"input with 3 channels.*\(8, 4, 32, 32\)"):
        layer(tt.randn(8, 4, 32, 32))


def test_kernel_larger_than_padded_input():
    layer = vnn.Conv2d(3, 4, 5, padding=1)
    with pytest.raises(ValueError, match=r"Conv2d\(3, 4, kernel_size=\(5, 5\).*covers "
                                         r"\(5, 5\).*padded input \(4, 4\).*\(1, 3, 2, 2\)"):
        layer(tt.randn(1, 3, 2, 2))


@pytest.mark.parametrize("shape", [(3, 8), (1, 1, 3, 8, 8)])
def test_wrong_rank_is_refused(shape):
    with pytest.raises(ValueError, match=r"Conv2d.*4-D input.*" + re_shape(shape)):
        vnn.Conv2d(3, 4, 3)(tt.randn(*shape))


def re_shape(shape):
    return str(shape).replace("(", r"\(").replace(")", r"\)")


def test_bad_constructor_and_call_arguments():
    with pytest.raises(ValueError, match="divisible by groups"):
        vnn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="kernel_size"):
        vnn.Conv2d(3, 4, 0)
    with pytest.raises(ValueError, match="stride"):
        vnn.Conv2d(3, 4, 3, stride=0)
    with pytest.raises(ValueError, match="padding='same'.*strided"):
        vnn.Conv2d(3, 4, 3, stride=2, padding="same")
    with pytest.raises(TypeError, match="dtype float64 does not match weight dtype float32"):
        vnn.Conv2d(3, 4, 3)(tt.randn(1, 3, 5, 5).double())
    with pytest.raises(ValueError, match=r"bias must have shape \(4,\)"):
        VF.conv2d(tt.randn(1, 3, 5, 5), tt.randn(4, 3, 3, 3), tt.randn(3))
