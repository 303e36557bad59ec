"""Text corpora on disk: tiny-shakespeare, found (or, when allowed, downloaded) and verified.

What it teaches: a dataset loader must say where it looked. The data root is chosen by a
fixed rule, the same one every TinyTorch dataset follows (tinytorch.core.data.paths):

    root=... argument  >  $TINYTORCH_DATA  >  <user cache>/data
    user cache:  $TINYTORCH_CACHE  >  $XDG_CACHE_HOME/tinytorch  >  ~/.cache/tinytorch

and the corpus lives at `<root>/tinyshakespeare/input.txt`. Nothing is downloaded unless
the caller asks (`download=True`); core's `download_url` streams to a temporary file with
a progress bar, checks a SHA-256 digest, and only then renames it into place, so a broken
or tampered transfer never becomes "the data".

Systems lesson: 1.1 MB of text is 1,115,394 characters, i.e. ~1.1M training targets for a
character model, enough for a 0.8M-parameter model to learn spelling and verse layout in
a few CPU minutes, and small enough to keep in memory as one int64 array (8.9 MB).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from tinytorch.core.data import DATA_ENV, ChecksumError, cache_dir, data_root, download_url

__all__ = ["ChecksumError", "cache_dir", "data_root", "load_tiny_shakespeare",
           "shakespeare_sample", "tiny_shakespeare_path"]

TINY_SHAKESPEARE_URL = ("https://raw.githubusercontent.com/karpathy/char-rnn/master/data/"
                        "tinyshakespeare/input.txt")
TINY_SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
TINY_SHAKESPEARE_FILE = Path("tinyshakespeare") / "input.txt"


def tiny_shakespeare_path(root=None, download: bool = False, url: str | None = None,
                          sha256: str | None = None) -> Path:
    """Path of tiny-shakespeare's input.txt, downloading it first if missing and allowed
    (from `url`, default TINY_SHAKESPEARE_URL, checked against `sha256`)."""
    url = url or TINY_SHAKESPEARE_URL
    sha256 = sha256 or TINY_SHAKESPEARE_SHA256
    directory, rule = data_root(root)
    path = directory / TINY_SHAKESPEARE_FILE
    if path.is_file():
        return path
    if not download:
        raise FileNotFoundError(
            f"tiny-shakespeare: {path} does not exist (data root {directory}, chosen by {rule}). "
            f"Set ${DATA_ENV} to a directory holding {TINY_SHAKESPEARE_FILE}, pass root=..., "
            f"or allow the download (download=True; milestone 04 downloads it unless "
            f"--no-download) from {url}")
    download_url(url, path, sha256=sha256)
    return path


def load_tiny_shakespeare(root=None, download: bool = False, **kwargs) -> str:
    """The whole corpus as one string."""
    return tiny_shakespeare_path(root, download, **kwargs).read_text(encoding="utf-8")


def shakespeare_sample() -> str:
    """The first ~40,000 characters of tiny-shakespeare, shipped with the package (see
    corpora/README.md): real text for smoke runs on a machine without the data."""
    sample = resources.files("tinytorch.language") / "corpora" / "shakespeare_sample.txt"
    return sample.read_text(encoding="utf-8")
