"""What an op costs: the shapes a `Function.cost` formula reads, and the formulas it shares.

    class Exp(Function):
        @staticmethod
        def forward(ctx, a): ...
        @staticmethod
        def backward(ctx, grad): ...
        @staticmethod
        def cost(call, grads=None):
            return pointwise(call, grads, forward=1, backward=1)

What it teaches: a FLOP count is a *formula of the shapes*. For C = A @ B with A (m, k)
and B (k, n) each of the m*n outputs needs k multiplies and k adds: 2*m*k*n FLOPs. So
each op states its cost next to its forward and backward, from the shapes of one call
(`OpCall`: no data is kept). Profilers (tinytorch-perf) call `cost` for every op they see
through `autograd.register_op_hook`; core never imports them.

Conventions (the same for every op):
- One FLOP is one floating-point add, multiply, divide, comparison or elementary function
  (exp, log, tanh, erf count as one each), counted as the numpy code of the op does them.
- `matmul_flops` is the part done by matrix products (matmul, linear, convolution,
  attention's two products): exactly what `torch.utils.flop_counter.FlopCounterMode`
  counts, so the two can be compared. Elementwise work is in `flops` only.
- Backward: `grads` has one entry per forward input, in input order; None where no
  gradient was computed. A gradient that is the incoming gradient itself (Add's
  pass-through, a view) is `passthrough` and costs nothing.
- `cost` returns None for "not counted" (the default of `Function.cost`): a profiler
  reports such an op as uncounted rather than counting it as free.

Systems lesson: FLOPs / bytes is the op's arithmetic intensity; compared with the
machine's ridge point it says whether more FLOP/s or more bandwidth would speed it up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import prod

import numpy as np


@dataclass(frozen=True)
class ArrayInfo:
    """The shape, dtype and physical size of an array an op touched (the array is not kept)."""

    shape: tuple
    dtype: str
    nbytes: int

    @property
    def size(self) -> int:
        return prod(self.shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)


def physical_nbytes(array: np.ndarray) -> int:
    """Bytes of distinct memory an array spans: a zero-stride (broadcast) axis counts once."""
    distinct = prod(n for n, s in zip(array.shape, array.strides) if s != 0)
    return distinct * array.itemsize


def describe(value):
    """ArrayInfo for an array, the value itself for small plain arguments, else a type name."""
    if isinstance(value, np.ndarray):
        return ArrayInfo(value.shape, str(value.dtype), physical_nbytes(value))
    if value is None or isinstance(value, (bool, int, float, str, np.generic)):
        return value
    if isinstance(value, (tuple, list)):
        return tuple(describe(v) for v in value)
    return f"<{type(value).__name__}>"


@dataclass(frozen=True)
class OpCall:
    """A forward call as a cost formula sees it: shapes and small arguments, no data."""

    op: str
    inputs: tuple  # per forward argument: ArrayInfo for arrays, plain values otherwise
    outputs: tuple  # ArrayInfo
    attrs: dict = field(default_factory=dict)  # the keyword arguments of `apply`

    @property
    def arrays(self) -> list[ArrayInfo]:
        return [x for x in self.inputs if isinstance(x, ArrayInfo)]

    @property
    def out(self) -> ArrayInfo:
        return self.outputs[0]

    def has(self, position: int) -> bool:
        """Whether forward argument `position` was given and is an array (an optional bias)."""
        return position < len(self.inputs) and isinstance(self.inputs[position], ArrayInfo)

    def arg(self, position: int, name: str, default=None):
        """A plain argument given by position or by keyword (a dropout p, a kernel size)."""
        if position < len(self.inputs):
            return self.inputs[position]
        return self.attrs.get(name, default)


@dataclass(frozen=True)
class Gradient:
    """One gradient a backward returned; `passthrough` when it is the incoming gradient."""

    info: ArrayInfo
    passthrough: bool

    @property
    def size(self) -> int:
        return self.info.size


@dataclass(frozen=True)
class Cost:
    """What one forward or backward call of an op executes.

    `reads_inputs`: does this call read the forward operands (bytes moved)? A backward
    that needs only the incoming gradient (Add, a reshape) does not.
    """

    flops: int
    matmul_flops: int = 0
    reads_inputs: bool = True


FREE = Cost(0, 0, reads_inputs=False)


# ---------------------------------------------------------------- shared formulas


def returned(grads) -> list[Gradient]:
    """The gradients a backward returned (None dropped), in input order."""
    return [g for g in grads if g is not None]


def computed(grads) -> list[Gradient]:
    """The gradients that cost work: returned and not the incoming gradient itself."""
    return [g for g in returned(grads) if not g.passthrough]


def pointwise(call: OpCall, grads, forward: int, backward: int,
              reads_inputs: bool = True) -> Cost:
    """A fixed number of FLOPs per output element (forward) or per gradient element."""
    if grads is None:
        return Cost(forward * call.out.size)
    return Cost(backward * sum(g.size for g in computed(grads)), reads_inputs=reads_inputs)


def data_movement(call: OpCall, grads) -> Cost:
    """No arithmetic either way, only bytes (copies, views, selections)."""
    return Cost(0) if grads is None else FREE


def sum_back(call: OpCall, grads) -> Cost:
    """Backward adds copies back together (repeat, overlapping patches): one add per extra."""
    return Cost(sum(call.out.size - g.size for g in returned(grads)), reads_inputs=False)


def scatter_add_back(call: OpCall, grads) -> Cost:
    """Backward by np.add.at: one add per incoming gradient element."""
    return Cost(call.out.size if returned(grads) else 0, reads_inputs=False)


def weighted_sum(call: OpCall, grads, product: int) -> Cost:
    """A layer y = x W (+ b) whose product costs `product` FLOPs (Linear, Conv2d).

    Forward: the product plus one add per output for the bias. Backward: one product of
    the same size for each of dx and dW that is wanted, and db sums the output gradient
    down to the bias' size."""
    if grads is None:
        return Cost(product + (call.out.size if call.has(2) else 0), product)
    grad_x, grad_w = (grads + (None, None))[:2]
    grad_b = grads[2] if len(grads) > 2 else None
    matmul = ((grad_x is not None) + (grad_w is not None)) * product
    summed = call.out.size - grad_b.size if grad_b is not None else 0
    return Cost(matmul + summed, matmul)


def matmul_flops(batch_and_rows: int, inner: int, columns: int) -> int:
    """2 * m * k * n: each of m*n outputs takes k multiplies and k adds."""
    return 2 * batch_and_rows * inner * columns


def attention_products(batch_heads: int, L: int, S: int, E: int, Ev: int) -> int:
    """The two products of attention, Q K^T and P V."""
    return 2 * batch_heads * L * S * E + 2 * batch_heads * L * S * Ev
