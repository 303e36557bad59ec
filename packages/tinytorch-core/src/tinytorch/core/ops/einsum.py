"""einsum: any sum of products over named indices, and its backward.

What it teaches: `einsum("bij,bjk->bik", a, b)` names every axis with a letter; letters
missing from the output are summed. Matmul, batched matmul, outer products, traces of
products and attention scores are all one line. The backward is einsum again: the
gradient for operand i contracts the output gradient with all the *other* operands and
produces operand i's letters (summed-away letters that appear nowhere else come back as
a broadcast, since each of those elements received the same gradient).

Systems lesson: the order in which a multi-operand einsum contracts decides its FLOPs by
orders of magnitude; `optimize=True` lets numpy pick a good order.
"""

from __future__ import annotations

import string

import numpy as np

from ..autograd import Function
from ..cost import Cost, returned
from ..tensor import Tensor


def _parse(equation: str, shapes: list[tuple]) -> tuple[list[str], str]:
    """Split 'ij,jk->ik' into operand subscripts and output, expanding '...'."""
    equation = equation.replace(" ", "")
    inputs, arrow, output = equation.partition("->")
    subs = inputs.split(",")
    if len(subs) != len(shapes):
        raise ValueError(f"einsum: equation {equation!r} names {len(subs)} operands but "
                         f"{len(shapes)} were given")
    used = set(equation)
    spare = [c for c in string.ascii_letters if c not in used]
    widths = [len(shape) - len(s.replace("...", "")) for s, shape in zip(subs, shapes)]
    fill = spare[:max([w for s, w in zip(subs, widths) if "..." in s] or [0])]
    expanded = []
    for s, shape, width in zip(subs, shapes, widths):
        if "..." in s:
            s = s.replace("...", "".join(fill[len(fill) - width:]) if width else "")
        if len(s) != len(shape):
            raise ValueError(f"einsum: subscripts {s!r} do not match an operand of shape "
                             f"{shape}")
        if len(set(s)) != len(s):
            raise ValueError(f"einsum: repeated subscripts within one operand ({s!r}, a "
                             "diagonal) are not supported")
        expanded.append(s)
    if not arrow:
        counts = {c: "".join(expanded).count(c) for c in "".join(expanded)}
        output = "".join(sorted(c for c, n in counts.items() if n == 1))
        output = "".join(fill) + output.translate({ord(c): None for c in fill})
    else:
        output = output.replace("...", "".join(fill))
    unknown = set(output) - set("".join(expanded))
    if unknown:
        raise ValueError(f"einsum: output subscript(s) {sorted(unknown)} appear in no operand")
    return expanded, output


def _grad_for(i: int, grad, subs: list[str], output: str, operands: tuple, shape: tuple):
    others = [j for j in range(len(subs)) if j != i]
    available = set(output).union(*(subs[j] for j in others))
    kept = "".join(c for c in subs[i] if c in available)
    expr = ",".join([output] + [subs[j] for j in others]) + "->" + kept
    g = np.einsum(expr, grad, *(operands[j] for j in others), optimize=True)
    for axis, c in enumerate(subs[i]):
        if c not in available:  # summed away and used nowhere else: a broadcast back
            g = np.expand_dims(g, axis)
    return np.broadcast_to(g, shape)


class Einsum(Function):
    @staticmethod
    def forward(ctx, *operands, subs, output):
        ctx.save_for_backward(*operands)
        ctx.subs, ctx.output = subs, output
        expr = ",".join(subs) + "->" + output
        return np.asarray(np.einsum(expr, *operands, optimize=True))

    @staticmethod
    def backward(ctx, grad):
        operands = ctx.saved_tensors
        return tuple(
            _grad_for(i, grad, ctx.subs, ctx.output, operands, op.shape)
            if ctx.needs_input_grad[i] else None
            for i, op in enumerate(operands)
        )

    @staticmethod
    def cost(call, grads=None):
        sizes = {}  # how many index combinations the contraction visits
        for sub, info in zip(call.attrs["subs"], call.arrays):
            sizes.update(zip(sub, info.shape))
        points = int(np.prod(list(sizes.values()), dtype=np.int64))
        products = len(call.arrays) >= 2
        # a multiply and an add per operand pair; a lone operand is a sum/permutation
        forward = 2 * (len(call.arrays) - 1) * points if products else points
        if grads is None:
            return Cost(forward, forward if products else 0)
        flops = forward * len(returned(grads))  # one contraction like forward per grad
        return Cost(flops, flops if products else 0)


def einsum(equation: str, *operands) -> Tensor:
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands or not all(isinstance(t, Tensor) for t in operands):
        raise TypeError("einsum: operands must be Tensors")
    dtypes_seen = {t.dtype for t in operands}
    if len(dtypes_seen) > 1:
        raise TypeError(f"einsum: operands must share one dtype, got "
                        f"{sorted(str(d) for d in dtypes_seen)}")
    subs, output = _parse(equation, [t.shape for t in operands])
    for c in set("".join(subs)):
        sizes = {t.shape[s.index(c)] for s, t in zip(subs, operands) if c in s}
        if len(sizes) > 1:
            raise ValueError(f"einsum: subscript {c!r} has inconsistent sizes {sorted(sizes)}")
    return Einsum.apply(*operands, subs=subs, output=output)
