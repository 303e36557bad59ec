"""Factory functions: PyTorch's overloads, and clear errors where numpy would give a bare one."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tinytorch.core as tt


@pytest.mark.parametrize("call, low, high", [
    ("randint(10, (3, 4))", 0, 10), ("randint(2, 10, (5,))", 2, 10),
    ("randint(high=7, size=(2, 2))", 0, 7), ("randint(0, 5, size=(6,))", 0, 5),
    ("randint(3, 9, (4,), dtype=INT32)", 3, 9), ("randint(4, size=(3,))", 0, 4),
])
def test_randint_overloads_match_torch(call, low, high):
    mine = eval("tt." + call, {"tt": tt, "INT32": tt.int32})
    theirs = eval("torch." + call, {"torch": torch, "INT32": torch.int32})
    assert mine.shape == tuple(theirs.shape)
    assert mine.dtype == theirs.numpy().dtype
    assert low <= mine.array.min() and mine.array.max() < high


def test_randint_bad_input_is_explained():
    with pytest.raises(TypeError, match=r"randint: expected randint\(high, size\)"):
        tt.randint(5)
    with pytest.raises(RuntimeError, match="from=5 >= to=5"):
        tt.randint(5, 5, (2,))


def test_multinomial_draws_follow_the_weights():
    tt.manual_seed(0)
    weights = tt.tensor([[1.0, 0.0, 3.0], [0.0, 2.0, 2.0]])
    draws = tt.multinomial(weights, 4000, replacement=True)
    assert draws.shape == (2, 4000) and draws.dtype == np.int64
    freq = [np.bincount(row, minlength=3) / 4000 for row in draws.array]
    np.testing.assert_allclose(freq[0], [0.25, 0.0, 0.75], atol=0.03)
    np.testing.assert_allclose(freq[1], [0.0, 0.5, 0.5], atol=0.03)
    no_repeat = tt.multinomial(tt.tensor([1.0, 1.0, 1.0, 0.0]), 3)
    assert sorted(no_repeat.tolist()) == [0, 1, 2]
    one_hot = tt.multinomial(tt.tensor([[0.0, 1.0], [1.0, 0.0]]), 1)
    assert one_hot.tolist() == torch.multinomial(torch.tensor([[0.0, 1.0], [1.0, 0.0]]),
                                                 1).tolist()
    tt.manual_seed(1)
    first = tt.multinomial(tt.tensor([0.2, 0.3, 0.5]), 5, replacement=True)
    tt.manual_seed(1)
    assert tt.multinomial(tt.tensor([0.2, 0.3, 0.5]), 5, replacement=True).equal(first)


def test_multinomial_refuses_what_torch_refuses():
    with pytest.raises(RuntimeError, match="element < 0"):
        tt.multinomial(tt.tensor([0.5, -0.1]), 1)
    with pytest.raises(RuntimeError, match="without replacement"):
        tt.multinomial(tt.tensor([0.5, 0.0]), 2)
    with pytest.raises(RuntimeError, match="sum of probabilities"):
        tt.multinomial(tt.tensor([0.0, 0.0]), 1)


@pytest.mark.parametrize("call, error, message", [
    (lambda: tt.zeros(-1), RuntimeError, "zeros: trying to create a tensor with negative"),
    (lambda: tt.ones(2, -3), RuntimeError, "ones: .*negative dimension"),
    (lambda: tt.eye(-2), RuntimeError, "eye: .*negative dimension"),
    (lambda: tt.ones("3"), TypeError, "ones: size must be a sequence of ints, got"),
    (lambda: tt.zeros(2.5), TypeError, "zeros: size must be a sequence of ints"),
    (lambda: tt.randn(2, -1), RuntimeError, "randn: .*negative"),
    (lambda: tt.rand(3, dtype=tt.int64), TypeError, "rand: draws floating point numbers"),
    (lambda: tt.randn(3, dtype=tt.int64), TypeError, "randn: draws floating point"),
    (lambda: tt.full((-2,), 1.0), RuntimeError, "full: .*negative"),
    (lambda: tt.arange(0, 5, -1), RuntimeError, "arange: upper bound"),
])
def test_factory_bad_input_gets_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32, np.uint8, np.int64,
                                   np.bool_, np.float16, np.int16, np.int8])
def test_from_numpy_keeps_dtype_and_memory(dtype):
    array = np.arange(6).reshape(2, 3).astype(dtype)
    mine, theirs = tt.from_numpy(array), torch.from_numpy(array)
    assert mine.dtype == theirs.numpy().dtype == array.dtype
    assert mine.array is array
    with pytest.raises(TypeError, match="from_numpy: can't convert np.ndarray of type"):
        tt.from_numpy(np.array(["a"]))
