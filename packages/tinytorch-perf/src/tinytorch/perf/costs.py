"""What each op costs: a registry from op name to a FLOP-counting rule, plus bytes moved.

    register_op_cost("MyOp", forward=lambda call: (flops, matmul_flops))

What it teaches: a FLOP count is a *formula of the shapes*. For C = A @ B with A (m, k)
and B (k, n) each of the m*n outputs needs k multiplies and k adds: 2*m*k*n FLOPs. A
convolution is the same thing per output pixel: 2 * (output elements) * (Cin/groups *
kh * kw). The rules here are keyed by the op names core (and vision, language) report
through `tinytorch.core.autograd.register_op_hook`, never by layer classes, so any model
built from these ops is counted, however its layers are arranged.

Conventions (the same for every rule):
- One FLOP is one floating-point add, multiply, divide, comparison or elementary function
  (exp, log, tanh, erf count as one each), counted as the numpy code of the op does them.
- `matmul_flops` is the part done by matrix products (matmul, linear, convolution,
  attention's two products): exactly what `torch.utils.flop_counter.FlopCounterMode`
  counts, so the two can be compared. Elementwise work is in `flops` only.
- Backward: a gradient that is the incoming gradient itself (Add's pass-through, a view)
  costs nothing. Matrix products cost as much per input gradient as the forward product.
- Bytes moved: the compulsory traffic, each operand read once and each result written
  once (`physical_nbytes`: a broadcast view occupies only its distinct elements). An op
  whose output is a view of its input (reshape, transpose, expand) moves nothing.

Systems lesson: FLOPs / bytes is the op's arithmetic intensity; compared with the
machine's ridge point it says whether more FLOP/s or more bandwidth would speed it up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
    """A forward op as the counter remembers it: shapes and small arguments, no data."""

    op: str
    inputs: tuple  # ArrayInfo for array inputs, plain values otherwise
    outputs: tuple  # ArrayInfo
    attrs: dict = field(default_factory=dict)

    @property
    def arrays(self) -> list[ArrayInfo]:
        return [x for x in self.inputs if isinstance(x, ArrayInfo)]

    @property
    def out(self) -> ArrayInfo:
        return self.outputs[0]


@dataclass(frozen=True)
class Gradient:
    """One gradient a backward op returned; `passthrough` when it is the incoming gradient."""

    info: ArrayInfo
    passthrough: bool


ForwardRule = Callable[[OpCall], tuple[int, int]]
BackwardRule = Callable[[OpCall, ArrayInfo, list[Gradient]], tuple[int, int]]


@dataclass(frozen=True)
class OpRule:
    forward: ForwardRule
    backward: BackwardRule
    backward_reads_inputs: bool  # does backward read the forward operands (bytes moved)?


_RULES: dict[str, OpRule] = {}


def register_op_cost(op: str, forward: ForwardRule, backward: BackwardRule | None = None,
                     backward_reads_inputs: bool = True, replace: bool = False) -> None:
    """Teach the counter an op: `forward(call) -> (flops, matmul_flops)` and
    `backward(call, grad_out, grads) -> (flops, matmul_flops)` (default: free)."""
    if not isinstance(op, str) or not op:
        raise ValueError(f"register_op_cost: op must be a non-empty name, got {op!r}")
    if op in _RULES and not replace:
        raise ValueError(f"register_op_cost: a rule for {op!r} exists; pass replace=True")
    _RULES[op] = OpRule(forward, backward or _free_backward, backward_reads_inputs)


def rule_for(op: str) -> OpRule | None:
    return _RULES.get(op)


def known_ops() -> list[str]:
    return sorted(_RULES)


def forward_bytes(inputs: Sequence, outputs: Sequence) -> int:
    """Compulsory traffic of a forward op; zero when every output is a view of an input."""
    in_arrays = [a for a in inputs if isinstance(a, np.ndarray)]
    out_arrays = [a for a in outputs if isinstance(a, np.ndarray)]
    if out_arrays and all(any(np.may_share_memory(o, a) for a in in_arrays)
                          for o in out_arrays):
        return 0
    return sum(physical_nbytes(a) for a in in_arrays + out_arrays)


def backward_bytes(call: OpCall | None, grad: np.ndarray, grads: Sequence[np.ndarray],
                   reads_inputs: bool) -> int:
    """Read the incoming gradient (and the saved operands), write each new gradient."""
    written = [g for g in grads if not np.may_share_memory(g, grad)]
    if not written:
        return 0
    saved = sum(a.nbytes for a in call.arrays) if call is not None and reads_inputs else 0
    return physical_nbytes(grad) + saved + sum(physical_nbytes(g) for g in written)


# ---------------------------------------------------------------- rule helpers


def _free_backward(call, grad, grads):
    return 0, 0


def _computed(grads: list[Gradient]) -> list[Gradient]:
    return [g for g in grads if not g.passthrough]


def pointwise(forward_per_element: int, backward_per_element: int) -> tuple:
    """Rules for an op doing a fixed number of FLOPs per output (per gradient) element."""
    def forward(call):
        return forward_per_element * call.out.size, 0

    def backward(call, grad, grads):
        return backward_per_element * sum(g.info.size for g in _computed(grads)), 0

    return forward, backward


def _reduction_size(call) -> int:
    """Input elements minus output elements: the adds (or comparisons) of a reduction."""
    return call.arrays[0].size - call.out.size


def _matmul_forward(call):
    a = call.arrays[0]
    flops = 2 * call.out.size * a.shape[-1]  # each output: k multiplies, k adds
    return flops, flops


def _matmul_backward(call, grad, grads):
    # dA = G B^T and dB = A^T G each cost exactly the forward product (any batch shape)
    flops = len(grads) * _matmul_forward(call)[1]
    return flops, flops


def _split_bias(call, grads: list[Gradient], bias_index: int) -> tuple[list, Gradient | None]:
    """Separate the bias gradient (the last one, shaped like the bias) from the others.

    Backward events list only the gradients that were computed, in input order, so the
    bias gradient can only be the last one.
    """
    inputs = call.inputs
    bias = inputs[bias_index] if len(inputs) > bias_index else None
    if not isinstance(bias, ArrayInfo) or not grads or grads[-1].info.shape != bias.shape:
        return grads, None
    first = inputs[0]
    if len(grads) == 1 and isinstance(first, ArrayInfo) and first.shape == bias.shape:
        return grads, None  # a 1-D input shaped like the bias: taken to be the input's gradient
    return grads[:-1], grads[-1]


def _linear_forward(call):
    weight = call.inputs[1]
    matmul = 2 * call.out.size * weight.shape[-1]
    has_bias = len(call.inputs) > 2 and isinstance(call.inputs[2], ArrayInfo)
    return matmul + (call.out.size if has_bias else 0), matmul


def _linear_backward(call, grad, grads):
    products, bias_grad = _split_bias(call, grads, 2)
    matmul = len(products) * 2 * grad.size * call.inputs[1].shape[-1]
    summed = grad.size - bias_grad.info.size if bias_grad is not None else 0
    return matmul + summed, matmul


def _conv_forward(call):
    """2 * output elements * (Cin/groups * kh * kw): the weight's size per output channel."""
    weight = call.inputs[1]
    per_output = weight.size // weight.shape[0]
    matmul = 2 * call.out.size * per_output
    has_bias = len(call.inputs) > 2 and isinstance(call.inputs[2], ArrayInfo)
    return matmul + (call.out.size if has_bias else 0), matmul


def _conv_backward(call, grad, grads):
    products, bias_grad = _split_bias(call, grads, 2)
    matmul = len(products) * _conv_forward(call)[1]
    summed = grad.size - bias_grad.info.size if bias_grad is not None else 0
    return matmul + summed, matmul


def _window(call) -> int:
    kh, kw = call.attrs["kernel"]
    return kh * kw


def _maxpool_forward(call):
    return call.out.size * (_window(call) - 1), 0  # comparisons per window


def _maxpool_backward(call, grad, grads):
    return grad.size * _window(call), 0  # one masked multiply per kernel offset


def _avgpool_forward(call):
    return call.out.size * _window(call), 0  # kh*kw - 1 adds and one scale per window


def _avgpool_backward(call, grad, grads):
    return grad.size * (1 + _window(call)), 0  # scale, then spread (add) per offset


def _adaptive_pool_forward(call):
    x, out = call.arrays[0], call.out
    n, c, h, w = x.shape
    oh, ow = out.shape[2:]
    if oh == 1 and ow == 1:
        return x.size, 0  # a mean
    return 2 * n * c * oh * h * w + 2 * n * c * oh * ow * w, 0  # two small products


def _adaptive_pool_backward(call, grad, grads):
    return _adaptive_pool_forward(call)[0] if grads else 0, 0


def _batchnorm_forward(call):
    # training: sum, subtract, square-and-sum (2), scale by rstd; eval: scale and shift
    per_element = 5 if call.attrs.get("training", True) else 2
    weight, bias = call.inputs[1], call.inputs[2]
    per_element += isinstance(weight, ArrayInfo) + isinstance(bias, ArrayInfo)
    return per_element * call.out.size, 0


def _batchnorm_backward(call, grad, grads):
    n = grad.size
    has_x = any(g.info.shape == grad.shape for g in grads)
    channel = len(grads) - has_x  # per-channel gradients: the weight's, then the bias'
    flops = (2 * n if channel >= 1 else 0) + (n if channel == 2 else 0)  # einsum, sum
    if has_x and call.attrs.get("training", True):
        # three passes, plus the two channel sums when they were not computed above
        flops += 4 * n + (2 * n if channel < 1 else 0) + (n if channel < 2 else 0)
    elif has_x:
        flops += n  # eval: the gradient is scaled per channel
    return flops, 0


def _attention_products(batch_heads: int, L: int, S: int, E: int, Ev: int) -> int:
    return 2 * batch_heads * L * S * E + 2 * batch_heads * L * S * Ev  # Q K^T and P V


def _sdpa_dims(call):
    q, k, v = call.arrays[:3]
    batch_heads = prod(np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2]))
    return batch_heads, q.shape[-2], k.shape[-2], q.shape[-1], v.shape[-1]


def _sdpa_elementwise(call, batch_heads, L, S) -> int:
    scores = batch_heads * L * S
    dropout = call.inputs[6] if len(call.inputs) > 6 else 0.0
    masked = any(isinstance(x, ArrayInfo) for x in call.inputs[3:5])
    return scores * (1 + masked + 5 + (isinstance(dropout, float) and dropout > 0))


def _sdpa_forward(call):
    batch_heads, L, S, E, Ev = _sdpa_dims(call)
    matmul = _attention_products(batch_heads, L, S, E, Ev)
    return matmul + _sdpa_elementwise(call, batch_heads, L, S), matmul


def _sdpa_backward(call, grad, grads):
    batch_heads, L, S, E, Ev = _sdpa_dims(call)
    matmul = 2 * _attention_products(batch_heads, L, S, E, Ev)  # dV, dP, dQ, dK
    return matmul + 5 * batch_heads * L * S, matmul  # softmax backward (4) and the scale


def _packed_dims(call):
    qkv, heads = call.inputs[0], call.inputs[1]
    batch, T, three_e = qkv.shape
    return batch * heads, T, T, three_e // 3 // heads, three_e // 3 // heads


def _packed_forward(call):
    batch_heads, L, S, E, Ev = _packed_dims(call)
    matmul = _attention_products(batch_heads, L, S, E, Ev)
    masked = isinstance(call.inputs[2], ArrayInfo)
    dropout = call.inputs[3] if isinstance(call.inputs[3], float) else 0.0
    return matmul + batch_heads * L * S * (6 + masked + (dropout > 0)), matmul


def _packed_backward(call, grad, grads):
    batch_heads, L, S, E, Ev = _packed_dims(call)
    matmul = 2 * _attention_products(batch_heads, L, S, E, Ev)
    return matmul + 5 * batch_heads * L * S, matmul


def _sum_back(call, grad, grads):
    return sum(grad.size - g.info.size for g in grads), 0


def _matched_inputs(call, grads: list[Gradient]) -> list[int]:
    """Which inputs the returned gradients belong to: backward events list the computed
    gradients in input order, so match each to the next input of the same shape."""
    matched, position = [], 0
    for g in grads:
        while position < len(call.inputs):
            x = call.inputs[position]
            position += 1
            if isinstance(x, ArrayInfo) and x.shape == g.info.shape:
                matched.append(position - 1)
                break
    return matched


def _feedforward_dims(call):
    x, w1, w2 = call.inputs[0], call.inputs[1], call.inputs[3]
    tokens = x.size // x.shape[-1]
    return tokens, x.shape[-1], w1.shape[0], w2.shape[0]  # tokens, d_in, hidden, d_out


def _feedforward_forward(call):
    """linear2(dropout(gelu(linear1(x)))) in one node."""
    tokens, d_in, hidden, d_out = _feedforward_dims(call)
    matmul = 2 * tokens * hidden * d_in + 2 * tokens * d_out * hidden
    b1, b2 = (isinstance(call.inputs[i], ArrayInfo) for i in (2, 4))
    dropout = call.inputs[5] if isinstance(call.inputs[5], float) else 0.0
    elementwise = tokens * hidden * (b1 + 5 + (dropout > 0)) + tokens * d_out * b2
    return matmul + elementwise, matmul


def _feedforward_backward(call, grad, grads):
    tokens, d_in, hidden, d_out = _feedforward_dims(call)
    first, second = 2 * tokens * hidden * d_in, 2 * tokens * d_out * hidden
    matched = set(_matched_inputs(call, grads))
    matmul = second  # the hidden gradient G W2 is always needed
    matmul += first * len(matched & {0, 1}) + second * (3 in matched)
    sums = tokens * hidden * (2 in matched) + tokens * d_out * (4 in matched)
    return matmul + sums + 8 * tokens * hidden, matmul  # gelu' and the recomputed a


def _scatter_add_backward(call, grad, grads):
    return (grad.size if grads else 0), 0  # np.add.at: one add per gradient element


def _getitem_backward(call, grad, grads):
    advanced = len(call.inputs) > 1 and isinstance(call.inputs[1], ArrayInfo)
    return (grad.size if advanced and grads else 0), 0


def _einsum_points(call) -> int:
    """How many index combinations the contraction visits (product of all letter sizes)."""
    sizes = {}
    for sub, info in zip(call.attrs["subs"], call.arrays):
        sizes.update(zip(sub, info.shape))
    return int(np.prod(list(sizes.values()), dtype=np.int64))


def _einsum_forward(call):
    points = _einsum_points(call)
    if len(call.arrays) < 2:
        return points, 0  # a pure sum/permutation
    flops = 2 * (len(call.arrays) - 1) * points  # a multiply and an add per operand pair
    return flops, flops


def _einsum_backward(call, grad, grads):
    flops = _einsum_forward(call)[0] * len(grads)  # one contraction like forward per grad
    return flops, flops if len(call.arrays) >= 2 else 0


def _clamp_forward(call):
    bounds = sum(b is not None for b in call.inputs[1:3])
    return bounds * call.out.size, 0


def _gelu_forward(call):
    tanh = call.inputs[1:2] == ("tanh",) or call.attrs.get("approximate") == "tanh"
    return (9 if tanh else 5) * call.out.size, 0


def _gelu_backward(call, grad, grads):
    tanh = call.inputs[1:2] == ("tanh",) or call.attrs.get("approximate") == "tanh"
    return (17 if tanh else 7) * sum(g.info.size for g in _computed(grads)), 0


def _div_backward(call, grad, grads):
    # d/da = g / b (1 FLOP per element); d/db = -g a / b^2 (4). With one gradient returned
    # it is taken to be the numerator's: `x / constant` is by far the common case.
    costs = (1, 4)
    return sum(c * g.info.size for c, g in zip(costs, grads)), 0


def _layernorm_forward(call):
    weight, bias = call.inputs[1], call.inputs[2]
    per_element = 5 + isinstance(weight, ArrayInfo) + isinstance(bias, ArrayInfo)
    rows = call.out.size // call.out.shape[-1] if call.out.shape else 1
    return per_element * call.out.size + 3 * rows, 0  # + eps, sqrt, reciprocal per row


def _layernorm_backward(call, grad, grads):
    computed = _computed(grads)  # the bias gradient is the incoming gradient itself
    has_weight = isinstance(call.inputs[1], ArrayInfo)
    costs = (7 + has_weight, 1)  # input's gradient, then the weight's (g * x_hat)
    return sum(c * g.info.size for c, g in zip(costs, computed)), 0


def _register_defaults() -> None:
    table = {
        # op: (forward FLOPs per output element, backward FLOPs per gradient element)
        "Add": (1, 0), "Sub": (1, 1), "Mul": (1, 1), "Neg": (1, 1),
        "PowScalar": (1, 3), "Pow": (1, 4), "Exp": (1, 1), "Log": (1, 1),
        "Sqrt": (1, 2), "Abs": (1, 2), "Sin": (1, 2), "Cos": (1, 3), "Tanh": (1, 3),
        "Sigmoid": (4, 3), "ReLU": (1, 1), "LeakyReLU": (2, 2),
        "Softmax": (5, 4), "LogSoftmax": (5, 4), "CrossEntropy": (8, 4),
    }
    for op, (fwd, bwd) in table.items():
        forward, backward = pointwise(fwd, bwd)
        register_op_cost(op, forward, backward,
                         backward_reads_inputs=op not in {"Add", "Sub", "Neg"})
    register_op_cost("Div", pointwise(1, 0)[0], _div_backward)
    register_op_cost("Clamp", _clamp_forward, pointwise(0, 1)[1])
    register_op_cost("GELU", _gelu_forward, _gelu_backward)
    # reductions
    register_op_cost("Sum", lambda c: (_reduction_size(c), 0), backward_reads_inputs=False)
    register_op_cost("Mean", lambda c: (c.arrays[0].size, 0),
                     lambda c, g, gs: (g.size, 0), backward_reads_inputs=False)
    register_op_cost("Var", lambda c: (4 * c.arrays[0].size, 0),
                     lambda c, g, gs: (2 * sum(x.info.size for x in gs), 0))
    register_op_cost("MaxMin", lambda c: (c.arrays[0].size - 1, 0),
                     lambda c, g, gs: (sum(x.info.size for x in gs), 0))
    # data movement: no arithmetic, only bytes
    for op in ("Reshape", "Permute", "Expand", "Clone", "Cast", "Cat", "Stack", "Where",
               "MaskedFill", "MaxMinDim", "IndexPut", "Scatter"):
        register_op_cost(op, lambda c: (0, 0), backward_reads_inputs=False)
    # backward sums the copies (repeat) or the overlapping patches (unfold) back: adds
    for op in ("Repeat", "Unfold"):
        register_op_cost(op, lambda c: (0, 0), _sum_back, backward_reads_inputs=False)
    register_op_cost("GetItem", lambda c: (0, 0), _getitem_backward, backward_reads_inputs=False)
    register_op_cost("Gather", lambda c: (0, 0), _scatter_add_backward,
                     backward_reads_inputs=False)
    register_op_cost("IndexAdd", lambda c: (c.arrays[1].size, 0), backward_reads_inputs=False)
    register_op_cost("Einsum", _einsum_forward, _einsum_backward)
    register_op_cost("Fold", lambda c: (c.arrays[0].size - c.out.size, 0),
                     backward_reads_inputs=False)  # col2im adds overlapping patches
    register_op_cost("EmbeddingLookup", lambda c: (0, 0), _scatter_add_backward,
                     backward_reads_inputs=False)
    # matrix products: what torch's FlopCounterMode counts
    register_op_cost("MatMul", _matmul_forward, _matmul_backward)
    register_op_cost("Linear", _linear_forward, _linear_backward)
    register_op_cost("LayerNorm", _layernorm_forward, _layernorm_backward)
    # tinytorch-vision's spatial ops (counted by name: perf never imports vision here)
    register_op_cost("Conv2d", _conv_forward, _conv_backward)
    register_op_cost("MaxPool2d", _maxpool_forward, _maxpool_backward,
                     backward_reads_inputs=False)
    register_op_cost("AvgPool2d", _avgpool_forward, _avgpool_backward,
                     backward_reads_inputs=False)
    register_op_cost("AdaptiveAvgPool2d", _adaptive_pool_forward, _adaptive_pool_backward,
                     backward_reads_inputs=False)
    register_op_cost("BatchNorm", _batchnorm_forward, _batchnorm_backward)
    # tinytorch-language's attention: two products forward, four backward
    register_op_cost("ScaledDotProductAttention", _sdpa_forward, _sdpa_backward)
    register_op_cost("PackedSelfAttention", _packed_forward, _packed_backward)
    register_op_cost("FeedForward", _feedforward_forward, _feedforward_backward)


_register_defaults()
