"""Op-level tracing: every op core executes, priced and attributed to the module that ran it.

    with OpTracer(model) as tracer:
        loss = loss_fn(model(x), y)
        loss.backward()
    tracer.records        # one OpRecord per forward and backward op, in execution order

What it teaches: two extension points of tinytorch.core are enough to see everything.
- `register_op_hook` calls us after every op, forward and backward, with the op's
  Function class, its input and output arrays and its attributes. We price each event
  with the op's own `cost` formula and keep only shapes, never the arrays.
- Module forward pre-hooks and hooks tell us which module is running, so each forward op
  is attributed to the innermost module active when it ran.
A backward event names its op and carries the gradients by input position (None where
none was computed), but not which forward call it belongs to. We pair it with the most
recent unpaired forward call of the same op whose output had the gradient's shape: the
backward pass walks the graph in reverse, so the last matching forward call is the
right one. The pairing gives the backward cost the
forward shapes it needs (a convolution's kernel size) and the module it belongs to.

Systems lesson: a hook that runs on every op costs time too. The tracer keeps only
shapes, and the profiler times its layers with a lighter hook (timestamps only), never
under this one.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from tinytorch.core.autograd import OpEvent, is_grad_enabled, register_op_hook

from .costs import (
    ArrayInfo,
    Gradient,
    OpCall,
    backward_bytes,
    cost_of,
    describe,
    forward_bytes,
)

OUTSIDE = "(outside modules)"


@dataclass
class OpRecord:
    """One executed op: what it was, where it ran, and what it cost."""

    index: int
    op: str
    phase: str  # "forward" or "backward"
    module: str  # dotted path of the innermost module ("" = the model itself) or OUTSIDE
    flops: int
    matmul_flops: int
    bytes: int
    known: bool  # False when the op has no cost formula: uncounted (its FLOPs are not 0)
    input_shapes: tuple
    output_shapes: tuple
    seconds: float  # time since the previous op event (or the last `mark()`)

    @property
    def intensity(self) -> float:
        """Arithmetic intensity, FLOP per byte moved (0 when no bytes moved)."""
        return self.flops / self.bytes if self.bytes else 0.0

    def to_dict(self) -> dict:
        return {
            "index": self.index, "op": self.op, "phase": self.phase, "module": self.module,
            "flops": self.flops, "matmul_flops": self.matmul_flops, "bytes": self.bytes,
            "known": self.known, "input_shapes": [list(s) for s in self.input_shapes],
            "output_shapes": [list(s) for s in self.output_shapes], "seconds": self.seconds,
        }


@dataclass
class _Pending:
    call: OpCall
    module: str


class OpTracer:
    """Record and price every op run inside `with OpTracer(model):` (model optional)."""

    def __init__(self, model=None):
        if model is not None and not hasattr(model, "named_modules"):
            raise TypeError(f"OpTracer: model must be a tinytorch Module (or None), got "
                            f"{type(model).__name__}")
        self.model = model
        self.records: list[OpRecord] = []
        self.unknown_ops: set[str] = set()
        self.unmatched_backward = 0
        self._pending: dict[tuple, list[_Pending]] = defaultdict(list)
        self._stack: list[str] = []
        self._handles: list = []
        self._last = time.perf_counter()

    # ------------------------------------------------------------ installing the hooks
    def __enter__(self) -> OpTracer:
        if self._handles:
            raise RuntimeError("OpTracer: already active; a tracer cannot be entered twice")
        self._stack.clear()
        if self.model is not None:
            for name, module in self.model.named_modules():
                self._handles.append(module.register_forward_pre_hook(self._enter_module(name)))
                self._handles.append(module.register_forward_hook(self._leave_module(name)))
        self._handles.append(register_op_hook(self._on_op))
        self.mark()
        return self

    def __exit__(self, *exc) -> bool:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self._stack.clear()
        return False

    def mark(self) -> None:
        """Restart the clock: the next op's `seconds` is measured from now."""
        self._last = time.perf_counter()

    def reset(self) -> None:
        """Forget every record (the hooks stay installed)."""
        self.records.clear()
        self.unknown_ops.clear()
        self._pending.clear()
        self.unmatched_backward = 0

    def _enter_module(self, name: str):
        def hook(module, args):
            self._stack.append(name)
        return hook

    def _leave_module(self, name: str):
        def hook(module, args, output):
            if self._stack and self._stack[-1] == name:
                self._stack.pop()
        return hook

    @property
    def current_module(self) -> str:
        return self._stack[-1] if self._stack else OUTSIDE

    # ------------------------------------------------------------ one event
    def _on_op(self, event: OpEvent) -> None:
        now = time.perf_counter()
        seconds, self._last = now - self._last, now
        if event.phase == "forward":
            record = self._forward(event)
        else:
            record = self._backward(event)
        record.seconds = seconds
        self.records.append(record)
        self._last = time.perf_counter()  # our own bookkeeping is not the next op's time

    def _forward(self, event: OpEvent) -> OpRecord:
        call = OpCall(event.op, tuple(describe(x) for x in event.inputs),
                      tuple(describe(x) for x in event.outputs),
                      {k: describe(v) for k, v in event.attrs.items()})
        cost = cost_of(event.function, call)
        if cost is None:
            self.unknown_ops.add(event.op)
        module = self.current_module
        if is_grad_enabled():
            self._pending[(event.op, call.out.shape)].append(_Pending(call, module))
        return OpRecord(len(self.records), event.op, "forward", module, _flops(cost),
                        _matmul(cost), forward_bytes(event.inputs, event.outputs),
                        cost is not None, _shapes(call.inputs), _shapes(call.outputs), 0.0)

    def _backward(self, event: OpEvent) -> OpRecord:
        grad = event.inputs[0]
        waiting = self._pending.get((event.op, grad.shape))
        pending = waiting.pop() if waiting else None
        if pending is None:
            self.unmatched_backward += 1
        arrays = [None if g is None else np.asarray(g) for g in event.outputs]
        grads = tuple(None if g is None else Gradient(describe(g), np.may_share_memory(g, grad))
                      for g in arrays)
        cost = cost_of(event.function, pending.call, grads) if pending is not None else None
        if cost is None and pending is not None:
            self.unknown_ops.add(event.op)
        written = [g for g in arrays if g is not None]
        nbytes = backward_bytes(pending.call if pending else None, grad, written,
                                cost.reads_inputs if cost else False)
        return OpRecord(len(self.records), event.op, "backward",
                        pending.module if pending else OUTSIDE, _flops(cost), _matmul(cost),
                        nbytes, cost is not None, (tuple(grad.shape),),
                        tuple(g.shape for g in written), 0.0)


def _flops(cost) -> int:
    return int(cost.flops) if cost is not None else 0


def _matmul(cost) -> int:
    return int(cost.matmul_flops) if cost is not None else 0


def _shapes(values) -> tuple:
    return tuple(v.shape for v in values if isinstance(v, ArrayInfo))
