"""The fixed cost of one small op: a 4x4 add with autograd vs raw numpy (and PyTorch).

    python benchmarks/bench_op_overhead.py [--quick] [--json] [--repeats N]

Cases, in microseconds per op (median of interleaved blocks):
- numpy: `np.add(a, b)` on two 4x4 float32 arrays, the floor: one C call.
- forward only: `x + y` on tensors that do not require grad (no graph is recorded).
- forward + backward: `c = a + b; c.backward(g)` on leaves that require grad, then the
  leaves' `.grad` are reset to None so every iteration does identical work.

Systems lesson: adding 16 floats takes nanoseconds; everything above the numpy row is
framework overhead (creating Tensor objects, checking grad mode, recording a graph node,
walking it backward, accumulating into `.grad`). That overhead is paid per op whatever
the tensor size, which is why small models are interpreter-bound and large ones are
BLAS-bound, and why fused kernels and graph compilers exist.
"""

from __future__ import annotations

import sys

import numpy as np
from harness import Report, Row, emit, interleaved, match_torch_threads, parse_args, torch_or_none

import tinytorch.core as tt


def numpy_case():
    a = np.ones((4, 4), dtype=np.float32)
    b = np.ones((4, 4), dtype=np.float32)
    return lambda: np.add(a, b)


def forward_backward(a, b, g):
    def run():
        c = a + b
        c.backward(g)
        a.grad = None
        b.grad = None
    return run


def tinytorch_cases() -> dict:
    x, y = tt.ones(4, 4), tt.ones(4, 4)
    a, b = tt.ones(4, 4, requires_grad=True), tt.ones(4, 4, requires_grad=True)
    return {"TinyTorch forward": lambda: x + y,
            "TinyTorch forward+backward": forward_backward(a, b, tt.ones(4, 4))}


def torch_cases(torch) -> dict:
    x, y = torch.ones(4, 4), torch.ones(4, 4)
    a, b = torch.ones(4, 4, requires_grad=True), torch.ones(4, 4, requires_grad=True)
    return {"PyTorch forward": lambda: x + y,
            "PyTorch forward+backward": forward_backward(a, b, torch.ones(4, 4))}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv)
    cases = {"numpy add": numpy_case(), **tinytorch_cases()}
    notes = []
    torch = torch_or_none()
    if torch is None:
        notes.append("PyTorch is not installed: its rows are missing")
    else:
        notes.append(match_torch_threads(torch))
        cases.update(torch_cases(torch))

    timings = interleaved(cases, repeats=args.repeats, warmup=args.warmup * 100,
                          min_block_seconds=0.02 if args.quick else 0.05)
    floor = timings["numpy add"].median
    rows = []
    for name, timing in timings.items():
        low, high = timing.spread
        rows.append(Row(name, timing.median * 1e6, low * 1e6, high * 1e6, "µs/op",
                        f"{timing.median / floor:.0f}x numpy"))
    report = Report("op_overhead", "One 4x4 add: microseconds per op (median)",
                    config={"repeats": args.repeats, "calls per block":
                            {name: t.number for name, t in timings.items()}},
                    rows=rows, notes=notes)
    if torch is not None:  # no target here: the ratio is the lesson
        ratio = timings["TinyTorch forward+backward"].median / \
            timings["PyTorch forward+backward"].median
        report.notes.append(f"TinyTorch forward+backward takes {ratio:.2f}x PyTorch's time")
    return emit(report, args)


if __name__ == "__main__":
    sys.exit(main())
