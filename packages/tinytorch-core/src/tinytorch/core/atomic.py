"""Atomic file writes: a checkpoint, a cache or a report is either the old file or the new one.

    with atomic_open("runs/report.json", "w") as file:  # a file object, for json, bytes, ...
        json.dump(report, file)
    with atomic_path("plots/roofline.png") as temp:  # a path, for tools that open it themselves
        figure.savefig(temp)

What it teaches: `open(path, "w")` truncates the file first, so a crash (or Ctrl-C, or a
checksum that does not match) in the middle of writing leaves a half-written file where a
good one was. Writing to a temporary file in the *same directory* and then `os.replace`-ing
it over the target is atomic on POSIX and Windows: readers see either the complete old file
or the complete new one. If the block raises, the temporary file is removed and the target
is untouched.

Systems lessons: the temporary file must live on the same file system as the target,
otherwise the rename becomes a copy and is no longer atomic. And the data must be on disk
(`fsync`) before the rename: otherwise a power cut can leave the new name pointing at
blocks the operating system had not yet written.

Debris: a process killed mid-write (SIGKILL, power cut) cannot clean up, so its temporary
file stays. Temporary names carry the writer's process id (`.best.npz.tmp-4242-1a2b3c4d.npz`),
and every write into a directory first removes the temporaries of writers that are gone.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, keep_suffix: bool = True) -> Iterator[Path]:
    """Yield a temporary path next to `path`; on success it replaces `path`, else it is removed.

    The temporary name keeps the target's suffix, so tools that pick a format from the file
    extension (matplotlib's `savefig`) write the right one; `keep_suffix=False` drops it
    where the suffix itself acts (a half-written `.pth` in site-packages would be run).
    """
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(f"atomic write: {target} is a directory; expected a file path")
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(target.parent)
    temp = target.with_name(f".{target.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
                            f"{target.suffix if keep_suffix else ''}")
    temp.touch(exist_ok=False)  # reserve the name, with the usual (umask) permissions
    try:
        yield temp
        _fsync(temp)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb",
                encoding: str = "utf-8", keep_suffix: bool = True) -> Iterator[IO]:
    """Yield a file open for writing ("wb" or "w"); on success it replaces `path` atomically.

    Text mode writes exactly the characters given (no newline translation).
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_open: mode must be 'wb' or 'w', got {mode!r}")
    text = {"encoding": encoding, "newline": ""} if mode == "w" else {}
    with atomic_path(path, keep_suffix) as temp, open(temp, mode, **text) as file:
        yield file


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write `text` to `path` atomically; return the path."""
    with atomic_open(path, "w", encoding=encoding) as file:
        file.write(text)
    return Path(path)


def atomic_write_with(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call `write(temp_path)` and move the result over `path` atomically; return the path."""
    with atomic_path(path) as temp:
        write(temp)
    return Path(path)


_TEMP = re.compile(r"^\..+\.tmp-(\d+)-[0-9a-f]{8}(\.[^.]*)?$")
_STAGING = re.compile(r"^\.staging-(\d+)-")
STALE_AFTER_SECONDS = 3600.0  # where process ids cannot be checked (Windows)


def remove_stale_temps(directory: str | os.PathLike) -> list[Path]:
    """Remove the temporary files (and `.staging-PID-*` folders) that writes killed mid-way
    left in `directory`; return what was removed.

    Each temporary name carries its writer's process id, so a file is only removed once
    that process is gone: a write in progress in another process is never disturbed."""
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        match = _TEMP.match(name) or _STAGING.match(name)
        path = Path(directory) / name
        if match is None or not _writer_gone(int(match.group(1)), path):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def _writer_gone(pid: int, path: Path) -> bool:
    if pid == os.getpid():
        return False
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process on Windows
        try:
            return time.time() - path.stat().st_mtime > STALE_AFTER_SECONDS
        except OSError:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # PermissionError: alive, owned by someone else
        return False
    return False


def _fsync(path: Path) -> None:
    # opened for writing: Windows only flushes handles that may write
    fd = os.open(path, os.O_RDWR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
