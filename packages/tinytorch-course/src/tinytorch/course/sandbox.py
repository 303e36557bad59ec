"""The grading sandbox: a folder built from the student's work, and a process running in it.

What it teaches: to grade code without trusting it, run it where the answer is not.
`build` makes the folder worker.py describes (the student's framework, a copy of the
grading tests, links to numpy and the other third-party packages, no TinyTorch
reference); `Sandbox` starts `python -I -S -B worker.py` there, sends it requests and
reads its answers with a time limit. A process that dies, loops past the limit or breaks
a sandbox rule is killed and restarted for the next test, so one bad function costs only
the tests that call it.

Systems lesson: starting an interpreter and importing numpy costs ~0.2 s; a sandbox that
lives for the whole grading run pays it once, and again only after a test killed it.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import itertools
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from . import workspace
from .grading import wire
from .syllabus import CourseModule

COURSE_ROOT = Path(__file__).resolve().parent
_SHORT = {"tinytorch-core": "core", "tinytorch-vision": "vision",
          "tinytorch-language": "language", "tinytorch-perf": "perf",
          "tinytorch-mlops": "mlops"}


class SandboxDiedError(Exception):
    """The submission's process stopped (exit, crash, time limit, sandbox rule)."""


# ---------------------------------------------------------------- the folder


def packages_for(module: CourseModule) -> list[str]:
    """The TinyTorch packages a module's grading needs: its own and what it depends on."""
    chosen, todo = [], [module.package]
    while todo:
        dist = todo.pop()
        if dist in chosen:
            continue
        chosen.append(dist)
        todo += [r for r in _requirements(dist) if r in _SHORT]
    return sorted((_SHORT[d] for d in chosen), key=list(_SHORT.values()).index)


def _requirements(dist: str) -> list[str]:
    try:
        requires = importlib.metadata.requires(dist) or []
    except importlib.metadata.PackageNotFoundError:
        return []
    names = []
    for requirement in requires:
        if "extra ==" in requirement:
            continue
        marker = requirement.split(";", 1)[1] if ";" in requirement else ""
        if marker and not _marker_holds(marker):
            continue
        names.append(re.split(r"[\s<>=!~\[;(]", requirement.strip(), maxsplit=1)[0].lower())
    return names


def _marker_holds(marker: str) -> bool:
    match = re.search(r"python_version\s*<\s*'(\d+)\.(\d+)'", marker)
    if match:
        return sys.version_info[:2] < (int(match.group(1)), int(match.group(2)))
    return True


def dependency_paths(packages: list[str]) -> dict[str, Path]:
    """{top-level name: path} of every third-party import the packages need (recursive)."""
    seen, todo, paths = set(), [], {}
    for package in packages:
        todo += [r for r in _requirements(f"tinytorch-{package}") if r not in _SHORT]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        for top in _top_level(dist):
            location = Path(dist.locate_file(top))
            for candidate in (location, location.with_suffix(".py")):
                if candidate.exists():
                    paths[candidate.name] = candidate
            libs = Path(dist.locate_file(f"{top}.libs"))  # manylinux wheels' shared libraries
            if libs.is_dir():
                paths[libs.name] = libs
        todo += [r for r in _requirements(name) if r not in _SHORT]
    return paths


def _top_level(dist) -> list[str]:
    text = dist.read_text("top_level.txt")
    if text:
        return [line.strip() for line in text.splitlines() if line.strip()]
    tops = set()
    for file in dist.files or []:
        first = file.parts[0]
        if first.endswith((".dist-info", ".data")) or first == "..":
            continue
        tops.add(first.removesuffix(".py"))
    return sorted(t for t in tops if t.isidentifier())


def build(env: Path, module: CourseModule, codes: dict[str, str] | None = None,
          student_src: Path | None = None) -> list[workspace.ExportNote]:
    """Make the sandbox folder for grading `module`.

    From a notebook or .py file (`codes`: unit -> cell code): every region of a module
    before this one is filled in (earlier notebooks show those solutions anyway), this
    module's and later ones are stubs, then the submission's cells are exported in.
    From a workspace (`student_src`): the student's own files, as they are."""
    packages = packages_for(module)
    if student_src is not None:
        for package in packages:
            folder = student_src / "tinytorch" / package
            if not folder.is_dir():
                raise workspace.WorkspaceError(
                    f"the workspace has no tinytorch/{package}: module {module.stem} needs "
                    f"it (tito workspace init DIR --phases {module.phase.number})")
            shutil.copytree(folder, env / "src" / "tinytorch" / package,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        notes = []
    else:
        def earlier(region):
            owner = workspace.region_owner(region.key)
            return owner is not None and owner.number < module.number

        workspace.write_packages(env / "src", packages, keep=earlier)
        notes = workspace.export_code(env / "src", module, codes or {})
    grader = env / "grader" / "tinytorch" / "course"
    (grader / "grading").mkdir(parents=True)
    (grader / "__init__.py").write_text('"""Grading tests only (sandbox copy)."""\n')
    shutil.copyfile(COURSE_ROOT / "worker.py", grader / "worker.py")
    for path in (COURSE_ROOT / "grading").glob("*.py"):
        shutil.copyfile(path, grader / "grading" / path.name)
    deps = env / "deps"
    deps.mkdir()
    for name, path in dependency_paths(packages).items():
        (deps / name).symlink_to(path, target_is_directory=path.is_dir())
    (env / "run" / "matplotlib").mkdir(parents=True)
    return notes


# ---------------------------------------------------------------- the process


class Sandbox:
    """One worker process in `env`, restarted after it dies."""

    def __init__(self, env: Path):
        self.env = env
        self.process: subprocess.Popen | None = None
        self._ids = itertools.count(1)
        self._buffer = b""
        self.starts = 0

    def _start(self) -> None:
        child_read, parent_write = os.pipe()
        parent_read, child_write = os.pipe()
        self._stderr = open(self.env / "stderr.txt", "wb")  # noqa: SIM115 - closed in _stop
        environ = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.env / "run"),
                   "LANG": "C.UTF-8", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                   "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg",
                   "MPLCONFIGDIR": str(self.env / "run" / "matplotlib"),
                   # importing the submission's tinytorch.core would otherwise set malloc's
                   # policy through ctypes, which the worker's guard stops
                   "TINYTORCH_KEEP_FREED_MEMORY": "0"}
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-S", "-B", str(self.env / "grader" / "tinytorch" / "course"
                                                   / "worker.py"),
             str(self.env), str(child_read), str(child_write)],
            pass_fds=(child_read, child_write), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=self._stderr, cwd=self.env / "run", env=environ,
            start_new_session=True)
        os.close(child_read)
        os.close(child_write)
        self._read, self._write = parent_read, parent_write
        self._buffer = b""
        self.starts += 1

    def _stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        for fd in (self._read, self._write):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._stderr.close()
        self.process = None

    def close(self) -> None:
        self._stop()

    def call(self, request: dict, timeout: float) -> dict:
        """Send one request; return the matching response, or raise SandboxDiedError."""
        if self.process is None:
            self._start()
        request = dict(request, id=next(self._ids))
        try:
            os.write(self._write, wire.dumps(request))
        except (BrokenPipeError, OSError):
            raise SandboxDiedError(self._death("before it could read the test")) from None
        deadline = time.monotonic() + timeout
        while True:
            line = self._next_line(deadline, timeout)
            try:
                message = wire.loads(line)
            except wire.WireError as exc:
                self._stop()
                raise SandboxDiedError(f"the submission's process sent something that is not a "
                                  f"grading message ({exc}): stopped") from None
            if "violation" in message:
                self._stop()
                raise SandboxDiedError(f"stopped: {message['violation']}")
            if message.get("id") == request["id"]:
                return message
            # anything else was written by the submission itself: ignore it

    def _next_line(self, deadline: float, timeout: float) -> bytes:
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._stop()
                raise SandboxDiedError(f"stopped after {timeout:g} s: the submission's code took "
                                  "too long (an infinite loop?)")
            ready, _, _ = select.select([self._read], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise SandboxDiedError(self._death("during this test"))
            self._buffer += chunk
            if len(self._buffer) > wire.MAX_MESSAGE:
                self._stop()
                raise SandboxDiedError("the submission's process sent too much data: stopped")
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line

    def _death(self, when: str) -> str:
        process = self.process
        code = process.wait() if process is not None else None
        self._stop()
        tail = ""
        with contextlib.suppress(OSError):
            tail = (self.env / "stderr.txt").read_text(errors="replace").strip()[-600:]
        reason = f"the submission's process exited (exit code {code}) {when}"
        return reason + (f":\n{tail}" if tail else "")
