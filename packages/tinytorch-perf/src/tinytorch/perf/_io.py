"""Atomic file writes: a report, a CSV or a plot is either the old file or the new one.

What it teaches: `open(path, "w")` truncates the file first, so a crash (or Ctrl-C) in the
middle of writing leaves a half-written file where a good one was. Writing to a temporary
file in the *same directory* and then `os.replace`-ing it over the target is atomic on
POSIX and Windows: readers see either the complete old file or the complete new one.

Systems lesson: the temporary file must live on the same file system as the target,
otherwise the rename becomes a copy and is no longer atomic.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to `path`; on success it replaces `path`, else it is removed.

    The temporary name keeps the target's suffix, so tools that pick a format from the file
    extension (matplotlib's `savefig`) write the right one.
    """
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(f"atomic write: {target} is a directory; expected a file path")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=target.suffix,
                                     dir=target.parent)
    os.close(fd)
    temp = Path(temp_name)
    try:
        yield temp
        os.replace(temp, target)
    finally:
        if temp.exists():
            temp.unlink()


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically; return the path."""
    with atomic_path(path) as temp:
        temp.write_text(text, encoding="utf-8", newline="")
    return Path(path)


def atomic_write_with(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call `write(temp_path)` and move the result over `path` atomically; return the path."""
    with atomic_path(path) as temp:
        write(temp)
    return Path(path)
