"""`tito milestones`: list and run the end-to-end proofs that the installed packages ship.

    tito milestones list [--json]
    tito milestones run xor [--quick] [milestone args ...]
    tito milestones run all [--quick] [--no-download]    every milestone, then a summary
    tito milestones list --root DIR                      a folder of NN_name.py scripts

The milestones themselves live in `tinytorch.core.milestones` (discovery through the entry
point group `tinytorch.milestones`, so each package brings its own and no checkout is
needed); this module is the command-line face of it.

What it teaches: reading a script's docstring without running it (`ast.get_docstring`),
and running a program as a subprocess whose exit code becomes ours.

Systems lesson: a subprocess gets a fresh interpreter, so a milestone cannot be helped or
hurt by state left over in the CLI's process (seeded generators, imported modules).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ..milestones import catalog
from ..milestones.catalog import MilestoneError


def _milestones(root: str | None) -> list[catalog.Milestone]:
    """Installed milestones, or the scripts under --root (DIR/NN_*.py or DIR/milestones/)."""
    if root is None:
        return catalog.discover()
    folder = Path(root).expanduser()
    if (folder / "milestones").is_dir():
        folder = folder / "milestones"
    found = catalog.discover(folder)
    if not found:
        raise MilestoneError(f"tito milestones: --root {folder} holds no milestone scripts "
                             f"({catalog.SCRIPT_PATTERN}); expected a folder of them or a "
                             f"folder containing milestones/")
    return found


def _list_command(args: argparse.Namespace) -> int:
    milestones = _milestones(args.root)
    if args.json:
        rows = [{"number": m.number, "name": m.name, "stem": m.stem, "target": m.target,
                 "summary": m.summary, "source": m.source} for m in milestones]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return 0
    table = Table(title="Milestones", title_justify="left")
    for column in ("#", "name", "what it proves", "from"):
        table.add_column(column, style="bold" if column == "name" else None)
    for m in milestones:
        table.add_row(f"{m.number:02d}", m.stem, m.summary, m.source)
    Console().print(table if milestones else
                    f"no milestones installed (entry point group '{catalog.ENTRY_POINT_GROUP}')")
    return 0


def _run_command(args: argparse.Namespace) -> int:
    milestones = _milestones(args.root)
    forwarded = (["--quick"] if args.quick else []) + list(args.extra_args)
    if args.name.lower() == "all":
        return catalog.run_all(milestones, forwarded)
    milestone = catalog.resolve(args.name, milestones)
    Console().print(f"[bold]tito: running {milestone.stem}[/] {' '.join(forwarded)}")
    return catalog.run(milestone, forwarded)


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
    root_help = ("a folder of NN_name.py milestone scripts (or one containing milestones/) "
                 "instead of the installed milestones")

    list_parser = actions.add_parser("list", help="list the milestones", allow_abbrev=False)
    list_parser.add_argument("--root", help=root_help)
    list_parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    list_parser.set_defaults(func=_handle_errors(_list_command))

    run_parser = actions.add_parser(
        "run", help="run one milestone (or all); unknown options are passed to it",
        allow_abbrev=False,
    )
    run_parser.add_argument("name", help="number, name or stem (1, xor, 01_xor), or 'all'")
    run_parser.add_argument("--quick", action="store_true", help="short smoke-test run")
    run_parser.add_argument("--root", help=root_help)
    run_parser.set_defaults(func=_handle_errors(_run_command), accepts_extra_args=True)
