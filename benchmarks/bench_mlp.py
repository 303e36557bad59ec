"""Training throughput of an MLP: TinyTorch vs PyTorch CPU on the same work.

    python benchmarks/bench_mlp.py [--quick] [--json] [--repeats N] [--strict]

One training step = forward through 784-256-128-10 (ReLU) on a batch of 64, cross-entropy
loss, backward, SGD(lr=0.01) step, zero_grad. Both libraries start from the same weights
and data (checked: the first losses agree), get the same number of BLAS threads, and are
timed in one interleaved run. Target: TinyTorch reaches at least 0.5x PyTorch's steps/s.

Threads: numpy's BLAS reads its thread count once, at import, from OPENBLAS_NUM_THREADS
(or MKL_NUM_THREADS / OMP_NUM_THREADS); PyTorch is then given the same number. To compare
at one thread: `OPENBLAS_NUM_THREADS=1 python benchmarks/bench_mlp.py`. On a small machine
that other processes keep busy, multi-threaded BLAS can slow down many-fold (threads spin
waiting for a core that is taken), so check the load average printed with the results.

Systems lesson: per step the three matmuls of the forward pass and six of the backward
pass do ~2 * 3 * 64 * (784*256 + 256*128 + 128*10) = 89 MFLOP; at batch 64 that is small
enough that the Python overhead of building and walking the graph is visible next to the
BLAS time, which is where an eager framework written in Python pays.
"""

from __future__ import annotations

import sys

import numpy as np
from harness import (
    Check,
    Report,
    Row,
    emit,
    interleaved,
    match_torch_threads,
    parse_args,
    torch_or_none,
)

import tinytorch.core as tt
import tinytorch.core.nn.functional as F
from tinytorch.core import nn, optim

SIZES = (784, 256, 128, 10)
BATCH = 64
LR = 0.01
TARGET_RATIO = 0.5


def tinytorch_step_fn(data: np.ndarray, labels: np.ndarray):
    tt.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(SIZES[0], SIZES[1]), nn.ReLU(),
        nn.Linear(SIZES[1], SIZES[2]), nn.ReLU(),
        nn.Linear(SIZES[2], SIZES[3]),
    )
    opt = optim.SGD(model.parameters(), lr=LR)
    x, y = tt.tensor(data), tt.tensor(labels)

    def step():
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss

    return model, step


def torch_step_fn(torch, tt_model, data: np.ndarray, labels: np.ndarray):
    tnn = torch.nn
    model = tnn.Sequential(
        tnn.Linear(SIZES[0], SIZES[1]), tnn.ReLU(),
        tnn.Linear(SIZES[1], SIZES[2]), tnn.ReLU(),
        tnn.Linear(SIZES[2], SIZES[3]),
    )
    with torch.no_grad():  # identical starting weights: the same work, step for step
        for mine, theirs in zip(tt_model.parameters(), model.parameters()):
            theirs.copy_(torch.from_numpy(mine.data.copy()))
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    x, y = torch.from_numpy(data), torch.from_numpy(labels)

    def step():
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss

    return step


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv)
    rng = np.random.default_rng(0)
    data = rng.standard_normal((BATCH, SIZES[0]), dtype=np.float32)
    labels = rng.integers(0, SIZES[-1], size=BATCH, dtype=np.int64)

    tt_model, tt_step = tinytorch_step_fn(data, labels)
    cases = {"TinyTorch": tt_step}
    notes = []
    torch = torch_or_none()
    if torch is None:
        notes.append("PyTorch is not installed: TinyTorch measured alone")
    else:
        notes.append(match_torch_threads(torch))
        torch_step = torch_step_fn(torch, tt_model, data, labels)
        first_tt, first_torch = tt_step().item(), torch_step().item()
        if abs(first_tt - first_torch) > 1e-4 * max(1.0, abs(first_torch)):
            raise RuntimeError(f"bench_mlp: first losses differ (TinyTorch {first_tt:.6f}, "
                               f"PyTorch {first_torch:.6f}); the two would not do the same work")
        notes.append(f"same weights and data: first-step loss {first_tt:.5f} (TinyTorch) vs "
                     f"{first_torch:.5f} (PyTorch)")
        cases["PyTorch"] = torch_step

    timings = interleaved(cases, repeats=args.repeats, warmup=args.warmup,
                          min_block_seconds=0.05 if args.quick else 0.2)
    rows = []
    for name, timing in timings.items():
        low, high = timing.spread
        rows.append(Row(name, 1 / timing.median, 1 / high, 1 / low, "steps/s",
                        f"{timing.median * 1e3:.2f} ms/step, {timing.number} steps/block"))
    report = Report("mlp", "MLP 784-256-128-10 training steps/s (batch 64, SGD lr=0.01)",
                    config={"repeats": args.repeats, "warmup steps": args.warmup},
                    rows=rows, notes=notes)
    if "PyTorch" in timings:
        ratio = timings["PyTorch"].median / timings["TinyTorch"].median
        report.checks.append(Check("TinyTorch / PyTorch steps/s", f">= {TARGET_RATIO}x",
                                   f"{ratio:.2f}x", ratio >= TARGET_RATIO))
    else:
        report.checks.append(Check("TinyTorch / PyTorch steps/s", f">= {TARGET_RATIO}x",
                                   "n/a", None))
    return emit(report, args)


if __name__ == "__main__":
    sys.exit(main())
