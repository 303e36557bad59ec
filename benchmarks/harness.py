"""A small, fair timing harness shared by the benchmarks (bench_*.py).

    cases = {"TinyTorch": tt_step, "PyTorch": torch_step}
    timings = interleaved(cases, repeats=15, warmup=5)
    timings["TinyTorch"].median        # seconds per call

What it teaches: how to time code so that the numbers mean something.
- Warm-up first: the first calls pay for imports, allocator growth, BLAS thread start-up
  and cache misses that steady-state training never sees again.
- Many repeats, report the median: timing noise is one-sided (the OS only ever makes
  you slower), so the median is robust where the mean is dragged up by a few hiccups.
- Interleave A and B: run one block of A, then one of B, then B, then A... so that both
  libraries see the same machine conditions (a noisy neighbour, CPU frequency scaling,
  a warm or cold cache). Timing all of A and then all of B would bake any drift in
  machine conditions into the ratio.
- Blocks long enough to measure: each timed block repeats the call `number` times and
  lasts at least `min_block_seconds`, so timer resolution and loop overhead vanish.
- The garbage collector stays on: it is part of what Python code really costs.

Systems lesson: a ratio measured in one interleaved run is far more trustworthy than two
absolute numbers measured minutes apart.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from rich.console import Console
from rich.table import Table


@dataclass
class Timing:
    """Seconds per call of one case, one sample per timed block."""

    name: str
    number: int  # calls per timed block
    samples: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def spread(self) -> tuple[float, float]:
        """(lower, upper) quartile of the samples: how noisy the measurement was."""
        if len(self.samples) < 2:
            return self.samples[0], self.samples[0]
        q = statistics.quantiles(self.samples, n=4)
        return q[0], q[2]


def calls_per_block(fn: Callable[[], object], min_block_seconds: float) -> int:
    """Smallest number of calls (1, 2, 5, 10, 20, 50 ...) whose total time reaches the target."""
    number = 1
    while True:
        for factor in (1, 2, 5):
            candidate = number * factor
            start = time.perf_counter()
            for _ in range(candidate):
                fn()
            if time.perf_counter() - start >= min_block_seconds:
                return candidate
        number *= 10


def interleaved(
    cases: dict[str, Callable[[], object]],
    repeats: int = 15,
    warmup: int = 3,
    min_block_seconds: float = 0.05,
) -> dict[str, Timing]:
    """Time every case in alternating order; return seconds-per-call samples for each."""
    if not cases:
        raise ValueError("interleaved: got no cases; expected at least one name -> callable")
    if repeats < 1 or warmup < 0:
        raise ValueError(f"interleaved: need repeats >= 1 and warmup >= 0, got {repeats}, {warmup}")
    for fn in cases.values():
        for _ in range(warmup):
            fn()
    timings = {name: Timing(name, calls_per_block(fn, min_block_seconds))
               for name, fn in cases.items()}
    names = list(cases)
    for r in range(repeats):
        shift = r % len(names)
        order = names[shift:] + names[:shift]  # every case takes its turn going first
        if r % 2:
            order.reverse()
        for name in order:
            fn, timing = cases[name], timings[name]
            start = time.perf_counter()
            for _ in range(timing.number):
                fn()
            timing.samples.append((time.perf_counter() - start) / timing.number)
    return timings


# ---------------------------------------------------------------- reports
@dataclass
class Row:
    """One measured case, in the unit the benchmark reports (e.g. steps/s or µs/op)."""

    name: str
    value: float
    low: float
    high: float
    unit: str
    detail: str = ""


@dataclass
class Check:
    """A target and what was achieved. `met` is None when it could not be measured."""

    claim: str
    target: str
    achieved: str
    met: bool | None


@dataclass
class Report:
    benchmark: str
    title: str
    config: dict = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Report:
        return cls(
            benchmark=data["benchmark"], title=data["title"], config=data["config"],
            rows=[Row(**row) for row in data["rows"]],
            checks=[Check(**check) for check in data["checks"]],
            notes=list(data["notes"]),
        )

    @property
    def all_met(self) -> bool:
        return all(check.met is not False for check in self.checks)


def render(report: Report, console: Console) -> None:
    table = Table(title=report.title, title_justify="left")
    table.add_column("case", style="bold")
    table.add_column("median", justify="right")
    table.add_column("quartiles", justify="right", style="dim")
    table.add_column("detail")
    for row in report.rows:
        table.add_row(row.name, f"{_fmt(row.value)} {row.unit}",
                      f"{_fmt(row.low)} .. {_fmt(row.high)}", row.detail)
    console.print(table)
    if report.checks:
        checks = Table(title="Targets", title_justify="left")
        for column in ("claim", "target", "achieved", "status"):
            checks.add_column(column)
        for check in report.checks:
            checks.add_row(check.claim, check.target, check.achieved, _status(check))
        console.print(checks)
    for key, value in report.config.items():
        console.print(f"[dim]{key}: {value}")
    for note in report.notes:
        console.print(f"[dim]note: {note}")


def _status(check: Check) -> str:
    if check.met is None:
        return "[yellow]not measured" if check.achieved == "n/a" else "[dim]reported"
    return "[green]met" if check.met else "[red]missed"


def _fmt(value: float) -> str:
    return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.3g}"


# ---------------------------------------------------------------- command line
def parse_args(description: str, argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--repeats", type=int, default=None, help="timed blocks per case")
    parser.add_argument("--warmup", type=int, default=5, help="untimed calls per case first")
    parser.add_argument("--quick", action="store_true", help="few repeats: a smoke run")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--strict", action="store_true",
                        help="exit with code 1 when a target is missed")
    args = parser.parse_args(argv)
    # other processes steal CPU from BLAS threads: record how busy the machine was
    args.load_at_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    if args.repeats is None:
        args.repeats = 3 if args.quick else 15
    return args


def emit(report: Report, args: argparse.Namespace) -> int:
    """Print the report (table or JSON); return the exit code."""
    if args.load_at_start is not None:
        report.config["load average (1 min) at start"] = round(args.load_at_start, 2)
    report.config["CPUs"] = os.cpu_count()
    if args.json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
    else:
        render(report, Console())
    return 1 if args.strict and not report.all_met else 0


def torch_or_none():
    """PyTorch if installed (benchmarks compare against it; TinyTorch never imports it)."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def match_torch_threads(torch) -> str:
    """Give PyTorch as many threads as numpy's BLAS uses; return a sentence saying so."""
    from tinytorch.core.cli.info import blas_info

    blas = blas_info()
    torch.set_num_threads(blas["threads"])
    return (f"torch.set_num_threads({blas['threads']}) to match numpy's BLAS "
            f"({blas['name']} {blas['version']}: {blas['threads']} threads, "
            f"{blas['threads_source']}; kernel {blas['kernel']}, {blas['kernel_source']})")


# ---------------------------------------------------------------- TinyTorch vs PyTorch
def training_cases(benchmark: str, tt_step: Callable, make_torch_step: Callable,
                   names: tuple[str, str] = ("TinyTorch", "PyTorch")) -> tuple[dict, list]:
    """({name: step}, notes) for a TinyTorch training step and, when PyTorch is installed,
    the same step in PyTorch (`make_torch_step(torch)`), with threads matched and a proof
    that both do the same work: their first losses must agree."""
    tt_name, torch_name = names
    cases, notes = {tt_name: tt_step}, []
    torch = torch_or_none()
    if torch is None:
        notes.append("PyTorch is not installed: TinyTorch measured alone")
        return cases, notes
    notes.append(match_torch_threads(torch))
    torch_step = make_torch_step(torch)
    first_tt, first_torch = tt_step().item(), torch_step().item()
    if abs(first_tt - first_torch) > 1e-4 * max(1.0, abs(first_torch)):
        raise RuntimeError(f"{benchmark}: first losses differ (TinyTorch {first_tt:.6f}, "
                           f"PyTorch {first_torch:.6f}); the two would not do the same work")
    notes.append(f"same weights and data: first-step loss {first_tt:.5f} (TinyTorch) vs "
                 f"{first_torch:.5f} (PyTorch)")
    cases[torch_name] = torch_step
    return cases, notes


def training_step(model, opt, inputs, targets, loss, zero_grad_first: bool = False) -> Callable:
    """One training step, written the same way for either library: forward, `loss(output,
    targets)`, backward, `opt.step()`, `opt.zero_grad()` (before backward with
    `zero_grad_first`, as milestone 03's loop does)."""

    def step():
        value = loss(model(inputs), targets)
        if zero_grad_first:
            opt.zero_grad()
        value.backward()
        opt.step()
        if not zero_grad_first:
            opt.zero_grad()
        return value

    return step


def torch_training_step(torch, model, make_optimizer, inputs, targets, loss=None,
                        zero_grad_first: bool = False) -> Callable:
    """`training_step` for a PyTorch `model` on numpy `inputs`/`targets` (cross-entropy
    unless `loss` is given), with the optimizer `make_optimizer(model.parameters())`."""
    return training_step(model, make_optimizer(model.parameters()), torch.from_numpy(inputs),
                         torch.from_numpy(targets),
                         torch.nn.functional.cross_entropy if loss is None else loss,
                         zero_grad_first)


def torch_classifier_step(torch, tt_model, model, make_optimizer, data, labels) -> Callable:
    """`torch_training_step` for `model`, which first receives `tt_model`'s weights: both
    libraries then do the same work, step for step."""
    with torch.no_grad():
        for mine, theirs in zip(tt_model.parameters(), model.parameters()):
            theirs.copy_(torch.from_numpy(mine.detach().numpy().copy()))
    return torch_training_step(torch, model, make_optimizer, data, labels)


def throughput_rows(timings: dict[str, Timing], work: float, unit: str,
                    detail: Callable[[Timing], str]) -> list[Row]:
    """One row per case: `work` units per call as a rate (median and quartiles)."""
    rows = []
    for name, timing in timings.items():
        low, high = timing.spread
        rows.append(Row(name, work / timing.median, work / high, work / low, unit,
                        detail(timing)))
    return rows


def ratio_check(claim: str, timings: dict[str, Timing], ours: str, theirs: str,
                target: float) -> Check:
    """Check that `ours` runs at least `target` times as fast as `theirs` (if measured)."""
    if theirs not in timings:
        return Check(claim, f">= {target}x", "n/a", None)
    ratio = timings[theirs].median / timings[ours].median
    return Check(claim, f">= {target}x", f"{ratio:.2f}x", ratio >= target)
