"""Trainer: the training loop, written once, with the safety rails real runs need.

What it teaches: every training loop is the same five lines (forward, loss, backward,
step, zero_grad) repeated over batches and epochs. What separates a loop that works on a
laptop from one you can leave running overnight is around those lines:

- validation after each epoch, under `no_grad()` and `model.eval()` (no graph is
  recorded, dropout is off);
- gradient accumulation: `k` batches of size `b` give the gradient of one batch of size
  `k*b` (each loss is scaled by 1/k), so a large effective batch fits in small memory;
- gradient clipping, learning-rate schedules (per epoch or per step);
- a loss that turns NaN/inf stops the run at once, naming the epoch and batch, before a
  single weight is corrupted;
- the best model (by a monitored value) is checkpointed atomically, and early stopping
  ends the run when that value stops improving.

Systems lesson: gradient accumulation trades time for memory. Activation memory grows
with the micro-batch `b`, not with the effective batch `k*b`; the price is k sequential
forward/backward passes per optimizer step.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import os
import time
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType

import numpy as np
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from ..autograd import no_grad
from ..nn.utils import clip_grad_norm_
from ..tensor import Tensor
from .checkpoint import load_checkpoint, save_checkpoint
from .history import History
from .metrics import accuracy

DEFAULT_METRICS: Mapping[str, Callable] = MappingProxyType({"acc": accuracy})


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite during training."""


class Trainer:
    """Train `model` with `optimizer` on `loss_fn(model(inputs), targets)`.

    Batches are `(inputs, targets)` pairs. `metrics` maps a name to `fn(outputs,
    targets) -> float` (default: accuracy as "acc"; pass `{}` for regression). Each
    epoch appends to `history`: train_loss, train_<metric>, val_loss, val_<metric> (with
    a val_loader), lr (at the start of the epoch) and time (seconds). Losses and metrics
    are averaged over samples, weighting each batch by its size.
    """

    def __init__(self, model, optimizer, loss_fn: Callable, scheduler=None,
                 scheduler_interval: str = "epoch",
                 metrics: Mapping[str, Callable] = DEFAULT_METRICS,
                 grad_accumulation_steps: int = 1, clip_grad_norm: float | None = None,
                 checkpoint_path: str | os.PathLike | None = None,
                 early_stopping_patience: int | None = None, monitor: str = "val_loss",
                 mode: str | None = None, progress: bool = True):
        _check_trainer_args(model, optimizer, loss_fn, scheduler, scheduler_interval, metrics,
                            grad_accumulation_steps, clip_grad_norm, early_stopping_patience,
                            monitor, mode)
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        self.scheduler, self.scheduler_interval = scheduler, scheduler_interval
        self.metrics = dict(metrics)
        self.grad_accumulation_steps = grad_accumulation_steps
        self.clip_grad_norm = clip_grad_norm
        self.checkpoint_path = None if checkpoint_path is None else os.fspath(checkpoint_path)
        self.early_stopping_patience = early_stopping_patience
        self.monitor = monitor
        self.mode = mode or ("min" if "loss" in monitor else "max")
        self.progress = progress
        self.history = History()  # a dict of per-epoch lists, with to_csv/to_json/plot
        self.epoch = 0  # epochs completed, counted across calls to fit()
        self.global_step = 0  # optimizer steps taken
        self.best_score: float | None = None
        self.best_epoch: int | None = None
        self.stopped_early = False
        self._stale_epochs = 0
        self._tracking = False  # set by fit(): is the monitored value recorded?

    # ------------------------------------------------------------ the public API
    def fit(self, train_loader: Iterable, val_loader: Iterable | None = None,
            epochs: int = 1) -> History:
        """Train for `epochs` epochs (fewer if early stopping triggers); return history."""
        if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) or epochs < 1:
            raise ValueError(f"Trainer.fit: epochs must be a positive int, got {epochs!r}")
        self._tracking = self._check_monitor(val_loader)
        self.stopped_early = False
        last_epoch = self.epoch + epochs
        with self._progress_bar() as bar:
            while self.epoch < last_epoch and not self.stopped_early:
                record = self._run_epoch(train_loader, val_loader, bar, last_epoch)
                for key, value in record.items():
                    self.history.setdefault(key, []).append(value)
                self._after_epoch(record)
        return self.history

    @no_grad()
    def evaluate(self, loader: Iterable) -> dict[str, float]:
        """Average loss and metrics over `loader`, in eval mode and without a graph."""
        was_training = self.model.training
        self.model.eval()
        try:
            totals = _WeightedMeans()
            for batch in loader:
                inputs, targets = _split_batch(batch)
                outputs = self.model(inputs)
                loss = _scalar_loss(self.loss_fn(outputs, targets))
                totals.add(self._measure(loss, outputs, targets), _batch_size(targets))
        finally:
            self.model.train(was_training)
        if totals.count == 0:
            raise ValueError("Trainer.evaluate: the loader yielded no batches")
        return totals.means()

    def plot_history(self, path=None, title: str | None = None):
        """`history.plot`: loss and metrics per epoch, train vs val; saved if `path`."""
        return self.history.plot(path, title=title)

    def load_checkpoint(self, path, load_optimizer: bool = True) -> dict:
        """Restore model (and optimizer) from a checkpoint; return its metadata."""
        return load_checkpoint(path, self.model, self.optimizer if load_optimizer else None)

    # ------------------------------------------------------------ one epoch
    def _run_epoch(self, train_loader, val_loader, bar, last_epoch: int) -> dict[str, float]:
        epoch = self.epoch + 1
        start = time.perf_counter()
        lr = float(self.optimizer.param_groups[0]["lr"])
        task = None if bar is None else bar.add_task(
            f"epoch {epoch}/{last_epoch}", total=_length(train_loader), status="")
        record = {f"train_{k}": v for k, v in self._train_epoch(train_loader, bar, task).items()}
        if val_loader is not None:
            val = self.evaluate(val_loader)
            if not math.isfinite(val["loss"]):
                raise NonFiniteLossError(f"Trainer.fit: the validation loss is {val['loss']} "
                                         f"after epoch {epoch}. {self._checkpoint_note()}")
            record.update({f"val_{k}": v for k, v in val.items()})
        record["lr"] = lr
        record["time"] = time.perf_counter() - start
        if bar is not None:
            bar.remove_task(task)
            bar.console.print(f"epoch {epoch}/{last_epoch}  {_summary(record)}",
                              soft_wrap=True)
        self.epoch = epoch
        return record

    def _train_epoch(self, loader, bar, task) -> dict[str, float]:
        self.model.train()
        self.optimizer.zero_grad()
        k = self.grad_accumulation_steps
        totals, pending = _WeightedMeans(), 0  # pending: batches accumulated, not stepped
        for index, batch in enumerate(loader):
            inputs, targets = _split_batch(batch)
            outputs = self.model(inputs)
            loss = _scalar_loss(self.loss_fn(outputs, targets))
            value = float(loss.item())
            if not math.isfinite(value):
                raise NonFiniteLossError(self._non_finite_message(value, index, loader))
            (loss * (1.0 / k) if k > 1 else loss).backward()
            pending += 1
            if pending == k:
                self._optimizer_step()
                pending = 0
            with no_grad():
                totals.add(self._measure(loss, outputs, targets), _batch_size(targets))
            if bar is not None:
                bar.update(task, advance=1, status=f"loss {totals.means()['loss']:.4f}")
        if totals.count == 0:
            raise ValueError("Trainer.fit: the training loader yielded no batches")
        if pending:  # a last, smaller group: average over the batches it actually has
            self._rescale_gradients(k / pending)
            self._optimizer_step()
        return totals.means()

    def _optimizer_step(self) -> None:
        if self.clip_grad_norm is not None:
            clip_grad_norm_(self.model.parameters(), self.clip_grad_norm)
        self.optimizer.step()
        self.optimizer.zero_grad()
        self.global_step += 1
        if self.scheduler is not None and self.scheduler_interval == "step":
            self.scheduler.step()

    def _rescale_gradients(self, factor: float) -> None:
        for param in self.model.parameters():
            if param.grad is not None:
                param.grad.array *= param.grad.array.dtype.type(factor)

    def _measure(self, loss: Tensor, outputs, targets) -> dict[str, float]:
        values = {"loss": float(loss.item())}
        detached = outputs.detach() if isinstance(outputs, Tensor) else outputs
        for name, metric in self.metrics.items():
            values[name] = float(metric(detached, targets))
        return values

    # ------------------------------------------------------------ after each epoch
    def _after_epoch(self, record: dict[str, float]) -> None:
        if self.scheduler is not None and self.scheduler_interval == "epoch":
            self.scheduler.step()
        if not self._tracking:
            return
        score = record[self.monitor]
        if self._improves(score):
            self.best_score, self.best_epoch, self._stale_epochs = score, self.epoch, 0
            if self.checkpoint_path is not None:
                save_checkpoint(self.checkpoint_path, self.model, self.optimizer,
                                epoch=self.epoch, global_step=self.global_step,
                                monitor=self.monitor, best=score)
        else:
            self._stale_epochs += 1
            patience = self.early_stopping_patience
            self.stopped_early = patience is not None and self._stale_epochs >= patience

    def _improves(self, score: float) -> bool:
        if not math.isfinite(score):
            return False
        if self.best_score is None:
            return True
        return score < self.best_score if self.mode == "min" else score > self.best_score

    # ------------------------------------------------------------ messages and checks
    def _non_finite_message(self, value: float, index: int, loader) -> str:
        total = _length(loader)
        where = f"epoch {self.epoch + 1}, batch {index + 1}" + (f" of {total}" if total else "")
        return (
            f"Trainer.fit: the training loss is {value} at {where}. Training stopped before "
            f"backward, so no weight was updated from this batch. {self._checkpoint_note()} "
            "Common causes: a learning rate that is too high (try 10x lower), exploding "
            "gradients (try clip_grad_norm=1.0), log/division of zero in the loss, or NaN/inf "
            "values in the data."
        )

    def _checkpoint_note(self) -> str:
        if self.checkpoint_path is None:
            return "No checkpoint_path was set."
        if self.best_epoch is None or not os.path.exists(self.checkpoint_path):
            return "No checkpoint has been written yet."
        return (f"The best checkpoint so far ({self.checkpoint_path!r}, epoch "
                f"{self.best_epoch}, {self.monitor}={self.best_score:.6g}) is intact.")

    def _check_monitor(self, val_loader) -> bool:
        """Whether the monitored value will be recorded; an error if something needs it."""
        available = ["train_loss", *(f"train_{m}" for m in self.metrics)]
        if val_loader is not None:
            available += ["val_loss", *(f"val_{m}" for m in self.metrics)]
        if self.monitor in available:
            return True
        if self.checkpoint_path is None and self.early_stopping_patience is None:
            return False  # nothing depends on it: just train
        hint = " (the val_ values need a val_loader)" if val_loader is None else ""
        raise ValueError(f"Trainer.fit: monitor={self.monitor!r} is not recorded, but "
                         f"checkpointing and early stopping need it; choose one of "
                         f"{available}{hint}")

    def _progress_bar(self):
        if not self.progress:
            return contextlib.nullcontext(None)
        return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), TextColumn("{task.fields[status]}"),
                        transient=True)


# ---------------------------------------------------------------- helpers


class _WeightedMeans:
    """Running per-sample means of named values, each batch weighted by its size."""

    def __init__(self):
        self.sums: dict[str, float] = {}
        self.count = 0

    def add(self, values: dict[str, float], n: int) -> None:
        for name, value in values.items():
            self.sums[name] = self.sums.get(name, 0.0) + value * n
        self.count += n

    def means(self) -> dict[str, float]:
        return {name: total / self.count for name, total in self.sums.items()}


def _split_batch(batch):
    if not isinstance(batch, (list, tuple)) or len(batch) != 2:
        got = f"a {type(batch).__name__}" + (f" of length {len(batch)}"
                                             if isinstance(batch, (list, tuple)) else "")
        raise TypeError(f"Trainer: each batch must be an (inputs, targets) pair, got {got}")
    return batch[0], batch[1]


def _scalar_loss(loss) -> Tensor:
    if not isinstance(loss, Tensor) or loss.array.size != 1:
        got = f"shape {loss.shape}" if isinstance(loss, Tensor) else type(loss).__name__
        raise ValueError(f"Trainer: loss_fn must return a scalar Tensor, got {got}; use "
                         "reduction='mean' (the default) in the loss")
    return loss


def _batch_size(targets) -> int:
    shape = getattr(targets, "shape", None)
    return int(shape[0]) if shape else len(targets)


def _length(loader) -> int | None:
    try:
        return len(loader)
    except TypeError:
        return None


def _summary(record: dict[str, float]) -> str:
    shown = {k: v for k, v in record.items() if k not in ("lr", "time")}
    return "  ".join(f"{k} {v:.4f}" for k, v in shown.items()) + f"  ({record['time']:.1f}s)"


def _check_trainer_args(model, optimizer, loss_fn, scheduler, scheduler_interval, metrics,
                        grad_accumulation_steps, clip_grad_norm, early_stopping_patience,
                        monitor, mode) -> None:
    if not (callable(model) and hasattr(model, "parameters") and hasattr(model, "train")):
        raise TypeError(f"Trainer: model must be a tinytorch.core.nn.Module, got "
                        f"{type(model).__name__}")
    if not (hasattr(optimizer, "step") and hasattr(optimizer, "param_groups")):
        raise TypeError(f"Trainer: optimizer must be a tinytorch.core.optim optimizer, got "
                        f"{type(optimizer).__name__}")
    if not callable(loss_fn):
        raise TypeError(f"Trainer: loss_fn must be callable, got {type(loss_fn).__name__}")
    if scheduler is not None and not hasattr(scheduler, "step"):
        raise TypeError(f"Trainer: scheduler must have a step() method, got "
                        f"{type(scheduler).__name__}")
    if scheduler_interval not in ("epoch", "step"):
        raise ValueError(f"Trainer: scheduler_interval must be 'epoch' or 'step', got "
                         f"{scheduler_interval!r}")
    if not isinstance(metrics, Mapping) or not all(callable(f) for f in metrics.values()):
        raise TypeError("Trainer: metrics must be a dict of name -> fn(outputs, targets), "
                        f"got {metrics!r}")
    for name, value in (("grad_accumulation_steps", grad_accumulation_steps),
                        ("early_stopping_patience", early_stopping_patience)):
        if value is None and name == "early_stopping_patience":
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"Trainer: {name} must be a positive int, got {value!r}")
    if clip_grad_norm is not None and (isinstance(clip_grad_norm, bool) or not isinstance(
            clip_grad_norm, numbers.Real) or not np.isfinite(clip_grad_norm)
            or clip_grad_norm <= 0):
        raise ValueError(f"Trainer: clip_grad_norm must be a positive number or None, got "
                         f"{clip_grad_norm!r}")
    if not isinstance(monitor, str):
        raise TypeError(f"Trainer: monitor must be a str like 'val_loss', got {monitor!r}")
    if mode not in (None, "min", "max"):
        raise ValueError(f"Trainer: mode must be 'min', 'max' or None (inferred from "
                         f"monitor), got {mode!r}")
