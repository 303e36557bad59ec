"""Training throughput of a small CNN: TinyTorch vs PyTorch CPU on the same work.

    python benchmarks/bench_cnn.py [--quick] [--json] [--repeats N] [--strict]

The reference CNN of the vision package's issue: conv3x3(3->32)+ReLU+maxpool2,
conv3x3(32->64)+ReLU+maxpool2, conv3x3(64->128)+ReLU+maxpool2, flatten,
linear(2048->256)+ReLU, linear(256->10); batch 64 of 32x32x3 float32 images, cross-entropy,
Adam. One step = forward, loss, backward, Adam step, zero_grad. Both libraries start from
the same weights and data (checked: the first losses agree), get the same number of BLAS
threads and are timed in one interleaved run. Target: TinyTorch trains at least 0.5x as
many images per second as PyTorch.

Systems lesson: per image the three convolutions do 2 * (32*32*27*32 + 16*16*288*64 +
8*8*576*128) = 22 MFLOP forward, ~66 MFLOP per training step, so a batch of 64 is 4.2
GFLOP of mostly large matrix products: here the work is in BLAS and in memory traffic
(im2col copies, pooling), not in Python overhead, which is why a numpy framework can get
close to PyTorch on a CNN while it cannot on tiny MLPs.
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
from tinytorch.vision import nn as vnn

BATCH = 64
LR = 1e-3
TARGET_RATIO = 0.5


def reference_cnn(conv, pool, linear, relu, flatten, sequential):
    """The reference architecture, built from either library's layer classes."""
    return sequential(
        conv(3, 32, 3, padding=1), relu(), pool(2),
        conv(32, 64, 3, padding=1), relu(), pool(2),
        conv(64, 128, 3, padding=1), relu(), pool(2),
        flatten(), linear(2048, 256), relu(), linear(256, 10),
    )


def tinytorch_step_fn(data: np.ndarray, labels: np.ndarray):
    tt.manual_seed(0)
    model = reference_cnn(vnn.Conv2d, vnn.MaxPool2d, nn.Linear, nn.ReLU, nn.Flatten,
                          nn.Sequential)
    opt = optim.Adam(model.parameters(), lr=LR)
    return model, training_step(model, opt, tt.tensor(data), tt.tensor(labels), F.cross_entropy)


def torch_step_fn(torch, tt_model, data: np.ndarray, labels: np.ndarray):
    tnn = torch.nn
    model = reference_cnn(tnn.Conv2d, tnn.MaxPool2d, tnn.Linear, tnn.ReLU, tnn.Flatten,
                          tnn.Sequential)
    return torch_classifier_step(torch, tt_model, model,
                                 lambda params: torch.optim.Adam(params, lr=LR), data, labels)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv)
    rng = np.random.default_rng(0)
    data = rng.standard_normal((BATCH, 3, 32, 32), dtype=np.float32)
    labels = rng.integers(0, 10, size=BATCH, dtype=np.int64)

    tt_model, tt_step = tinytorch_step_fn(data, labels)
    cases, notes = training_cases(
        "bench_cnn", tt_step, lambda torch: torch_step_fn(torch, tt_model, data, labels))
    timings = interleaved(cases, repeats=args.repeats, warmup=args.warmup,
                          min_block_seconds=0.2 if args.quick else 0.5)
    rows = throughput_rows(timings, BATCH, "images/s", lambda t: f"{t.median * 1e3:.1f} "
                                                              f"ms/step, {t.number} steps/block")
    report = Report("cnn", "Reference CNN training images/s (batch 64, Adam, float32)",
                    config={"repeats": args.repeats, "warmup steps": args.warmup,
                            "batch": BATCH}, rows=rows, notes=notes)
    report.checks.append(ratio_check("TinyTorch / PyTorch training images/s", timings,
                                     "TinyTorch", "PyTorch", TARGET_RATIO))
    return emit(report, args)


if __name__ == "__main__":
    sys.exit(main())
