"""Text corpora on disk: tiny-shakespeare, found (or, when allowed, downloaded) and verified.

What it teaches: a dataset loader must say where it looked. The data root is chosen by a
fixed rule, the same one every TinyTorch dataset follows:

    root=... argument  >  $TINYTORCH_DATA  >  <user cache>/data
    user cache:  $TINYTORCH_CACHE  >  $XDG_CACHE_HOME/tinytorch  >  ~/.cache/tinytorch

and the corpus lives at `<root>/tinyshakespeare/input.txt`. Nothing is downloaded unless
the caller asks (`download=True`); a download streams to a temporary file with a progress
bar, is checked against a SHA-256 digest, and only then renamed into place, so a broken
or tampered transfer never becomes "the data".

Systems lesson: 1.1 MB of text is 1,115,394 characters, i.e. ~1.1M training targets for a
character model, enough for a 0.8M-parameter model to learn spelling and verse layout in
a few CPU minutes, and small enough to keep in memory as one int64 array (8.9 MB).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import urllib.request
from pathlib import Path

from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

DATA_ENV, CACHE_ENV = "TINYTORCH_DATA", "TINYTORCH_CACHE"
TINY_SHAKESPEARE_URL = ("https://raw.githubusercontent.com/karpathy/char-rnn/master/data/"
                        "tinyshakespeare/input.txt")
TINY_SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
TINY_SHAKESPEARE_FILE = Path("tinyshakespeare") / "input.txt"


class ChecksumError(OSError):
    """A downloaded file does not have the expected SHA-256 digest."""


def cache_dir() -> Path:
    """The per-user cache directory (not created here)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "tinytorch"
    return Path.home() / ".cache" / "tinytorch"


def data_root(root=None) -> tuple[Path, str]:
    """(directory, which rule chose it)."""
    if root is not None:
        return Path(root).expanduser(), "the root argument"
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]).expanduser(), f"${DATA_ENV}"
    return cache_dir() / "data", f"the default (${DATA_ENV} is not set)"


def tiny_shakespeare_path(root=None, download: bool = False, url: str = TINY_SHAKESPEARE_URL,
                          sha256: str = TINY_SHAKESPEARE_SHA256) -> Path:
    """Path of tiny-shakespeare's input.txt, downloading it first if missing and allowed."""
    directory, rule = data_root(root)
    path = directory / TINY_SHAKESPEARE_FILE
    if path.is_file():
        return path
    if not download:
        raise FileNotFoundError(
            f"tiny-shakespeare: {path} does not exist (data root {directory}, chosen by {rule}). "
            f"Set ${DATA_ENV} to a directory holding {TINY_SHAKESPEARE_FILE}, pass root=..., "
            f"or allow the download (download=True, or --download in the milestone) from {url}")
    download_file(url, path, sha256)
    return path


def load_tiny_shakespeare(root=None, download: bool = False, **kwargs) -> str:
    """The whole corpus as one string."""
    return tiny_shakespeare_path(root, download, **kwargs).read_text(encoding="utf-8")


def download_file(url: str, path: Path, sha256: str, chunk_bytes: int = 1 << 16) -> None:
    """Stream `url` to `path` with a progress bar; verify SHA-256 before moving it in place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as file, urllib.request.urlopen(url, timeout=60) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            columns = (TextColumn(f"downloading {path.name}"), BarColumn(), DownloadColumn(),
                       TransferSpeedColumn())
            with Progress(*columns, transient=True) as progress:
                task = progress.add_task("download", total=total)
                while chunk := response.read(chunk_bytes):
                    file.write(chunk)
                    digest.update(chunk)
                    progress.update(task, advance=len(chunk))
            file.flush()
            os.fsync(file.fileno())
        if digest.hexdigest() != sha256:
            raise ChecksumError(f"download_file: {url} has SHA-256 {digest.hexdigest()}, "
                                f"expected {sha256}; the file was not saved")
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
