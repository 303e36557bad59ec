"""Ops that real PyTorch programs call: topk, sort, einsum, mm, t, pow, Huber losses, ...

Values and gradients against torch via tinytorch.core.testing.check_op (random inputs, float32 and
float64), plus the integer-input and bad-input rules.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import tinytorch.core as tt
from tinytorch.core import nn
from tinytorch.core.nn import functional as F
from tinytorch.core.testing import check_op

DTYPES = [np.float32, np.float64]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k, dim, largest", [(2, -1, True), (3, 0, False), (1, 1, True),
                                             (5, -1, False)])
def test_topk_values_indices_and_grads(dtype, k, dim, largest):
    check_op([(5, 5)], lambda a: a.topk(k, dim, largest)[0],
             lambda a: a.topk(k, dim, largest)[0], dtype=dtype)
    a = np.random.default_rng(1).permutation(25).reshape(5, 5).astype(dtype)
    mine, theirs = tt.topk(tt.tensor(a), k, dim, largest), torch.topk(torch.tensor(a), k, dim,
                                                                      largest)
    np.testing.assert_array_equal(mine.indices.array, theirs.indices.numpy())
    np.testing.assert_array_equal(mine.values.array, theirs.values.numpy())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("descending", [False, True])
def test_sort_and_argsort(dtype, descending):
    check_op([(4, 6)], lambda a: tt.sort(a, 1, descending)[0],
             lambda a: torch.sort(a, 1, descending)[0], dtype=dtype)
    a = np.random.default_rng(2).permutation(24).reshape(4, 6).astype(dtype)
    np.testing.assert_array_equal(tt.argsort(tt.tensor(a), 0, descending).array,
                                  torch.argsort(torch.tensor(a), 0, descending).numpy())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("equation, shapes", [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ij->j", [(3, 4)]),
    ("ij,ij->", [(3, 4), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 2)]),
    ("...ij,jk->...ik", [(2, 2, 3, 4), (4, 5)]),
    ("ijk,k->i", [(2, 3, 4), (4,)]),
    ("ij,kl->ijkl", [(2, 3), (2, 2)]),
])
def test_einsum_matches_torch(dtype, equation, shapes):
    check_op(shapes, lambda *xs: tt.einsum(equation, *xs),
             lambda *xs: torch.einsum(equation, *xs), dtype=dtype)


def test_einsum_bad_input_is_explained():
    with pytest.raises(ValueError, match="inconsistent sizes"):
        tt.einsum("ij,jk->ik", tt.ones(2, 3), tt.ones(4, 5))
    with pytest.raises(ValueError, match="names 2 operands but 1"):
        tt.einsum("ij,jk->ik", tt.ones(2, 3))
    with pytest.raises(ValueError, match="appear in no operand"):
        tt.einsum("ij->iz", tt.ones(2, 3))


@pytest.mark.parametrize("dtype", DTYPES)
def test_mm_bmm_t_and_pow(dtype):
    check_op([(3, 4), (4, 2)], lambda a, b: a.mm(b), lambda a, b: a.mm(b), dtype=dtype)
    check_op([(3, 4), (4, 2)], tt.mm, torch.mm, dtype=dtype)
    check_op([(2, 3, 4), (2, 4, 2)], tt.bmm, torch.bmm, dtype=dtype)
    check_op([(3, 4)], lambda a: a.t(), lambda a: a.t(), dtype=dtype)
    check_op([(4,)], lambda a: tt.t(a), lambda a: torch.t(a), dtype=dtype)
    check_op([(3, 4)], lambda a: tt.pow(a, 3), lambda a: torch.pow(a, 3), dtype=dtype)
    check_op([(3, 4), (3, 4)], lambda a, b: tt.pow(a.abs() + 0.5, b),
             lambda a, b: torch.pow(a.abs() + 0.5, b), dtype=dtype)
    check_op([(4,)], lambda a: tt.pow(2.0, a), lambda a: torch.pow(2.0, a), dtype=dtype)
    with pytest.raises(RuntimeError, match="mm: expected two 2-D tensors"):
        tt.ones(3).mm(tt.ones(3, 1))
    with pytest.raises(RuntimeError, match="t: expects a tensor with <= 2 dimensions"):
        tt.ones(2, 2, 2).t()


@pytest.mark.parametrize("dtype", DTYPES)
def test_maximum_minimum_and_two_tensor_max(dtype):
    check_op([(3, 4), (4,)], tt.maximum, torch.maximum, dtype=dtype)
    check_op([(3, 4), (3, 4)], tt.minimum, torch.minimum, dtype=dtype)
    check_op([(3, 4), (3, 4)], lambda a, b: tt.max(a, b), lambda a, b: torch.max(a, b),
             dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("param", [1.0, 0.5, 2.0])
def test_smooth_l1_and_huber_losses(dtype, reduction, param):
    check_op([(4, 5), (4, 5)], lambda a, b: F.smooth_l1_loss(a, b, reduction, beta=param),
             lambda a, b: TF.smooth_l1_loss(a, b, reduction=reduction, beta=param),
             dtype=dtype)
    check_op([(4, 5), (4, 5)], lambda a, b: F.huber_loss(a, b, reduction, delta=param),
             lambda a, b: TF.huber_loss(a, b, reduction=reduction, delta=param), dtype=dtype)
    check_op([(6,), (6,)], lambda a, b: nn.SmoothL1Loss(beta=param)(a, b),
             lambda a, b: torch.nn.SmoothL1Loss(beta=param)(a, b), dtype=dtype)
    check_op([(6,), (6,)], lambda a, b: nn.HuberLoss(delta=param)(a, b),
             lambda a, b: torch.nn.HuberLoss(delta=param)(a, b), dtype=dtype)


def test_format_of_zero_dim_tensors_like_torch():
    loss = tt.tensor(0.123456)
    assert f"{loss:.4f}" == f"{torch.tensor(0.123456):.4f}" == "0.1235"
    assert f"{tt.tensor(7):5d}" == f"{torch.tensor(7):5d}"
    assert f"{tt.tensor([1.0, 2.0])}" == str(tt.tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="unsupported format string"):
        f"{tt.tensor([1.0, 2.0]):.2f}"  # torch refuses this too


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "sigmoid", "tanh", "sin", "cos"])
def test_integer_inputs_give_the_default_float_like_torch(name):
    ints = np.array([1, 2, 3])
    mine = getattr(tt, name)(tt.tensor(ints)) if hasattr(tt, name) else None
    mine = getattr(tt.tensor(ints), name)() if mine is None else mine
    theirs = getattr(torch, name)(torch.tensor(ints))
    assert mine.dtype == theirs.numpy().dtype == np.float32
    np.testing.assert_allclose(mine.array, theirs.numpy(), rtol=1e-6)
    assert F.sigmoid(tt.tensor(ints)).dtype == np.float32


@pytest.mark.parametrize("call, torch_call", [
    (lambda x: F.gelu(x), lambda x: TF.gelu(x)),
    (lambda x: F.softmax(x, -1), lambda x: TF.softmax(x, -1)),
    (lambda x: F.log_softmax(x, -1), lambda x: TF.log_softmax(x, -1)),
    (lambda x: nn.LayerNorm(3)(x), lambda x: torch.nn.LayerNorm(3)(x)),
])
def test_float_only_ops_refuse_integers_like_torch(call, torch_call):
    with pytest.raises(RuntimeError):
        torch_call(torch.tensor([[1, 2, 3]]))
    with pytest.raises(TypeError, match="expected a floating point input, got dtype int64"):
        call(tt.tensor([[1, 2, 3]]))
    assert call(tt.tensor([[1, 2, 3]]).float()).dtype == np.float32
    assert F.softmax(tt.tensor([[1, 2, 3]]), -1, dtype=tt.float32).dtype == np.float32


def test_binary_cross_entropy_refuses_values_outside_0_1_like_torch():
    target = torch.tensor([0.0, 1.0])
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        TF.binary_cross_entropy(torch.tensor([1.5, 0.5]), target)
    with pytest.raises(ValueError, match="all elements of input should be between 0 and 1"):
        F.binary_cross_entropy(tt.tensor([1.5, 0.5]), tt.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(tt.tensor([-0.1, 0.5]), tt.tensor([0.0, 1.0]))


def test_clipping_with_a_negative_bound_is_refused():
    w = nn.Parameter(tt.ones(3))
    w.grad = tt.tensor([3.0, 4.0, 0.0])
    with pytest.raises(ValueError, match="max_norm must be >= 0, got -1.0"):
        nn.utils.clip_grad_norm_([w], -1.0)
    with pytest.raises(ValueError, match="clip_value must be >= 0"):
        nn.utils.clip_grad_value_([w], -0.5)
    assert w.grad.tolist() == [3.0, 4.0, 0.0]


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "argmax", "argmin", "std",
                                  "var"])
def test_reductions_accept_axis_as_torch_does(name):
    a = np.random.default_rng(3).standard_normal((3, 4)).astype(np.float32)
    mine = getattr(tt.tensor(a), name)(axis=1)
    theirs = getattr(torch.tensor(a), name)(axis=1)
    mine = mine[0] if isinstance(mine, tuple) else mine
    theirs = theirs[0] if isinstance(theirs, tuple) else theirs
    np.testing.assert_allclose(mine.array, theirs.numpy(), rtol=1e-5)
    with pytest.raises(TypeError, match="dim or its alias axis, not both"):
        getattr(tt.tensor(a), name)(1, axis=1)
