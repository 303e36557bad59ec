"""Milestone 03's CNN and recipe, full training step: TinyTorch vs the PyTorch program a user
would write for the same work.

    python benchmarks/bench_milestone_cnn.py [--quick] [--json] [--repeats N] [--strict]

The network is milestone 03's (`models.build_cnn(PRESET)`: three stages of conv3x3 (no
bias) -> BatchNorm -> ReLU -> 2x2 max pool, widths 32/64/128, then Linear(2048 -> 256) ->
ReLU -> Linear(256 -> 10); TinyTorch builds each stage as conv -> BN -> pool -> ReLU, the
same function, see tinytorch.vision.models), in training mode, with milestone 03's recipe:
batch 128, cross-entropy with label smoothing 0.1, SGD with Nesterov momentum 0.9 and weight decay
5e-4 at the one-cycle peak learning rate. One step = forward, loss, zero_grad, backward,
SGD step. The PyTorch side is the same `nn.Sequential` of torch's own layers, starting from
TinyTorch's weights (the first losses are checked to agree), with the same BLAS threads,
timed in one interleaved run. Target: TinyTorch trains at least 0.8x PyTorch's images/s.

Memory: each library also runs 3 training steps in a fresh process of its own (TinyTorch's
never imports torch), which reports its peak resident set size and how far it rose above
the size it had just before the first step: the memory a training step needs.

Systems lesson: per image the three convolutions do 2 * (32*32*27*32 + 16*16*288*64 +
8*8*576*128) = 22 MFLOP forward, ~66 MFLOP per training step: 8.5 GFLOP a batch of 128,
mostly large matrix products; what separates the two libraries is the memory-bound work
around them (im2col, BatchNorm, ReLU, pooling, the optimizer) and how many cores it uses.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from harness import (
    Check,
    Report,
    emit,
    interleaved,
    match_torch_threads,
    parse_args,
    ratio_check,
    throughput_rows,
    torch_training_step,
    training_cases,
    training_step,
)

import tinytorch.core as tt
import tinytorch.core.nn.functional as F
from tinytorch.core import optim
from tinytorch.vision import models
from tinytorch.vision.milestones.cifar10 import BATCH, MAX_LR, PRESET

TARGET_RATIO = 0.8
MOMENTUM, WEIGHT_DECAY, LABEL_SMOOTHING = 0.9, 5e-4, 0.1
MEMORY_STEPS = 3


def batch_of_images(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((BATCH, 3, 32, 32), dtype=np.float32),
            rng.integers(0, 10, size=BATCH, dtype=np.int64))


def tinytorch_step_fn(data: np.ndarray, labels: np.ndarray):
    tt.manual_seed(0)
    model = models.build_cnn(PRESET).train()
    opt = optim.SGD(model.parameters(), lr=MAX_LR, momentum=MOMENTUM, nesterov=True,
                    weight_decay=WEIGHT_DECAY)
    return model, training_step(
        model, opt, tt.tensor(data), tt.tensor(labels), zero_grad_first=True,
        loss=lambda out, y: F.cross_entropy(out, y, label_smoothing=LABEL_SMOOTHING))


def torch_cnn(torch, tt_model):
    """milestone 03's CNN from torch's layers, holding `tt_model`'s weights and buffers."""
    nn = torch.nn
    layers, channels = [], 3
    for width, convs in PRESET["stages"]:
        for _ in range(convs):
            layers += [nn.Conv2d(channels, width, 3, padding=1, bias=False),
                       nn.BatchNorm2d(width), nn.ReLU()]
            channels = width
        layers.append(nn.MaxPool2d(2))
    side = 32 // 2 ** len(PRESET["stages"])
    layers += [nn.Flatten(), nn.Linear(channels * side * side, PRESET["hidden"]), nn.ReLU(),
               nn.Linear(PRESET["hidden"], 10)]
    model = nn.Sequential(*layers).train()
    state = {name: torch.from_numpy(np.array(t.numpy())) for name, t in
             tt_model.state_dict().items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or any(not name.endswith("num_batches_tracked") for name in missing):
        raise RuntimeError(f"bench_milestone_cnn: weights do not line up: missing {missing}, "
                           f"unexpected {unexpected}")
    return model


def torch_step_fn(torch, tt_model, data: np.ndarray, labels: np.ndarray):
    return torch_training_step(
        torch, torch_cnn(torch, tt_model),
        lambda params: torch.optim.SGD(params, lr=MAX_LR, momentum=MOMENTUM, nesterov=True,
                                       weight_decay=WEIGHT_DECAY),
        data, labels, zero_grad_first=True,
        loss=lambda out, y: torch.nn.functional.cross_entropy(out, y,
                                                              label_smoothing=LABEL_SMOOTHING))


# ---------------------------------------------------------------- peak memory, one process each
def memory_status(field: str) -> int:
    """A field of /proc/self/status in bytes: VmRSS (now) or VmHWM (the peak). Both belong
    to this process image: unlike getrusage's ru_maxrss, VmHWM does not carry over the
    parent's peak across fork and exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024  # kB
    raise RuntimeError(f"bench_milestone_cnn: no {field} in /proc/self/status")


def memory_child(library: str) -> dict:
    """Run MEMORY_STEPS training steps in this process; peak RSS and its rise over the RSS
    just before the first step, in bytes."""
    data, labels = batch_of_images()
    tt_model, step = tinytorch_step_fn(data, labels)
    if library == "PyTorch":
        import torch

        match_torch_threads(torch)
        step = torch_step_fn(torch, tt_model, data, labels)
    before = memory_status("VmRSS")
    for _ in range(MEMORY_STEPS):
        step()
    peak = memory_status("VmHWM")
    return {"peak_rss": peak, "step_rise": max(peak - before, 0)}


def measure_memory(libraries: list[str]) -> dict[str, dict]:
    found = {}
    for library in libraries:
        done = subprocess.run([sys.executable, __file__, "--memory-child", library],
                              capture_output=True, text=True, check=True, timeout=600)
        found[library] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv)
    data, labels = batch_of_images()
    tt_model, tt_step = tinytorch_step_fn(data, labels)
    cases, notes = training_cases(
        "bench_milestone_cnn", tt_step,
        lambda torch: torch_step_fn(torch, tt_model, data, labels))
    timings = interleaved(cases, repeats=args.repeats, warmup=2 if args.quick else args.warmup,
                          min_block_seconds=0.2 if args.quick else 1.0)
    rows = throughput_rows(timings, BATCH, "images/s", lambda t: f"{t.median * 1e3:.0f} "
                                                              f"ms/step, {t.number} steps/block")
    report = Report("milestone_cnn", "Milestone 03's CNN and recipe: training images/s "
                    f"(batch {BATCH}, BatchNorm, SGD Nesterov, label smoothing)",
                    config={"repeats": args.repeats, "batch": BATCH, "preset": str(PRESET)},
                    rows=rows, notes=notes)
    report.checks.append(ratio_check("TinyTorch / PyTorch training images/s (milestone 03)",
                                     timings, "TinyTorch", "PyTorch", TARGET_RATIO))
    memory = measure_memory(list(cases))
    for library, figures in memory.items():
        report.checks.append(Check(
            f"peak memory of {MEMORY_STEPS} training steps, {library} (own process)",
            "reported", f"peak RSS {figures['peak_rss'] / 2**20:,.0f} MiB, "
                        f"+{figures['step_rise'] / 2**20:,.0f} MiB during the steps", None))
    return emit(report, args)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--memory-child":
        print(json.dumps(memory_child(sys.argv[2])))
        sys.exit(0)
    sys.exit(main())
