"""Tensor construction, dtype rules, factories, conversions and bad-input messages."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import tinytorch.core as tt


def test_python_data_gets_pytorch_default_dtypes():
    assert tt.tensor([1.0, 2.0]).dtype == tt.float32
    assert tt.tensor([1, 2]).dtype == tt.int64
    assert tt.tensor([True, False]).dtype == tt.bool
    assert tt.tensor(3.5).shape == ()
    assert tt.tensor([1.0], dtype=tt.float64).dtype == np.float64


def test_numpy_arrays_keep_their_dtype_like_torch_tensor():
    for dtype in (np.float32, np.float64, np.int64, np.int32, np.uint8):
        array = np.zeros(3, dtype=dtype)
        assert tt.tensor(array).dtype == torch.tensor(array).numpy().dtype


def test_tensor_copies_but_from_numpy_shares():
    array = np.zeros(3, np.float32)
    assert not np.shares_memory(tt.tensor(array).array, array)
    assert np.shares_memory(tt.from_numpy(array).array, array)


@settings(max_examples=40, deadline=None)
@given(scalar=st.one_of(st.floats(-10, 10).filter(lambda v: v == 0 or abs(v) > 1e-3),
                        st.integers(-10, 10)),
       op=st.sampled_from(["add", "sub", "mul", "div", "radd", "rsub", "rmul", "rdiv"]))
def test_scalars_never_promote_float32_to_float64(scalar, op):
    x = tt.ones(2, 3)
    np_scalar = np.float64(scalar)
    fns = {"add": lambda s: x + s, "sub": lambda s: x - s, "mul": lambda s: x * s,
           "div": lambda s: x / (s or 1), "radd": lambda s: s + x, "rsub": lambda s: s - x,
           "rmul": lambda s: s * x, "rdiv": lambda s: (s or 1) / x}
    assert fns[op](scalar).dtype == tt.float32
    assert fns[op](np_scalar).dtype == tt.float32


def test_mixing_float32_and_float64_tensors_is_an_error_that_says_what_to_do():
    with pytest.raises(TypeError, match=r"add: dtype mismatch float32 and float64.*\.double\(\)"):
        tt.ones(2) + tt.ones(2, dtype=tt.float64)
    assert (tt.ones(2) + tt.ones(2, dtype=tt.float64).float()).dtype == tt.float32


def test_integer_and_float_mix_like_torch():
    ints = tt.tensor([1, 2, 3])
    assert (ints * 0.5).dtype == tt.float32
    assert (ints + tt.ones(3)).dtype == tt.float32
    assert (ints / 2).dtype == tt.float32
    assert (ints + 1).dtype == tt.int64
    np.testing.assert_allclose((ints / 2).array, [0.5, 1.0, 1.5])


def test_factories_match_torch_shapes_dtypes_and_values():
    assert tt.zeros(2, 3).shape == (2, 3) and tt.zeros((2, 3)).dtype == tt.float32
    np.testing.assert_array_equal(tt.ones(2).array, [1.0, 1.0])
    np.testing.assert_array_equal(tt.full((2,), 7).array, [7, 7])
    assert tt.full((2,), 7).dtype == tt.int64 and tt.full((2,), 7.0).dtype == tt.float32
    np.testing.assert_array_equal(tt.arange(5).array, torch.arange(5).numpy())
    np.testing.assert_allclose(tt.arange(0, 1, 0.25).array, torch.arange(0, 1, 0.25).numpy())
    np.testing.assert_allclose(tt.linspace(0, 1, 5).array, torch.linspace(0, 1, 5).numpy())
    np.testing.assert_array_equal(tt.eye(3).array, torch.eye(3).numpy())
    x = tt.randn(4, 5, dtype=tt.float64)
    for like in (tt.zeros_like, tt.ones_like, tt.randn_like, tt.rand_like, tt.empty_like):
        out = like(x)
        assert out.shape == (4, 5) and out.dtype == tt.float64
    r = tt.randint(0, 10, (100,))
    assert r.dtype == tt.int64 and r.array.min() >= 0 and r.array.max() < 10
    np.testing.assert_array_equal(np.sort(tt.randperm(6).array), np.arange(6))


def test_manual_seed_makes_random_factories_reproducible():
    tt.manual_seed(123)
    a = tt.randn(3, 3)
    tt.manual_seed(123)
    b = tt.randn(3, 3)
    np.testing.assert_array_equal(a.array, b.array)
    g1, g2 = tt.Generator().manual_seed(7), tt.Generator().manual_seed(7)
    np.testing.assert_array_equal(tt.rand(4, generator=g1).array, tt.rand(4, generator=g2).array)


def test_random_factories_have_the_right_distribution():
    tt.manual_seed(0)
    normal = tt.randn(200_000).array
    uniform = tt.rand(200_000).array
    assert abs(normal.mean()) < 0.01 and abs(normal.std() - 1) < 0.01
    assert uniform.min() >= 0 and uniform.max() < 1 and abs(uniform.mean() - 0.5) < 0.01


def test_conversions_and_facts():
    x = tt.tensor([[1.5, 2.5], [3.5, 4.5]])
    assert x.shape == (2, 2) and x.ndim == 2 and x.size() == (2, 2) and x.size(1) == 2
    assert x.numel() == 4 and x.dim() == 2
    assert x.tolist() == [[1.5, 2.5], [3.5, 4.5]]
    assert x[0, 1].item() == 2.5
    assert x.long().dtype == tt.int64 and x.long().tolist() == [[1, 2], [3, 4]]
    assert x.double().dtype == tt.float64
    assert x.T.tolist() == [[1.5, 3.5], [2.5, 4.5]]
    assert len(x) == 2 and [row.tolist() for row in x] == [[1.5, 2.5], [3.5, 4.5]]
    assert float(tt.tensor(2.0)) == 2.0 and int(tt.tensor(3)) == 3
    assert "tensor(" in repr(x) and "requires_grad=True" in repr(tt.ones(1, requires_grad=True))


def test_numpy_refuses_tensors_that_require_grad():
    x = tt.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"detach\(\)\.numpy\(\)"):
        x.numpy()
    assert isinstance(x.detach().numpy(), np.ndarray)


def test_item_and_bool_of_many_elements_explain():
    with pytest.raises(ValueError, match=r"only one-element tensors.*\(2,\)"):
        tt.ones(2).item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(tt.ones(2))


@pytest.mark.parametrize("fn, message", [
    (lambda: tt.ones(2, 3) @ tt.ones(4, 5),
     r"matmul: shapes \(2, 3\) and \(4, 5\) are not aligned: 3 != 4"),
    (lambda: tt.ones(2, 3) + tt.ones(4), r"add: shapes \(2, 3\) and \(4,\) cannot be broadcast"),
    (lambda: tt.ones(2, 3).reshape(4, 2),
     r"reshape: shape \[4, 2\] is invalid for input of size 6"),
    (lambda: tt.ones(2, 3).sum(dim=2), r"sum: dimension out of range"),
    (lambda: tt.ones(2, 3).T.view(6), r"view: .*not compatible"),
    (lambda: tt.ones(2, 3).permute(0, 0), r"permute: dims \(0, 0\) are not a permutation"),
    (lambda: tt.cat([tt.ones(2, 3), tt.ones(2, 4)]), r"cat: shapes .* must match"),
    (lambda: tt.stack([tt.ones(2), tt.ones(3)]), r"stack: expects each tensor to be equal size"),
    (lambda: tt.ones(2).masked_fill(tt.ones(2), 0.0), r"masked_fill: expected a bool mask"),
    (lambda: tt.ones(2, 3)[5], r"index: .*out of bounds.*\(2, 3\)"),
    (lambda: tt.ones(2, 3).expand(3, 3), r"expand: cannot expand shape \(2, 3\)"),
    (lambda: tt.tensor(["a"]), r"cannot build a tensor"),
    (lambda: tt.ones(2, dtype="complex64"), r"dtype: complex64 is not supported"),
    (lambda: tt.tensor([1, 2]).mean(), r"mean: input dtype"),
])
def test_bad_input_messages_name_the_operation_and_values(fn, message):
    with pytest.raises((ValueError, TypeError, RuntimeError, IndexError), match=message):
        fn()


def test_in_place_ops_update_data_and_version():
    x = tt.zeros(3)
    x.add_(1).mul_(3).sub_(1).div_(2)
    np.testing.assert_allclose(x.array, [1.0, 1.0, 1.0])
    assert x._version == 4
    x[1] = 5.0
    assert x.tolist() == [1.0, 5.0, 1.0] and x._version == 5
    x.zero_()
    assert x.tolist() == [0.0, 0.0, 0.0]
    x.copy_(tt.tensor([1.0, 2.0, 3.0]))
    assert x.tolist() == [1.0, 2.0, 3.0] and x.dtype == tt.float32


def test_free_functions_mirror_methods():
    x = tt.tensor([[1.0, -2.0], [3.0, 4.0]])
    np.testing.assert_allclose(tt.exp(x).array, np.exp(x.array))
    np.testing.assert_allclose(tt.sum(x, 0).array, [4.0, 2.0])
    assert tt.max(x, dim=1).indices.tolist() == [0, 1]
    np.testing.assert_allclose(tt.tril(x).array, [[1.0, 0.0], [3.0, 4.0]])
