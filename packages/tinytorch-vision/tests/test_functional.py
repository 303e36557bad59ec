"""im2col/col2im (unfold/fold), dropout2d and the array-level im2col kernels."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import tinytorch.core as tt
import tinytorch.vision.functional as VF
from tinytorch.core.testing import check_gradcheck, check_op
from tinytorch.vision import im2col as spatial
from tinytorch.vision import nn as vnn

# (input shape, kernel, dilation, padding, stride)
UNFOLD_CASES = [
    ((2, 3, 6, 6), 3, 1, 1, 1),
    ((1, 2, 7, 8), (2, 3), (2, 1), (1, 0), (2, 3)),
    ((2, 1, 5, 5), 1, 1, 0, 2),
    ((1, 4, 4, 6), (4, 2), 1, 0, 1),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", UNFOLD_CASES, ids=[str(i) for i in range(len(UNFOLD_CASES))])
def test_im2col_matches_torch_unfold(case, dtype):
    shape, kernel, dilation, padding, stride = case
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    check_op(None, lambda t: VF.im2col(t, kernel, dilation, padding, stride),
             lambda t: TF.unfold(t, kernel, dilation, padding, stride), arrays=[x])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", UNFOLD_CASES, ids=[str(i) for i in range(len(UNFOLD_CASES))])
def test_col2im_matches_torch_fold(case, dtype):
    shape, kernel, dilation, padding, stride = case
    cols_shape = TF.unfold(torch.zeros(shape), kernel, dilation, padding, stride).shape
    cols = np.random.default_rng(1).standard_normal(tuple(cols_shape)).astype(dtype)
    check_op(None, lambda t: VF.col2im(t, shape[2:], kernel, dilation, padding, stride),
             lambda t: TF.fold(t, shape[2:], kernel, dilation, padding, stride), arrays=[cols])


def test_fold_is_the_adjoint_of_unfold():
    """<unfold(x), y> == <x, fold(y)>: why each is the other's backward."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 7, 6))
    cols = VF.im2col(tt.Tensor(x), 3, 2, 1, (2, 1))
    y = rng.standard_normal(cols.shape)
    back = VF.col2im(tt.Tensor(y), (7, 6), 3, 2, 1, (2, 1))
    assert np.isclose((cols.array * y).sum(), (x * back.array).sum())
    check_gradcheck(None, lambda t: VF.im2col(t, 2, 1, 1, 2),
                    arrays=[rng.standard_normal((1, 2, 4, 3))])


def test_windows_is_a_view_and_im2col_a_single_copy():
    x = np.arange(2 * 5 * 5 * 3, dtype=np.float32).reshape(2, 5, 5, 3)
    view = spatial.windows(x, (3, 3), (1, 1), (1, 1), (3, 3))
    assert view.shape == (2, 3, 3, 3, 3, 3) and np.shares_memory(view, x)
    assert not view.flags.writeable
    cols = spatial.im2col(x, (3, 3), (1, 1), (1, 1), (3, 3))
    assert cols.shape == (2 * 9, 1, 27) and cols.flags.c_contiguous
    np.testing.assert_array_equal(cols[4, 0], x[0, 1:4, 1:4, :].reshape(-1))


def test_dropout2d_zeroes_whole_channels_and_scales():
    tt.manual_seed(0)
    x = tt.ones(64, 8, 4, 4, requires_grad=True)
    out = VF.dropout2d(x, p=0.25)
    per_channel = out.array.reshape(64, 8, -1)
    assert np.all(per_channel.min(axis=2) == per_channel.max(axis=2))  # constant per map
    assert set(np.unique(per_channel)) == {0.0, np.float32(1 / 0.75)}
    assert 0.15 < (per_channel[:, :, 0] == 0).mean() < 0.35
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.array, out.array)  # d(x*mask)/dx = mask
    assert out.dtype == np.float32


def test_dropout2d_module_is_identity_in_eval_and_checks_p():
    layer = vnn.Dropout2d(0.5)
    x = tt.randn(2, 3, 4, 4)
    layer.eval()
    assert layer(x) is x
    assert np.all(VF.dropout2d(x, 1.0).array == 0)
    with pytest.raises(ValueError, match="Dropout2d: probability"):
        vnn.Dropout2d(1.5)
    with pytest.raises(ValueError, match=r"dropout2d: expected a 4-D.*\(2, 3\)"):
        VF.dropout2d(tt.randn(2, 3))


def test_fold_checks_column_count():
    with pytest.raises(ValueError, match=r"col2im: expected 3 \* 3 = 9 columns.*got 10"):
        VF.col2im(tt.randn(1, 9, 10), (5, 5), 3)


def test_conv2d_flops():
    assert VF.conv2d_flops((64, 32, 3, 3), (8, 64, 16, 16)) == 2 * 8 * 64 * 16 * 16 * 32 * 9
