"""Every Tensor op against PyTorch CPU (values and gradients, float32 and float64) and
against float64 central differences (gradcheck)."""

import numpy as np
import pytest
import torch

import tinytorch.core as tt
from tinytorch.core.testing import check_gradcheck, check_op, helper_test_op

DTYPES = [np.float32, np.float64]


# ------------------------------------------------------------------ binary arithmetic
BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "div": (lambda a, b: a / b, lambda a, b: a / b),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(BINARY))
def test_binary_broadcasting_matches_torch(name, dtype):
    tt_fn, torch_fn = BINARY[name]
    # b away from 0 for div
    helper_test_op(tt_fn, torch_fn, num_inputs=2, dtypes=(dtype,), low=[-2, 0.5], high=[2, 2])


@pytest.mark.parametrize("name", list(BINARY))
def test_binary_gradcheck(name):
    rng = np.random.default_rng(2)
    arrays = [rng.uniform(-2, 2, (3, 1, 4)), rng.uniform(0.5, 2, (2, 4))]
    check_gradcheck(None, BINARY[name][0], arrays=arrays)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("scalar", [2, 0.5, -1.5])
def test_scalar_operands_keep_dtype_and_match_torch(dtype, scalar):
    check_op([(3, 4)], lambda a: (a * scalar + scalar) / scalar - scalar,
             lambda a: (a * scalar + scalar) / scalar - scalar, dtype=dtype)
    check_op([(3, 4)], lambda a: scalar - a, lambda a: scalar - a, dtype=dtype)
    check_op([(3, 4)], lambda a: scalar / a, lambda a: scalar / a, dtype=dtype, low=0.5)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("exponent", [2, 3, 0.5, -1, -0.5, 1.5])
def test_pow_scalar(dtype, exponent):
    check_op([(4, 5)], lambda a: a**exponent, lambda a: a**exponent, dtype=dtype,
             low=0.5, high=2.0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_pow_tensor_exponent_and_rpow(dtype):
    check_op([(3, 4), (4,)], lambda a, b: a**b, lambda a, b: a**b, dtype=dtype, low=0.5)
    check_op([(3, 4)], lambda a: 2.0**a, lambda a: 2.0**a, dtype=dtype)


def test_pow_gradcheck():
    check_gradcheck([(3, 4), (3, 4)], lambda a, b: a.abs() ** b)
    check_gradcheck([(3, 4)], lambda a: a**3)


# ------------------------------------------------------------------ matmul
MATMUL_SHAPES = [
    ((3,), (3,)),
    ((3,), (3, 4)),
    ((2, 3), (3,)),
    ((2, 3), (3, 4)),
    ((5, 2, 3), (3, 4)),
    ((2, 3), (5, 3, 4)),
    ((5, 1, 2, 3), (4, 3, 2)),
    ((2, 5, 2, 3), (2, 1, 3, 4)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shapes", MATMUL_SHAPES)
def test_matmul_matches_torch(shapes, dtype):
    check_op(shapes, lambda a, b: a @ b, lambda a, b: a @ b, dtype=dtype)


@pytest.mark.parametrize("shapes", MATMUL_SHAPES)
def test_matmul_gradcheck(shapes):
    check_gradcheck(shapes, lambda a, b: a @ b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape", [(4, 3), (2, 5, 3), (3,)])
def test_fused_linear_matches_torch(dtype, x_shape):
    import tinytorch.core.nn.functional as F

    check_op([x_shape, (6, 3), (6,)], F.linear, torch.nn.functional.linear, dtype=dtype)
    check_op([x_shape, (6, 3)], F.linear, torch.nn.functional.linear, dtype=dtype)
    check_gradcheck([x_shape, (6, 3), (6,)], F.linear)


# ------------------------------------------------------------------ pointwise
POINTWISE = {
    "exp": (lambda a: a.exp(), torch.exp, (-2, 2)),
    "log": (lambda a: a.log(), torch.log, (0.2, 3)),
    "sqrt": (lambda a: a.sqrt(), torch.sqrt, (0.2, 3)),
    "abs": (lambda a: a.abs(), torch.abs, (-2, 2)),
    "neg": (lambda a: -a, torch.neg, (-2, 2)),
    "tanh": (lambda a: a.tanh(), torch.tanh, (-3, 3)),
    "sigmoid": (lambda a: a.sigmoid(), torch.sigmoid, (-6, 6)),
    "relu": (lambda a: a.relu(), torch.relu, (-2, 2)),
    "sin": (lambda a: a.sin(), torch.sin, (-3, 3)),
    "cos": (lambda a: a.cos(), torch.cos, (-3, 3)),
    "clamp_both": (lambda a: a.clamp(-0.5, 0.7), lambda a: a.clamp(-0.5, 0.7), (-2, 2)),
    "clamp_min": (lambda a: a.clamp(min=0.1), lambda a: a.clamp(min=0.1), (-2, 2)),
    "clamp_max": (lambda a: a.clamp(max=0.1), lambda a: a.clamp(max=0.1), (-2, 2)),
    "rsqrt": (lambda a: a.rsqrt(), torch.rsqrt, (0.2, 3)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(POINTWISE))
def test_pointwise_matches_torch(name, dtype):
    tt_fn, torch_fn, (low, high) = POINTWISE[name]
    helper_test_op(tt_fn, torch_fn, dtypes=(dtype,), low=low, high=high, max_dims=3,
                   max_side=5)


@pytest.mark.parametrize("name", [n for n in POINTWISE if n not in ("relu", "abs")
                                  and not n.startswith("clamp")])
def test_pointwise_gradcheck(name):
    tt_fn, _, (low, high) = POINTWISE[name]
    check_gradcheck([(3, 4)], tt_fn, low=low, high=high)


def test_kinked_functions_gradcheck_away_from_kinks():
    rng = np.random.default_rng(3)
    x = rng.uniform(0.1, 2, (3, 4)) * rng.choice([-1, 1], (3, 4))  # never within 0.1 of 0
    check_gradcheck(None, lambda a: a.relu(), arrays=[x])
    check_gradcheck(None, lambda a: a.abs(), arrays=[x])
    check_gradcheck(None, lambda a: a.clamp(-0.05, 0.05), arrays=[x])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_matches_torch(dtype, approximate):
    import tinytorch.core.nn.functional as F

    check_op([(5, 7)], lambda a: F.gelu(a, approximate),
             lambda a: torch.nn.functional.gelu(a, approximate=approximate),
             dtype=dtype, low=-4, high=4)
    check_gradcheck([(3, 4)], lambda a: F.gelu(a, approximate), low=-3, high=3)


def test_gelu_with_derivative_float32_matches_float64_exact():
    """The float32 polynomial path (gelu and gelu' from one exp) against math.erf in float64,
    over the whole useful range, both tails included."""
    from tinytorch.core.ops import gelu_with_derivative

    x = np.concatenate([np.linspace(-12, 12, 20001), [0.0, -0.0, 1e-30, -1e-30, np.nan]])
    x = x.astype(np.float32).astype(np.float64)  # exactly representable in both
    value, slope = gelu_with_derivative(x.astype(np.float32))
    exact_value, exact_slope = gelu_with_derivative(x)
    assert value.dtype == slope.dtype == np.float32
    finite = ~np.isnan(x)
    tolerance = 4e-7 * np.maximum(1.0, np.abs(x[finite]))
    assert np.all(np.abs(value[finite] - exact_value[finite]) <= tolerance)
    assert np.all(np.abs(slope[finite] - exact_slope[finite]) <= tolerance)
    assert np.isnan(value[-1]) and np.isnan(slope[-1])
    sample = x[finite][::500]  # and the float64 reference is torch's gradient
    np.testing.assert_allclose(exact_slope[finite][::500], _gelu_grad(sample), atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(768, 128), (3, 4, 64), (5, 1), (2, 0, 7)])
def test_row_sums_through_blas_equal_numpy_sums(dtype, shape):
    from tinytorch.core.ops.reduction import row_sums

    rows = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    got = row_sums(rows)
    assert got.shape == shape[:-1] and got.dtype == dtype
    tolerance = 8 * np.finfo(dtype).eps * shape[-1]
    np.testing.assert_allclose(got, rows.astype(np.float64).sum(axis=-1),
                               rtol=tolerance, atol=tolerance)


def test_float32_sign_bit_copy_equals_copysign():
    """The erf polynomial puts x's sign on a non-negative magnitude with integer bit
    operations instead of np.copysign: the same bits, signed zeros, infinities and NaNs
    included, and erf stays exactly odd."""
    from tinytorch.core.ops.pointwise import _with_sign_of, erf

    rng = np.random.default_rng(0)
    special = [0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 1e-45, -1e-45]
    x = np.concatenate([rng.standard_normal(5000) * 4, special]).astype(np.float32)
    magnitude = np.abs(np.concatenate([rng.standard_normal(5000), special])).astype(np.float32)
    out, scratch = np.empty_like(x), np.empty_like(x)
    expected = np.copysign(magnitude, x)
    np.testing.assert_array_equal(_with_sign_of(magnitude, x, out, scratch).view(np.uint32),
                                  expected.view(np.uint32))
    grid = np.linspace(0, 12, 100001, dtype=np.float32)
    np.testing.assert_array_equal(erf(-grid).view(np.uint32), (-erf(grid)).view(np.uint32))
    assert np.signbit(erf(np.array([-0.0], dtype=np.float32)))[0]


def _gelu_grad(x: np.ndarray) -> np.ndarray:
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    torch.nn.functional.gelu(t).sum().backward()
    return t.grad.numpy()


@pytest.mark.parametrize("dtype", DTYPES)
def test_leaky_relu_matches_torch(dtype):
    import tinytorch.core.nn.functional as F

    check_op([(5, 7)], lambda a: F.leaky_relu(a, 0.1),
             lambda a: torch.nn.functional.leaky_relu(a, 0.1), dtype=dtype)


def test_sigmoid_and_exp_extremes_do_not_overflow():
    x = tt.tensor([-1000.0, 0.0, 1000.0])
    np.testing.assert_array_equal(x.sigmoid().array, np.array([0.0, 0.5, 1.0], np.float32))
    assert np.all(np.isfinite(x.softmax(0).array))
    assert np.all(np.isfinite(x.log_softmax(0).array[1:]))


# ------------------------------------------------------------------ reductions
DIMS = [None, 0, 1, -1, (0, 2), (1, -1)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", DIMS)
@pytest.mark.parametrize("keepdim", [False, True])
def test_sum_mean_match_torch(dtype, dim, keepdim):
    check_op([(2, 3, 4)], lambda a: a.sum(dim, keepdim),
             lambda a: a.sum(dim=dim, keepdim=keepdim), dtype=dtype)
    check_op([(2, 3, 4)], lambda a: a.mean(dim, keepdim),
             lambda a: a.mean(dim=dim, keepdim=keepdim), dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", DIMS)
@pytest.mark.parametrize("correction", [0, 1])
def test_var_std_match_torch(dtype, dim, correction):
    check_op([(2, 3, 4)], lambda a: a.var(dim, keepdim=True, correction=correction),
             lambda a: torch.var(a, dim=dim, keepdim=True, correction=correction), dtype=dtype)
    check_op([(2, 3, 4)], lambda a: a.std(dim, correction=correction),
             lambda a: torch.std(a, dim=dim, correction=correction), dtype=dtype)


def test_reductions_gradcheck():
    check_gradcheck([(2, 3, 4)], lambda a: a.sum((0, 2)))
    check_gradcheck([(2, 3, 4)], lambda a: a.mean(1, keepdim=True))
    check_gradcheck([(2, 3, 4)], lambda a: a.var(-1))
    check_gradcheck([(2, 3, 4)], lambda a: a.max(1)[0])
    check_gradcheck([(2, 3, 4)], lambda a: a.min())
    check_gradcheck([(2, 3, 4)], lambda a: a.softmax(1))
    check_gradcheck([(2, 3, 4)], lambda a: a.log_softmax(-1))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_with_dim_return_values_and_indices(dtype, dim, keepdim):
    check_op([(3, 4, 5)], lambda a: tuple(a.max(dim, keepdim)),
             lambda a: tuple(torch.max(a, dim, keepdim)), dtype=dtype)
    check_op([(3, 4, 5)], lambda a: tuple(a.min(dim, keepdim)),
             lambda a: tuple(torch.min(a, dim, keepdim)), dtype=dtype)


def test_max_without_dim_shares_gradient_among_ties_like_torch():
    data = np.array([[1.0, 3.0], [3.0, 0.0]], np.float32)
    check_op(None, lambda a: a.max(), lambda a: a.max(), arrays=[data])
    check_op(None, lambda a: a.min(), lambda a: a.min(), arrays=[data])


@pytest.mark.parametrize("dim", [None, 0, 1])
def test_argmax_argmin_match_torch(dim):
    rng = np.random.default_rng(4)
    a = rng.standard_normal((4, 5)).astype(np.float32)
    for name in ("argmax", "argmin"):
        mine = getattr(tt.tensor(a), name)(dim)
        theirs = getattr(torch.from_numpy(a), name)(dim)
        np.testing.assert_array_equal(mine.array, theirs.numpy())
        assert mine.dtype == np.int64


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_log_softmax_match_torch(dtype, dim):
    check_op([(3, 4, 5)], lambda a: a.softmax(dim), lambda a: a.softmax(dim), dtype=dtype,
             low=-10, high=10)
    check_op([(3, 4, 5)], lambda a: a.log_softmax(dim), lambda a: a.log_softmax(dim),
             dtype=dtype, low=-10, high=10)


# ------------------------------------------------------------------ shape ops
SHAPE_OPS = {
    "reshape": (lambda a: a.reshape(4, -1), lambda a: a.reshape(4, -1)),
    "view": (lambda a: a.view(2, 12), lambda a: a.view(2, 12)),
    "transpose": (lambda a: a.transpose(0, 2), lambda a: a.transpose(0, 2)),
    "permute": (lambda a: a.permute(1, 2, 0), lambda a: a.permute(1, 2, 0)),
    "T_2d": (lambda a: a.reshape(6, 4).T, lambda a: a.reshape(6, 4).T),
    "unsqueeze": (lambda a: a.unsqueeze(1), lambda a: a.unsqueeze(1)),
    "squeeze": (lambda a: a.unsqueeze(0).unsqueeze(-1).squeeze(),
                lambda a: a.unsqueeze(0).unsqueeze(-1).squeeze()),
    "squeeze_dim": (lambda a: a.unsqueeze(2).squeeze(2), lambda a: a.unsqueeze(2).squeeze(2)),
    "flatten": (lambda a: a.flatten(), lambda a: a.flatten()),
    "flatten_1": (lambda a: a.flatten(1), lambda a: a.flatten(1)),
    "expand": (lambda a: a[:, :1].expand(5, 2, 3, 4), lambda a: a[:, :1].expand(5, 2, 3, 4)),
    "repeat": (lambda a: a.repeat(2, 1, 3), lambda a: a.repeat(2, 1, 3)),
    "repeat_more_dims": (lambda a: a.repeat(2, 1, 1, 2), lambda a: a.repeat(2, 1, 1, 2)),
    "split": (lambda a: a.split(2, dim=2), lambda a: a.split(2, dim=2)),
    "split_sizes": (lambda a: a.split([1, 3], dim=2), lambda a: a.split([1, 3], dim=2)),
    "chunk": (lambda a: a.chunk(3, dim=1), lambda a: a.chunk(3, dim=1)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(SHAPE_OPS))
def test_shape_ops_match_torch(name, dtype):
    tt_fn, torch_fn = SHAPE_OPS[name]
    check_op([(2, 3, 4)], tt_fn, torch_fn, dtype=dtype)


@pytest.mark.parametrize("name", list(SHAPE_OPS))
def test_shape_ops_gradcheck(name):
    check_gradcheck([(2, 3, 4)], SHAPE_OPS[name][0])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat_stack_match_torch(dtype, dim):
    check_op([(2, 3, 4)] * 3, lambda *xs: tt.cat(xs, dim), lambda *xs: torch.cat(xs, dim),
             dtype=dtype)
    check_op([(2, 3, 4)] * 3, lambda *xs: tt.stack(xs, dim), lambda *xs: torch.stack(xs, dim),
             dtype=dtype)
    check_gradcheck([(2, 3, 4)] * 2, lambda *xs: tt.cat(xs, dim))
    check_gradcheck([(2, 3, 4)] * 2, lambda *xs: tt.stack(xs, dim))


def test_cat_of_different_sizes_along_dim():
    check_op([(2, 3), (5, 3)], lambda a, b: tt.cat([a, b]), lambda a, b: torch.cat([a, b]))


# ------------------------------------------------------------------ indexing
INDEXES = [
    (1,),
    (slice(1, 3),),
    (slice(None), 2),
    (Ellipsis, slice(None, None, 2)),
    (None, 0),
    (slice(None), [0, 2, 2, 1]),  # repeated integer index: gradients accumulate
    ([0, 1, 0], [2, 2, 2]),
    ([[0, 1], [1, 0]],),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index", INDEXES, ids=str)
def test_getitem_matches_torch(dtype, index):
    def convert(lib_index, as_tensor):
        out = []
        for part in lib_index:
            out.append(as_tensor(np.array(part)) if isinstance(part, list) else part)
        return tuple(out)

    check_op([(3, 4, 5)], lambda a: a[convert(index, tt.tensor)],
             lambda a: a[convert(index, torch.tensor)], dtype=dtype)


def test_getitem_repeated_indices_accumulate_and_gradcheck():
    x = tt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[tt.tensor([0, 0, 2, 0])].sum().backward()
    np.testing.assert_array_equal(x.grad.array, [3.0, 0.0, 1.0])
    check_gradcheck([(4, 3)], lambda a: a[tt.tensor([0, 3, 3, 1])] * 2)


@pytest.mark.parametrize("dtype", DTYPES)
def test_boolean_mask_indexing_matches_torch(dtype):
    rng = np.random.default_rng(5)
    a = rng.standard_normal((4, 5)).astype(dtype)
    mask = a > 0
    check_op(None, lambda x: x[tt.tensor(mask)], lambda x: x[torch.from_numpy(mask)],
             arrays=[a], dtype=dtype)
    check_op(None, lambda x: x[tt.tensor(mask[:, 0])], lambda x: x[torch.from_numpy(mask[:, 0])],
             arrays=[a], dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_where_masked_fill_gather_match_torch(dtype):
    rng = np.random.default_rng(6)
    cond = rng.random((3, 4)) > 0.5
    check_op([(3, 4), (4,)], lambda a, b: tt.where(tt.tensor(cond), a, b),
             lambda a, b: torch.where(torch.from_numpy(cond), a, b), dtype=dtype)
    check_op([(3, 4)], lambda a: a.masked_fill(tt.tensor(cond[0]), -1e4),
             lambda a: a.masked_fill(torch.from_numpy(cond[0]), -1e4), dtype=dtype)
    index = rng.integers(0, 4, (3, 6))
    check_op([(3, 4)], lambda a: a.gather(1, tt.tensor(index)),
             lambda a: a.gather(1, torch.from_numpy(index)), dtype=dtype)
    check_gradcheck([(3, 4), (3, 4)], lambda a, b: tt.where(tt.tensor(cond), a, b))
    check_gradcheck([(3, 4)], lambda a: a.gather(1, tt.tensor(index)))


def test_where_with_scalar_branch():
    check_op([(3, 4)], lambda a: tt.where(a > 0, a, 0.0),
             lambda a: torch.where(a > 0, a, 0.0))


# ------------------------------------------------------------------ comparisons, no grad
def test_comparisons_give_bool_tensors_without_grad():
    a = tt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for result, expected in [(a > 2, [0, 0, 1]), (a >= 2, [0, 1, 1]), (a < 2, [1, 0, 0]),
                             (a <= 2, [1, 1, 0]), (a == 2, [0, 1, 0]), (a != 2, [1, 0, 1])]:
        assert result.dtype == np.bool_
        assert not result.requires_grad
        np.testing.assert_array_equal(result.array, np.array(expected, bool))


# ------------------------------------------------------------------ composite graph
@pytest.mark.parametrize("dtype", DTYPES)
def test_small_mlp_graph_matches_torch(dtype):
    def forward(x, w1, b1, w2, lib):
        h = (x @ w1 + b1)
        h = h.relu() if lib == "tt" else torch.relu(h)
        return (h @ w2).log_softmax(-1).mean()

    check_op([(8, 5), (5, 7), (7,), (7, 3)], lambda *a: forward(*a, "tt"),
             lambda *a: forward(*a, "torch"), dtype=dtype)


@pytest.mark.parametrize("shape", [(5,), (3, 5), (2, 3, 5), (2, 0, 5), (4, 1, 3, 5)])
def test_rows_matmul_is_matmul_with_one_blas_call(shape):
    from tinytorch.core.ops.linalg import rows_matmul

    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(shape), rng.standard_normal((5, 7))
    transposed = np.swapaxes(rng.standard_normal((*shape[:-2], 5, shape[-2])), -1, -2) \
        if len(shape) > 1 else x  # a non-contiguous x works too (one copy)
    for a in (x, transposed):
        out = rows_matmul(a, w)
        assert out.shape == np.matmul(a, w).shape
        np.testing.assert_allclose(out, np.matmul(a, w), rtol=1e-12, atol=1e-12)
