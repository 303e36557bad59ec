"""History: what a training run measured each epoch, as a table you can save and plot.

    history = trainer.fit(train_loader, val_loader, epochs=10)   # a History (a dict)
    history["val_loss"][-1]
    history.to_csv("runs/history.csv"); history.to_json("runs/history.json")
    history.plot("runs/history.png")            # one panel per quantity, train vs val
    History.from_json("runs/history.json")

What it teaches: the numbers of a run are data, not console output. Written to CSV/JSON
they can be compared across runs, and plotted they answer at a glance the questions a
scrolling log hides: is the loss still falling (train longer), is validation rising while
training falls (overfitting), did the learning rate schedule do what was meant.

Systems lesson: the history is tiny (a few floats per epoch) next to the model, so it is
kept in full and saved next to the checkpoint; files are written atomically, like every
file TinyTorch writes.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path

from ..atomic import atomic_write_text

# quantities that are drawn on their own panel, not paired as train_/val_
_SINGLE_PANELS = ("lr", "time")


class History(dict):
    """`name -> list of per-epoch floats` (train_loss, val_loss, train_acc, lr, time...)."""

    @property
    def epochs(self) -> int:
        return max((len(values) for values in self.values()), default=0)

    # ------------------------------------------------------------ files
    def to_json(self, path: str | os.PathLike | None = None) -> str:
        text = json.dumps({name: list(values) for name, values in self.items()}, indent=2)
        if path is not None:
            atomic_write_text(path, text + "\n")
        return text

    def to_csv(self, path: str | os.PathLike | None = None) -> str:
        """One row per epoch (1-based), one column per quantity; empty where not recorded."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        names = list(self)
        writer.writerow(["epoch", *names])
        for epoch in range(self.epochs):
            writer.writerow([epoch + 1, *(repr(float(self[n][epoch]))
                                          if epoch < len(self[n]) else "" for n in names)])
        if path is not None:
            atomic_write_text(path, buffer.getvalue())
        return buffer.getvalue()

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> History:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not all(
                isinstance(v, list) and all(isinstance(x, (int, float)) for x in v)
                for v in data.values()):
            raise ValueError(f"History.from_json: {path} is not a history (expected an object "
                             "of name -> list of numbers)")
        return cls({str(name): [float(x) for x in values] for name, values in data.items()})

    @classmethod
    def from_csv(cls, path: str | os.PathLike) -> History:
        rows = list(csv.reader(io.StringIO(Path(path).read_text(encoding="utf-8"))))
        if not rows or rows[0][:1] != ["epoch"]:
            raise ValueError(f"History.from_csv: {path} has no 'epoch,...' header row")
        names = rows[0][1:]
        history = cls({name: [] for name in names})
        for line, row in enumerate(rows[1:], start=2):
            if len(row) != len(rows[0]):
                raise ValueError(f"History.from_csv: {path} line {line} has {len(row)} "
                                 f"cells, expected {len(rows[0])}")
            for name, cell in zip(names, row[1:]):
                if cell != "":
                    history[name].append(float(cell))
        return history

    # ------------------------------------------------------------ pictures
    def panels(self) -> list[tuple[str, list[str]]]:
        """(title, names) per panel: train_x and val_x share a panel; lr and time alone."""
        panels: dict[str, list[str]] = {}
        for name in self:
            base = name.split("_", 1)[1] if name.startswith(("train_", "val_")) else name
            panels.setdefault(base, []).append(name)
        order = sorted(panels, key=lambda base: (base in _SINGLE_PANELS, base != "loss"))
        return [(base, panels[base]) for base in order]

    def plot(self, path: str | os.PathLike | None = None, title: str | None = None):
        """Draw one panel per quantity against the epoch; save to `path` (.png/.svg) if
        given; return the matplotlib Figure."""
        from ..plot import new_figure, save_figure

        panels = self.panels()
        if not panels or self.epochs == 0:
            raise ValueError("History.plot: the history is empty; train for an epoch first")
        figure = new_figure(4.0 * len(panels), 3.2)
        axes = figure.subplots(1, len(panels), squeeze=False)[0]
        for ax, (base, names) in zip(axes, panels):
            for name in names:
                values = [v if math.isfinite(v) else float("nan") for v in self[name]]
                ax.plot(range(1, len(values) + 1), values, marker="o", markersize=3,
                        label=name)
            ax.set_title(base)
            ax.set_xlabel("epoch")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        if title:
            figure.suptitle(title)
        if path is not None:
            save_figure(figure, path)
        return figure
