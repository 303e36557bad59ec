"""tinytorch.core.atomic: a write either lands completely or leaves the old file untouched."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tinytorch.core import atomic


def test_write_text_and_binary(tmp_path):
    target = tmp_path / "new" / "report.txt"  # missing parent folders are created
    assert atomic.atomic_write_text(target, "line\r\nzwei é\n") == target
    assert target.read_bytes() == "line\r\nzwei é\n".encode()  # no newline translation
    with atomic.atomic_open(target) as file:
        file.write(b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert sorted(os.listdir(target.parent)) == ["report.txt"]


@pytest.mark.parametrize("write", [
    lambda path: atomic.atomic_open(path, "w"),
    lambda path: atomic.atomic_open(path, "wb"),
    lambda path: atomic.atomic_path(path),
])
def test_exception_keeps_old_file_and_leaves_no_temp(tmp_path, write):
    target = tmp_path / "data.json"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt), write(target) as handle:
        if isinstance(handle, os.PathLike):
            handle.write_text("half a")
        else:
            handle.write("half a" if "b" not in handle.mode else b"half a")
        raise KeyboardInterrupt
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["data.json"]


def test_replace_happens_after_the_file_is_complete(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append((os.path.dirname(src), Path(src).read_text()))
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", spy)
    atomic.atomic_write_text(tmp_path / "a.txt", "complete")
    assert seen == [(str(tmp_path), "complete")]  # same directory: same file system


def test_temp_path_keeps_suffix(tmp_path):
    def write(temp):
        assert temp.suffix == ".png" and temp.parent == tmp_path and temp.name.startswith(".")
        temp.write_bytes(b"png")

    assert atomic.atomic_write_with(tmp_path / "plot.png", write).read_bytes() == b"png"


def test_directory_target_is_an_error(tmp_path):
    with pytest.raises(IsADirectoryError, match=str(tmp_path)):
        atomic.atomic_write_text(tmp_path, "x")
    with pytest.raises(ValueError, match="mode must be"), atomic.atomic_open(tmp_path / "f", "a"):
        pass


def test_stale_temporaries_of_dead_writers_are_removed_live_ones_kept(tmp_path):
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(dead.stdout)  # reaped by run(): no process has this id now
    stale = tmp_path / f".best.ckpt.tmp-{dead_pid}-0123abcd.ckpt"
    staging = tmp_path / f".staging-{dead_pid}-xyz"
    live = tmp_path / f".best.ckpt.tmp-{os.getppid()}-0123abcd.ckpt"  # our parent is alive
    stale.write_bytes(b"half")
    staging.mkdir()
    live.write_bytes(b"in progress")
    atomic.atomic_write_text(tmp_path / "other.txt", "x")  # any write cleans its folder
    assert sorted(os.listdir(tmp_path)) == [live.name, "other.txt"]
