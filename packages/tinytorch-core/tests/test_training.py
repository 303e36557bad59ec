"""tinytorch.core.training: metrics (against PyTorch) and the Trainer loop.

The Trainer tests check numbers, not just that it runs: gradient accumulation must give
the same parameters as one big batch, a resumed checkpoint must continue exactly where the
original run would have, and a NaN must stop training without touching the checkpoint.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
import torch

from tinytorch.core import atomic, is_grad_enabled, manual_seed, nn, optim, save, tensor
from tinytorch.core.data import DataLoader, TensorDataset
from tinytorch.core.training import (
    NonFiniteLossError,
    Trainer,
    accuracy,
    confusion_matrix,
)

# ---------------------------------------------------------------- fixtures


def blobs(n: int = 200, dtype=np.float32, seed: int = 0) -> TensorDataset:
    """Two well-separated Gaussian blobs in 2-D: a linearly separable problem."""
    rng = np.random.default_rng(seed)
    half = n // 2
    x = np.concatenate([rng.normal(-2, 1, (half, 2)), rng.normal(2, 1, (n - half, 2))])
    y = np.repeat([0, 1], [half, n - half])
    return TensorDataset(tensor(x.astype(dtype)), tensor(y))


def mlp(seed: int = 0, dtype=np.float32) -> nn.Module:
    manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    return model.double() if dtype == np.float64 else model


def weights(model) -> list[np.ndarray]:
    return [p.array.copy() for p in model.parameters()]


def assert_same_weights(a, b, atol=0.0):
    for x, y in zip(weights(a), weights(b), strict=True):
        np.testing.assert_allclose(x, y, rtol=0, atol=atol)


def trainer(model, optimizer=None, **kwargs) -> Trainer:
    optimizer = optimizer or optim.SGD(model.parameters(), lr=0.1)
    kwargs.setdefault("progress", False)
    return Trainer(model, optimizer, nn.CrossEntropyLoss(), **kwargs)


# ---------------------------------------------------------------- metrics


def test_accuracy_matches_pytorch_argmax():
    rng = np.random.default_rng(1)
    logits, target = rng.standard_normal((50, 5)), rng.integers(0, 5, 50)
    expected = (torch.tensor(logits).argmax(1) == torch.tensor(target)).double().mean().item()
    assert accuracy(tensor(logits), tensor(target)) == pytest.approx(expected, abs=0)
    assert accuracy(logits, target) == pytest.approx(expected, abs=0)  # numpy works too


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_top_k_accuracy_matches_pytorch_topk(k):
    rng = np.random.default_rng(k)
    logits, target = rng.standard_normal((64, 5)), rng.integers(0, 5, 64)
    top = torch.tensor(logits).topk(k, dim=1).indices
    expected = (top == torch.tensor(target)[:, None]).any(1).double().mean().item()
    assert accuracy(tensor(logits), tensor(target), top_k=k) == pytest.approx(expected, abs=0)


def test_accuracy_with_class_dim_one_and_with_predictions():
    rng = np.random.default_rng(2)
    logits, target = rng.standard_normal((4, 3, 6)), rng.integers(0, 3, (4, 6))
    expected = (torch.tensor(logits).argmax(1) == torch.tensor(target)).double().mean().item()
    assert accuracy(tensor(logits), tensor(target)) == pytest.approx(expected, abs=0)
    assert accuracy(tensor([1, 0, 2, 2]), tensor([1, 1, 2, 0])) == 0.5


def test_accuracy_rejects_ambiguous_or_bad_input():
    with pytest.raises(TypeError, match=r"float32 predictions of the same shape as the targets"):
        accuracy(tensor([0.2, 0.9]), tensor([0, 1]))
    with pytest.raises(TypeError, match="target must hold integer class indices, got dtype "
                                        "float32"):
        accuracy(tensor([[0.2, 0.9]]), tensor([1.0]))
    with pytest.raises(ValueError, match=r"scores of shape \(3, 2\) do not match targets of "
                                         r"shape \(4,\)"):
        accuracy(np.zeros((3, 2)), np.zeros(4, np.int64))
    with pytest.raises(ValueError, match=r"target values must be in \[0, 2\).*from 0 to 2"):
        accuracy(np.zeros((3, 2)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="top_k=3 is larger than the number of classes"):
        accuracy(np.zeros((3, 2)), np.array([0, 1, 1]), top_k=3)
    with pytest.raises(ValueError, match="top_k must be a positive int, got 0"):
        accuracy(np.zeros((3, 2)), np.array([0, 1, 1]), top_k=0)
    with pytest.raises(ValueError, match="target is empty"):
        accuracy(np.zeros((0, 2)), np.zeros(0, np.int64))


def test_confusion_matrix_counts_true_rows_predicted_columns():
    rng = np.random.default_rng(3)
    preds, target = rng.integers(0, 4, 100), rng.integers(0, 4, 100)
    expected = np.zeros((4, 4), np.int64)
    for t, p in zip(target, preds):
        expected[t, p] += 1
    matrix = confusion_matrix(tensor(preds), tensor(target), num_classes=4)
    assert matrix.dtype == np.int64
    np.testing.assert_array_equal(matrix.numpy(), expected)
    logits = rng.standard_normal((100, 4))
    from_logits = confusion_matrix(tensor(logits), tensor(target), 4).numpy()
    np.testing.assert_array_equal(from_logits.sum(1), np.bincount(target, minlength=4))
    assert np.trace(from_logits) / 100 == accuracy(logits, target)
    # a class that never occurs still gets its row and column
    np.testing.assert_array_equal(confusion_matrix([0, 0], [0, 0], 3).numpy(),
                                  [[2, 0, 0], [0, 0, 0], [0, 0, 0]])


def test_confusion_matrix_errors():
    with pytest.raises(ValueError, match="num_classes must be a positive int, got 0"):
        confusion_matrix([0], [0], 0)
    with pytest.raises(ValueError, match=r"preds values must be in \[0, 2\), got values from 0 "
                                         r"to 5"):
        confusion_matrix([0, 5], [0, 1], 2)
    with pytest.raises(ValueError, match="logits have 3 classes but num_classes=2"):
        confusion_matrix(np.zeros((2, 3)), [0, 1], 2)


# ---------------------------------------------------------------- learning


def test_learns_a_separable_problem():
    train, val = blobs(200, seed=0), blobs(100, seed=1)
    model = mlp()
    fit = trainer(model, optim.SGD(model.parameters(), lr=0.2))
    history = fit.fit(DataLoader(train, batch_size=16, shuffle=True), DataLoader(val, 50),
                      epochs=5)
    assert set(history) == {"train_loss", "train_acc", "val_loss", "val_acc", "lr", "time"}
    assert all(len(values) == 5 for values in history.values())
    assert history["train_loss"][-1] < 0.5 * history["train_loss"][0]
    assert history["val_loss"][-1] < history["val_loss"][0]
    assert history["val_acc"][-1] >= 0.97
    assert history["lr"] == [0.2] * 5
    assert all(t > 0 for t in history["time"])
    assert fit.epoch == 5 and fit.global_step == 5 * 13


def test_evaluate_averages_over_samples_in_eval_mode_without_graph():
    data = blobs(20)
    model = mlp()
    seen = []

    class Spy(nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            seen.append((self.training, is_grad_enabled()))
            return self.inner(x)

    spy = Spy(model)
    result = trainer(spy).evaluate(DataLoader(data, batch_size=7))  # batches 7, 7, 6
    x, y = data.tensors
    full_loss = nn.CrossEntropyLoss()(model(x), y).item()
    assert result["loss"] == pytest.approx(full_loss, rel=1e-6)
    assert result["acc"] == pytest.approx(accuracy(model(x), y), abs=1e-12)
    assert seen == [(False, False)] * 3
    assert spy.training  # mode restored afterwards


# ---------------------------------------------------------------- gradient accumulation


def _fit_float64(batch_size, n, steps=1, lr=0.5):
    model = mlp(seed=4, dtype=np.float64)
    fit = trainer(model, optim.SGD(model.parameters(), lr=lr), grad_accumulation_steps=steps)
    fit.fit(DataLoader(blobs(n, dtype=np.float64), batch_size=batch_size), epochs=1)
    return model, fit


@pytest.mark.parametrize("n", [20, 40])
def test_accumulating_k_batches_equals_one_k_times_larger_batch(n):
    accumulated, acc_fit = _fit_float64(batch_size=5, n=n, steps=4)
    large, large_fit = _fit_float64(batch_size=20, n=n, steps=1)
    assert acc_fit.global_step == large_fit.global_step == n // 20
    assert_same_weights(accumulated, large, atol=1e-12)
    # and it matters: without accumulation, the same micro-batches give other weights
    plain, _ = _fit_float64(batch_size=5, n=n, steps=1)
    assert not np.allclose(weights(plain)[0], weights(large)[0], atol=1e-6)


def test_final_partial_group_is_averaged_over_its_batches():
    # 5 batches of 5 with k=3: steps after batches 3 and 5, like batches of 15 and 10
    accumulated, fit = _fit_float64(batch_size=5, n=25, steps=3)
    large, _ = _fit_float64(batch_size=15, n=25, steps=1)
    assert fit.global_step == 2
    assert_same_weights(accumulated, large, atol=1e-12)


# ---------------------------------------------------------------- clipping and schedules


def test_clip_grad_norm_caps_the_step():
    model = mlp(dtype=np.float64)
    before = weights(model)
    fit = trainer(model, optim.SGD(model.parameters(), lr=1.0), clip_grad_norm=1e-3)
    fit.fit(DataLoader(blobs(8, dtype=np.float64), batch_size=8), epochs=1)
    step = math.sqrt(sum(((a - b) ** 2).sum() for a, b in zip(weights(model), before)))
    assert step == pytest.approx(1e-3, rel=1e-4)  # lr * max_norm, since the raw norm is larger


@pytest.mark.parametrize("interval, expected", [("epoch", [0.1, 0.05, 0.025]),
                                                ("step", [0.1, 0.1 * 0.5**4, 0.1 * 0.5**8])])
def test_scheduler_steps_per_epoch_or_per_batch(interval, expected):
    model = mlp()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    fit = trainer(model, optimizer, scheduler=scheduler, scheduler_interval=interval)
    history = fit.fit(DataLoader(blobs(16), batch_size=4), epochs=3)  # 4 batches per epoch
    assert history["lr"] == pytest.approx(expected, rel=1e-12)


# ---------------------------------------------------------------- checkpoints


def test_best_checkpoint_is_written_atomically_and_reloads(tmp_path, monkeypatch):
    replaced = []
    real_replace = os.replace

    def spy_replace(src, dst):
        replaced.append((src, dst))
        assert os.path.isfile(src)  # the complete temp file exists before the rename
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", spy_replace)
    path = tmp_path / "best.npz"
    model = mlp()
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    fit = trainer(model, optimizer, checkpoint_path=path)
    fit.fit(DataLoader(blobs(64), batch_size=16), DataLoader(blobs(32, seed=1), 32), epochs=3)

    assert fit.best_epoch == 3  # val_loss fell every epoch on this easy problem
    assert len(replaced) == 3
    for src, dst in replaced:
        assert os.path.dirname(src) == str(tmp_path) and os.fspath(dst) == str(path)
        assert not os.path.exists(src)
    assert os.listdir(tmp_path) == ["best.npz"]  # no temp files left behind

    fresh = mlp(seed=99)
    fresh_optimizer = optim.Adam(fresh.parameters(), lr=0.5)
    meta = trainer(fresh, fresh_optimizer).load_checkpoint(path)
    assert meta["epoch"] == 3 and meta["monitor"] == "val_loss"
    assert meta["best"] == pytest.approx(fit.best_score, abs=0)
    assert_same_weights(fresh, model)
    assert fresh_optimizer.param_groups[0]["lr"] == 0.01
    for p, q in zip(model.parameters(), fresh.parameters()):
        assert fresh_optimizer.state[q]["step"] == optimizer.state[p]["step"] == 12
        np.testing.assert_array_equal(fresh_optimizer.state[q]["exp_avg_sq"],
                                      optimizer.state[p]["exp_avg_sq"])


def test_resuming_from_checkpoint_continues_the_same_run(tmp_path):
    data = DataLoader(blobs(64), batch_size=16)
    model = mlp()
    original = trainer(model, optim.Adam(model.parameters(), lr=0.01), monitor="train_loss",
                       checkpoint_path=tmp_path / "ckpt.npz")
    original.fit(data, epochs=2)
    resumed_model = mlp(seed=5)
    resumed = trainer(resumed_model, optim.Adam(resumed_model.parameters(), lr=0.01))
    resumed.load_checkpoint(tmp_path / "ckpt.npz")
    original.fit(data, epochs=1)
    resumed.fit(data, epochs=1)
    assert_same_weights(resumed_model, model)  # bit for bit, Adam moments included


def test_checkpoint_keeps_the_best_epoch_not_the_last(tmp_path):
    data = DataLoader(blobs(64), batch_size=16)
    model = mlp()
    # train_loss falls every epoch, so with mode="max" epoch 1 stays the "best"
    fit = trainer(model, monitor="train_loss", mode="max", checkpoint_path=tmp_path / "c.npz")
    fit.fit(data, epochs=1)
    after_first = mlp(seed=7)
    after_first.load_state_dict(model.state_dict())
    fit.fit(data, epochs=2)
    assert fit.best_epoch == 1
    restored = mlp(seed=8)
    assert trainer(restored).load_checkpoint(tmp_path / "c.npz",
                                             load_optimizer=False)["epoch"] == 1
    assert_same_weights(restored, after_first)


def test_failed_write_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    path = tmp_path / "best.npz"
    data = DataLoader(blobs(32), batch_size=16)
    model = mlp()
    fit = trainer(model, monitor="train_loss", checkpoint_path=path)
    fit.fit(data, epochs=1)
    good = path.read_bytes()

    def crash_midway(path):  # the bytes are written, the disk fills before they are synced
        raise OSError("disk full")

    monkeypatch.setattr(atomic, "_fsync", crash_midway)
    with pytest.raises(OSError, match="disk full"):
        fit.fit(data, epochs=1)
    assert path.read_bytes() == good
    assert os.listdir(tmp_path) == ["best.npz"]


def test_load_checkpoint_errors(tmp_path):
    fit = trainer(mlp())
    with pytest.raises(FileNotFoundError, match="no checkpoint file at"):
        fit.load_checkpoint(tmp_path / "missing.npz")
    np.savez(tmp_path / "other.npz", a=np.zeros(2))
    with pytest.raises(ValueError, match="other.npz"):  # never numpy's zip/pickle advice
        fit.load_checkpoint(tmp_path / "other.npz")
    save({"a": 1}, tmp_path / "obj.pt")
    with pytest.raises(ValueError, match="is not a TinyTorch checkpoint"):
        fit.load_checkpoint(tmp_path / "obj.pt")


# ---------------------------------------------------------------- NaN and early stopping


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_loss_stops_with_epoch_and_batch(tmp_path, bad):
    path = tmp_path / "best.npz"
    calls = []

    def loss_fn(outputs, targets):
        calls.append(1)
        loss = nn.functional.cross_entropy(outputs, targets)
        return loss * bad if len(calls) == 8 else loss  # epoch 2, batch 3 (5 per epoch)

    model = mlp()
    fit = Trainer(model, optim.SGD(model.parameters(), lr=0.1), loss_fn, monitor="train_loss",
                  checkpoint_path=path, progress=False)
    data = DataLoader(blobs(40), batch_size=8)
    fit.fit(data, epochs=1)
    saved = path.read_bytes()
    with pytest.raises(NonFiniteLossError, match=rf"training loss is {bad} at epoch 2, batch 3 "
                                                 r"of 5.*epoch 1, train_loss=.* is intact"):
        fit.fit(data, epochs=3)
    assert path.read_bytes() == saved
    assert all(np.isfinite(w).all() for w in weights(model))
    assert len(fit.history["train_loss"]) == 1 and fit.epoch == 1  # epoch 2 never completed


def test_early_stopping_stops_when_the_monitor_stalls():
    model = mlp()
    fit = trainer(model, optim.SGD(model.parameters(), lr=0.0), early_stopping_patience=2)
    data = DataLoader(blobs(32), batch_size=16)
    history = fit.fit(data, data, epochs=10)  # lr=0: val_loss never improves after epoch 1
    assert len(history["val_loss"]) == 3 and fit.stopped_early and fit.best_epoch == 1


def test_early_stopping_waits_while_the_monitor_improves():
    model = mlp()
    fit = trainer(model, optim.SGD(model.parameters(), lr=0.05), early_stopping_patience=1,
                  monitor="train_loss")
    history = fit.fit(DataLoader(blobs(64), batch_size=16), epochs=4)
    assert all(b < a for a, b in zip(history["train_loss"], history["train_loss"][1:]))
    assert len(history["train_loss"]) == 4 and not fit.stopped_early and fit.best_epoch == 4


def test_mode_follows_the_monitored_value():
    assert trainer(mlp(), monitor="val_acc").mode == "max"
    assert trainer(mlp(), monitor="val_loss").mode == "min"
    assert trainer(mlp(), monitor="train_loss", mode="max").mode == "max"


# ---------------------------------------------------------------- progress and checks


def test_progress_prints_one_summary_per_epoch(capsys):
    model = mlp()
    fit = trainer(model, progress=True)
    fit.fit(DataLoader(blobs(32), batch_size=16), epochs=2)
    out = capsys.readouterr().out
    assert "epoch 1/2" in out and "epoch 2/2" in out and "train_loss" in out
    quiet = trainer(mlp())
    quiet.fit(DataLoader(blobs(32), batch_size=16), epochs=1)
    assert capsys.readouterr().out == ""


def test_argument_checks():
    model = mlp()
    data = DataLoader(blobs(16), batch_size=8)
    with pytest.raises(ValueError, match=r"monitor=.val_loss. is not recorded.*need a "
                                         r"val_loader"):
        trainer(model, checkpoint_path="x.npz").fit(data)
    with pytest.raises(ValueError, match="epochs must be a positive int, got 0"):
        trainer(model).fit(data, epochs=0)
    with pytest.raises(ValueError, match="grad_accumulation_steps must be a positive int, got 0"):
        trainer(model, grad_accumulation_steps=0)
    with pytest.raises(ValueError, match="scheduler_interval must be 'epoch' or 'step'"):
        trainer(model, scheduler_interval="batch")
    with pytest.raises(ValueError, match="clip_grad_norm must be a positive number"):
        trainer(model, clip_grad_norm=-1.0)
    with pytest.raises(ValueError, match="early_stopping_patience must be a positive int"):
        trainer(model, early_stopping_patience=0)
    with pytest.raises(ValueError, match="mode must be 'min', 'max'"):
        trainer(model, mode="best")
    with pytest.raises(TypeError, match="optimizer must be a tinytorch.core.optim optimizer"):
        Trainer(model, None, nn.CrossEntropyLoss())


def test_bad_batches_and_losses_are_explained():
    model = mlp()
    triples = [(tensor(np.zeros((2, 2), np.float32)), tensor([0, 1]), tensor([0, 1]))]
    with pytest.raises(TypeError, match="each batch must be an \\(inputs, targets\\) pair, got "
                                        "a tuple of length 3"):
        trainer(model).fit(triples)
    per_sample = Trainer(model, optim.SGD(model.parameters(), lr=0.1),
                         nn.CrossEntropyLoss(reduction="none"), progress=False)
    with pytest.raises(ValueError, match=r"loss_fn must return a scalar Tensor, got shape "
                                         r"\(8,\)"):
        per_sample.fit(DataLoader(blobs(16), batch_size=8))
    with pytest.raises(ValueError, match="training loader yielded no batches"):
        trainer(model, monitor="train_loss").fit([])
