"""tito: TinyTorch's command line.

    tito --version
    tito info [--json]                       what is installed and what numpy computes with
    tito milestones list [--json]            the end-to-end proofs the installed packages ship
    tito milestones run NAME|all [--quick] [milestone args ...]

What it teaches: a CLI is a thin layer over functions you can also call from Python
(`main(["info", "--json"])` is what the tests do). Each command is a sub-parser whose
`func` default handles the parsed arguments and returns the exit code.

Plugin protocol (how later packages add `tito performance ...` and friends): a package
declares an entry point in the group ``tinytorch.cli``, for example in its pyproject.toml

    [project.entry-points."tinytorch.cli"]
    performance = "tinytorch.perf.cli:register"

The entry point resolves to a callable ``register(subparsers)``, where ``subparsers`` is
the object returned by ``ArgumentParser.add_subparsers()``. It adds one command group:

    def register(subparsers):
        parser = subparsers.add_parser("performance", help="...")
        parser.set_defaults(func=run)       # run(args: argparse.Namespace) -> int | None

The handler's return value is the exit code (None means 0). A command that forwards
unknown arguments to something else may opt in with ``set_defaults(accepts_extra_args=True)``
and then finds them in ``args.extra_args``. A plugin that fails to import, raises in
``register`` or clashes with an existing command name is reported as a warning on stderr
and skipped: a broken optional package never takes the whole CLI down.

Systems lesson: entry points are how installed packages find each other without importing
each other. tinytorch.core never imports tinytorch.perf (the dependency rule); it only
reads the installed distributions' metadata, which costs a few milliseconds at start-up.
"""

from .main import build_parser, main

__all__ = ["build_parser", "main"]
