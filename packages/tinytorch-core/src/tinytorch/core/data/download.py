"""Downloading a dataset archive: streamed, checksummed, atomic, with a progress bar.

What it teaches: a download is only done when it is verified. The file is streamed in
1 MiB chunks into a temporary file next to its destination (`tinytorch.core.atomic`)
while an md5 (the checksum the dataset authors publish) and a sha256 are computed on the
fly; only if the checksum matches is the file renamed into place. A cut connection or a
corrupted mirror therefore never leaves a file that the next run would trust.

A failed attempt (a cut connection, a checksum that does not match) is retried from the
start, a few times, because each attempt leaves nothing behind: restarting is always safe.
`TINYTORCH_OFFLINE=1` forbids downloads altogether (`download_allowed`), for machines that
must never reach the network.

Systems lesson: streaming keeps memory flat (one chunk, not the whole 163 MB), and
hashing while downloading costs no second pass over the data.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from pathlib import Path

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from ..atomic import atomic_open

CHUNK_BYTES = 1 << 20
OFFLINE_ENV = "TINYTORCH_OFFLINE"
ATTEMPTS = 3


class ChecksumError(OSError):
    """A downloaded file does not have the checksum its publisher gives; it was not kept."""


def file_md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def offline() -> bool:
    """True when $TINYTORCH_OFFLINE is set to something other than "", "0" or "false"."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def download_allowed(requested: bool = True) -> bool:
    """A download happens only when the caller asks for it and the machine is not offline."""
    return requested and not offline()


def download_url(url: str, destination: Path, md5: str | None = None,
                 sha256: str | None = None, timeout: float = 30.0,
                 progress: bool = True, attempts: int = ATTEMPTS) -> Path:
    """Fetch `url` into `destination`, verifying md5 and/or sha256 when given.

    Up to `attempts` tries; a try that fails leaves nothing behind, so the next one starts
    clean. The last failure is raised (ConnectionError or ChecksumError).
    """
    if offline():
        raise ConnectionError(f"download: refusing to fetch {url}: ${OFFLINE_ENV} is set "
                              f"(unset it to allow downloads)")
    if attempts < 1:
        raise ValueError(f"download: attempts must be >= 1, got {attempts}")
    destination = Path(destination)
    for _ in range(attempts - 1):
        try:
            return _attempt(url, destination, md5, sha256, timeout, progress)
        except (ConnectionError, ChecksumError):
            continue  # the failed attempt left nothing behind: start again
    return _attempt(url, destination, md5, sha256, timeout, progress)


def _attempt(url, destination: Path, md5, sha256, timeout: float, progress: bool) -> Path:
    with atomic_open(destination, "wb") as file:
        digests = _stream(url, file, timeout, progress)
        _verify(url, digests, md5, sha256)  # raising here discards the temporary file
    return destination


def _stream(url: str, file, timeout: float, progress: bool) -> dict[str, str]:
    try:
        response = urllib.request.urlopen(url, timeout=timeout)
    except (urllib.error.URLError, OSError) as error:
        raise ConnectionError(f"download: could not fetch {url}: {error}") from error
    try:
        with response:
            return _copy(url, response, file, progress)
    except (http.client.HTTPException, OSError) as error:  # a cut connection, a timeout
        raise ConnectionError(f"download: transfer of {url} broke off: "
                              f"{type(error).__name__}: {error}") from error


def _copy(url: str, response, file, progress: bool) -> dict[str, str]:
    md5, sha256 = hashlib.md5(), hashlib.sha256()
    total = response.headers.get("Content-Length")
    received = 0
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
               TransferSpeedColumn(), TimeRemainingColumn())
    with Progress(*columns, disable=not progress, transient=False) as bar:
        task = bar.add_task(f"downloading {url.rsplit('/', 1)[-1]}",
                            total=int(total) if total else None)
        while chunk := response.read(CHUNK_BYTES):
            file.write(chunk)
            md5.update(chunk)
            sha256.update(chunk)
            bar.advance(task, len(chunk))
            received += len(chunk)
    if total is not None and received != int(total):  # urllib reports an early close as EOF
        raise ConnectionError(f"download: transfer of {url} broke off after {received:,} of "
                              f"{int(total):,} bytes")
    return {"md5": md5.hexdigest(), "sha256": sha256.hexdigest()}


def _verify(url: str, digests: dict, md5: str | None, sha256: str | None) -> None:
    for name, expected in (("md5", md5), ("sha256", sha256)):
        if expected is not None and digests[name] != expected.lower():
            raise ChecksumError(
                f"download: {name} checksum mismatch for {url}: expected {expected}, got "
                f"{digests[name]}. The file was discarded; the download was cut short or the "
                f"server sent a different file. Try again, or fetch it by hand.")
