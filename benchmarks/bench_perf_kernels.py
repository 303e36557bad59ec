"""Kernels written several ways: measured speedups on this machine (tinytorch.perf.kernels).

    python benchmarks/bench_perf_kernels.py [--quick] [--json] [--repeats N] [--strict]

Each operation is implemented several ways that return the same numbers (checked before
timing): matmul as Python loops / vectorised rows / blocked tiles / BLAS, conv2d as output
loops / direct shift-and-accumulate / im2col + GEMM, row sums on C- vs Fortran-ordered
memory, a naive vs blocked transpose copy, strided vs contiguous sums, and a GELU chain
unfused / in place / chunked (fused). All implementations of one operation are timed in
one interleaved run; each row is a speedup over the group's baseline (median of paired
per-round ratios, with its 95% order-statistic interval).

Systems lesson: the same FLOPs, orders of magnitude apart. Interpretation overhead,
cache reuse, contiguous access and trips to memory decide the time, not the arithmetic.
"""

from __future__ import annotations

import sys

from harness import Check, Report, Row, emit, parse_args

from tinytorch.perf.kernels import kernel_report

# (group prefix, implementation, claim, minimum speedup over the group's baseline)
TARGETS = [
    ("matmul 64", "BLAS", "BLAS vs Python loops, 64x64", 100.0),
    ("matmul 384", "BLAS", "BLAS vs vectorised rows, 384x384", 5.0),
    ("conv2d", "im2col + GEMM", "im2col + GEMM vs output loops", 2.0),
    ("row sums", "contiguous rows (C order)", "contiguous vs strided rows", 1.2),
    ("GELU", "chunked (fused)", "chunked (fused) vs unfused GELU", 1.2),
]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv)
    results = kernel_report(quick=args.quick, repeats=args.repeats)
    rows = [Row(f"{r.group}: {r.name}", r.speedup, r.ci_low, r.ci_high, "x",
                f"{r.median_s * 1e3:.3f} ms/call" + (f"; {r.detail}" if r.detail else ""))
            for r in results]
    report = Report("perf_kernels", "Kernels: speedup over each group's baseline (measured)",
                    config={"repeats": args.repeats, "quick": args.quick}, rows=rows,
                    notes=["the same results are checked before timing; quick mode uses "
                           "smaller sizes, so its targets are not judged"])
    for prefix, name, claim, minimum in TARGETS:
        found = [r for r in results if r.group.startswith(prefix) and r.name == name]
        if args.quick or not found:
            report.checks.append(Check(claim, f">= {minimum:g}x", "n/a", None))
            continue
        speedup = found[0].speedup
        report.checks.append(Check(claim, f">= {minimum:g}x", f"{speedup:,.1f}x",
                                   speedup >= minimum))
    return emit(report, args)


if __name__ == "__main__":
    sys.exit(main())
