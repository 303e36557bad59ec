"""Tensor: a numpy array that remembers how it was made.

What it teaches: a Tensor is a thin wrapper around an `np.ndarray` (`.array`) plus three
pieces of autograd state: `requires_grad`, `grad_fn` (the op that produced it) and
`.grad`. Every method below is one line that hands the arrays to an op in `ops/`; the ops
do the maths and, when gradients are needed, link the result into the graph.

Systems lessons:
- Memory: a float32 tensor of shape (N, M) holds 4*N*M bytes; views (reshape, transpose,
  slicing) share that memory, copies double it. `.array.nbytes` tells you.
- Overhead: a Python-level op costs microseconds regardless of size, so tiny tensors are
  dominated by interpreter overhead and large ones by memory bandwidth or FLOPs
  (see benchmarks/).
"""

from __future__ import annotations

import numbers

import numpy as np

from . import devices, dtypes


def _as_array(data, dtype) -> np.ndarray:
    if isinstance(data, Tensor):
        data = data.array
    if isinstance(data, np.ndarray):
        array = data
    else:
        # BEGIN SOLUTION
        array = np.asarray(data)
        if array.dtype == np.float64 and not isinstance(data, np.generic):
            array = array.astype(dtypes.default_float)  # Python floats -> float32
        elif array.dtype.kind in "iu" and not isinstance(data, np.generic):
            array = array.astype(np.int64)
        # END SOLUTION
    if array.dtype == object or array.dtype.kind in "USc":
        raise TypeError(f"Tensor: cannot build a tensor from data of dtype {array.dtype}")
    if dtype is not None:
        array = array.astype(dtypes.as_dtype(dtype), copy=False)
    elif array.dtype not in dtypes.SUPPORTED:
        array = array.astype(np.promote_types(array.dtype, np.int64) if array.dtype.kind in "iu"
                             else dtypes.default_float)
    return array


class Tensor:
    """An n-dimensional array with optional gradient tracking (mirrors `torch.Tensor`)."""

    __slots__ = ("array", "grad", "grad_fn", "_requires_grad", "_version", "__weakref__")
    __array_priority__ = 1000  # so `ndarray + Tensor` calls Tensor.__radd__

    def __init__(self, data, dtype=None, requires_grad: bool = False):
        self.array = _as_array(data, dtype)
        self.grad: Tensor | None = None
        self.grad_fn = None
        self._version = 0
        self._requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, array, requires_grad: bool = False) -> Tensor:
        """Fast constructor used by ops: no validation, no copy."""
        t = cls.__new__(cls)
        t.array = array if isinstance(array, np.ndarray) else np.asarray(array)
        t.grad = None
        t.grad_fn = None
        t._version = 0
        t._requires_grad = requires_grad
        return t

    # ------------------------------------------------------------ the storage
    @property
    def data(self) -> Tensor:
        """PyTorch's `.data`: the same memory as a new tensor that autograd does not see.

        Edits through it (`p.data.add_(...)`) change this tensor and are not recorded in
        the graph. The numpy array itself is `.array` (or `.numpy()`).
        """
        return Tensor._make(self.array)

    @data.setter
    def data(self, value) -> None:
        self.array = value.array if isinstance(value, Tensor) else np.asarray(value)

    # ------------------------------------------------------------ autograd state
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and self.array.dtype.kind != "f":
            raise RuntimeError(
                f"requires_grad: only floating point tensors can require gradients, "
                f"got dtype {self.array.dtype}"
            )
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError("requires_grad_: cannot turn off gradients of a non-leaf tensor; "
                               "use .detach()")
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    def backward(self, gradient=None, retain_graph: bool = False) -> None:
        autograd.backward(self, gradient, retain_graph)

    def retain_grad(self) -> None:
        """Keep `.grad` on this non-leaf tensor after backward (as in PyTorch)."""
        if self.grad_fn is not None:
            self.grad_fn._retained = self

    def _accumulate_grad(self, grad: np.ndarray) -> None:
        if self.grad is None:
            self.grad = Tensor._make(np.array(grad, dtype=self.array.dtype, copy=True))
        else:
            self.grad.array = self.grad.array + grad

    def detach(self) -> Tensor:
        """Same data (shared memory), no history."""
        return Tensor._make(self.array)

    def detach_(self) -> Tensor:
        self.grad_fn = None
        self._requires_grad = False
        return self

    # ------------------------------------------------------------ basic facts
    @property
    def shape(self) -> tuple:
        return self.array.shape

    @property
    def ndim(self) -> int:
        return self.array.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.array.dtype

    def dim(self) -> int:
        return self.array.ndim

    def size(self, dim: int | None = None):
        if dim is None:
            return self.array.shape
        return self.array.shape[check_dim("size", dim, self.ndim)]

    def numel(self) -> int:
        return int(self.array.size)

    def element_size(self) -> int:
        return self.array.itemsize

    @property
    def nbytes(self) -> int:
        return int(self.array.nbytes)

    def is_floating_point(self) -> bool:
        return self.array.dtype.kind == "f"

    def numpy(self) -> np.ndarray:
        if self.requires_grad:
            raise RuntimeError("numpy: can't call numpy() on a tensor that requires grad; "
                               "use tensor.detach().numpy()")
        return self.array

    def item(self):
        if self.array.size != 1:
            raise ValueError(
                f"item: only one-element tensors can be converted to a Python scalar, got shape "
                f"{self.shape}"
            )
        return self.array.reshape(()).item()

    def tolist(self):
        return self.array.tolist()

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.array.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __bool__(self) -> bool:
        if self.array.size != 1:
            raise RuntimeError(
                f"bool: the truth value of a tensor with {self.array.size} elements is ambiguous; "
                "use .any() or .all()"
            )
        return bool(self.array.reshape(()))

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.array.dtype.kind not in "iu" or self.array.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self.item())

    def __array__(self, dtype=None, copy=None):
        return self.array if dtype is None else self.array.astype(dtype)

    def __hash__(self) -> int:
        return id(self)

    def __format__(self, spec: str) -> str:
        """`f"{loss:.4f}"` formats a one-element tensor as its number, as in PyTorch."""
        if self.array.size == 1 and self.ndim == 0:
            return format(self.item(), spec)
        if not spec:
            return str(self)
        raise TypeError(f"unsupported format string {spec!r} passed to Tensor.__format__ "
                        f"(a tensor of shape {self.shape}; format .item() of a 0-d tensor)")

    def __repr__(self) -> str:
        body = np.array2string(self.array, separator=", ", precision=4, prefix="tensor(")
        extras = []
        if self.array.dtype not in (dtypes.float32, dtypes.int64, dtypes.bool_):
            extras.append(f"dtype={self.array.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extras]) + ")"

    # ------------------------------------------------------------ dtype and device conversion
    def to(self, *args, dtype=None, device=None, non_blocking: bool = False,
           copy: bool = False) -> Tensor:
        """`to(dtype)`, `to(device)`, `to(device, dtype)`, `to(other)` as in PyTorch.

        The device must be the CPU (the only one TinyTorch has); a GPU fails like CPU-only
        torch. Converting to the tensor's own dtype returns the tensor itself.
        """
        target_dtype, target_device = parse_to_args(args, dtype, device)
        devices.resolve("to", target_device)
        out = self if target_dtype is None else self._cast(dtypes.as_dtype(target_dtype))
        return out.clone() if copy and out is self else out

    def _cast(self, dtype) -> Tensor:
        if dtype == self.array.dtype:
            return self
        return ops.Cast.apply(self, dtype=dtype) if dtype.kind == "f" and self.requires_grad \
            else Tensor._make(self.array.astype(dtype))

    @property
    def device(self) -> devices.device:
        return devices.CPU

    @property
    def is_cuda(self) -> bool:
        return False

    def cuda(self, device=None, non_blocking: bool = False) -> Tensor:
        devices.resolve("cuda", "cuda" if device is None else device)

    def pin_memory(self) -> Tensor:
        return self  # page-locked memory speeds up host-to-GPU copies; there is no GPU

    def type(self, dtype=None):
        return str(self.array.dtype) if dtype is None else self.to(dtype)

    def float(self) -> Tensor:
        return self._cast(dtypes.float32)

    def double(self) -> Tensor:
        return self._cast(dtypes.float64)

    def half(self) -> Tensor:
        return self._cast(dtypes.float16)

    def long(self) -> Tensor:
        return self._cast(dtypes.int64)

    def int(self) -> Tensor:
        return self._cast(dtypes.int32)

    def bool(self) -> Tensor:
        return self._cast(dtypes.bool_)

    def clone(self) -> Tensor:
        return ops.Clone.apply(self)

    def contiguous(self) -> Tensor:
        if self.array.flags.c_contiguous:
            return self
        return ops.Clone.apply(self)

    def cpu(self) -> Tensor:
        return self

    # ------------------------------------------------------------ arithmetic
    def __add__(self, other):
        return ops.add(self, other)

    def __radd__(self, other):
        return ops.add(other, self)

    def __sub__(self, other):
        return ops.sub(self, other)

    def __rsub__(self, other):
        return ops.sub(other, self)

    def __mul__(self, other):
        return ops.mul(self, other)

    def __rmul__(self, other):
        return ops.mul(other, self)

    def __truediv__(self, other):
        return ops.div(self, other)

    def __rtruediv__(self, other):
        return ops.div(other, self)

    def __neg__(self):
        return ops.Neg.apply(self)

    def __pos__(self):
        return self

    def __pow__(self, exponent):
        return ops.pow(self, exponent)

    def __rpow__(self, base):
        return ops.pow(base, self)

    def __matmul__(self, other):
        return ops.matmul(self, other)

    def __rmatmul__(self, other):
        return ops.matmul(other, self)

    def __floordiv__(self, other):
        return ops.nondifferentiable("floor_divide", self, other)

    def __mod__(self, other):
        return ops.nondifferentiable("remainder", self, other)

    add = __add__
    sub = __sub__
    mul = __mul__
    div = __truediv__
    matmul = __matmul__

    def mm(self, other):
        """Matrix product of two 2-D tensors (torch.mm: no broadcasting, no 1-D)."""
        if self.ndim != 2 or not isinstance(other, Tensor) or other.ndim != 2:
            raise RuntimeError(f"mm: expected two 2-D tensors, got shapes {self.shape} and "
                               f"{getattr(other, 'shape', type(other).__name__)}")
        return ops.matmul(self, other)

    def bmm(self, other):
        """Batched matrix product of (B, N, M) and (B, M, P) tensors (torch.bmm)."""
        if self.ndim != 3 or not isinstance(other, Tensor) or other.ndim != 3 \
                or self.shape[0] != other.shape[0]:
            raise RuntimeError(f"bmm: expected 3-D tensors with the same batch size, got "
                               f"shapes {self.shape} and {getattr(other, 'shape', None)}")
        return ops.matmul(self, other)

    def t(self):
        """Transpose of a tensor of at most 2 dims (torch.Tensor.t)."""
        if self.ndim > 2:
            raise RuntimeError(f"t: expects a tensor with <= 2 dimensions, but self is "
                               f"{self.ndim}D; use .transpose(dim0, dim1) or .mT")
        return self if self.ndim < 2 else ops.transpose(self, 0, 1)

    def pow(self, exponent):
        return ops.pow(self, exponent)

    # comparisons produce bool tensors and carry no gradient
    def __eq__(self, other):
        return ops.nondifferentiable("equal", self, other)

    def __ne__(self, other):
        return ops.nondifferentiable("not_equal", self, other)

    def __lt__(self, other):
        return ops.nondifferentiable("less", self, other)

    def __le__(self, other):
        return ops.nondifferentiable("less_equal", self, other)

    def __gt__(self, other):
        return ops.nondifferentiable("greater", self, other)

    def __ge__(self, other):
        return ops.nondifferentiable("greater_equal", self, other)

    def __and__(self, other):
        return ops.nondifferentiable("bitwise_and", self, other)

    def __or__(self, other):
        return ops.nondifferentiable("bitwise_or", self, other)

    def __xor__(self, other):
        return ops.nondifferentiable("bitwise_xor", self, other)

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    def __invert__(self):
        return Tensor._make(~self.array)

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    def any(self) -> Tensor:
        return Tensor._make(np.asarray(self.array.any()))

    def all(self) -> Tensor:
        return Tensor._make(np.asarray(self.array.all()))

    def equal(self, other) -> bool:
        return self.shape == other.shape and bool(np.array_equal(self.array, other.array))

    def allclose(self, other, rtol: float = 1e-5, atol: float = 1e-8,
                 equal_nan: bool = False) -> bool:
        other = other.array if isinstance(other, Tensor) else other
        return bool(np.allclose(self.array, other, rtol=rtol, atol=atol, equal_nan=equal_nan))

    # ------------------------------------------------------------ pointwise maths
    def exp(self):
        return ops.Exp.apply(_floating(self))

    def log(self):
        return ops.Log.apply(_floating(self))

    def sqrt(self):
        return ops.Sqrt.apply(_floating(self))

    def rsqrt(self):
        return ops.pow(self, -0.5)

    def abs(self):
        return ops.Abs.apply(self)

    def clamp(self, min=None, max=None):
        return ops.clamp(self, min, max)

    clip = clamp

    def tanh(self):
        return ops.Tanh.apply(_floating(self))

    def sigmoid(self):
        return ops.Sigmoid.apply(_floating(self))

    def relu(self):
        return ops.ReLU.apply(self)

    def sin(self):
        return ops.Sin.apply(_floating(self))

    def cos(self):
        return ops.Cos.apply(_floating(self))

    def softmax(self, dim: int = -1, dtype=None):
        return ops.softmax(self if dtype is None else self.to(dtype), dim)

    def log_softmax(self, dim: int = -1, dtype=None):
        return ops.log_softmax(self if dtype is None else self.to(dtype), dim)

    def masked_fill(self, mask, value):
        return ops.masked_fill(self, mask, value)

    def where(self, condition, other):
        return ops.where(condition, self, other)

    # ------------------------------------------------------------ reductions
    # `axis=` is accepted as PyTorch accepts it: an alias of `dim`.
    def sum(self, dim=None, keepdim: bool = False, dtype=None, *, axis=None):
        out = ops.reduce_sum(self, _dim(dim, axis), keepdim)
        return out if dtype is None else out.to(dtype)

    def mean(self, dim=None, keepdim: bool = False, *, axis=None):
        return ops.mean(self, _dim(dim, axis), keepdim)

    def var(self, dim=None, keepdim: bool = False, unbiased: bool | None = None,
            correction: int | None = None, *, axis=None):
        return ops.var(self, _dim(dim, axis), keepdim, _correction(unbiased, correction))

    def std(self, dim=None, keepdim: bool = False, unbiased: bool | None = None,
            correction: int | None = None, *, axis=None):
        return ops.var(self, _dim(dim, axis), keepdim,
                       _correction(unbiased, correction)).sqrt()

    def max(self, dim=None, keepdim: bool = False, *, axis=None):
        dim = _dim(dim, axis)
        if isinstance(dim, Tensor):  # torch.max(a, b): the elementwise maximum
            return self.maximum(dim)
        return ops.max_min(self, dim, keepdim, "max")

    def min(self, dim=None, keepdim: bool = False, *, axis=None):
        dim = _dim(dim, axis)
        if isinstance(dim, Tensor):
            return self.minimum(dim)
        return ops.max_min(self, dim, keepdim, "min")

    def maximum(self, other):
        return ops.where(self >= other, self, other)

    def minimum(self, other):
        return ops.where(self <= other, self, other)

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
        return ops.topk(self, k, dim, largest, sorted)

    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False):
        return ops.sort(self, dim, descending, stable)

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False):
        return ops.argsort(self, dim, descending, stable)

    def argmax(self, dim=None, keepdim: bool = False, *, axis=None):
        return ops.arg_reduce(self, _dim(dim, axis), keepdim, "argmax")

    def argmin(self, dim=None, keepdim: bool = False, *, axis=None):
        return ops.arg_reduce(self, _dim(dim, axis), keepdim, "argmin")

    def norm(self, p=2, dim=None, keepdim: bool = False):
        if p != 2:
            return (self.abs() ** p).sum(dim, keepdim) ** (1.0 / p)
        return (self * self).sum(dim, keepdim).sqrt()

    # ------------------------------------------------------------ shape
    def reshape(self, *shape):
        return ops.reshape(self, _shape_args(shape))

    def view(self, *shape):
        return ops.reshape(self, _shape_args(shape), view=True)

    def view_as(self, other):
        return self.view(other.shape)

    def reshape_as(self, other):
        return self.reshape(other.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        return ops.flatten(self, start_dim, end_dim)

    def squeeze(self, dim=None):
        return ops.squeeze(self, dim)

    def unsqueeze(self, dim: int):
        return ops.unsqueeze(self, dim)

    def transpose(self, dim0: int, dim1: int):
        return ops.transpose(self, dim0, dim1)

    def permute(self, *dims):
        return ops.permute(self, _shape_args(dims))

    @property
    def T(self):  # noqa: N802 - PyTorch's name
        return ops.permute(self, tuple(reversed(range(self.ndim))))

    @property
    def mT(self):  # noqa: N802
        return ops.transpose(self, -2, -1)

    def expand(self, *sizes):
        return ops.expand(self, _shape_args(sizes))

    def expand_as(self, other):
        return ops.expand(self, other.shape)

    def repeat(self, *repeats):
        return ops.repeat(self, _shape_args(repeats))

    def split(self, split_size, dim: int = 0):
        return ops.split(self, split_size, dim)

    def chunk(self, chunks: int, dim: int = 0):
        return ops.chunk(self, chunks, dim)

    def __getitem__(self, index):
        return ops.getitem(self, index)

    def gather(self, dim: int, index):
        return ops.gather(self, dim, index)

    # ------------------------------------------------------------ in-place operations
    # `a += b`, `a.add_(b)`, `a[i] = v` write into this tensor's own memory (every view of
    # it sees the change) and bump its version counter, so a backward that saved the old
    # values refuses to run instead of computing a wrong gradient. PyTorch's rules: refused
    # on a leaf that requires grad while grad mode is on (its .grad would stop describing
    # it); on any other tensor recorded in the graph when an operand requires grad.

    def _check_inplace(self, name: str) -> None:
        if self._requires_grad and self.grad_fn is None and autograd.is_grad_enabled():
            raise RuntimeError(
                f"{name}: a leaf Variable that requires grad is being used in an in-place "
                f"operation (shape {self.shape}); wrap it in `with torch.no_grad():` or use "
                "the out-of-place form"
            )

    def _bump(self) -> Tensor:
        self._version += 1
        return self

    def _records(self, operands) -> bool:
        return autograd.is_grad_enabled() and (
            self._requires_grad or any(isinstance(o, Tensor) and o.requires_grad for o in operands))

    def _store(self, name: str, result: Tensor) -> None:
        """Copy an out-of-place `result` into this tensor's memory (PyTorch's cast rules)."""
        if result.shape != self.shape:
            raise RuntimeError(f"{name}: output with shape {self.shape} doesn't match the "
                               f"broadcast shape {result.shape}")
        if not np.can_cast(result.dtype, self.dtype, "same_kind"):
            raise RuntimeError(f"{name}: result type {result.dtype} can't be cast to the "
                               f"desired output type {self.dtype}")
        np.copyto(self.array, result.array, casting="same_kind")

    def _inplace_op(self, name: str, compute, *operands) -> Tensor:
        """Run `compute(self, *operands)` out of place, then make it this tensor's value."""
        self._check_inplace(name)
        if not self._records(operands):
            with autograd.no_grad():
                self._store(name, compute(self, *operands))
            return self._bump()
        # Recorded: the op reads a copy of the old values (a backward may have saved them),
        # and this tensor takes over the new node as its grad_fn.
        old = Tensor._make(self.array.copy(), self._requires_grad)
        old.grad_fn = self.grad_fn
        result = compute(old, *operands)
        if result.requires_grad and result.grad_fn is None:  # e.g. copy_ of a leaf
            result = ops.Clone.apply(result)
        self._store(name, result)
        self.grad_fn, self._requires_grad = result.grad_fn, result.requires_grad
        return self._bump()

    def _inplace_ufunc(self, name, other, ufunc, out_of_place) -> Tensor:
        """Fast path for + - * /: numpy writes straight into our memory (`out=`)."""
        if self._records((other,)):  # a graph must record it (or a leaf refuses it)
            return self._inplace_op(name, out_of_place, other)
        operand = other.array if isinstance(other, Tensor) else other
        try:
            ufunc(self.array, operand, out=self.array, casting="same_kind")
        except TypeError:  # numpy's UFuncTypeError: e.g. an int tensor += a float
            return self._inplace_op(name, out_of_place, other)
        except ValueError:
            return self._inplace_op(name, out_of_place, other)
        return self._bump()

    def __setitem__(self, index, value) -> None:
        if self._records((value,)):
            self._inplace_op("__setitem__", lambda t, v: ops.index_put(t, index, v), value)
            return
        ops.write_at(self.array, index, value)  # no graph needed: write straight into memory
        self._bump()

    def add_(self, other, alpha=1):
        if alpha != 1:
            return self._inplace_op("add_", lambda t, o: t + o * alpha, other)
        return self._inplace_ufunc("add_", other, np.add, ops.add)

    def sub_(self, other, alpha=1):
        if alpha != 1:
            return self._inplace_op("sub_", lambda t, o: t - o * alpha, other)
        return self._inplace_ufunc("sub_", other, np.subtract, ops.sub)

    def mul_(self, other):
        return self._inplace_ufunc("mul_", other, np.multiply, ops.mul)

    def div_(self, other):
        return self._inplace_ufunc("div_", other, np.true_divide, ops.div)

    def pow_(self, exponent):
        return self._inplace_op("pow_", ops.pow, exponent)

    def floor_divide_(self, other):
        return self._inplace_op("floor_divide_", Tensor.__floordiv__, other)

    def remainder_(self, other):
        return self._inplace_op("remainder_", Tensor.__mod__, other)

    def addcmul_(self, tensor1, tensor2, value=1):
        return self._inplace_op("addcmul_", lambda t, a, b: t + a * b * value, tensor1, tensor2)

    def addcdiv_(self, tensor1, tensor2, value=1):
        return self._inplace_op("addcdiv_", lambda t, a, b: t + a / b * value, tensor1, tensor2)

    def lerp_(self, end, weight):
        return self._inplace_op("lerp_", lambda t, e: t + (e - t) * weight, end)

    __iadd__, __isub__, __imul__, __itruediv__ = add_, sub_, mul_, div_
    __ipow__, __ifloordiv__, __imod__ = pow_, floor_divide_, remainder_

    def __iand__(self, other):
        return self._inplace_op("__iand__", Tensor.__and__, other)

    def __ior__(self, other):
        return self._inplace_op("__ior__", Tensor.__or__, other)

    def __ixor__(self, other):
        return self._inplace_op("__ixor__", Tensor.__xor__, other)

    def neg_(self):
        return self._inplace_op("neg_", Tensor.__neg__)

    def exp_(self):
        return self._inplace_op("exp_", Tensor.exp)

    def log_(self):
        return self._inplace_op("log_", Tensor.log)

    def sqrt_(self):
        return self._inplace_op("sqrt_", Tensor.sqrt)

    def abs_(self):
        return self._inplace_op("abs_", Tensor.abs)

    def tanh_(self):
        return self._inplace_op("tanh_", Tensor.tanh)

    def sigmoid_(self):
        return self._inplace_op("sigmoid_", Tensor.sigmoid)

    def relu_(self):
        return self._inplace_op("relu_", Tensor.relu)

    def sin_(self):
        return self._inplace_op("sin_", Tensor.sin)

    def cos_(self):
        return self._inplace_op("cos_", Tensor.cos)

    def clamp_(self, min=None, max=None):
        return self._inplace_op("clamp_", lambda t: ops.clamp(t, min, max))

    clip_ = clamp_

    def clamp_min_(self, min):
        return self.clamp_(min=min)

    def clamp_max_(self, max):
        return self.clamp_(max=max)

    def masked_fill_(self, mask, value):
        return self._inplace_op("masked_fill_", lambda t: ops.masked_fill(t, mask, value))

    def index_add_(self, dim: int, index, source, alpha=1):
        return self._inplace_op("index_add_",
                                lambda t, s: ops.index_add(t, dim, index, s, alpha), source)

    def scatter_(self, dim: int, index, src=None, value=None):
        source = _scatter_source("scatter_", src, value)
        return self._inplace_op("scatter_", lambda t, s: ops.scatter(t, dim, index, s), source)

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        value = value.item() if isinstance(value, Tensor) else value
        return self._inplace_op("fill_", lambda t: Tensor._make(np.full(t.shape, value, t.dtype)))

    def copy_(self, src):
        source = src if isinstance(src, Tensor) else Tensor(np.asarray(src))
        return self._inplace_op("copy_", lambda t, s: ops.copy_to(t, s), source)

    def normal_(self, mean: float = 0.0, std: float = 1.0, generator=None):
        draw = random.get_rng(generator).standard_normal(self.shape) * std + mean
        return self._inplace_op("normal_", lambda t: Tensor._make(draw.astype(t.dtype)))

    def uniform_(self, a: float = 0.0, b: float = 1.0, generator=None):
        draw = random.get_rng(generator).uniform(a, b, self.shape)
        return self._inplace_op("uniform_", lambda t: Tensor._make(draw.astype(t.dtype)))

    def bernoulli_(self, p: float = 0.5, generator=None):
        draw = random.get_rng(generator).random(self.shape) < p
        return self._inplace_op("bernoulli_", lambda t: Tensor._make(draw.astype(t.dtype)))

    def exponential_(self, lambd: float = 1.0, generator=None):
        draw = random.get_rng(generator).exponential(1.0 / lambd, self.shape)
        return self._inplace_op("exponential_", lambda t: Tensor._make(draw.astype(t.dtype)))

    # out-of-place forms of the scatter family
    def index_add(self, dim: int, index, source, alpha=1):
        return ops.index_add(self, dim, index, source, alpha)

    def scatter(self, dim: int, index, src=None, value=None):
        return ops.scatter(self, dim, index, _scatter_source("scatter", src, value))


def _scatter_source(op: str, src, value):
    if (src is None) == (value is None):
        raise TypeError(f"{op}: give exactly one of src (a tensor) or value (a number)")
    return src if src is not None else value


def _floating(t: Tensor) -> Tensor:
    """Integer and bool tensors go to the default float first (torch.exp(int) is float32)."""
    return t if t.array.dtype.kind == "f" else t._cast(dtypes.default_float)


def parse_to_args(args, dtype, device) -> tuple:
    """Sort the positional arguments of `Tensor.to` / `Module.to` into (dtype, device)."""
    for arg in args:
        if isinstance(arg, Tensor):
            dtype, device = arg.dtype, arg.device
        elif devices.is_device_like(arg):
            device = arg
        elif arg is not None:
            dtype = arg
    return dtype, device


def _shape_args(args) -> tuple:
    """Accept both `t.reshape(2, 3)` and `t.reshape((2, 3))`."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    for a in args:
        if not isinstance(a, (numbers.Integral, np.integer)):
            raise TypeError(f"shape arguments must be integers, got {args!r}")
    return tuple(int(a) for a in args)


def check_dim(op: str, dim: int, ndim: int) -> int:
    if not isinstance(dim, (numbers.Integral, np.integer)):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    lo = -max(ndim, 1)
    if not lo <= dim < max(ndim, 1):
        raise IndexError(
            f"{op}: dimension out of range (expected to be in range of [{lo}, {max(ndim, 1) - 1}]"
            f", but got {dim})"
        )
    return dim % max(ndim, 1)


def _dim(dim, axis):
    if axis is None:
        return dim
    if dim is not None:
        raise TypeError("reduction: give dim or its alias axis, not both")
    return axis


def _correction(unbiased, correction) -> int:
    if correction is not None:
        return int(correction)
    return 1 if unbiased is None or unbiased else 0


from . import autograd, ops, random  # noqa: E402  (ops and autograd need Tensor defined)
