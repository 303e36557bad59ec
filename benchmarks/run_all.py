"""Run every benchmark (benchmarks/bench_*.py) and summarise them.

    python benchmarks/run_all.py [--quick] [--strict] [--json] [--repeats N]

Each benchmark runs in its own process (a fresh interpreter, so one benchmark's thread
pools, caches and garbage cannot slow the next) with `--json`; this script renders each
report and ends with a summary: benchmark, status, targets met, wall time. Exit code 1 if
a benchmark crashed, or, with --strict, if a target was missed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from harness import Report, render
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repeats: a smoke run")
    parser.add_argument("--strict", action="store_true", help="fail when a target is missed")
    parser.add_argument("--json", action="store_true", help="print all reports as JSON")
    parser.add_argument("--repeats", type=int, help="timed blocks per case")
    args = parser.parse_args(argv)
    forwarded = (["--quick"] if args.quick else []) + \
        (["--repeats", str(args.repeats)] if args.repeats else [])
    console = Console(stderr=args.json)  # keep stdout clean for the JSON
    scripts = sorted(HERE.glob("bench_*.py"))
    if not scripts:
        console.print(f"[red]no benchmarks (bench_*.py) in {HERE}")
        return 1
    results = []
    for script in scripts:
        report, seconds = run_one(script, forwarded, console)
        if report is not None and not args.json:
            render(report, console)
        results.append((script.stem, report, seconds))
    console.print(summary_table(results))
    if args.json:
        reports = [report.to_dict() for _, report, _ in results if report is not None]
        sys.stdout.write(json.dumps(reports, indent=2) + "\n")
    crashed = any(report is None for _, report, _ in results)
    missed = any(report is not None and not report.all_met for _, report, _ in results)
    return 1 if crashed or (args.strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
