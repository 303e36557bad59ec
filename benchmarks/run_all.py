"""Run every benchmark (benchmarks/bench_*.py) and summarise them.

    python benchmarks/run_all.py [--quick] [--strict] [--json] [--repeats N] [--output F]

Each benchmark runs in its own process (a fresh interpreter, so one benchmark's thread
pools, caches and garbage cannot slow the next) with `--json`; this script renders each
report and ends with two summaries: every ratio and target of every benchmark in one
table (with the machine, BLAS, threads and load average it was measured under), and
benchmark / status / wall time. The whole run is written as JSON to --output (default
curriculum/benchmarks.json, which the course pages cite). Exit code 1 if a benchmark
crashed, or, with --strict, if a target was missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from harness import Report, _status, render
from rich.console import Console
from rich.table import Table

from tinytorch.core.atomic import atomic_write_text
from tinytorch.core.cli.info import blas_info, usable_cpu_count

HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = HERE.parent / "curriculum" / "benchmarks.json"


def run_one(script: Path, forwarded: list[str], console: Console) -> tuple[Report | None, float]:
    start = time.perf_counter()
    with console.status(f"running {script.name} ..."):
        done = subprocess.run([sys.executable, str(script), "--json", *forwarded],
                              capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    sys.stderr.write(done.stderr)
    if done.returncode != 0:
        console.print(f"[red]{script.name} exited with code {done.returncode}")
        return None, seconds
    try:
        return Report.from_dict(json.loads(done.stdout)), seconds
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        console.print(f"[red]{script.name} printed no valid report ({exc}):\n{done.stdout[-2000:]}")
        return None, seconds


def summary_table(results: list[tuple[str, Report | None, float]]) -> Table:
    table = Table(title="Benchmarks", title_justify="left")
    for column in ("benchmark", "status", "targets", "wall time"):
        table.add_column(column)
    for name, report, seconds in results:
        if report is None:
            table.add_row(name, "[red]crashed", "-", f"{seconds:.1f} s")
            continue
        met = sum(check.met is True for check in report.checks)
        missed = sum(check.met is False for check in report.checks)
        targets = f"{met} met, {missed} missed" if report.checks else "none"
        status = "[green]ok" if report.all_met else "[yellow]target missed"
        table.add_row(name, status, targets, f"{seconds:.1f} s")
    return table


def machine() -> dict:
    blas = blas_info()
    return {"processor": platform.processor() or platform.machine(),
            "python": platform.python_version(), "usable_cpus": usable_cpu_count(),
            "blas": f"{blas['name']} {blas['version']}", "blas_threads": blas["threads"],
            "blas_kernel": f"{blas['kernel']} ({blas['kernel_source']})",
            "load_average_1min": round(os.getloadavg()[0], 2)}


def ratios_table(results, machine_before: dict, load_after: float) -> Table:
    """Every target and reported figure of every benchmark, one row each."""
    table = Table(title="All ratios and targets", title_justify="left",
                  caption=f"{machine_before['processor']}, {machine_before['usable_cpus']} CPUs, "
                          f"{machine_before['blas']} ({machine_before['blas_threads']} threads, "
                          f"kernel {machine_before['blas_kernel']}), "
                          f"load average {machine_before['load_average_1min']} at start, "
                          f"{load_after:.2f} at end")
    for column in ("benchmark", "claim", "target", "achieved", "status"):
        table.add_column(column)
    for name, report, _ in results:
        for check in report.checks if report is not None else []:
            table.add_row(name, check.claim, check.target, check.achieved, _status(check))
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repeats: a smoke run")
    parser.add_argument("--strict", action="store_true", help="fail when a target is missed")
    parser.add_argument("--json", action="store_true", help="print all reports as JSON")
    parser.add_argument("--repeats", type=int, help="timed blocks per case")
    parser.add_argument("--output", default=str(DEFAULT_OUTPUT),
                        help="write the whole run as JSON here ('' for nowhere)")
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        help="run only these benchmarks (e.g. bench_milestone_cnn)")
    args = parser.parse_args(argv)
    forwarded = (["--quick"] if args.quick else []) + \
        (["--repeats", str(args.repeats)] if args.repeats else [])
    console = Console(stderr=args.json)  # keep stdout clean for the JSON
    scripts = sorted(p for p in HERE.glob("bench_*.py") if not args.only or p.stem in args.only)
    before = machine()
    if not scripts:
        console.print(f"[red]no benchmarks (bench_*.py) in {HERE}")
        return 1
    results = []
    for script in scripts:
        report, seconds = run_one(script, forwarded, console)
        if report is not None and not args.json:
            render(report, console)
        results.append((script.stem, report, seconds))
    load_after = os.getloadavg()[0]
    console.print(ratios_table(results, before, load_after))
    console.print(summary_table(results))
    run = {"machine": before, "load_average_1min_at_end": round(load_after, 2),
           "quick": args.quick, "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
           "reports": [report.to_dict() for _, report, _ in results if report is not None],
           "wall_seconds": {name: round(seconds, 1) for name, _, seconds in results}}
    if args.output:
        atomic_write_text(args.output, json.dumps(run, indent=2) + "\n")
        console.print(f"results written to {args.output}")
    if args.json:
        reports = [report.to_dict() for _, report, _ in results if report is not None]
        sys.stdout.write(json.dumps(reports, indent=2) + "\n")
    crashed = any(report is None for _, report, _ in results)
    missed = any(report is not None and not report.all_met for _, report, _ in results)
    return 1 if crashed or (args.strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
