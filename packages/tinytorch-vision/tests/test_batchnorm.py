"""BatchNorm2d / BatchNorm1d against PyTorch: train and eval, running stats, gradients."""

import numpy as np
import pytest
import torch

import tinytorch.core as tt
import tinytorch.vision.functional as VF
from tinytorch.core.testing import assert_close, check_gradcheck
from tinytorch.vision import nn as vnn

DTYPES = [np.float32, np.float64]
TOL = {np.float32: (1e-5, 1e-4), np.float64: (1e-10, 1e-8)}


def paired(mine, theirs):
    """Give the torch layer the TinyTorch layer's parameters."""
    with torch.no_grad():
        for (name, p), (tname, q) in zip(mine.named_parameters(), theirs.named_parameters()):
            assert name == tname
            q.copy_(torch.from_numpy(p.array.copy()))


def run_both(mine, theirs, x, dtype, seed):
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    xm = tt.Tensor(x.copy(), requires_grad=True)
    out, expected = mine(xm), theirs(xt)
    atol, rtol = TOL[dtype]
    assert_close(out.array, expected.detach().numpy(), "forward", atol, rtol)
    upstream = np.random.default_rng(seed).standard_normal(out.shape).astype(dtype)
    out.backward(tt.Tensor(upstream))
    expected.backward(torch.from_numpy(upstream))
    assert_close(xm.grad.array, xt.grad.numpy(), "grad input", atol * 10, rtol)
    for (name, p), (_, q) in zip(mine.named_parameters(), theirs.named_parameters()):
        assert_close(p.grad.array, q.grad.numpy(), f"grad {name}", atol * 100, rtol)
    for (name, b), (_, c) in zip(mine.named_buffers(), theirs.named_buffers()):
        assert_close(b.array, c.numpy(), f"buffer {name}", atol, rtol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("affine", [True, False])
def test_batchnorm2d_train_then_eval_matches_torch(dtype, momentum, affine):
    rng = np.random.default_rng(0)
    mine = vnn.BatchNorm2d(3, momentum=momentum, affine=affine, dtype=dtype)
    theirs = torch.nn.BatchNorm2d(3, momentum=momentum, affine=affine, dtype=torch.float64
                                  if dtype == np.float64 else torch.float32)
    if affine:
        with torch.no_grad():  # non-trivial weight and bias
            mine.weight.array[...] = rng.uniform(0.5, 1.5, 3)
            mine.bias.array[...] = rng.standard_normal(3)
        paired(mine, theirs)
    for step in range(3):  # several steps: the running statistics accumulate
        x = (rng.standard_normal((4, 3, 5, 6)) * 3 + 2).astype(dtype)
        run_both(mine, theirs, x, dtype, seed=step)
    mine.eval()
    theirs.eval()
    for p in list(mine.parameters()):
        p.grad = None
    for q in theirs.parameters():
        q.grad = None
    x = rng.standard_normal((2, 3, 4, 4)).astype(dtype)
    run_both(mine, theirs, x, dtype, seed=7)
    assert int(mine.num_batches_tracked.array) == 3


@pytest.mark.parametrize("shape", [(8, 5), (4, 5, 7)])
def test_batchnorm1d_matches_torch(shape):
    mine, theirs = vnn.BatchNorm1d(5), torch.nn.BatchNorm1d(5)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    run_both(mine, theirs, x, np.float32, seed=0)


def test_without_running_stats_uses_batch_statistics_in_eval():
    mine = vnn.BatchNorm2d(2, track_running_stats=False)
    theirs = torch.nn.BatchNorm2d(2, track_running_stats=False)
    mine.eval()
    theirs.eval()
    x = np.random.default_rng(0).standard_normal((3, 2, 4, 4)).astype(np.float32)
    run_both(mine, theirs, x, np.float32, seed=0)
    assert mine.running_mean is None and "running_mean" not in mine.state_dict()


def test_channels_last_input_gives_same_result_as_contiguous():
    x = np.random.default_rng(0).standard_normal((2, 4, 3, 3)).astype(np.float32)
    channels_last = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    a = vnn.BatchNorm2d(4)(tt.tensor(x))
    b = vnn.BatchNorm2d(4)(tt.Tensor(channels_last))
    np.testing.assert_allclose(a.array, b.array, atol=1e-6)


def test_gradcheck_batch_norm_train_and_eval():
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((3, 2, 2, 3)), rng.uniform(0.5, 1.5, 2),
              rng.standard_normal(2)]

    def train(x, w, b):
        return VF.batch_norm(x, None, None, w, b, training=True)

    mean, var = tt.Tensor(rng.standard_normal(2)), tt.Tensor(rng.uniform(0.5, 2, 2))

    def evaluate(x, w, b):
        return VF.batch_norm(x, mean, var, w, b, training=False)

    check_gradcheck(None, train, arrays=arrays)
    check_gradcheck(None, evaluate, arrays=arrays)


def test_state_dict_round_trip_and_keys_match_torch():
    mine = vnn.BatchNorm2d(3)
    mine(tt.randn(4, 3, 2, 2))
    assert list(mine.state_dict()) == list(torch.nn.BatchNorm2d(3).state_dict())
    other = vnn.BatchNorm2d(3)
    other.load_state_dict(mine.state_dict())
    np.testing.assert_array_equal(other.running_mean.array, mine.running_mean.array)
    assert int(other.num_batches_tracked.array) == 1


def test_bad_input_names_layer_and_shapes():
    with pytest.raises(ValueError, match=r"BatchNorm2d\(16.*expected 16 channels.*"
                                         r"\(8, 3, 4, 4\)"):
        vnn.BatchNorm2d(16)(tt.randn(8, 3, 4, 4))
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3.*\(N, C, H, W\), got \(8, 3\)"):
        vnn.BatchNorm2d(3)(tt.randn(8, 3))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        vnn.BatchNorm1d(3)(tt.randn(1, 3))
    with pytest.raises(ValueError, match="momentum"):
        vnn.BatchNorm2d(3, momentum=1.5)
    with pytest.raises(ValueError, match=r"batch_norm: expected weight of shape \(3,\)"):
        VF.batch_norm(tt.randn(2, 3, 2, 2), None, None, tt.randn(4), training=True)
