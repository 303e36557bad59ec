"""Milestone 03's report: curves from the run's History, its confusion matrix, its images."""

import numpy as np
import pytest

import tinytorch.core as tt
from tinytorch.core.plot import read_png, save_report
from tinytorch.vision import datasets, models
from tinytorch.vision.milestones import cifar10_report as report

CLASSES = datasets.cifar.CLASSES


def _pixels(path, width, height):
    pixels = read_png(path)
    assert pixels.shape[:2] == (height, width)
    assert pixels[..., :3].std() > 0.05, "blank picture"
    return pixels


def _run(seed: int):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (40, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, 40)
    predicted = np.where(rng.random(40) < 0.6, labels, rng.integers(0, 10, 40))
    history = tt.training.History({
        "epoch": [0.5, 1.0, 1.5, 2.0], "train_loss": list(2.0 - rng.random(4).cumsum() / 3),
        "val_loss": list(2.1 - rng.random(4).cumsum() / 3),
        "train_acc": list(rng.random(4).cumsum() / 4), "val_acc": list(rng.random(4) / 2)})
    return history, predicted, labels, images


def test_report_is_a_picture_of_the_run(tmp_path):
    save_report(report.draw_cifar10_report(*_run(0), CLASSES), tmp_path / "a.png")
    save_report(report.draw_cifar10_report(*_run(1), CLASSES), tmp_path / "b.png")
    a, b = _pixels(tmp_path / "a.png", 1500, 1100), _pixels(tmp_path / "b.png", 1500, 1100)
    assert np.any(np.abs(a - b) > 1e-3, axis=-1).mean() > 0.01
    assert "<svg" in (tmp_path / "a.svg").read_text()


def test_report_panels_show_the_numbers_given():
    history, predicted, labels, images = _run(2)
    figure = report.draw_cifar10_report(history, predicted, labels, images, CLASSES)
    loss_axes, acc_axes, confusion_axes = figure.axes[:3]
    train_line = loss_axes.get_lines()[0]
    np.testing.assert_allclose(train_line.get_xdata(), history["epoch"])
    np.testing.assert_allclose(train_line.get_ydata(), history["train_loss"])
    counts = tt.training.confusion_matrix(predicted, labels, 10).numpy()
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    np.testing.assert_allclose(confusion_axes.get_images()[0].get_array(), rates)
    titles = [ax.get_title() for ax in figure.axes if ax.get_images() and ax not in
              (confusion_axes,)]
    assert titles[0] == f"{CLASSES[predicted[0]]}\n(true {CLASSES[labels[0]]})"
    assert len(titles) == report.GRID_ROWS * report.GRID_COLUMNS
    with pytest.raises(ValueError, match="draw_cifar10_report: .* must agree"):
        report.draw_cifar10_report(history, predicted[:3], labels, images, CLASSES)


def test_monitor_records_fractional_epochs_and_running_means():
    calls = []
    monitor = report.TrainingMonitor(lambda: calls.append(1) or (1.5, 0.25), record_every=2,
                                     steps_per_epoch=4)
    for loss, correct in ((2.0, 1), (1.0, 3), (0.5, 4)):
        monitor.step(loss, correct, 4)
    history = monitor.finish()
    assert history["epoch"] == [0.5, 0.75]
    assert history["train_loss"] == [1.5, 0.5] and history["train_acc"] == [0.5, 1.0]
    assert history["val_loss"] == [1.5, 1.5] and len(calls) == 2
    with pytest.raises(ValueError, match="TrainingMonitor: record_every"):
        report.TrainingMonitor(lambda: (0, 0), 0, 1)


def test_predict_and_loss_agree_with_the_model():
    tt.manual_seed(0)
    model = models.build_cnn({"stages": [[4, 1]], "hidden": 8})
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (12, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, 12)
    mean, std = np.full(3, 0.5), np.full(3, 0.25)
    predicted = report.predict(model, images, mean, std, batch=5)
    loss, accuracy = report.loss_and_accuracy(model, images, labels, mean, std, batch=5)
    assert accuracy == pytest.approx(np.mean(predicted == labels))
    assert 0 < loss < 10 and model.training  # back in training mode afterwards
