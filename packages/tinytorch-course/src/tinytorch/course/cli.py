"""tito command groups of the course (entry point group `tinytorch.cli`).

    tito notebooks build [MODULE ...] [--out DIR] [--instructor] [--curriculum DIR]
    tito grade MODULE NOTEBOOK_OR_FILE [--json] [--timeout SECONDS]
    tito module list [--json]
    tito module status [--workspace DIR] [--json]

What it teaches: each `register_*` function adds one command group to tito's parser (the
protocol documented in tinytorch.core.cli); handlers return the exit code. `tito grade`
exits 0 when every test passes, 1 when some fail, 2 when the submission cannot be graded,
so it can gate a CI job as well as print a table for a person.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .grader import GradingError, grade, report_table
from .grading import max_score, tests_for
from .notebooks import INSTRUCTOR, STUDENT, BuildError, build_all
from .progress import phase_rows, workspace_status
from .syllabus import MODULES, PHASES, get


def _error(message: str) -> int:
    Console(stderr=True, soft_wrap=True).print(f"[red]{message}", highlight=False)
    return 2


# ---------------------------------------------------------------- tito notebooks


def _build(args: argparse.Namespace) -> int:
    flavour = INSTRUCTOR if args.instructor else STUDENT
    try:
        written, skipped = build_all(args.out, flavour, args.modules or None, args.curriculum)
    except (BuildError, KeyError) as exc:
        return _error(f"tito notebooks build: {exc}")
    table = Table(title=f"{flavour} notebooks in {args.out}", title_justify="left")
    table.add_column("module", style="bold")
    table.add_column("result")
    for path in written:
        table.add_row(path.stem, f"[green]written[/] {path}")
    for stem, reason in skipped.items():
        table.add_row(stem, f"[yellow]skipped[/] {reason}")
    Console().print(table)
    return 0


def register_notebooks(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("notebooks", help="generate the course notebooks",
                                   allow_abbrev=False)
    actions = parser.add_subparsers(dest="notebooks_command", metavar="{build}")
    actions.required = True
    build = actions.add_parser("build", help="one notebook per module, from the library source",
                               allow_abbrev=False)
    build.add_argument("modules", nargs="*", metavar="MODULE",
                       help="module numbers or names (default: every module that is ready)")
    build.add_argument("--out", default="notebooks", help="output folder (default: notebooks)")
    build.add_argument("--instructor", action="store_true",
                       help="keep the solutions between BEGIN/END SOLUTION markers "
                            "(nbgrader's source format)")
    build.add_argument("--curriculum", help="the curriculum folder with modules/*.md "
                                            "(default: found from here or $TINYTORCH_ROOT)")
    build.set_defaults(func=_build)


# ---------------------------------------------------------------- tito grade


def _grade(args: argparse.Namespace) -> int:
    try:
        report = grade(args.module, args.submission, timeout=args.timeout)
    except (GradingError, KeyError) as exc:
        return _error(str(exc).strip("'\""))
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        console = Console()
        console.print(report_table(report))
        for error in report.cell_errors:
            console.print(f"[yellow]cell {error['cell']} raised:[/] {error['error']}",
                          highlight=False)
        if report.error:
            console.print(f"[red]{report.error}", highlight=False)
    return 0 if report.passed else 1


def register_grade(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "grade", help="run a student's notebook and grade it with the module's tests",
        allow_abbrev=False)
    parser.add_argument("module", help="module number or name, e.g. 03 or activations")
    parser.add_argument("submission", help="the student's .ipynb notebook or .py file")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds before the student's code is stopped (default 300)")
    parser.set_defaults(func=_grade)


# ---------------------------------------------------------------- tito module


def _list(args: argparse.Namespace) -> int:
    rows = []
    for module in MODULES:
        tests = tests_for(module.id)
        rows.append({"module": module.id, "stem": module.stem, "title": module.title,
                     "phase": module.phase.number, "package": module.package,
                     "installed": module.available, "notebook": module.ready,
                     "tests": len(tests), "points": max_score(module.id) if tests else 0,
                     "concept": module.concept})
    if args.json:
        print(json.dumps({"modules": rows, "phases": phase_rows()}, indent=2))
        return 0
    table = Table(title="TinyTorch course modules", title_justify="left")
    for column in ("#", "module", "phase", "package", "notebook", "points", "systems concept"):
        table.add_column(column)
    for row in rows:
        package = row["package"] if row["installed"] else f"[yellow]{row['package']} (missing)"
        table.add_row(row["module"], row["title"], str(row["phase"]), package,
                      "yes" if row["notebook"] else "-", str(row["points"] or "-"),
                      row["concept"])
    console = Console()
    console.print(table)
    console.print(_phase_table(phase_rows()))
    return 0


def _phase_table(rows: list[dict]) -> Table:
    table = Table(title="Phases and the milestones they unlock", title_justify="left")
    for column in ("phase", "modules", "milestone", "validation question"):
        table.add_column(column)
    with_status = rows and rows[0]["unlocked"] is not None
    if with_status:
        table.add_column("unlocked")
    for row in rows:
        cells = [f"{row['phase']} {row['name']}", f"{row['modules'][0]}-{row['modules'][-1]}",
                 f"{row['milestone']}: {row['milestone_name']}", row["question"]]
        if with_status:
            cells.append("[green]yes: tito milestones run " + row["milestone"]
                         if row["unlocked"] else "not yet")
        table.add_row(*cells)
    return table


def _status(args: argparse.Namespace) -> int:
    workspace = Path(args.workspace)
    if not workspace.is_dir():
        return _error(f"tito module status: workspace {workspace} is not a folder")
    statuses = workspace_status(workspace, timeout=args.timeout)
    phases = phase_rows(statuses)
    if args.json:
        print(json.dumps({"workspace": str(workspace),
                          "modules": [s.to_json() for s in statuses],
                          "phases": phases}, indent=2))
        return 0
    table = Table(title=f"Progress of {workspace}", title_justify="left")
    for column in ("#", "module", "state", "score", "submission"):
        table.add_column(column)
    colours = {"passed": "green", "in progress": "yellow"}
    for s in statuses:
        state = s.state
        colour = colours.get(state, "dim")
        score = f"{s.report.score}/{s.report.max_score}" if s.report else "-"
        table.add_row(s.module.id, s.module.title, f"[{colour}]{state}", score,
                      str(s.submission or "-"))
    console = Console()
    console.print(table)
    console.print(_phase_table(phases))
    return 0


def register_module(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("module", help="course modules and a student's progress",
                                   allow_abbrev=False)
    actions = parser.add_subparsers(dest="module_command", metavar="{list,status}")
    actions.required = True
    listing = actions.add_parser("list", help="the 18 modules, phases and milestones",
                                 allow_abbrev=False)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=_list)
    status = actions.add_parser("status", help="grade a workspace's notebooks: which modules "
                                               "pass, which milestones are unlocked",
                                allow_abbrev=False)
    status.add_argument("--workspace", default=".", help="folder holding NN_name.ipynb "
                                                         "notebooks (default: here)")
    status.add_argument("--json", action="store_true")
    status.add_argument("--timeout", type=float, default=300.0)
    status.set_defaults(func=_status)


__all__ = ["register_grade", "register_module", "register_notebooks", "PHASES", "get"]
