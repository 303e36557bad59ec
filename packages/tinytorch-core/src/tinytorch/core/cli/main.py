"""The `tito` entry point: build the parser, add plugin command groups, dispatch.

What it teaches: `main(argv)` takes the argument list and returns an exit code instead of
calling `sys.exit`, so the whole CLI can be driven and tested in-process.

Systems lesson: start-up cost. Every `tito` call imports numpy and scans the installed
packages' metadata for plugins; that is tens of milliseconds, paid before any work.
"""

from __future__ import annotations

import argparse
import sys

from rich.console import Console

from ..__about__ import __version__
from . import info, milestones
from .plugins import register_plugins

BUILTIN_COMMANDS = (info.register, milestones.register)


def _warn(message: str) -> None:
    Console(stderr=True, soft_wrap=True).print(f"[yellow]warning:[/] {message}",
                                            highlight=False)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tito",
        description="TinyTorch's command line: environment info, milestones and the command "
                    "groups of installed TinyTorch packages.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"tito (tinytorch-core) "
                        f"{__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in BUILTIN_COMMANDS:
        register(subparsers)
    register_plugins(subparsers, warn=_warn)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run tito with `argv` (default: sys.argv[1:]) and return the exit code."""
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
        if extra and not getattr(args, "accepts_extra_args", False):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exc:  # argparse exits on --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else 0
    args.extra_args = extra
    if getattr(args, "func", None) is None:  # no command given
        parser.print_help()
        return 2
    result = args.func(args)
    return 0 if result is None else int(result)
