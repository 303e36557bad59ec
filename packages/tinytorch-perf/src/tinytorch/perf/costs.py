"""What each op costs, as perf prices it: the op's own `cost` formula, plus bytes moved.

What it teaches: the FLOP formula of an op lives next to its forward and backward
(`Function.cost` in tinytorch.core, vision and language; see `tinytorch.core.cost` for
the conventions), so adding an op means writing its cost once, where its maths is. perf
only calls it, for every op core reports through `autograd.register_op_hook`, and adds
what the formula cannot know, the bytes the call really moved:

- Bytes moved: the compulsory traffic, each operand read once and each result written
  once (`physical_nbytes`: a broadcast view occupies only its distinct elements). An op
  whose output is a view of its input (reshape, transpose, expand) moves nothing.
- An op whose Function defines no cost is *uncounted*: `cost_of` returns None and the
  counter lists it (`FLOPsCounter.unknown_ops`, "uncounted" in its table), never 0.

Systems lesson: FLOPs / bytes is the op's arithmetic intensity; compared with the
machine's ridge point it says whether more FLOP/s or more bandwidth would speed it up.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tinytorch.core.cost import ArrayInfo, Cost, Gradient, OpCall, describe, physical_nbytes

__all__ = ["ArrayInfo", "Cost", "Gradient", "OpCall", "backward_bytes", "cost_of",
           "describe", "forward_bytes", "physical_nbytes"]


def cost_of(function, call: OpCall, grads: tuple | None = None) -> Cost | None:
    """The op's own cost of a forward call (`grads` None) or its backward; None = uncounted."""
    price = getattr(function, "cost", None)
    if price is None:
        return None
    cost = price(call, grads)
    if cost is not None and not isinstance(cost, Cost):
        raise TypeError(f"{function.__name__}.cost must return a tinytorch.core.cost.Cost or "
                        f"None (uncounted), got {type(cost).__name__}")
    return cost


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
