"""Milestone 03's picture: how training went, which classes the CNN confuses, what it sees.

    monitor = TrainingMonitor(validate, record_every=len(loader), steps_per_epoch=len(loader))
    ... monitor.step(loss, correct, count) after every training step; monitor.finish()
    draw_cifar10_report(monitor.history, predicted, labels, images, classes)

What it teaches: three views of one run. The curves (train vs validation loss and
accuracy, from a core `History`) show whether the model was still improving when the
budget ran out and whether it overfits. The confusion matrix shows *which* mistakes it
makes: cat/dog and automobile/truck dominate, because those classes share shapes and
textures at 32x32. The image grid puts real pictures next to the predictions.

Systems lesson: monitoring is not free. Each validation pass is a forward over the
validation images inside the training budget, so it is done on a fixed subset (1,000
images), under no_grad (no graph, no saved activations) and in eval mode.
"""

from __future__ import annotations

import numpy as np

import tinytorch.core as tt
import tinytorch.core.nn.functional as F
from tinytorch.core.plot import new_figure
from tinytorch.core.training import History, confusion_matrix
from tinytorch.vision import transforms

MONITOR_IMAGES = 1000  # validation images scored at every record (half in a quick run)
GRID_ROWS, GRID_COLUMNS = 3, 8


def _batches(images: np.ndarray, mean, std, batch: int):
    prepare = transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean, std)])
    for start in range(0, len(images), batch):
        yield start, prepare(images[start:start + batch])


def predict(model, images: np.ndarray, mean, std, batch: int = 1000) -> np.ndarray:
    """Predicted class of every image (uint8 NHWC), in eval mode without a graph."""
    model.eval()
    predicted = np.empty(len(images), dtype=np.int64)
    with tt.no_grad():
        for start, x in _batches(images, mean, std, batch):
            predicted[start:start + len(x)] = model(x).numpy().argmax(axis=1)
    model.train()
    return predicted


def loss_and_accuracy(model, images, labels, mean, std, batch: int = 500) -> tuple[float, float]:
    """Mean cross-entropy (no label smoothing) and accuracy, in eval mode without a graph."""
    model.eval()
    total_loss, correct = 0.0, 0
    with tt.no_grad():
        for start, x in _batches(images, mean, std, batch):
            target = labels[start:start + len(x)]
            logits = model(x)
            total_loss += F.cross_entropy(logits, tt.tensor(target)).item() * len(x)
            correct += int((logits.numpy().argmax(axis=1) == target).sum())
    model.train()
    return total_loss / len(images), correct / len(images)


class TrainingMonitor:
    """Train loss/accuracy since the last record and validation loss/accuracy, every
    `record_every` steps, into a History whose `epoch` column is fractional epochs."""

    def __init__(self, validate, record_every: int, steps_per_epoch: int):
        if record_every < 1 or steps_per_epoch < 1:
            raise ValueError(f"TrainingMonitor: record_every and steps_per_epoch must be >= 1, "
                             f"got {record_every} and {steps_per_epoch}")
        self.validate, self.record_every = validate, record_every
        self.steps_per_epoch = steps_per_epoch
        self.history = History()
        self.steps, self._loss, self._correct, self._count = 0, 0.0, 0, 0

    def step(self, loss: float, correct: int, count: int) -> None:
        self.steps += 1
        self._loss, self._correct = self._loss + loss * count, self._correct + correct
        self._count += count
        if self.steps % self.record_every == 0:
            self.record()

    def finish(self) -> History:
        if self._count:
            self.record()
        return self.history

    def record(self) -> None:
        val_loss, val_acc = self.validate()
        values = {"epoch": self.steps / self.steps_per_epoch,
                  "train_loss": self._loss / self._count, "val_loss": val_loss,
                  "train_acc": self._correct / self._count, "val_acc": val_acc}
        for name, value in values.items():
            self.history.setdefault(name, []).append(float(value))
        self._loss, self._correct, self._count = 0.0, 0, 0


def draw_cifar10_report(history: History, predicted, labels, images, classes: list[str],
                        title: str = "Milestone 03: CIFAR-10"):
    """Loss and accuracy curves, the confusion matrix, and a grid of images with
    predicted vs true labels (green right, red wrong)."""
    predicted, labels = np.asarray(predicted), np.asarray(labels)
    if predicted.shape != labels.shape or len(images) != len(labels):
        raise ValueError(f"draw_cifar10_report: {predicted.shape} predictions, "
                         f"{labels.shape} labels and {len(images)} images must agree")
    figure = new_figure(15, 11)
    outer = figure.add_gridspec(2, 1, height_ratios=[1, 0.9])
    top = outer[0].subgridspec(1, 3, width_ratios=[1, 1, 1.25])
    for column, (quantity, label) in enumerate((("loss", "cross-entropy"),
                                                ("acc", "accuracy"))):
        _curves(figure.add_subplot(top[0, column]), history, quantity, label)
    _confusion(figure.add_subplot(top[0, 2]), predicted, labels, classes)
    _image_grid(figure, outer[1], predicted, labels, images, classes)
    accuracy = float(np.mean(predicted == labels))
    figure.suptitle(f"{title}: accuracy {accuracy:.2%} on {len(labels):,} images")
    return figure


def _curves(ax, history: History, quantity: str, label: str) -> None:
    epochs = history.get("epoch") or list(range(1, history.epochs + 1))
    for split, style in (("train", "-o"), ("val", "-s")):
        values = history.get(f"{split}_{quantity}")
        if values:
            ax.plot(epochs[:len(values)], values, style, markersize=3, label=split)
    ax.set_xlabel("epoch")
    ax.set_title(label)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def _confusion(ax, predicted, labels, classes) -> None:
    counts = confusion_matrix(predicted, labels, len(classes)).numpy()
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)  # per true class
    image = ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(classes)), classes, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(classes)), classes, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("confusion matrix (row-normalised)")
    for (row, column), count in np.ndenumerate(counts):
        if count:
            ax.text(column, row, str(count), ha="center", va="center", fontsize=6,
                    color="white" if rates[row, column] > 0.5 else "black")
    ax.figure.colorbar(image, ax=ax, shrink=0.8)


def _image_grid(figure, cell, predicted, labels, images, classes) -> None:
    grid = cell.subgridspec(GRID_ROWS, GRID_COLUMNS)
    count = min(GRID_ROWS * GRID_COLUMNS, len(images))
    # a fixed random sample: the test folders are sorted by class, the first 24 are airplanes
    shown = np.sort(np.random.default_rng(0).permutation(len(images))[:count])
    for slot, index in enumerate(shown):
        ax = figure.add_subplot(grid[slot // GRID_COLUMNS, slot % GRID_COLUMNS])
        ax.imshow(np.asarray(images[index], dtype=np.uint8))
        right = predicted[index] == labels[index]
        ax.set_title(f"{classes[predicted[index]]}\n(true {classes[labels[index]]})",
                     fontsize=7, color="green" if right else "red")
        ax.set_axis_off()
