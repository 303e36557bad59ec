"""Finding and running milestones: entry points in, exit codes and a summary table out.

What it teaches: a plugin registry made of package metadata. Every installed distribution
lists its entry points; `importlib.metadata.entry_points(group=...)` reads them without
importing anything, and `importlib.util.find_spec` locates a module's file without running
it, so `tito milestones list` can show each milestone's docstring safely. A folder of
`NN_name.py` scripts (an instructor's own milestones) can be listed and run the same way.

Systems lesson: each milestone runs as a subprocess with this Python, so one milestone's
state (seeded generators, imported modules, memory) cannot help or hurt the next, and a
crash in one still leaves the others to run and the summary to be printed.
"""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

from rich.console import Console
from rich.table import Table

ENTRY_POINT_GROUP = "tinytorch.milestones"
SCRIPT_PATTERN = "[0-9][0-9]_*.py"
EXIT_NO_DATA = 3  # a milestone's exit code when its data set is missing and cannot be fetched


class MilestoneError(Exception):
    """A problem the user can fix (unknown milestone name, folder without milestones)."""


@dataclass(frozen=True)
class Milestone:
    number: int
    name: str
    target: str  # a module name (installed) or a script path (a folder of scripts)
    summary: str
    source: str  # the distribution that ships it, or the folder it was found in

    @property
    def stem(self) -> str:
        return f"{self.number:02d}_{self.name}"

    def command(self, args: list[str]) -> list[str]:
        if self.target.endswith(".py"):
            return [sys.executable, self.target, *args]
        return [sys.executable, "-m", self.target, *args]


def discover(folder: str | Path | None = None) -> list[Milestone]:
    """The installed milestones (or the `NN_name.py` scripts in `folder`), in number order."""
    found = _from_folder(Path(folder)) if folder is not None else _installed()
    return sorted(found, key=lambda m: (m.number, m.name))


def _installed() -> list[Milestone]:
    found = []
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        number, name = _split_stem(entry_point.name)
        spec = importlib.util.find_spec(entry_point.value)
        origin = spec.origin if spec is not None and spec.origin else None
        summary = _summary(Path(origin)) if origin else f"(module {entry_point.value} missing)"
        dist = entry_point.dist.name if entry_point.dist is not None else "unknown"
        found.append(Milestone(number, name, entry_point.value, summary, dist))
    return found


def _from_folder(folder: Path) -> list[Milestone]:
    folder = folder.expanduser().resolve()
    if not folder.is_dir():
        raise MilestoneError(f"tito milestones: {folder} is not a folder of milestone scripts")
    scripts = sorted(folder.glob(SCRIPT_PATTERN))
    return [Milestone(*_split_stem(p.stem), str(p), _summary(p), str(folder)) for p in scripts]


def _split_stem(stem: str) -> tuple[int, str]:
    number, _, name = stem.partition("_")
    if not number.isdigit() or not name:
        raise MilestoneError(f"tito milestones: '{stem}' is not a milestone name (NN_name)")
    return int(number), name


def _summary(path: Path) -> str:
    try:
        docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    except (OSError, SyntaxError, UnicodeDecodeError) as exc:
        return f"(docstring unreadable: {type(exc).__name__}: {exc})"
    return docstring.strip().splitlines()[0] if docstring and docstring.strip() else ""


def resolve(query: str, milestones: list[Milestone]) -> Milestone:
    """Find a milestone by stem (`01_xor`), file name, number (`1`, `01`) or name (`xor`)."""
    key = query.removesuffix(".py").lower()
    matches = [m for m in milestones
               if key in (m.stem, m.name.lower()) or (key.isdigit() and int(key) == m.number)]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(m.stem for m in milestones) or "none installed"
    if not matches:
        raise MilestoneError(f"tito milestones run: no milestone matches '{query}'; known: "
                             f"{known}. Milestones come with their packages: install "
                             f"tinytorch-vision for 03, tinytorch-language for 04, ...")
    raise MilestoneError(f"tito milestones run: '{query}' is ambiguous, it matches "
                         f"{', '.join(m.stem for m in matches)}; give the full name")


def run(milestone: Milestone, args: list[str]) -> int:
    """Run one milestone with this Python; return its exit code (130 on Ctrl-C)."""
    try:
        return subprocess.run(milestone.command(args), check=False).returncode
    except KeyboardInterrupt:
        return 130


def run_all(milestones: list[Milestone], args: list[str], console: Console | None = None) -> int:
    """Run every milestone (each in its own process), print the summary; 0 only if all pass."""
    console = console or Console()
    if not milestones:
        console.print("[red]no milestones installed (entry point group "
                      f"'{ENTRY_POINT_GROUP}')")
        return 1
    results = []
    for milestone in milestones:
        console.rule(f"[bold]{milestone.stem}")
        start = time.perf_counter()
        code = run(milestone, args)
        results.append((milestone.stem, code, time.perf_counter() - start))
        if code == 130:
            break
    console.print(summary_table(results))
    failed = [name for name, code, _ in results if code != 0]
    if failed:
        console.print(f"[red]{len(failed)} of {len(results)} failed: {', '.join(failed)}")
        return 1
    console.print(f"[green]all {len(results)} milestones passed")
    return 0


def summary_table(results: list[tuple[str, int, float]]) -> Table:
    table = Table(title="Milestones", title_justify="left")
    table.add_column("milestone", style="bold")
    table.add_column("status")
    table.add_column("wall time", justify="right")
    for name, code, seconds in results:
        table.add_row(name, _status(code), f"{seconds:.1f} s")
    return table


def _status(code: int) -> str:
    if code == 0:
        return "[green]passed"
    if code == EXIT_NO_DATA:
        return f"[red]no data (exit code {code}): see its message above"
    if code == 130:
        return "[yellow]interrupted"
    return f"[red]failed (exit code {code})"
