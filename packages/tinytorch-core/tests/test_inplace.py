"""In-place operations (`+=`, `add_`, `masked_fill_`, `t[i] = v`, ...) and `.data`, against torch.

PyTorch's rules: an in-place op mutates the tensor's own memory and bumps its version; it is
refused on a leaf that requires grad while grad mode is on; on other tensors it is recorded
in the graph. Each case runs the same statements on both libraries.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tinytorch.core as tt

RNG = np.random.default_rng(0)


def both(array, requires_grad=False):
    return (tt.tensor(array.copy(), requires_grad=requires_grad),
            torch.tensor(array.copy(), requires_grad=requires_grad))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", ["+=", "-=", "*=", "/=", "**=", "//=", "%="])
def test_augmented_assignment_mutates_the_same_tensor(op, dtype):
    a = RNG.uniform(0.5, 2.0, (3, 4)).astype(dtype)
    b = RNG.uniform(0.5, 2.0, (4,)).astype(dtype)  # broadcasts into a
    mine, theirs = both(a)
    before_id, before_version = id(mine), mine._version
    view = mine.array
    scope = {"m": mine, "t": theirs, "bm": tt.tensor(b), "bt": torch.tensor(b)}
    exec(f"m {op} bm\nt {op} bt", scope)
    assert id(scope["m"]) == before_id and mine._version == before_version + 1
    assert scope["m"].array is view  # the same memory, not a new array
    np.testing.assert_allclose(mine.array, theirs.numpy(), rtol=1e-6)
    assert mine.dtype == theirs.numpy().dtype


def test_manual_sgd_under_no_grad_updates_the_weights():
    """The 'Learning PyTorch with Examples' loop: `param -= lr * param.grad`."""
    x = np.linspace(-1, 1, 50).astype(np.float32)
    y = 3 * x - 1
    w, b = tt.zeros(1, requires_grad=True), tt.zeros(1, requires_grad=True)
    for _ in range(200):
        loss = ((w * tt.tensor(x) + b - tt.tensor(y)) ** 2).mean()
        loss.backward()
        with tt.no_grad():
            for param in (w, b):
                param -= 0.1 * param.grad
                param.grad = None
    assert w.requires_grad and w.is_leaf
    np.testing.assert_allclose([w.item(), b.item()], [3.0, -1.0], atol=1e-2)


def test_leaf_requiring_grad_is_refused_as_in_torch():
    mine, theirs = both(np.ones(3, np.float32), requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        theirs += 1
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        mine += 1
    with pytest.raises(RuntimeError, match="leaf Variable"):
        mine[0] = 5.0
    with pytest.raises(RuntimeError, match="leaf Variable"):
        mine.masked_fill_(tt.tensor([True, False, True]), 0.0)


def _grads_match(mine_inputs, theirs_inputs, mine_out, theirs_out):
    np.testing.assert_allclose(mine_out.detach().array, theirs_out.detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    upstream = RNG.standard_normal(theirs_out.shape).astype(np.float32)
    (mine_out * tt.tensor(upstream)).sum().backward()
    (theirs_out * torch.from_numpy(upstream)).sum().backward()
    for m, t in zip(mine_inputs, theirs_inputs):
        if t.grad is None or m.grad is None:  # no path, or torch's path of zeros (copy_)
            for g in (m.grad, t.grad):
                assert g is None or not np.any(np.asarray(g))
            continue
        np.testing.assert_allclose(m.grad.array, t.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("statements", [
    "y = x * 2\ny += w\ny *= w",
    "y = x + 0\ny -= w * 3\ny /= w + 3",
    "y = x.sin()\ny.add_(w, alpha=2)\ny.mul_(x)",
    "y = x * 1\ny.clamp_(-0.5, 0.5)\ny.pow_(2)",
    "y = x * 1\ny.clamp_min_(0.1)\ny.clamp_max_(0.8)",
    "y = x * 1\ny.masked_fill_(x > 0, 0.25)\ny.exp_()",
    "y = x * 1\ny[0] = w[1]\ny[1:, 2] = 7.0",
    "y = x * 1\ny.copy_(w * 2)",
    "y = x * 1\ny.index_add_(0, idx, w[:2] * 2)",
    "y = x * 1\ny.scatter_(1, sidx, w[:, :2] * 3)",
    "y = x * 1\ny.scatter_(1, sidx, value=-1.0)",
    "y = x * 1\ny.neg_()\ny.tanh_()",
    "y = x * 1\ny.add_(1)\ny.sigmoid_()",
    "y = x * 1\ny.abs_()\ny.relu_()",
    "y = x.abs() + 0.5\ny.sqrt_()",
    "y = x.abs() + 0.5\ny.log_()",
    "y = x * 1\ny.sin_()\ny.cos_()",
    "y = torch.zeros(3, 4)\ny += w * x",
])
def test_in_place_on_a_non_leaf_is_recorded_in_the_graph(statements):
    x = RNG.uniform(-1, 1, (3, 4)).astype(np.float32)
    w = RNG.uniform(0.5, 1.5, (3, 4)).astype(np.float32)
    results = []
    for lib in (tt, torch):
        xs, ws = lib.tensor(x.copy(), requires_grad=True), lib.tensor(w.copy(), requires_grad=True)
        scope = {"x": xs, "w": ws, "torch": lib, "idx": lib.tensor([2, 0]),
                 "sidx": lib.tensor([[1, 3], [0, 0], [2, 1]])}
        exec(statements, scope)
        results.append((xs, ws, scope["y"]))
    (mx, mw, my), (tx, tw, ty) = results
    assert not my.is_leaf and my.requires_grad
    _grads_match([mx, mw], [tx, tw], my, ty)


def test_modifying_a_saved_value_makes_backward_refuse_as_in_torch():
    for lib in (tt, torch):
        x = lib.tensor([0.5, 1.0], requires_grad=True)
        y = x.exp()  # Exp saves its output for backward
        y += 1
        with pytest.raises(RuntimeError, match="modified by an in-?place operation"):
            y.sum().backward()


@pytest.mark.parametrize("op", ["add_", "mul_", "scatter_", "index_add_"])
def test_in_place_values_match_torch(op):
    a = RNG.standard_normal((4, 5)).astype(np.float32)
    src = RNG.standard_normal((4, 5)).astype(np.float32)
    mine, theirs = both(a)
    args = {
        "add_": lambda lib: (lib.tensor(src),),
        "mul_": lambda lib: (lib.tensor(src[0]),),
        "scatter_": lambda lib: (0, lib.tensor([[3, 1, 0, 2, 1]]), lib.tensor(src)),
        "index_add_": lambda lib: (1, lib.tensor([4, 0, 4]), lib.tensor(src[:, :3]), ),
    }[op]
    getattr(mine, op)(*args(tt))
    getattr(theirs, op)(*args(torch))
    np.testing.assert_allclose(mine.array, theirs.numpy(), rtol=1e-6)


def test_in_place_dtype_and_shape_rules_follow_torch():
    ints = tt.arange(3)
    with pytest.raises(RuntimeError, match="result type float32 can't be cast.*int64"):
        ints += 0.5
    ints += 2
    assert ints.tolist() == [2, 3, 4] and ints.dtype == np.int64
    small = tt.zeros(3)
    with pytest.raises(RuntimeError, match=r"output with shape \(3,\) doesn't match the "
                                           r"broadcast shape \(2, 3\)"):
        small += tt.ones(2, 3)


def test_integer_floor_division_by_zero_raises():
    with pytest.raises(ZeroDivisionError, match="floor_divide: integer division by zero"):
        tt.tensor([4, 5]) // tt.tensor([2, 0])
    with pytest.raises(ZeroDivisionError, match="remainder"):
        tt.tensor([4, 5]) % 0
    np.testing.assert_array_equal((tt.tensor([4, -5]) // 2).array, [2, -3])  # torch floors


def test_bitwise_operators_match_torch():
    a, b = np.array([5, 3, 12]), np.array([3, 6, 10])
    for op in ("__and__", "__or__", "__xor__"):
        mine = getattr(tt.tensor(a), op)(tt.tensor(b))
        theirs = getattr(torch.tensor(a), op)(torch.tensor(b))
        np.testing.assert_array_equal(mine.array, theirs.numpy())
    mask = tt.tensor([True, False])
    mask |= tt.tensor([False, True])
    assert mask.tolist() == [True, True]
    with pytest.raises(TypeError, match="bitwise_and: not supported for dtypes float32"):
        tt.ones(2) & tt.ones(2)


def test_data_is_a_detached_tensor_sharing_memory():
    w = tt.tensor([1.0, 2.0], requires_grad=True)
    d = w.data
    assert isinstance(d, tt.Tensor) and not d.requires_grad and d.grad_fn is None
    assert d.array is w.array  # shared memory
    w.data.add_(1)  # PyTorch idiom: update without autograd, no no_grad() needed
    np.testing.assert_allclose(w.array, [2.0, 3.0])
    assert w.requires_grad and w.is_leaf
    w.data = tt.tensor([7.0, 8.0])  # rebinding storage, as in torch
    np.testing.assert_allclose(w.array, [7.0, 8.0])
    values, indices = tt.max(tt.tensor([[1.0, 5.0], [3.0, 2.0]]).data, 1)
    assert indices.tolist() == [1, 0] and values.tolist() == [5.0, 3.0]


def test_random_in_place_fills_respect_the_seed_and_the_leaf_rule():
    tt.manual_seed(3)
    first = tt.empty(4).normal_(0, 1)
    tt.manual_seed(3)
    second = tt.empty(4).normal_(0, 1)
    np.testing.assert_array_equal(first.array, second.array)
    assert set(tt.zeros(100).bernoulli_(0.5).tolist()) == {0.0, 1.0}
    assert (tt.zeros(100).exponential_(2.0).array > 0).all()
    with pytest.raises(RuntimeError, match="leaf Variable"):
        tt.zeros(3, requires_grad=True).uniform_()
