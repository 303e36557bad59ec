"""Memory of a training step, by category and at its peak; attention memory vs sequence length.

    step = training_step_memory(model, optimizer, loss_fn, x, y)
    step.parameters, step.gradients, step.optimizer_state, step.activations, step.peak
    rows = attention_memory([64, 128, 256], d_model=64, num_heads=4)

What it teaches: the categories come from `tinytorch.core.memory` (the real arrays:
weights, their gradients, the optimizer's state, what the graph saved for backward),
and the peak is *measured* with Python's `tracemalloc`, which numpy reports every array
allocation to. The peak is more than "weights + activations": gradients appear while
activations are still alive, and every op allocates temporaries.

Systems lessons:
- Adam holds two moments per weight: weights + gradients + Adam = 4x the model.
- Activations scale with the batch; the rest does not. That is why a smaller batch fits.
- Attention saves a (T x T) probability matrix per head: memory quadratic in the sequence
  length, while every other activation of a transformer is linear in it.
"""

from __future__ import annotations

import math
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
from rich.table import Table

from tinytorch.core import Tensor, manual_seed, randn, softmax
from tinytorch.core.memory import activation_bytes, format_bytes, memory_report


@dataclass
class StepMemory:
    """Bytes of one training step. Categories as in core's MemoryReport; `peak` measured."""

    parameters: int
    buffers: int
    gradients: int
    optimizer_state: int
    activations: int  # saved for backward at the end of forward
    held_before_step: int  # parameters + buffers + optimizer state (allocated earlier)
    peak_during_step: int  # tracemalloc peak of what the step itself allocated

    @property
    def peak(self) -> int:
        """Highest memory of the step: what was held before it plus its own peak."""
        return self.held_before_step + self.peak_during_step

    @property
    def categories_total(self) -> int:
        return (self.parameters + self.buffers + self.gradients + self.optimizer_state
                + self.activations)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["peak"], data["categories_total"] = self.peak, self.categories_total
        return data

    def __rich__(self) -> Table:
        table = Table(title="Training step memory", title_justify="left")
        for column in ("category", "size", "bytes", "share of categories"):
            table.add_column(column, justify="left" if column == "category" else "right")
        rows = [("parameters", self.parameters), ("buffers", self.buffers),
                ("gradients", self.gradients), ("optimizer state", self.optimizer_state),
                ("activations (saved)", self.activations)]
        total = self.categories_total
        for name, size in rows:
            table.add_row(name, format_bytes(size), f"{size:,}",
                          f"{100 * size / total:.1f}%" if total else "-")
        table.add_row("sum of categories", format_bytes(total), f"{total:,}", "100%",
                      style="bold")
        table.add_row("measured peak", format_bytes(self.peak), f"{self.peak:,}",
                      f"{100 * self.peak / total:.0f}%" if total else "-", style="bold")
        return table


class _Traced:
    """tracemalloc around a block: bytes allocated above the starting point, at the peak."""

    def __enter__(self):
        self.started_here = not tracemalloc.is_tracing()
        if self.started_here:
            tracemalloc.start()
        tracemalloc.reset_peak()
        self.base = tracemalloc.get_traced_memory()[0]
        return self

    def __exit__(self, *exc):
        self.peak = tracemalloc.get_traced_memory()[1] - self.base
        if self.started_here:
            tracemalloc.stop()
        return False


def training_step_memory(model, optimizer, loss_fn: Callable, *inputs,
                         warmup_steps: int = 1) -> StepMemory:
    """Run `warmup_steps` steps (so lazily created optimizer state exists), then measure one:
    forward, `loss_fn(output)`, backward, `optimizer.step()`, with gradients starting at None.
    """
    if not hasattr(model, "parameters") or not hasattr(optimizer, "step"):
        raise TypeError(f"training_step_memory: expected a Module and an optimizer, got "
                        f"{type(model).__name__} and {type(optimizer).__name__}")
    if not inputs:
        raise ValueError("training_step_memory: expected at least one input for the model")

    def step():
        loss = loss_fn(model(*inputs))
        loss.backward()
        optimizer.step()

    for _ in range(warmup_steps):
        step()
        optimizer.zero_grad()
    optimizer.zero_grad()
    before = memory_report(model, optimizer)
    with _Traced() as traced:
        loss = loss_fn(model(*inputs))
        at_forward = memory_report(model, optimizer, loss)
        loss.backward()
        optimizer.step()
        after = memory_report(model, optimizer)
        del loss
    optimizer.zero_grad()
    return StepMemory(
        parameters=after.parameters, buffers=after.buffers, gradients=after.gradients,
        optimizer_state=after.optimizer_state, activations=at_forward.activations,
        held_before_step=before.parameters + before.buffers + before.optimizer_state,
        peak_during_step=traced.peak,
    )


# ---------------------------------------------------------------- attention vs length


def reference_attention(q: Tensor, k: Tensor, v: Tensor, causal: bool = True) -> Tensor:
    """softmax(Q K^T / sqrt(d) + causal mask) V written with core ops (one node each)."""
    scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]))
    if causal:
        T = q.shape[-2]
        future = np.triu(np.ones((T, T), dtype=bool), k=1)
        scores = scores.masked_fill(future, -np.inf)
    return softmax(scores, dim=-1) @ v


@dataclass
class AttentionMemoryRow:
    seq_len: int
    scores_bytes: int  # one (B, H, T, T) matrix: the quadratic term
    saved_bytes: int  # measured: what the graph saved for backward
    peak_bytes: int  # measured: tracemalloc peak of forward + backward


def attention_memory(seq_lens, d_model: int = 64, num_heads: int = 4, batch: int = 1,
                     attention: Callable | None = None, dtype=np.float32
                     ) -> list[AttentionMemoryRow]:
    """Measure attention's saved activations and peak memory for each sequence length.

    `attention(q, k, v)` takes (B, H, T, D) tensors; default: `reference_attention` (core
    ops). Pass e.g. tinytorch.language's `scaled_dot_product_attention` to measure a fused
    kernel instead.
    """
    seq_lens = list(seq_lens) if isinstance(seq_lens, (list, tuple, range)) else [seq_lens]
    if not seq_lens or any(isinstance(t, bool) or not isinstance(t, int) or t < 1
                           for t in seq_lens):
        raise ValueError(f"attention_memory: seq_lens must be positive ints, got {seq_lens}")
    for name, value in (("d_model", d_model), ("num_heads", num_heads), ("batch", batch)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"attention_memory: {name} must be a positive int, got {value!r}")
    if d_model % num_heads:
        raise ValueError(f"attention_memory: d_model ({d_model}) must be divisible by "
                         f"num_heads ({num_heads})")
    attention = attention or reference_attention
    head_dim = d_model // num_heads
    itemsize = np.dtype(dtype).itemsize
    rows = []
    for T in seq_lens:
        manual_seed(T)
        q, k, v = (randn(batch, num_heads, T, head_dim, dtype=dtype, requires_grad=True)
                   for _ in range(3))
        with _Traced() as traced:
            out = attention(q, k, v)
            saved = activation_bytes(out, exclude=[q.array, k.array, v.array])
            out.sum().backward()
            del out
        rows.append(AttentionMemoryRow(T, batch * num_heads * T * T * itemsize, saved,
                                       traced.peak))
    return rows


def growth_exponent(rows: list[AttentionMemoryRow], field: str = "saved_bytes") -> float:
    """Slope of log(bytes) against log(seq_len) between the two longest sequences:
    ~2 when the quadratic term dominates, ~1 when memory is linear in the length."""
    if len(rows) < 2:
        raise ValueError("growth_exponent: need at least two sequence lengths")
    a, b = sorted(rows, key=lambda r: r.seq_len)[-2:]
    return math.log(getattr(b, field) / getattr(a, field)) / math.log(b.seq_len / a.seq_len)
