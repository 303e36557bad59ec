"""Where data and caches live: explicit argument, else environment, else a user directory.

What it teaches: a library must never guess silently where your 170 MB of images are,
nor write caches into your source tree. The rule (the same for every dataset):

    data root:  root=... argument  >  $TINYTORCH_DATA  >  <user cache>/data
    cache:      $TINYTORCH_CACHE  >  $XDG_CACHE_HOME/tinytorch  >  ~/.cache/tinytorch

and the answer says which rule it used, so an error can tell you where it looked and why.

Systems lesson: decoded data is a cache, never the source of truth; keep it outside the
repository and keyed by what it was derived from, so a changed source rebuilds it.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV = "TINYTORCH_DATA"
CACHE_ENV = "TINYTORCH_CACHE"


def cache_dir() -> Path:
    """The user-level cache directory (not created here)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "tinytorch"
    return Path.home() / ".cache" / "tinytorch"


def data_root(root=None) -> tuple[Path, str]:
    """(directory, how it was chosen) following the rule in the module docstring."""
    if root is not None:
        return Path(root).expanduser(), "the root argument"
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]).expanduser(), f"${DATA_ENV}"
    return cache_dir() / "data", f"the default (${DATA_ENV} is not set)"
