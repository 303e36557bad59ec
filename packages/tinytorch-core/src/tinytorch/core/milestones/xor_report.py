"""Milestone 01's picture: the decision boundary of the linear model next to the MLP's.

What it teaches: "a linear model cannot learn XOR" becomes visible. Each panel colours
the plane by the model's P(class 1) and draws its decision boundary (P = 0.5) through the
four points. The linear model's boundary is one straight line, so at least one point is
always on the wrong side; the ReLU MLP's boundary bends (it is piecewise linear, one piece
per region its hidden units carve out) and encloses the two 1s.
"""

from __future__ import annotations

import numpy as np

from .. import no_grad, tensor
from ..plot import new_figure

GRID = 121  # points per axis: fine enough that the ReLU kinks show
LIMITS = (-0.5, 1.5)


def logit_grid(model, size: int = GRID) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xs, ys, logit) of `model` on a size x size grid over LIMITS, in one batched forward."""
    axis = np.linspace(*LIMITS, size, dtype=np.float32)
    xs, ys = np.meshgrid(axis, axis)
    points = np.stack([xs.ravel(), ys.ravel()], axis=1)
    with no_grad():
        logits = model(tensor(points)).numpy().reshape(size, size)
    return xs, ys, logits


def draw_decision_boundaries(models: list[tuple[str, object]], inputs, targets):
    """One panel per (title, model): P(1) as colour, the P = 0.5 line, the four points."""
    inputs, targets = np.asarray(inputs, np.float32), np.asarray(targets).ravel()
    figure = new_figure(5.0 * len(models), 4.4)
    axes = figure.subplots(1, len(models), squeeze=False)[0]
    for ax, (title, model) in zip(axes, models):
        xs, ys, logits = logit_grid(model)
        shading = ax.contourf(xs, ys, 1 / (1 + np.exp(-logits)), levels=np.linspace(0, 1, 11),
                              cmap="RdBu_r", alpha=0.8)
        # the boundary from the logit (= 0), so a model that says ~0.5 everywhere still shows it
        if logits.min() < 0 < logits.max():
            ax.contour(xs, ys, logits, levels=[0.0], colors="black", linewidths=2)
        with no_grad():
            predicted = (model(tensor(inputs)).numpy().ravel() > 0).astype(int)
        correct = predicted == targets
        for marker, chosen in (("o", correct), ("X", ~correct)):
            ax.scatter(inputs[chosen, 0], inputs[chosen, 1], c=targets[chosen], cmap="RdBu_r",
                       vmin=0, vmax=1, marker=marker, s=180, edgecolors="black", zorder=3)
        ax.set_title(f"{title}: {correct.sum()}/4 correct", fontsize=10)
        ax.set_xlim(*LIMITS)
        ax.set_ylim(*LIMITS)
        ax.set_xlabel("x1")
        ax.set_ylabel("x2")
        ax.set_aspect("equal")
    figure.colorbar(shading, ax=list(axes), label="P(XOR = 1)", shrink=0.8)
    figure.suptitle("Milestone 01: decision boundary (black line, P = 0.5); "
                    "o correct, X wrong", fontsize=10)
    return figure
