"""Pictures without a window: draw with matplotlib off-screen, save atomically as PNG or SVG.

    figure = new_figure(8, 4)                      # a matplotlib Figure, no pyplot, no window
    axes = figure.subplots(1, 2)
    ...
    save_figure(figure, "runs/loss.png")            # the suffix picks the format
    save_report(figure, "runs/report.png")          # report.png and report.svg
    pixels = read_png("runs/loss.png")              # (height, width, 4) floats in [0, 1]

What it teaches: a plot is a file a program writes, like a checkpoint. Training runs on
servers and in CI, where there is no display; `matplotlib.pyplot` picks an interactive
backend when it finds one and `plt.show()` blocks until the window closes. Building a
`matplotlib.figure.Figure` directly and calling its `savefig` renders with the Agg
(raster) or SVG backend and never touches the global backend, so a plot can neither block
nor change the backend of the notebook that called it. Jupyter still displays a returned
Figure inline.

Systems lesson: matplotlib is a large dependency (fonts, a C++ rasteriser) that most of
tinytorch-core does not need, so it is an optional extra: `pip install "tinytorch-core[plot]"`.
It is imported only when a picture is drawn, and its absence is reported with the extra
to install, not as a bare ImportError from deep inside.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .atomic import atomic_path

PLOT_EXTRA = "tinytorch-core[plot]"
FORMATS = (".png", ".svg")
DPI = 100


class PlottingUnavailableError(ImportError):
    """matplotlib is not installed: install the `plot` extra."""


def matplotlib_figure_class():
    """`matplotlib.figure.Figure`, or PlottingUnavailableError naming the extra to install."""
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise PlottingUnavailableError(
            f"drawing a picture needs matplotlib, which is not installed ({error}). "
            f'Install it with: pip install "{PLOT_EXTRA}"') from error
    return Figure


def plotting_available() -> bool:
    try:
        matplotlib_figure_class()
    except PlottingUnavailableError:
        return False
    return True


def new_figure(width: float, height: float):
    """An off-screen Figure of `width` x `height` inches with a constrained layout."""
    if not all(isinstance(v, (int, float)) and v > 0 for v in (width, height)):
        raise ValueError(f"new_figure: width and height must be positive inches, got "
                         f"{width!r} x {height!r}")
    return matplotlib_figure_class()(figsize=(width, height), dpi=DPI, layout="constrained")


def save_figure(figure, path: str | os.PathLike) -> Path:
    """Save `figure` to `path` (format from its suffix, .png or .svg), atomically."""
    target = Path(path)
    if target.suffix.lower() not in FORMATS:
        raise ValueError(f"save_figure: {target} has type {target.suffix!r}; expected one of "
                         f"{', '.join(FORMATS)}")
    with atomic_path(target) as temp:
        figure.savefig(temp, dpi=DPI, format=target.suffix.lower().lstrip("."))
    return target


def save_report(figure, path: str | os.PathLike) -> list[Path]:
    """Save `figure` as both `<stem>.png` and `<stem>.svg` next to each other."""
    target = Path(path)
    if target.suffix.lower() not in ("", *FORMATS):
        raise ValueError(f"save_report: {target} has type {target.suffix!r}; give a .png or "
                         ".svg path (both are written)")
    stem = target.with_suffix("")
    return [save_figure(figure, stem.with_name(stem.name + suffix)) for suffix in FORMATS]


def read_png(path: str | os.PathLike) -> np.ndarray:
    """The pixels of a PNG file: (height, width, channels) float32 in [0, 1]."""
    target = Path(path)
    with open(target, "rb") as file:
        if file.read(8) != b"\x89PNG\r\n\x1a\n":
            raise ValueError(f"read_png: {target} is not a PNG file (bad signature)")
    matplotlib_figure_class()  # the clear error when matplotlib is missing
    from matplotlib.image import imread

    return np.asarray(imread(target), dtype=np.float32)
