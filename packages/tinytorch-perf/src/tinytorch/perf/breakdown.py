"""Where a training step's time goes, layer by layer: forward vs backward, as a picture.

    profile = ModelProfiler(model).profile(x, loss_fn=loss_of_output)
    plot_time_breakdown(profile, "breakdown.png")          # or profile.plot("breakdown.svg")
    tito performance profile --model cnn-small --output breakdown.png

What it teaches: one horizontal bar per layer, split into its forward time and its
backward time, in the order the layers run, with each layer's share of the step. Two
things jump out that a table hides: backward usually costs about twice the forward (it
computes a gradient for the input *and* for the weights), and the cost is concentrated in
a few layers (the convolutions, the big matmuls), so those are where optimisation pays.
The "(other)" bar is what no layer owns: the loss, glue between layers and the autograd
engine's own walk.

Systems lesson: a chart of *measured* time per layer is the first thing to draw before
optimising anything; FLOP counts predict it only for layers that run near the machine's
peak (see the roofline).
"""

from __future__ import annotations

import os
from pathlib import Path

from tinytorch.core.plot import new_figure, save_figure

FORWARD_COLOUR, BACKWARD_COLOUR = "tab:blue", "tab:orange"


def plot_time_breakdown(profile, path: str | os.PathLike | None = None,
                        title: str | None = None):
    """Stacked forward/backward bars (ms) per layer of a ModelProfile; saved if `path`
    (.png or .svg) is given; returns the matplotlib Figure."""
    layers = list(profile.layers)
    if not layers:
        raise ValueError(f"plot_time_breakdown: profile {profile.name!r} has no layers")
    names = [f"{layer.name} ({layer.kind})" if layer.kind else layer.name for layer in layers]
    forward = [layer.forward_s * 1e3 for layer in layers]
    backward = [layer.backward_s * 1e3 for layer in layers]
    figure = new_figure(8.0, 1.2 + 0.38 * len(layers))
    axes = figure.subplots()
    rows = range(len(layers))
    axes.barh(rows, forward, color=FORWARD_COLOUR, label="forward")
    axes.barh(rows, backward, left=forward, color=BACKWARD_COLOUR, label="backward")
    total = max(profile.total_s * 1e3, 1e-12)
    for row, (fwd, bwd) in enumerate(zip(forward, backward)):
        axes.annotate(f"{100 * (fwd + bwd) / total:.0f}%", (fwd + bwd, row), fontsize=8,
                      xytext=(3, 0), textcoords="offset points", va="center")
    axes.set_yticks(list(rows), names, fontsize=8)
    axes.invert_yaxis()  # the first layer on top, in the order the step runs them
    axes.set_xlabel("time per training step (ms, median)")
    axes.margins(x=0.12)
    axes.grid(axis="x", alpha=0.3)
    axes.legend(loc="lower right", fontsize=8)
    axes.set_title(title or f"{profile.name}: forward {profile.forward_s * 1e3:.2f} ms + "
                            f"backward {profile.backward_s * 1e3:.2f} ms per step")
    if path is not None:
        save_figure(figure, Path(path))
    return figure
