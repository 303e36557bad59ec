"""The submission's process: `python -I -S -B worker.py ENV READ_FD WRITE_FD`.

What it teaches: the sandbox side of grading. This file is copied into the sandbox
folder ENV that grader.py builds:

    ENV/src/tinytorch/...              the student's framework (no reference code in it)
    ENV/grader/tinytorch/course/...    this file and a copy of the grading tests
    ENV/deps/numpy -> ...              the third-party packages the framework needs

and started with `-I -S` (no site-packages, no PYTHONPATH, no user site: the installed
reference is not on sys.path) and `-B` (no bytecode writes). Before any student code is
imported it installs an audit hook (PEP 578) that

- refuses reads outside ENV, the standard library and the dependencies (so the
  reference cannot be found on disk: not its files, not a git checkout of it),
- stops the process at the first write to a file, process start, network use or
  ctypes call, after telling the grader why.

Then it answers the grader's requests, one JSON line each (wire.py): run test T of file F
on case C with seed S, and send back what the checks recorded, the error that stopped the
test and the first 2000 characters the student's code printed.

Systems lesson: an audit hook cannot be removed once installed, and sees every open,
import, exec and subprocess; it is not a perfect sandbox (the docs say so), which is why
the verdict never comes from this process: it only ever sends data to compare.
"""

from __future__ import annotations

import io
import os
import sys

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
STOP_EVENTS = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
               "os.fork", "os.forkpty", "pty.spawn", "os.kill", "os.killpg", "signal.pthread_kill",
               "socket.connect", "socket.bind", "socket.sendto", "socket.getaddrinfo",
               "socket.__new__", "os.remove", "os.unlink", "os.rename", "os.replace",
               "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.truncate", "os.link",
               "os.symlink", "os.utime", "shutil.rmtree", "shutil.copyfile", "shutil.copytree",
               "shutil.move", "mmap.__new__", "os.putenv", "os.unsetenv", "os.chflags")
OUTPUT_LIMIT = 2000


class _CappedOutput(io.StringIO):
    def write(self, text):
        if self.tell() < OUTPUT_LIMIT:
            super().write(text[: OUTPUT_LIMIT - self.tell()])
        return len(text)


def _send(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view):]


def _guard(trusted: tuple[str, ...], stdlib: tuple[str, ...], write_fd: int, dumps):
    """The audit hook: a closure over the readable roots and the channel.

    `trusted` (the sandbox, the linked dependencies) is readable as a whole; `stdlib`
    except its site-packages/dist-packages (a Python without a venv installs packages,
    the reference among them, inside its standard library folder)."""
    realpath, fspath = os.path.realpath, os.fspath
    installed = ("site-packages", "dist-packages")

    def under(full: str, roots: tuple[str, ...]) -> bool:
        return any(full == root or full.startswith(root + os.sep) for root in roots)

    def stop(reason: str) -> None:
        try:
            _send(write_fd, dumps({"violation": reason}))
        finally:
            os._exit(86)

    def readable(path) -> bool:
        if isinstance(path, int):
            return True
        try:
            full = realpath(fspath(path) if not isinstance(path, bytes) else path.decode())
        except (TypeError, ValueError, UnicodeDecodeError):
            return False
        if full in ("/dev/null", "/dev/urandom") or under(full, trusted):
            return True
        return under(full, stdlib) and not any(part in installed
                                               for part in full.split(os.sep))

    def hook(event: str, args: tuple) -> None:
        if event == "open":
            path, mode, flags = (tuple(args) + (None, None))[:3]
            writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or \
                (isinstance(flags, int) and flags & WRITE_FLAGS)
            if writes and not isinstance(path, int):
                stop(f"the submission tried to write the file {path!r}")
            if not readable(path):
                raise PermissionError(f"the grading sandbox does not let the submission read "
                                      f"{path!r}")
        elif event in ("os.listdir", "os.scandir", "glob.glob"):
            if args and args[0] is not None and not readable(args[0]):
                raise PermissionError(f"the grading sandbox does not let the submission list "
                                      f"{args[0]!r}")
        elif event == "os.mkdir" and args and isinstance(args[0], (str, bytes, os.PathLike)) \
                and os.path.isdir(args[0]):
            return  # makedirs(exist_ok=True) of a folder that exists changes nothing
        elif event.startswith(STOP_EVENTS) or event.startswith("ctypes."):
            stop(f"the submission tried {event} {args[:1]!r}: not allowed while grading")

    return hook


def _read_lines(fd: int):
    buffer = b""
    while True:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            yield line


def main(argv: list[str]) -> int:
    env, read_fd, write_fd = os.path.realpath(argv[0]), int(argv[1]), int(argv[2])
    sys.dont_write_bytecode = True
    roots = [os.path.join(env, "src"), os.path.join(env, "grader"), os.path.join(env, "deps")]
    sys.path[:0] = roots
    stdlib = tuple(os.path.realpath(p) for p in sys.path[len(roots):] if os.path.isdir(p))
    deps = os.path.join(env, "deps")
    targets = tuple(os.path.realpath(os.path.join(deps, name)) for name in os.listdir(deps))

    import numpy  # noqa: F401 - imported before the hook: numpy's own start-up is trusted

    if "matplotlib" in os.listdir(deps):  # builds its font cache (files, fc-list) on import
        import matplotlib.pyplot  # noqa: F401

    from tinytorch.course.grading import Student, describe, run_recorded, test_named, wire

    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    sys.stdin = io.StringIO("")
    try:
        import resource
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        memory = int(os.environ.get("TITO_SANDBOX_MEMORY", str(4 * 2**30)))
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))  # MemoryError, not an OOM
    except (ImportError, ValueError, OSError):
        pass
    sys.addaudithook(_guard((os.path.realpath(env), *targets), stdlib, write_fd, wire.dumps))

    student_root = os.path.join(env, "src") + os.sep
    for line in _read_lines(read_fd):
        request = wire.loads(line)
        output = _CappedOutput()
        sys.stdout = sys.stderr = output
        response = {"id": request.get("id")}
        try:
            test = test_named(request["file"], request["test"])
        except BaseException as exc:  # noqa: BLE001 - importing the student's code
            response.update(records=[], error=describe(exc, (student_root,)),
                            error_type=type(exc).__name__)
        else:
            records, exc = run_recorded(test, Student(request["units"]), request.get("case"),
                                        int(request["seed"]))
            response["records"] = [_sendable(r, wire) for r in records]
            response["error"] = None if exc is None else _explain(exc, student_root, describe)
            response["error_type"] = None if exc is None else type(exc).__name__
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        response["output"] = output.getvalue()
        _send(write_fd, wire.dumps(response))
    return 0


def _sendable(record: list, wire) -> list:
    try:
        wire.to_plain(record)
        return record
    except wire.WireError as exc:
        return [record[0], record[1], f"<cannot be compared: {exc}>", record[3]]


def _explain(exc: BaseException, student_root: str, describe) -> str:
    """describe(), and for a bare `raise NotImplementedError()` (nbgrader's stub) the
    function it is in."""
    text = describe(exc, (student_root,))
    if isinstance(exc, NotImplementedError) and not str(exc):
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        if tb is not None:
            code = tb.tb_frame.f_code
            name = getattr(code, "co_qualname", code.co_name)
            where = code.co_filename.removeprefix(student_root)
            text = f"{name} ({where}) is not written yet\n" + text
    return text


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
