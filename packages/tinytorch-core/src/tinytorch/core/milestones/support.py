"""What every milestone script shares: the data options, one message for missing data, the
table of claims, the picture report.

The data policy of the main job (DESIGN.md, Data):
- a full run downloads a missing data set on first use (a progress bar, a checksum,
  atomic placement in the data root); later runs find it there;
- `--no-download` or `TINYTORCH_OFFLINE=1` turns that off;
- a quick run never downloads: it uses the real data when present, else a small shipped
  sample or a clearly labelled stand-in, and it never claims a target it did not measure
  on real data;
- without the data and without a download, the milestone stops at once with one message
  saying where it looked, what to fetch from where, and how to point TINYTORCH_DATA at a
  copy, and exits with EXIT_NO_DATA so `run all` can report it and go on.
"""

from __future__ import annotations

import argparse
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..data import DATA_ENV, OFFLINE_ENV, ChecksumError, offline
from ..plot import PLOT_EXTRA, PlottingUnavailableError, save_report
from .catalog import EXIT_NO_DATA


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """`--data-dir DIR` and `--no-download`, the same in every milestone."""
    parser.add_argument("--data-dir", "--root", dest="data_dir", default=None,
                        help=f"data root (default: ${DATA_ENV}, else the user cache)")
    parser.add_argument("--no-download", action="store_true",
                        help=f"never download a missing data set (also: {OFFLINE_ENV}=1)")


def may_download(args: argparse.Namespace) -> bool:
    """A full run may download; a quick run, `--no-download` or offline mode may not."""
    return not (getattr(args, "quick", False) or args.no_download or offline())


DATA_ERRORS = (FileNotFoundError, ConnectionError, ChecksumError)


def no_data(console: Console, milestone: str, error: Exception, url: str) -> int:
    """Print the one message for a data set that is missing and was not fetched."""
    why = ("downloads are off (--no-download or $" + OFFLINE_ENV + ")"
           if not isinstance(error, ConnectionError | ChecksumError) else "the download failed")
    console.print(f"[bold red]{milestone}: cannot run, its data is missing and {why}.[/]\n"
                  f"{error}\n"
                  f"To fix: run it online (it downloads {url} into the data root once), or "
                  f"download that file yourself and set {DATA_ENV}=/path/to/data (or pass "
                  f"--data-dir).", highlight=False, soft_wrap=True)
    return EXIT_NO_DATA


def claims_table(title: str, rows: list[tuple[str, str, str, bool | None]]) -> Table:
    """(claim, target, achieved, holds) rows; `None` marks a figure that is only reported."""
    table = Table(title=title, title_justify="left")
    for column in ("claim", "target", "achieved", "status"):
        table.add_column(column)
    for claim, target, achieved, ok in rows:
        status = "reported" if ok is None else "[green]holds" if ok else "[red]FAILS"
        table.add_row(claim, target, achieved, status)
    return table


REPORTS_ENV = "TINYTORCH_REPORTS"  # also copy every report to $TINYTORCH_REPORTS/<milestone>/


def write_report(draw: Callable[[], object], path: str | Path, console: Console,
                 milestone: str) -> list[Path]:
    """Draw the milestone's picture (`draw()` returns a matplotlib Figure) and save it as
    `<path>.png` and `.svg`; print where. Without matplotlib the run goes on and says which
    extra draws it: a missing picture never fails a milestone whose claims held.

    With $TINYTORCH_REPORTS set, the files are also copied to `$TINYTORCH_REPORTS/<milestone>/`
    (how `nox -s milestones` collects the pictures the course website shows)."""
    try:
        written = save_report(draw(), path)
    except PlottingUnavailableError:
        console.print(f"[yellow]no picture report: matplotlib is not installed "
                      f"(pip install \"{escape(PLOT_EXTRA)}\")", highlight=False)
        return []
    console.print(f"report: {written[0]} (and {written[1].name})", highlight=False,
                  soft_wrap=True)
    if os.environ.get(REPORTS_ENV):
        collected = Path(os.environ[REPORTS_ENV]) / milestone
        collected.mkdir(parents=True, exist_ok=True)
        for file in written:
            shutil.copyfile(file, collected / file.name)
    return written
