"""Run every milestone (milestones/NN_*.py) in order and summarise the results.

    python milestones/run_all.py            # full runs
    python milestones/run_all.py --quick    # smoke runs (each milestone decides what quick means)

Each milestone runs as its own subprocess with this Python, so one milestone's state
(seeds, imported modules, memory) cannot leak into the next. A milestone passes when it
exits with code 0, which it does only when its claims hold. Milestones that need data
find it through $TINYTORCH_DATA. This script exits non-zero if any milestone failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
PATTERN = "[0-9][0-9]_*.py"


def discover(folder: Path = HERE) -> list[Path]:
    return sorted(folder.glob(PATTERN))


def run_one(script: Path, args: list[str], console: Console) -> tuple[int, float]:
    console.rule(f"[bold]{script.stem}")
    start = time.perf_counter()
    code = subprocess.run([sys.executable, str(script), *args], check=False).returncode
    return code, time.perf_counter() - start


def summary_table(results: list[tuple[str, int, float]]) -> Table:
    table = Table(title="Milestones", title_justify="left")
    table.add_column("milestone", style="bold")
    table.add_column("status")
    table.add_column("wall time", justify="right")
    for name, code, seconds in results:
        status = "[green]passed" if code == 0 else f"[red]failed (exit code {code})"
        table.add_row(name, status, f"{seconds:.1f} s")
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="pass --quick to every milestone")
    args = parser.parse_args(argv)
    console = Console()
    scripts = discover()
    if not scripts:
        console.print(f"[red]no milestones ({PATTERN}) found in {HERE}")
        return 1
    forwarded = ["--quick"] if args.quick else []
    results = [(script.stem, *run_one(script, forwarded, console)) for script in scripts]
    console.print(summary_table(results))
    failed = [name for name, code, _ in results if code != 0]
    if failed:
        console.print(f"[red]{len(failed)} of {len(results)} failed: {', '.join(failed)}")
        return 1
    console.print(f"[green]all {len(results)} milestones passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
