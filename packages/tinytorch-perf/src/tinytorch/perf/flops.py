"""FLOPsCounter: count the FLOPs and bytes a model really executes, op by op.

    counter = FLOPsCounter(model)
    with counter:
        loss = F.cross_entropy(model(x), y)
        loss.backward()
    counter.total_flops("forward"), counter.by_module(), counter.by_op()

What it teaches: FLOPs are counted by watching the ops run (through core's op hook), not
by looking up layer types, so a model of any shape is counted, and ops a layer table
would forget (the softmax inside attention, a residual add) are not forgotten. The
matrix products dominate: in a CNN or a transformer they are usually > 95% of the FLOPs,
which is why `matmul_flops` (what `torch.utils.flop_counter` counts) is reported apart.

Systems lessons:
- Training costs about 3x the forward FLOPs: every product has two gradient products.
  The first layer skips one of them (its input needs no gradient), so it is less.
- FLOPs alone do not predict time. Intensity (FLOP per byte) says which ops are starved
  by memory; see roofline.py for the time side.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from rich.table import Table

from .tracing import OUTSIDE, OpRecord, OpTracer

PHASES = ("forward", "backward")


@dataclass
class Totals:
    """Summed cost of a group of ops."""

    flops: int = 0
    matmul_flops: int = 0
    bytes: int = 0
    count: int = 0
    seconds: float = 0.0

    def add(self, record: OpRecord) -> None:
        self.flops += record.flops
        self.matmul_flops += record.matmul_flops
        self.bytes += record.bytes
        self.count += 1
        self.seconds += record.seconds

    @property
    def intensity(self) -> float:
        return self.flops / self.bytes if self.bytes else 0.0

    def to_dict(self) -> dict:
        return {"flops": self.flops, "matmul_flops": self.matmul_flops, "bytes": self.bytes,
                "ops": self.count, "intensity": self.intensity}


def _check_phase(op: str, phase: str | None) -> None:
    if phase is not None and phase not in PHASES:
        raise ValueError(f"{op}: phase must be 'forward', 'backward' or None (both), "
                         f"got {phase!r}")


class FLOPsCounter:
    """Context manager counting every op executed inside it (attributed to `model`'s modules)."""

    def __init__(self, model=None):
        self.tracer = OpTracer(model)

    def __enter__(self) -> FLOPsCounter:
        self.tracer.__enter__()
        return self

    def __exit__(self, *exc) -> bool:
        return self.tracer.__exit__(*exc)

    def reset(self) -> None:
        self.tracer.reset()

    # ------------------------------------------------------------ what was counted
    @property
    def records(self) -> list[OpRecord]:
        return self.tracer.records

    @property
    def unknown_ops(self) -> set[str]:
        """Ops that ran but whose Function defines no `cost`: uncounted, not free. Give the
        Function a `cost` formula (see tinytorch.core.cost) to count them."""
        return set(self.tracer.unknown_ops)

    def select(self, phase: str | None = None) -> list[OpRecord]:
        _check_phase("FLOPsCounter", phase)
        return [r for r in self.records if phase is None or r.phase == phase]

    def total(self, phase: str | None = None) -> Totals:
        totals = Totals()
        for record in self.select(phase):
            totals.add(record)
        return totals

    def total_flops(self, phase: str | None = None) -> int:
        return self.total(phase).flops

    def matmul_flops(self, phase: str | None = None) -> int:
        """FLOPs in matrix products (matmul, linear, conv, attention): torch's definition."""
        return self.total(phase).matmul_flops

    def total_bytes(self, phase: str | None = None) -> int:
        return self.total(phase).bytes

    def arithmetic_intensity(self, phase: str | None = None) -> float:
        return self.total(phase).intensity

    def by_op(self, phase: str | None = None) -> dict[str, Totals]:
        groups: dict[str, Totals] = defaultdict(Totals)
        for record in self.select(phase):
            groups[record.op].add(record)
        return dict(sorted(groups.items(), key=lambda item: -item[1].flops))

    def by_module(self, phase: str | None = None, include_children: bool = True
                  ) -> dict[str, Totals]:
        """Totals per module path. With `include_children` a module's total contains its
        submodules' ops (the model, "", holds everything run inside it)."""
        groups: dict[str, Totals] = defaultdict(Totals)
        for record in self.select(phase):
            if record.module == OUTSIDE or not include_children:
                groups[record.module].add(record)
                continue
            for name in _ancestors(record.module):
                groups[name].add(record)
        return dict(groups)

    # ------------------------------------------------------------ output
    def to_dict(self) -> dict:
        return {
            "total": {phase: self.total(phase).to_dict() for phase in PHASES},
            "by_op": {phase: {op: t.to_dict() for op, t in self.by_op(phase).items()}
                      for phase in PHASES},
            "by_module": {phase: {name or "(model)": t.to_dict()
                                  for name, t in self.by_module(phase).items()}
                          for phase in PHASES},
            "unknown_ops": sorted(self.unknown_ops),
            "unmatched_backward_ops": self.tracer.unmatched_backward,
        }

    def __rich__(self) -> Table:
        table = Table(title="FLOPs by op", title_justify="left")
        for column in ("op", "phase", "calls", "FLOPs", "matmul FLOPs", "bytes",
                       "FLOP/byte"):
            table.add_column(column, justify="left" if column in ("op", "phase") else "right")
        uncounted = self.unknown_ops
        for phase in PHASES:
            for op, totals in self.by_op(phase).items():
                if op in uncounted:  # no cost formula: say so rather than print 0
                    table.add_row(op, phase, str(totals.count), "uncounted", "uncounted",
                                  f"{totals.bytes:,}", "-", style="yellow")
                    continue
                table.add_row(op, phase, str(totals.count), f"{totals.flops:,}",
                              f"{totals.matmul_flops:,}", f"{totals.bytes:,}",
                              f"{totals.intensity:.2f}")
        total = self.total()
        table.add_row("total", "both", str(total.count), f"{total.flops:,}",
                      f"{total.matmul_flops:,}", f"{total.bytes:,}", f"{total.intensity:.2f}",
                      style="bold")
        if uncounted:
            table.caption = f"uncounted (no cost formula): {', '.join(sorted(uncounted))}"
        return table


def _ancestors(path: str) -> list[str]:
    """'features.0.conv' -> ['', 'features', 'features.0', 'features.0.conv']."""
    if path == "":
        return [""]
    parts = path.split(".")
    return [""] + [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def count_flops(model, *inputs, loss_fn=None, backward: bool = False) -> FLOPsCounter:
    """Run `model(*inputs)` (and, with `backward`, `loss_fn(output).backward()`) under a
    FLOPsCounter and return it. `loss_fn` defaults to summing the output."""
    counter = FLOPsCounter(model)
    with counter:
        output = model(*inputs)
        if backward:
            loss = loss_fn(output) if loss_fn is not None else output.sum()
            loss.backward()
    return counter
