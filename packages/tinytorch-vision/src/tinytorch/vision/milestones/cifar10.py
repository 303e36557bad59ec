"""CIFAR-10 from scratch: a TinyTorch CNN reaches >= 75% test accuracy in <= 30 minutes.

    tito milestones run cifar10                 # the full run (downloads CIFAR-10 if missing)
    tito milestones run cifar10 --quick         # CI smoke run: ~300 steps on a subset
    tito milestones run cifar10 --val           # hyper-parameter selection run
    tito milestones run cifar10 --output DIR    # where to save the model
    tito milestones run cifar10 --no-download   # never download (also TINYTORCH_OFFLINE=1)

(`python -m tinytorch.vision.milestones.cifar10 ...` and, in a checkout,
`python milestones/03_cifar10.py ...` run the same module.)

Data: the data root ($TINYTORCH_DATA, else the user cache) holding CIFAR-10 as image
folders, extracted batches or the official archive. A full run that finds none downloads
the official archive (163 MB, md5-checked) into the data root once.

The claim: a convolutional network built only from tinytorch.core and tinytorch.vision
(numpy underneath), trained from random initialisation on the 50,000 training images,
classifies at least 75% of the 10,000 test images correctly, and the whole run (data
loading, training, evaluation) takes at most 30 minutes of wall time on 2 CPU cores.

The recipe (every piece is a lesson of the package):
- the network: three stages of [conv3x3 -> BatchNorm -> ReLU] x n with 2x2 max pooling,
  widths 32/64/128, then Linear(2048 -> 256) -> ReLU -> Linear(256 -> 10), see PRESET
  (built with each stage's last ReLU after its pool: the same function, cheaper, see
  tinytorch.vision.models); BatchNorm is what lets it train fast at a high learning rate;
- augmentation: random 32x32 crops of the 4-pixel zero-padded image and random
  horizontal flips, applied batch-wise (tinytorch.vision.transforms);
- SGD with Nesterov momentum 0.9, weight decay 5e-4, batch 128, the one-cycle learning
  rate schedule (warm up to max_lr over the first 25% of steps, then cosine down), and
  cross-entropy with label smoothing 0.1.

How the hyper-parameters were chosen: on a validation split, never on the test set.
`--val` holds out 5,000 of the training images (a fixed random subset, seed 0), trains on
the other 45,000 and reports validation accuracy only; the test images are not even
loaded. The selection runs compared the one-cycle peak learning rate, one epoch each
(the 2-core machine was shared with other jobs, so each got ~60 images/s):

    python milestones/03_cifar10.py --val --epochs 1 --lr 0.05   # val accuracy 64.00%
    python milestones/03_cifar10.py --val --epochs 1 --lr 0.1    # val accuracy 62.44%
    python milestones/03_cifar10.py --val --epochs 1 --lr 0.2    # val accuracy 55.28%

so max_lr = 0.05. The length of training is not a hyper-parameter here but the budget:
the full run trains for whatever the 30 minutes leave after loading the data (minus a
reserve of 1/15 of the budget for evaluation and saving: 2 minutes of 30), with the
one-cycle schedule stepped by the clock (see `Clock`), so it ends on time on an idle or a
busy machine; a busy machine only means fewer epochs. `--epochs N` gives a fixed,
step-counted schedule instead. `--budget-minutes 8` is the short budget: the same
recipe, checked on the validation split first (2026-12-01, nothing else running):

    python milestones/03_cifar10.py --val --budget-minutes 8   # val accuracy 75.68%,
                                                               # 4.5 epochs, 453 s wall
    python milestones/03_cifar10.py --budget-minutes 8         # test accuracy 76.73%,
                                                               # 4.7 epochs, 7.6 min wall

With the faster training step of 2026-12-02 (batch norm fused with its pool) the same
command gives 81.85% test accuracy in 11.9 epochs, 7.5 min wall.

Outputs: rich progress per epoch; the model (one checksummed model.safetensors: state_dict,
architecture config, normalisation constants and accuracy) saved to --output (default:
<user cache>/models/cifar10-cnn, `-quick` / `-val` for the other modes), loadable with
`tinytorch.vision.models.load_model(path)`; next to it report.png/.svg (loss and accuracy
curves per epoch, train vs a random 1,000 of the evaluation images, drawn only, never
used to choose anything; the confusion matrix; test images with
predicted vs true labels) and history.csv; the final line states target vs achieved
accuracy and wall time. Exit code 0 only when the claim holds.

The full run (2026-12-02, this repository's 2-core machine, nothing else running, via
`python -m nox -s milestones` in a fresh nox environment):

    TINYTORCH_DATA=/work/shared/data python milestones/03_cifar10.py
    -> 43.5 epochs (16,968 steps of batch 128, 1,100-1,400 images/s) in 27.6 min of
       training; test accuracy 85.99% (target >= 75%), 28.1 min wall (budget 30 min): PASSED

The training length is a time budget, so a busy machine trains fewer epochs: an earlier
run sharing the cores with other jobs got 11.2 epochs and 81.51%.

--quick (for CI): trains for 300 steps of batch 32 on a 10,000-image subset of the real
training data and checks that the loss falls; if no CIFAR-10 data can be found it uses
a synthetic, clearly labelled stand-in (tinytorch.vision.datasets.cifar10_stand_in) and
never downloads. It never claims the 75%.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

import tinytorch.core as tt
import tinytorch.core.nn.functional as F
from tinytorch.core import optim
from tinytorch.core.data import DataLoader
from tinytorch.core.milestones.support import (
    DATA_ERRORS,
    add_data_arguments,
    claims_table,
    may_download,
    no_data,
    write_report,
)
from tinytorch.vision import datasets, models, transforms
from tinytorch.vision.milestones.cifar10_report import (
    MONITOR_IMAGES,
    TrainingMonitor,
    draw_cifar10_report,
    loss_and_accuracy,
    predict,
)

TARGET_ACCURACY = 0.75
BUDGET_SECONDS = 30 * 60
PRESET = {"stages": [[32, 1], [64, 1], [128, 1]], "hidden": 256}
RESERVE_FRACTION, MIN_RESERVE_SECONDS = 1 / 15, 30  # evaluation, saving and slack: 2 min of
# 30, 32 s of 8 (measured: predicting the 10,000 test images takes ~10 s, the report ~5 s)
BATCH = 128
MAX_LR = 0.05  # chosen on the validation split, see the docstring
VAL_SIZE = 5000
QUICK_STEPS, QUICK_BATCH, QUICK_SUBSET, QUICK_EVAL = 300, 32, 10000, 2000


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI smoke run (~300 steps)")
    parser.add_argument("--val", action="store_true",
                        help="selection run: hold out 5,000 training images, report val acc")
    parser.add_argument("--budget-minutes", type=float, default=BUDGET_SECONDS / 60,
                        help="whole-run wall-time budget; training gets what is left after "
                             "loading, minus a reserve for evaluation and saving")
    parser.add_argument("--epochs", type=int, default=None,
                        help="a fixed number of epochs instead of the time budget")
    parser.add_argument("--batch-size", type=int, default=BATCH)
    parser.add_argument("--lr", type=float, default=MAX_LR, help="one-cycle peak lr")
    parser.add_argument("--seed", type=int, default=0)
    add_data_arguments(parser)
    parser.add_argument("--output", default=None, help="model directory (default: "
                        "<user cache>/models/cifar10-cnn[-quick|-val])")
    args = parser.parse_args(argv)
    if (args.epochs is not None and args.epochs < 1) or args.batch_size < 1 or args.lr <= 0 \
            or args.budget_minutes <= 0:
        parser.error("--epochs and --batch-size must be >= 1, --lr and --budget-minutes > 0")
    return args


# ---------------------------------------------------------------- data


def load_data(args, console):
    """(train images, train labels, eval images, eval labels, eval name, data label)."""
    try:
        train = datasets.CIFAR10(args.data_dir, train=True, download=may_download(args))
    except FileNotFoundError as error:
        if not args.quick:
            raise
        console.print(f"[yellow]no CIFAR-10 found, so this quick run uses a synthetic "
                      f"stand-in.[/] {error}", highlight=False)
        train, test = datasets.cifar10_stand_in(True), datasets.cifar10_stand_in(False)
        return (train.data, train.targets, test.data, test.targets, "stand-in test",
                "SYNTHETIC stand-in data (no CIFAR-10 found)")
    if args.val:  # the test set is not touched at all
        order = np.random.default_rng(0).permutation(len(train))
        held, kept = order[:VAL_SIZE], order[VAL_SIZE:]
        return (train.data[kept], train.targets[kept], train.data[held], train.targets[held],
                "validation", f"CIFAR-10 train split into {len(kept)} + {VAL_SIZE} held out")
    test = datasets.CIFAR10(args.data_dir, train=False)
    return (train.data, train.targets, test.data, test.targets, "test",
            f"CIFAR-10 ({train.source[0]} at {train.root})")


def channel_stats(images: np.ndarray):
    pixels = images.reshape(-1, 3).astype(np.float64) / 255
    return pixels.mean(axis=0), pixels.std(axis=0)


def train_loader(images, labels, mean, std, batch, seed):
    augment = tt.Generator(seed + 1)  # used only by the prefetch thread: reproducible
    pipeline = transforms.Compose([
        transforms.RandomCrop(32, padding=4, generator=augment),
        transforms.RandomHorizontalFlip(generator=augment),
        transforms.ToTensor(),
        transforms.Normalize(mean, std),
    ])
    dataset = datasets.ImageArrays(images, labels, transform=pipeline)
    return DataLoader(dataset, batch_size=batch, shuffle=True, drop_last=True,
                      generator=tt.Generator(seed), prefetch=2)


# ---------------------------------------------------------------- training and evaluation


def evaluate(model, images, labels, mean, std, batch=1000) -> float:
    return float(np.mean(predict(model, images, mean, std, batch) == labels))


class Clock:
    """Training progress in [0, 1]: by steps (a fixed schedule) or by wall time (a budget).

    With a time budget the one-cycle schedule is stepped by the clock: the scheduler is
    built for TICKS steps and advanced whenever another 1/TICKS of the budget has passed,
    so the learning rate finishes its cycle exactly when the time is up, however fast or
    busy the machine is. Fewer epochs fit on a busy machine, never a longer run.
    """

    TICKS = 1000

    def __init__(self, total_steps: int | None = None, seconds: float | None = None):
        self.total_steps, self.seconds = total_steps, seconds
        self.start, self.steps = time.perf_counter(), 0

    def progress(self) -> float:
        if self.seconds is not None:
            return (time.perf_counter() - self.start) / self.seconds
        return self.steps / self.total_steps

    def scheduler_steps(self) -> int:
        """How many scheduler steps the schedule should have taken by now."""
        if self.seconds is None:
            return self.steps
        return min(int(self.progress() * self.TICKS), self.TICKS)


def train(model, loader, clock: Clock, lr, console, progress_label, monitor=None):
    """Train until the clock says done; returns (per-step losses, epochs started).
    `monitor` (a TrainingMonitor) records train/validation curves for the report."""
    optimizer = optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True,
                          weight_decay=5e-4)
    total = clock.total_steps if clock.seconds is None else Clock.TICKS
    scheduler = optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=total + 1,
                                              pct_start=0.25)
    losses, taken, epoch = [], 0, 0
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("loss {task.fields[loss]:.3f}"), TimeElapsedColumn())
    while clock.progress() < 1:
        epoch += 1
        epoch_start, correct, seen = time.perf_counter(), 0, 0
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task(f"{progress_label} epoch {epoch}", total=len(loader),
                                loss=float("nan"))
            for images, labels in loader:
                logits = model(images)
                loss = F.cross_entropy(logits, labels, label_smoothing=0.1)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                clock.steps += 1
                while taken < clock.scheduler_steps():
                    scheduler.step()
                    taken += 1
                losses.append(loss.item())
                right = int((logits.detach().numpy().argmax(axis=1) == labels.numpy()).sum())
                correct, seen = correct + right, seen + len(labels)
                if monitor is not None:
                    monitor.step(losses[-1], right, len(labels))
                bar.update(task, advance=1, loss=float(np.mean(losses[-20:])))
                if clock.progress() >= 1:
                    break
        seconds = time.perf_counter() - epoch_start
        console.print(f"epoch {epoch:2d}  steps {seen // loader.batch_size:4d}  loss "
                      f"{np.mean(losses[-(seen // loader.batch_size):]):.3f}  train acc "
                      f"{correct / seen:.1%}  lr {scheduler.get_last_lr()[0]:.4f}  {seconds:.0f} s "
                      f"({seen / seconds:.0f} img/s)  progress {min(clock.progress(), 1):.0%}")
    if monitor is not None:
        monitor.finish()
    return losses, epoch


# ---------------------------------------------------------------- main


def main(argv=None) -> int:
    start = time.perf_counter()
    args = parse_args(argv)
    console = Console()
    tt.manual_seed(args.seed)
    mode = "quick" if args.quick else "val" if args.val else "full"
    try:
        train_x, train_y, eval_x, eval_y, eval_name, data_label = load_data(args, console)
    except DATA_ERRORS as error:
        return no_data(console, "milestone 03 (CIFAR-10)", error, datasets.CIFAR10.url)
    if args.quick:
        subset = np.random.default_rng(args.seed).permutation(len(train_x))[:QUICK_SUBSET]
        train_x, train_y = train_x[subset], train_y[subset]
        # the image folders are sorted by class: a random sample, not the first 2,000
        chosen = np.random.default_rng(args.seed).permutation(len(eval_x))[:QUICK_EVAL]
        eval_x, eval_y = eval_x[chosen], eval_y[chosen]
    mean, std = channel_stats(train_x)
    model = models.build_cnn(PRESET)
    facts = models.describe(PRESET)
    batch = QUICK_BATCH if args.quick else args.batch_size
    loader = train_loader(train_x, train_y, mean, std, batch, args.seed)
    if args.quick or args.epochs:
        steps = QUICK_STEPS if args.quick else args.epochs * len(loader)
        clock, plan = Clock(total_steps=steps), f"{steps} steps"
    else:
        budget = args.budget_minutes * 60
        reserve = max(MIN_RESERVE_SECONDS, RESERVE_FRACTION * budget)
        seconds = budget - reserve - (time.perf_counter() - start)
        if seconds <= 0:
            console.print(f"[red]--budget-minutes {args.budget_minutes:g} leaves no time to "
                          f"train: loading took {time.perf_counter() - start:.0f} s and "
                          f"{reserve:.0f} s are kept for evaluation and saving")
            return 2
        clock, plan = Clock(seconds=seconds), f"{seconds / 60:.1f} min of training"
    console.print(f"[bold]CIFAR-10 milestone ({mode})[/]: {data_label}; {len(train_x)} "
                  f"training images, {len(eval_x)} {eval_name} images")
    console.print(f"model {PRESET}: {facts['parameters']:,} parameters, "
                  f"{facts['conv_mflops_per_image']:.0f} MFLOP/image in the convolutions; "
                  f"{plan}, batch {batch}, one-cycle max lr {args.lr}")

    # a seeded random subset: the image folders are sorted by class, a slice would be one class
    count = min(MONITOR_IMAGES // (2 if args.quick else 1), len(eval_x))
    watched = np.sort(np.random.default_rng(args.seed + 2).permutation(len(eval_x))[:count])
    monitor = TrainingMonitor(
        lambda: loss_and_accuracy(model, eval_x[watched], eval_y[watched], mean, std),
        record_every=QUICK_STEPS // 6 if args.quick else len(loader),
        steps_per_epoch=len(loader))
    losses, epochs = train(model, loader, clock, args.lr, console, mode, monitor)
    predicted = predict(model, eval_x, mean, std)
    accuracy = float(np.mean(predicted == eval_y))
    wall = time.perf_counter() - start
    output = Path(args.output) if args.output else models.default_model_dir(mode)
    models.save_model(model, PRESET, output, extra={
        "dataset": data_label, "mode": mode, f"{eval_name}_accuracy": accuracy,
        "normalize": {"mean": mean.tolist(), "std": std.tolist()},
        "classes": datasets.cifar.CLASSES, "epochs": epochs, "steps": len(losses),
        "batch_size": batch,
        "max_lr": args.lr, "seed": args.seed, "wall_seconds": round(wall, 1)})
    console.print(f"model saved to {output} (model.safetensors; "
                  "load with tinytorch.vision.models.load_model)")
    monitor.history.to_csv(output / "history.csv")
    classes = datasets.cifar.CLASSES if "SYNTHETIC" not in data_label else \
        datasets.cifar10_stand_in(False, 10).classes
    write_report(lambda: draw_cifar10_report(
        monitor.history, predicted, eval_y, eval_x, classes,
        f"Milestone 03 ({mode}, {data_label}; curves: val = {count} random {eval_name} images)"),
        output / "report.png", console, "03_cifar10")
    return report(console, mode, losses, accuracy, eval_name, wall, data_label,
                  args.budget_minutes * 60)


def report(console, mode, losses, accuracy, eval_name, wall, data_label,
           budget: float = BUDGET_SECONDS) -> int:
    checks = []
    if mode == "quick":
        first, last = np.mean(losses[:30]), np.mean(losses[-30:])
        checks.append(("training loss falls (first vs last 30 steps)", f"< {0.9 * first:.3f}",
                       f"{last:.3f}", bool(last < 0.9 * first)))
    elif mode == "full":
        checks.append((f"{eval_name} accuracy", f">= {TARGET_ACCURACY:.0%}", f"{accuracy:.2%}",
                       accuracy >= TARGET_ACCURACY))
        checks.append(("wall time", f"<= {budget / 60:g} min", f"{wall / 60:.1f} min",
                       wall <= budget))
    console.print(claims_table("CIFAR-10 milestone", checks))
    passed = all(ok for *_, ok in checks)
    if mode == "full":
        console.print(f"[bold]target >= {TARGET_ACCURACY:.0%} test accuracy in <= "
                      f"{budget / 60:g} min: "
                      f"achieved {accuracy:.2%} in {wall / 60:.1f} min wall -> "
                      f"{'PASSED' if passed else 'FAILED'}")
    else:
        console.print(f"[bold]{mode} run on {data_label}: {eval_name} accuracy {accuracy:.2%} "
                      f"(no accuracy target in this mode), {wall:.0f} s wall -> "
                      f"{'PASSED' if passed else 'FAILED'}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
