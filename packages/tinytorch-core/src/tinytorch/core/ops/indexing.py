"""Indexing and selection: t[idx], where, masked_fill, gather, and ops without gradients.

What it teaches: the backward of "read some elements" is "scatter the gradient back to
where they came from". When an index repeats (an embedding lookup of the same token
twice), the gradients must *add*; `np.add.at` does the unbuffered accumulation that a
plain `grad[idx] += g` silently gets wrong.

Systems lesson: basic slicing (`t[2:5]`) is a view and free; advanced indexing
(`t[[0, 2, 2]]`, boolean masks) always copies, and its backward writes a dense
zero tensor the size of the input.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..cost import FREE, Cost, data_movement, returned, scatter_add_back
from ..tensor import Tensor, check_dim
from .arithmetic import as_operands


def index_to_numpy(index):
    """Replace Tensors inside an index with their arrays (validated)."""
    if isinstance(index, tuple):
        return tuple(index_to_numpy(i) for i in index)
    if isinstance(index, Tensor):
        if index.dtype.kind not in "iub":
            raise IndexError(f"index: tensors used as indices must be long or bool, "
                             f"got {index.dtype}")
        return index.array
    if isinstance(index, list):
        return np.asarray(index)
    return index


def _is_basic(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice))
               for p in parts)


class GetItem(Function):
    @staticmethod
    def forward(ctx, a, index):
        index = index_to_numpy(index)  # index tensors arrive as Tensors: version-checked
        ctx.save_for_backward(index)
        ctx.shape = a.shape
        return a[index]

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        grad_in = np.zeros(ctx.shape, dtype=grad.dtype)
        if _is_basic(index):
            grad_in[index] = grad  # a slice never repeats an element
        else:
            np.add.at(grad_in, index, grad)  # repeated indices accumulate
        return grad_in, None

    @staticmethod
    def cost(call, grads=None):
        if grads is None:
            return Cost(0)
        advanced = call.has(1)  # an index array: backward scatters with np.add.at
        return Cost(call.out.size if advanced and returned(grads) else 0, reads_inputs=False)


def getitem(a: Tensor, index) -> Tensor:
    arrays = index_to_numpy(index)  # validates; Tensors stay in `index` for version checks
    index = arrays if isinstance(index, list) else index
    try:
        return GetItem.apply(a, index)
    except IndexError as err:
        raise IndexError(f"index: {err} (tensor of shape {a.shape})") from None


class Where(Function):
    @staticmethod
    def forward(ctx, condition, a, b):
        ctx.save_for_backward(condition)
        return np.where(condition, a, b)

    @staticmethod
    def backward(ctx, grad):
        zero = grad.dtype.type(0)
        (condition,) = ctx.saved_tensors
        return None, np.where(condition, grad, zero), np.where(condition, zero, grad)

    @staticmethod
    def cost(call, grads=None):
        return data_movement(call, grads)


def _bool_mask(op: str, mask) -> np.ndarray:
    array = mask.array if isinstance(mask, Tensor) else np.asarray(mask)
    if array.dtype != np.bool_:
        raise TypeError(f"{op}: expected a bool mask/condition, got dtype {array.dtype}")
    return array


def where(condition, a, b) -> Tensor:
    cond = _bool_mask("where", condition)
    a, b = as_operands("where", a, b)
    try:
        np.broadcast_shapes(cond.shape, a.shape, b.shape)
    except ValueError:
        raise ValueError(f"where: condition {cond.shape}, input {a.shape} and other {b.shape} "
                         "cannot be broadcast together") from None
    return Where.apply(condition if isinstance(condition, Tensor) else cond, a, b)


class MaskedFill(Function):
    @staticmethod
    def forward(ctx, a, mask, value):
        ctx.save_for_backward(mask)
        return np.where(mask, a.dtype.type(value), a)

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        return np.where(mask, grad.dtype.type(0), grad), None, None

    @staticmethod
    def cost(call, grads=None):
        return data_movement(call, grads)


def masked_fill(a: Tensor, mask, value) -> Tensor:
    array = _bool_mask("masked_fill", mask)
    try:
        shape = np.broadcast_shapes(a.shape, array.shape)
    except ValueError:
        shape = None
    if shape != a.shape:
        raise ValueError(f"masked_fill: mask of shape {array.shape} does not broadcast to the "
                         f"input's shape {a.shape}")
    if isinstance(value, Tensor):
        value = value.item()
    return MaskedFill.apply(a, mask if isinstance(mask, Tensor) else array, value)


class Gather(Function):
    @staticmethod
    def forward(ctx, a, dim, index):
        ctx.save_for_backward(index)
        ctx.dim, ctx.shape = dim, a.shape
        return np.take_along_axis(a, index, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        grad_in = np.zeros(ctx.shape, dtype=grad.dtype)
        full_index = list(np.indices(index.shape, sparse=True))
        full_index[ctx.dim] = index
        np.add.at(grad_in, tuple(full_index), grad)
        return grad_in, None, None

    @staticmethod
    def cost(call, grads=None):
        return Cost(0) if grads is None else scatter_add_back(call, grads)


def gather(a: Tensor, dim: int, index) -> Tensor:
    dim = check_dim("gather", dim, a.ndim)
    idx = index.array if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"gather: index must be an integer tensor, got {idx.dtype}")
    if idx.ndim != a.ndim:
        raise ValueError(f"gather: index has {idx.ndim} dims but input has {a.ndim}")
    if idx.size and (idx.min() < -a.shape[dim] or idx.max() >= a.shape[dim]):
        raise IndexError(f"gather: index out of range for dim {dim} of size {a.shape[dim]}")
    return Gather.apply(a, dim, index if isinstance(index, Tensor) else idx)


def nondifferentiable(np_name: str, a, b) -> Tensor:
    """Comparisons, logical ops, floor division: results carry no gradient."""
    a, b = as_operands(np_name, a, b)
    if np_name in ("floor_divide", "remainder") and a.dtype.kind in "iu" and \
            not np.all(b.array):
        raise ZeroDivisionError(f"{np_name}: integer division by zero (divisor of shape "
                                f"{b.shape}, dtype {b.dtype}); PyTorch raises here too")
    try:
        return Tensor._make(np.asarray(getattr(np, np_name)(a.array, b.array)))
    except ValueError:
        raise ValueError(f"{np_name}: shapes {a.shape} and {b.shape} cannot be broadcast "
                         "together") from None
    except TypeError:
        raise TypeError(f"{np_name}: not supported for dtypes {a.dtype} and {b.dtype} "
                        "(bitwise operators need integer or bool tensors)") from None


# ---------------------------------------------------------------- writing into a tensor
# The in-place methods of Tensor (`t[i] = v`, `index_add_`, `scatter_`, `copy_`) compute
# their result out of place with these ops when a graph must record them.


def _value_array(value, dtype) -> np.ndarray:
    array = value.array if isinstance(value, Tensor) else np.asarray(value)
    return array.astype(dtype, copy=False)


def write_at(array: np.ndarray, index, value) -> None:
    """`array[index] = value` with TinyTorch's error messages (no graph)."""
    index = index_to_numpy(index)
    try:
        array[index] = _value_array(value, array.dtype)
    except (ValueError, IndexError) as err:
        shape = value.shape if isinstance(value, Tensor) else np.shape(value)
        raise type(err)(f"__setitem__: cannot assign a value of shape {shape} to index "
                        f"{index!r} of a tensor of shape {array.shape}: {err}") from None


class IndexPut(Function):
    """out = a with out[index] = v. Gradient: zero where overwritten for a, grad[index] for v."""

    @staticmethod
    def forward(ctx, a, v, index):
        index = index_to_numpy(index)
        ctx.save_for_backward(index)
        out = a.copy()
        write_at(out, index, v)
        return out

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        grad_a = grad.copy()
        grad_a[index] = 0
        grad_v = grad[index] if ctx.needs_input_grad[1] else None  # the engine unbroadcasts
        return grad_a, grad_v, None

    @staticmethod
    def cost(call, grads=None):
        return data_movement(call, grads)


def index_put(a: Tensor, index, value) -> Tensor:
    value = value if isinstance(value, Tensor) else Tensor._make(_value_array(value, a.dtype))
    arrays = index_to_numpy(index)  # validates; Tensors stay in `index` for version checks
    return IndexPut.apply(a, value.to(a.dtype), arrays if isinstance(index, list) else index)


def _along(dim: int, index: np.ndarray, ndim: int) -> tuple:
    """The full fancy index that selects `index` along `dim` (as in gather/scatter)."""
    full = list(np.indices(index.shape, sparse=True))
    full[dim] = index
    return tuple(full[:ndim])


def _leading(shape: tuple) -> tuple:
    """The slices selecting the leading `shape` block of a larger array (scatter's src)."""
    return tuple(slice(0, n) for n in shape)


def _index_tensor(op: str, index) -> np.ndarray:
    array = index.array if isinstance(index, Tensor) else np.asarray(index)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be an integer tensor, got {array.dtype}")
    return array


class IndexAdd(Function):
    """out = a; out.select(dim, index[i]) += alpha * source.select(dim, i)."""

    @staticmethod
    def forward(ctx, a, source, dim, index, alpha):
        ctx.save_for_backward(index)
        ctx.dim, ctx.alpha = dim, alpha
        out = a.copy()
        np.add.at(out, (slice(None),) * dim + (index,), source * alpha)
        return out

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        grad_source = np.take(grad, index, axis=ctx.dim) * ctx.alpha
        return grad, grad_source, None, None, None

    @staticmethod
    def cost(call, grads=None):
        return Cost(call.arrays[1].size) if grads is None else FREE


def index_add(a: Tensor, dim: int, index, source, alpha=1) -> Tensor:
    dim = check_dim("index_add", dim, a.ndim)
    idx = _index_tensor("index_add", index)
    source = source if isinstance(source, Tensor) else Tensor(source)
    expected = a.shape[:dim] + (len(idx),) + a.shape[dim + 1:]
    if idx.ndim != 1 or source.shape != expected:
        raise ValueError(f"index_add: index must be 1-D and source of shape {expected}, got "
                         f"index {idx.shape} and source {source.shape}")
    if idx.size and (idx.min() < -a.shape[dim] or idx.max() >= a.shape[dim]):
        raise IndexError(f"index_add: index out of range for dim {dim} of size {a.shape[dim]}")
    return IndexAdd.apply(a, source.to(a.dtype), dim,
                          index if isinstance(index, Tensor) else idx, alpha)


class Scatter(Function):
    """out = a; out[..., index[i, j], ...] = src[i, j] along dim (last write wins)."""

    @staticmethod
    def forward(ctx, a, src, dim, index):
        ctx.save_for_backward(index)
        ctx.dim, ctx.src_shape = dim, np.shape(src)
        out = a.copy()
        part = src[_leading(index.shape)] if np.ndim(src) else src
        out[_along(dim, index, a.ndim)] = part
        return out

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        where = _along(ctx.dim, index, grad.ndim)
        grad_a = grad.copy()
        grad_a[where] = 0
        grad_src = None
        if ctx.needs_input_grad[1]:
            grad_src = np.zeros(ctx.src_shape, dtype=grad.dtype)
            grad_src[_leading(index.shape)] = grad[where]
        return grad_a, grad_src, None, None

    @staticmethod
    def cost(call, grads=None):
        return data_movement(call, grads)


def scatter(a: Tensor, dim: int, index, src) -> Tensor:
    dim = check_dim("scatter", dim, a.ndim)
    idx = _index_tensor("scatter", index)
    if idx.ndim != a.ndim:
        raise ValueError(f"scatter: index has {idx.ndim} dims but input has {a.ndim}")
    if idx.size and (idx.min() < -a.shape[dim] or idx.max() >= a.shape[dim]):
        raise IndexError(f"scatter: index out of range for dim {dim} of size {a.shape[dim]}")
    index = index if isinstance(index, Tensor) else idx  # a Tensor index is version-checked
    if isinstance(src, Tensor):
        if src.ndim != a.ndim or any(i > s for i, s in zip(idx.shape, src.shape)):
            raise ValueError(f"scatter: index of shape {idx.shape} is larger than src of shape "
                             f"{src.shape}")
        return Scatter.apply(a, src.to(a.dtype), dim, index)
    return Scatter.apply(a, a.dtype.type(src), dim, index)


def copy_to(a: Tensor, src: Tensor) -> Tensor:
    """The value `a.copy_(src)` gives `a`: src cast to a's dtype, broadcast to a's shape."""
    try:
        np.broadcast_shapes(src.shape, a.shape)
    except ValueError:
        raise RuntimeError(f"copy_: source of shape {src.shape} does not broadcast to "
                           f"{a.shape}") from None
    from .shape import expand  # shape.py imports this module, so not at the top

    return expand(src.to(a.dtype), a.shape)
