"""`tito milestones`: list and run the repository's end-to-end proofs.

Milestones are scripts `milestones/NN_name.py` at the top of the TinyTorch repository
(not inside any package: they exercise the combined install). This module finds that
folder, lists the scripts with the first line of their docstrings, and runs one with
the current Python as a child process.

What it teaches: reading a script's docstring without running it (`ast.get_docstring`),
and running a program as a subprocess whose exit code becomes ours.

Systems lesson: a subprocess gets a fresh interpreter, so a milestone cannot be helped or
hurt by state left over in the CLI's process (seeded generators, imported modules).
"""

from __future__ import annotations

import argparse
import ast
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT_ENV_VAR = "TINYTORCH_ROOT"
MARKER = Path("milestones") / "run_all.py"
PATTERN = "[0-9][0-9]_*.py"


class MilestoneError(Exception):
    """A problem the user can fix (no repository found, unknown milestone name)."""


@dataclass(frozen=True)
class Milestone:
    number: int
    name: str
    path: Path
    summary: str

    @property
    def stem(self) -> str:
        return self.path.stem


def find_root(explicit: str | None = None, cwd: Path | None = None) -> Path:
    """The repository root: `explicit`, else $TINYTORCH_ROOT, else the first parent of `cwd`
    holding milestones/run_all.py. Raises MilestoneError listing every place it looked."""
    if explicit is not None:
        return _checked_root(Path(explicit), "--root")
    env_value = os.environ.get(ROOT_ENV_VAR)
    if env_value:
        return _checked_root(Path(env_value), f"${ROOT_ENV_VAR}")
    start = (cwd or Path.cwd()).resolve()
    looked = []
    for folder in (start, *start.parents):
        if (folder / MARKER).is_file():
            return folder
        looked.append(str(folder / MARKER))
    raise MilestoneError(
        "tito milestones: could not find the TinyTorch repository (a folder containing "
        f"{MARKER}). Looked for: {', '.join(looked)}. Run tito from inside a checkout, "
        f"pass --root DIR, or set {ROOT_ENV_VAR}=DIR."
    )


def _checked_root(path: Path, source: str) -> Path:
    path = path.expanduser().resolve()
    if (path / MARKER).is_file():
        return path
    if (path / MARKER.name).is_file() and path.name == MARKER.parent.name:
        return path.parent  # the milestones folder itself was given
    raise MilestoneError(
        f"tito milestones: {source} is {path}, but {path / MARKER} does not exist; "
        "expected the root of a TinyTorch checkout (the folder that contains milestones/)"
    )


def discover(root: Path) -> list[Milestone]:
    """Every milestones/NN_name.py under `root`, in number order."""
    found = []
    for path in sorted((root / MARKER.parent).glob(PATTERN)):
        number, _, name = path.stem.partition("_")
        found.append(Milestone(int(number), name, path, _summary(path)))
    return found


def _summary(path: Path) -> str:
    try:
        docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    except (OSError, SyntaxError, UnicodeDecodeError) as exc:
        return f"(docstring unreadable: {type(exc).__name__}: {exc})"
    return docstring.strip().splitlines()[0] if docstring and docstring.strip() else ""


def resolve(query: str, milestones: list[Milestone]) -> Milestone:
    """Find a milestone by stem (`01_xor`), file name, number (`1`, `01`) or name (`xor`)."""
    key = query.removesuffix(".py").lower()
    matches = [
        m for m in milestones
        if key in (m.stem.lower(), m.name.lower()) or (key.isdigit() and int(key) == m.number)
    ]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(m.stem for m in milestones) or "none found"
    if not matches:
        raise MilestoneError(f"tito milestones run: no milestone matches '{query}'; known: {known}")
    raise MilestoneError(
        f"tito milestones run: '{query}' is ambiguous, it matches "
        f"{', '.join(m.stem for m in matches)}; give the full name"
    )


def run_milestone(milestone: Milestone, args: list[str]) -> int:
    """Run the milestone script with this Python; return its exit code."""
    try:
        return subprocess.run([sys.executable, str(milestone.path), *args], check=False).returncode
    except KeyboardInterrupt:
        return 130


def _list_command(args: argparse.Namespace) -> int:
    root = find_root(args.root)
    milestones = discover(root)
    table = Table(title=f"Milestones in {root / MARKER.parent}", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("name", style="bold")
    table.add_column("what it proves")
    for m in milestones:
        table.add_row(f"{m.number:02d}", m.stem, m.summary)
    Console().print(table if milestones else f"no milestones ({PATTERN}) in {root}")
    return 0


def _run_command(args: argparse.Namespace) -> int:
    milestone = resolve(args.name, discover(find_root(args.root)))
    forwarded = (["--quick"] if args.quick else []) + list(args.extra_args)
    Console().print(f"[bold]tito: running {milestone.stem}[/] {' '.join(forwarded)}")
    return run_milestone(milestone, forwarded)


def _handle_errors(command):
    def handler(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except MilestoneError as exc:
            Console(stderr=True, soft_wrap=True).print(f"[red]{exc}", highlight=False)
            return 2
    return handler


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "milestones", help="list or run the end-to-end milestones", allow_abbrev=False
    )
    actions = parser.add_subparsers(dest="milestones_command", metavar="{list,run}")
    actions.required = True
    root_help = f"repository root (default: ${ROOT_ENV_VAR}, else search upwards from here)"

    list_parser = actions.add_parser("list", help="list the milestones", allow_abbrev=False)
    list_parser.add_argument("--root", help=root_help)
    list_parser.set_defaults(func=_handle_errors(_list_command))

    run_parser = actions.add_parser(
        "run", help="run one milestone; unknown options are passed to it", allow_abbrev=False
    )
    run_parser.add_argument("name", help="number, name or file stem, e.g. 1, xor or 01_xor")
    run_parser.add_argument("--quick", action="store_true", help="short smoke-test run")
    run_parser.add_argument("--root", help=root_help)
    run_parser.set_defaults(func=_handle_errors(_run_command), accepts_extra_args=True)
