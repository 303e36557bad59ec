"""Memory accounting: where the bytes of a training step go.

What it teaches: training memory is more than the model. For every float32 weight a
training step also holds its gradient (same size), the optimizer's state (Adam keeps
two moments: 2x the parameters, so weights + grads + Adam = 4x the model) and the
activations the autograd graph saved during forward for use in backward. Weights,
gradients and optimizer state are fixed by the model; activations grow linearly with
batch size, which is why a batch that is too large runs out of memory while the same
model with a small batch fits.

Systems lessons:
- `memory_report(model, optimizer, output)` measures all four from the real arrays, so
  the "Adam holds 3x the parameters" rule is something you can watch happen.
- Activations are freed by `backward()` (unless `retain_graph=True`): the peak of a
  training step is right before backward starts.
- Views share memory. Each underlying numpy buffer is counted once (a view keeps its
  whole base array alive, so the base is what counts), and arrays saved by the graph that
  are themselves parameters (Linear saves its weight) are not counted twice.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields

import numpy as np

from .autograd import topological_order
from .tensor import Tensor

# bookkeeping on every graph node that is not data saved for backward
_NODE_BOOKKEEPING = frozenset({"inputs", "input_shapes", "needs_input_grad", "_saved_versions",
                               "_retained", "_freed"})


@dataclass(frozen=True)
class MemoryReport:
    """Bytes held by each part of a training step (see `memory_report`)."""

    parameters: int
    buffers: int
    gradients: int
    optimizer_state: int
    activations: int

    @property
    def total(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self))

    def rows(self) -> list[tuple[str, int]]:
        return [(f.name.replace("_", " "), getattr(self, f.name)) for f in fields(self)]

    def __str__(self) -> str:
        lines = ["Memory report"]
        for name, size in [*self.rows(), ("total", self.total)]:
            lines.append(f"  {name:<16}{format_bytes(size):>12}  ({size:,} B)")
        return "\n".join(lines)

    def __rich__(self):
        from rich.table import Table

        table = Table(title="Training memory")
        for column, justify in (("part", "left"), ("size", "right"), ("bytes", "right"),
                                ("share", "right")):
            table.add_column(column, justify=justify)
        for name, size in self.rows():
            share = f"{100 * size / self.total:.1f}%" if self.total else "-"
            table.add_row(name, format_bytes(size), f"{size:,}", share)
        table.add_row("total", format_bytes(self.total), f"{self.total:,}", "100%",
                      style="bold")
        return table


@contextlib.contextmanager
def allocating(op: str, what: str) -> Iterator[None]:
    """Numpy's out-of-memory answers (`MemoryError`, or a ValueError "array is too big"
    for sizes past the address space) as PyTorch's: a RuntimeError naming the operation
    and what it tried to allocate (`Conv2d(3, 2**40, 3)`: "not enough memory for a weight
    of shape ...")."""
    try:
        yield
    except MemoryError:
        raise RuntimeError(f"{op}: not enough memory to allocate {what}") from None
    except ValueError as exc:
        if "array is too big" not in str(exc) and "maximum" not in str(exc).lower():
            raise
        raise RuntimeError(f"{op}: {what} is larger than any array can be") from None


def memory_report(model, optimizer=None, output: Tensor | None = None) -> MemoryReport:
    """Measure parameters, buffers, gradients, optimizer state and saved activations.

    `output` is any tensor produced by the forward pass (typically the loss); the
    activations are the arrays its graph saved for backward. Call it before
    `loss.backward()` to see the peak, after to see that the graph was freed.
    """
    if not hasattr(model, "parameters") or not hasattr(model, "buffers"):
        raise TypeError(f"memory_report: model must be a tinytorch.core.nn.Module, got "
                        f"{type(model).__name__}")
    weights = [p.array for p in model.parameters()] + [b.array for b in model.buffers()]
    return MemoryReport(
        parameters=parameter_bytes(model),
        buffers=_unique_nbytes(b.array for b in model.buffers()),
        gradients=gradient_bytes(model),
        optimizer_state=0 if optimizer is None else optimizer_state_bytes(optimizer),
        activations=0 if output is None else activation_bytes(output, exclude=weights),
    )


def parameter_bytes(model) -> int:
    """Bytes of the model's parameters (shared parameters counted once)."""
    return _unique_nbytes(p.array for p in model.parameters())


def gradient_bytes(model) -> int:
    """Bytes of the `.grad` arrays currently held by the model's parameters."""
    return _unique_nbytes(p.grad.array for p in model.parameters() if p.grad is not None)


def optimizer_state_bytes(optimizer) -> int:
    """Bytes of `optimizer.state` (momentum buffers, Adam's moments, step counters).

    Arrays are counted by their size; a plain Python number (a step counter) counts as
    8 bytes, the size of the int64/float64 it stands for.
    """
    if not hasattr(optimizer, "state"):
        raise TypeError(f"optimizer_state_bytes: expected an optimizer with a .state dict, "
                        f"got {type(optimizer).__name__}")
    arrays, scalars = [], 0
    for value in _leaves(list(optimizer.state.values())):
        if isinstance(value, np.ndarray):
            arrays.append(value)
        elif isinstance(value, np.generic):
            scalars += value.nbytes
        elif isinstance(value, (int, float)):
            scalars += 8
    return _unique_nbytes(arrays) + scalars


def activation_bytes(output: Tensor, exclude: Iterable[np.ndarray] = ()) -> int:
    """Bytes of the arrays saved for backward in the graph that produced `output`.

    Walks every node reachable from `output.grad_fn` and adds up the numpy arrays it
    stores (`save_for_backward` and ctx attributes), each underlying buffer once.
    Arrays sharing memory with `exclude` (the model's weights) are skipped.
    """
    if not isinstance(output, Tensor):
        raise TypeError(f"activation_bytes: output must be a Tensor, got "
                        f"{type(output).__name__}")
    if output.grad_fn is None:
        return 0
    skip = {_buffer(array)[0] for array in exclude}
    saved = []
    for node in topological_order(output.grad_fn):
        stored = [v for k, v in vars(node).items() if k not in _NODE_BOOKKEEPING]
        saved.extend(a for a in _leaves(stored)
                     if isinstance(a, np.ndarray) and _buffer(a)[0] not in skip)
    return _unique_nbytes(saved)


def format_bytes(size: int) -> str:
    """Human-readable size in binary units: 4004000 -> '3.82 MiB'."""
    if size < 0:
        raise ValueError(f"format_bytes: size must be >= 0, got {size}")
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size} {unit}" if unit == "B" else f"{size:.2f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


# ---------------------------------------------------------------- helpers


def _buffer(array: np.ndarray) -> tuple[int, int]:
    """(identity, size) of the memory block an array lives in: its outermost base."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return id(array), array.nbytes


def _unique_nbytes(arrays: Iterable[np.ndarray]) -> int:
    blocks = dict(_buffer(a) for a in arrays)
    return sum(blocks.values())


def _leaves(values) -> Iterator:
    """Everything inside nested lists, tuples and dicts; Tensors become their arrays."""
    stack = list(values)
    while stack:
        value = stack.pop()
        if isinstance(value, Tensor):
            yield value.array
        elif isinstance(value, (list, tuple)):
            stack.extend(value)
        elif isinstance(value, Mapping):
            stack.extend(value.values())
        else:
            yield value
