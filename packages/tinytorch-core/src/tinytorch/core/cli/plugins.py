"""Command groups contributed by other installed packages (entry point group `tinytorch.cli`).

What it teaches: how a plugin system works with nothing but package metadata. Every
installed distribution lists its entry points in its metadata; `importlib.metadata`
reads them, `EntryPoint.load()` imports the named object, and we call it. The protocol
(a callable `register(subparsers)`) is documented in `tinytorch.core.cli`.

Systems lesson: isolation. A plugin runs inside our process, so any exception it raises
is ours; catching it around each plugin keeps one broken package from disabling the
commands of all the others.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points

ENTRY_POINT_GROUP = "tinytorch.cli"


def discover_plugins() -> list[EntryPoint]:
    """The installed entry points of group `tinytorch.cli`, sorted by name."""
    return sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)


def register_plugins(
    subparsers: argparse._SubParsersAction, warn: Callable[[str], None]
) -> list[str]:
    """Let every plugin add its command group; return the names of those that succeeded."""
    loaded = []
    for entry_point in discover_plugins():
        before = set(subparsers.choices)
        try:
            register = entry_point.load()
            if not callable(register):
                raise TypeError(
                    f"expected a callable register(subparsers), got {type(register).__name__}"
                )
            register(subparsers)
        except Exception as exc:  # any failure in foreign code: report and carry on
            _forget_new_commands(subparsers, before)
            warn(
                f"tito: skipping plugin '{entry_point.name}' ({entry_point.value}): "
                f"{type(exc).__name__}: {exc}"
            )
            continue
        loaded.append(entry_point.name)
    return loaded


def _forget_new_commands(subparsers: argparse._SubParsersAction, before: set[str]) -> None:
    """Remove sub-commands a failed plugin added before raising, so none is half-built."""
    for name in set(subparsers.choices) - before:
        del subparsers.choices[name]
    # argparse keeps a second list for the help text; it has no public API to edit it
    subparsers._choices_actions[:] = [
        action for action in subparsers._choices_actions if action.dest in before
    ]
