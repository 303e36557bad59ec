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

import nbformat
from rich.console import Console
from rich.table import Table

from . import workspace as ws
from .grader import DEFAULT_SEED, DEFAULT_TIMEOUT, GradingError, grade, report_table
from .grading import max_score, tests_for
from .notebooks import INSTRUCTOR, STUDENT, BuildError, build_all
from .progress import phase_rows, workspace_status
from .syllabus import MODULES, PHASES, get
from .workspace import WorkspaceError


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
    if not written or skipped:  # a build that did not do its whole job says so
        return _error(f"tito notebooks build: {len(written)} written, {len(skipped)} skipped "
                      f"(see the reasons above)")
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
                                            "(default: found from here or $TINYTORCH_ROOT, "
                                            "else the pages shipped with this package)")
    build.set_defaults(func=_build)


# ---------------------------------------------------------------- tito grade


def _grade(args: argparse.Namespace) -> int:
    if (args.submission is None) == (args.workspace is None):
        return _error("tito grade: give either a notebook/.py file or --workspace DIR")
    try:
        report = grade(args.module, args.submission, workspace_dir=args.workspace,
                       timeout=args.timeout, seed=None if args.random_seed else args.seed,
                       tests=args.test)
    except (GradingError, KeyError, WorkspaceError) as exc:
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
    parser.add_argument("submission", nargs="?",
                        help="the student's .ipynb notebook or .py file")
    parser.add_argument("--workspace", metavar="DIR",
                        help="grade a student workspace's files instead (tito workspace init)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help="seconds one call into the student's code may take before it is "
                             f"stopped (default {DEFAULT_TIMEOUT:g})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help="seed of the inputs the tests draw (default: a fixed one)")
    parser.add_argument("--random-seed", action="store_true",
                        help="draw a fresh seed (recorded in the report)")
    parser.add_argument("--test", action="append", metavar="NAME",
                        help="run only this test (repeatable)")
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
        colour = colours.get(state.split(" (")[0], "dim")
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
    status.add_argument("--workspace", default=".",
                        help="a student workspace (tito workspace init) or a folder holding "
                             "NN_name.ipynb notebooks (default: here)")
    status.add_argument("--json", action="store_true")
    status.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT)
    status.set_defaults(func=_status)


# ---------------------------------------------------------------- tito workspace


def _ws_init(args: argparse.Namespace) -> int:
    try:
        folder = ws.init(args.directory, args.phases, force=args.force)
        pth = ws.activate(folder) if args.activate else None
    except (WorkspaceError, OSError) as exc:
        return _error(f"tito workspace init: {exc}")
    console = Console()
    stubs = ws.unwritten(folder)
    console.print(f"[green]workspace[/] {folder}: packages "
                  f"{', '.join(ws.packages_for(args.phases))}, {len(stubs)} exercises to write")
    if pth is not None:
        console.print(f"activated: {pth} puts {folder / 'src'} first on sys.path")
    else:
        console.print(f"use it: tito workspace activate {folder}  (or PYTHONPATH="
                      f"{folder / 'src'} for one command)")
    return 0


def _ws_export(args: argparse.Namespace) -> int:
    try:
        module = get(args.module) if args.module else _module_of(Path(args.notebook))
        notes = ws.export_notebook(args.directory, module, args.notebook)
    except (WorkspaceError, GradingError, KeyError) as exc:
        return _error(f"tito workspace export: {str(exc).strip(chr(39))}")
    for note in notes:
        Console(stderr=True).print(f"[yellow]{note.unit}:[/] {note.message}", highlight=False)
    Console().print(f"exported {args.notebook} ({module.stem}) into {args.directory}")
    return 1 if notes else 0


def _module_of(path: Path):
    try:
        meta = nbformat.read(path, as_version=4).metadata.get("tinytorch", {})
    except Exception:  # noqa: BLE001 - a .py file or an unreadable notebook: use the name
        meta = {}
    return get(meta.get("module") or path.stem.split("_")[0])


def _ws_activate(args: argparse.Namespace) -> int:
    try:
        pth = ws.activate(args.directory)
    except (WorkspaceError, OSError) as exc:
        return _error(f"tito workspace activate: {exc}")
    Console().print(f"activated {args.directory}: {pth}")
    return 0


def _ws_deactivate(args: argparse.Namespace) -> int:
    removed = ws.deactivate()
    Console().print("deactivated" if removed else "no workspace was active")
    return 0


def _ws_status(args: argparse.Namespace) -> int:
    try:
        info = ws.workspace_info(args.directory)
        stubs = ws.unwritten(args.directory)
    except WorkspaceError as exc:
        return _error(f"tito workspace status: {exc}")
    if args.json:
        print(json.dumps({"workspace": str(args.directory), **info,
                          "unwritten": [vars(s) for s in stubs]}, indent=2))
        return 0
    table = Table(title=f"Exercises still to write in {args.directory}", title_justify="left")
    for column in ("module", "function", "file", "line"):
        table.add_column(column)
    for s in stubs:
        table.add_row(s.course_module, s.qualname, s.module.replace(".", "/") + ".py",
                      str(s.line))
    Console().print(table if stubs else "[green]every exercise of the workspace is written")
    return 0


def register_workspace(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("workspace", help="the student's own copy of TinyTorch",
                                   allow_abbrev=False)
    actions = parser.add_subparsers(dest="workspace_command",
                                    metavar="{init,export,activate,deactivate,status}")
    actions.required = True
    init = actions.add_parser("init", help="copy the phases' packages with every exercise "
                                           "stubbed", allow_abbrev=False)
    init.add_argument("directory")
    init.add_argument("--phases", type=int, nargs="+", default=[1], metavar="N",
                      help="phases 1-4 (default 1); a phase brings the packages it needs")
    init.add_argument("--force", action="store_true", help="overwrite an existing workspace")
    init.add_argument("--activate", action="store_true",
                      help="also make this environment import the workspace's code")
    init.set_defaults(func=_ws_init)
    export = actions.add_parser("export", help="copy a notebook's solution cells into the "
                                               "workspace's files", allow_abbrev=False)
    export.add_argument("directory")
    export.add_argument("notebook")
    export.add_argument("--module", help="the course module (default: from the notebook)")
    export.set_defaults(func=_ws_export)
    activate = actions.add_parser("activate", help="import the workspace's code in this "
                                                   "environment", allow_abbrev=False)
    activate.add_argument("directory")
    activate.set_defaults(func=_ws_activate)
    deactivate = actions.add_parser("deactivate", help="import the installed library again",
                                    allow_abbrev=False)
    deactivate.set_defaults(func=_ws_deactivate)
    status = actions.add_parser("status", help="the exercises still to write",
                                allow_abbrev=False)
    status.add_argument("directory")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=_ws_status)


__all__ = ["register_grade", "register_module", "register_notebooks", "register_workspace",
           "PHASES", "get"]
