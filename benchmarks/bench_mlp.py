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
    Report,
    emit,
    interleaved,
    parse_args,
    ratio_check,
    throughput_rows,
    torch_classifier_step,
    training_cases,
    training_step,
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
    return model, training_step(model, opt, tt.tensor(data), tt.tensor(labels), F.cross_entropy)


def torch_step_fn(torch, tt_model, data: np.ndarray, labels: np.ndarray):
    tnn = torch.nn
    model = tnn.Sequential(
        tnn.Linear(SIZES[0], SIZES[1]), tnn.ReLU(),
        tnn.Linear(SIZES[1], SIZES[2]), tnn.ReLU(),
        tnn.Linear(SIZES[2], SIZES[3]),
    )
    return torch_classifier_step(torch, tt_model, model,
                                 lambda params: torch.optim.SGD(params, lr=LR), data, labels)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv)
    rng = np.random.default_rng(0)
    data = rng.standard_normal((BATCH, SIZES[0]), dtype=np.float32)
    labels = rng.integers(0, SIZES[-1], size=BATCH, dtype=np.int64)

    tt_model, tt_step = tinytorch_step_fn(data, labels)
    cases, notes = training_cases(
        "bench_mlp", tt_step, lambda torch: torch_step_fn(torch, tt_model, data, labels))
    timings = interleaved(cases, repeats=args.repeats, warmup=args.warmup,
                          min_block_seconds=0.05 if args.quick else 0.2)
    rows = throughput_rows(timings, 1, "steps/s", lambda t: f"{t.median * 1e3:.2f} ms/step, "
                                                          f"{t.number} steps/block")
    report = Report("mlp", "MLP 784-256-128-10 training steps/s (batch 64, SGD lr=0.01)",
                    config={"repeats": args.repeats, "warmup steps": args.warmup},
                    rows=rows, notes=notes)
    report.checks.append(ratio_check("TinyTorch / PyTorch steps/s", timings, "TinyTorch",
                                     "PyTorch", TARGET_RATIO))
    return emit(report, args)


if __name__ == "__main__":
    sys.exit(main())
