"""Small CNNs described by a JSON-able config, and saving/loading them.

    config = {"stages": [[32, 1], [64, 1], [128, 1]], "hidden": 256}
    model = models.build_cnn(config)
    models.save_model(model, config, "runs/03_cifar10")          # model.npz + model.json
    model, info = models.load_model("runs/03_cifar10")           # rebuilt, weights loaded

What it teaches: a VGG-style CNN is a stack of stages; each stage is `n` times
[conv3x3 -> BatchNorm -> ReLU] at one width, then a 2x2 max pool that halves the
resolution while the next stage doubles the width. The head flattens the last feature
map into a Linear classifier (or averages it globally first).

Why save a config next to the weights: a state_dict is only names and arrays; to use it
later (profiling in tinytorch.perf, compression in tinytorch.mlops) you must rebuild the
same architecture first. Storing the few numbers that define it as JSON makes the
checkpoint self-describing without pickling code.

Systems lesson: per image, a 3x3 conv at resolution R from C to C' channels costs
2*R^2*9*C*C' FLOPs; halving R and doubling C keeps the cost per stage roughly constant
while the parameters (9*C*C') grow 4x per stage: early stages cost compute, late stages
cost memory. `describe()` prints both.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tinytorch.core import nn
from tinytorch.core.atomic import atomic_write_text, savez_atomic

from .__about__ import __version__
from .functional import conv2d_flops
from .nn import AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Dropout2d, MaxPool2d

DEFAULTS = {"in_channels": 3, "image_size": 32, "num_classes": 10, "hidden": 0,
            "dropout": 0.0, "head": "flatten"}


def full_config(config: dict) -> dict:
    """The config with every default filled in and checked."""
    merged = {**DEFAULTS, **config}
    if "stages" not in merged or not merged["stages"]:
        raise ValueError(f"build_cnn: config needs 'stages' as [[width, convs], ...], got "
                         f"{config!r}")
    stages = [[int(w), int(n)] for w, n in merged["stages"]]
    if any(w <= 0 or n <= 0 for w, n in stages):
        raise ValueError(f"build_cnn: stage widths and conv counts must be positive, got "
                         f"{merged['stages']}")
    if merged["head"] not in ("flatten", "avgpool"):
        raise ValueError(f"build_cnn: head must be 'flatten' or 'avgpool', got "
                         f"{merged['head']!r}")
    if merged["image_size"] % 2 ** len(stages):
        raise ValueError(f"build_cnn: image_size {merged['image_size']} cannot be halved "
                         f"{len(stages)} times")
    merged["stages"] = stages
    return merged


def build_cnn(config: dict) -> nn.Sequential:
    """A VGG-style CNN from `config` (see the module docstring)."""
    cfg = full_config(config)
    layers, channels = [], cfg["in_channels"]
    for width, convs in cfg["stages"]:
        for _ in range(convs):
            layers += [Conv2d(channels, width, 3, padding=1, bias=False), BatchNorm2d(width),
                       nn.ReLU()]
            channels = width
        layers.append(MaxPool2d(2))
    if cfg["dropout"]:
        layers.append(Dropout2d(cfg["dropout"]))
    if cfg["head"] == "avgpool":
        layers.append(AdaptiveAvgPool2d(1))
        features = channels
    else:
        side = cfg["image_size"] // 2 ** len(cfg["stages"])
        features = channels * side * side
    layers.append(nn.Flatten())
    if cfg["hidden"]:
        layers += [nn.Linear(features, cfg["hidden"]), nn.ReLU()]
        features = cfg["hidden"]
    layers.append(nn.Linear(features, cfg["num_classes"]))
    return nn.Sequential(*layers)


def describe(config: dict) -> dict:
    """Parameters and forward FLOPs per image of the convolutions, from the config alone."""
    cfg = full_config(config)
    flops, size, channels = 0, cfg["image_size"], cfg["in_channels"]
    for width, convs in cfg["stages"]:
        for _ in range(convs):
            flops += conv2d_flops((width, channels, 3, 3), (1, width, size, size))
            channels = width
        size //= 2
    params = sum(p.numel() for p in build_cnn(cfg).parameters())
    return {"parameters": int(params), "conv_mflops_per_image": flops / 1e6}


# ---------------------------------------------------------------- saving and loading


def save_model(model: nn.Module, config: dict, directory, extra: dict | None = None) -> Path:
    """Write `model.npz` (the state_dict) and `model.json` (architecture + extra info).

    Both files are written atomically (`tinytorch.core.atomic`).
    Returns the directory.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {name: t.array for name, t in model.state_dict().items()}
    savez_atomic(directory / "model.npz", arrays)
    info = {"architecture": "tinytorch.vision.models.build_cnn", "config": full_config(config),
            "tinytorch_vision_version": __version__, **(extra or {})}
    text = json.dumps(info, indent=2) + "\n"
    atomic_write_text(directory / "model.json", text)
    return directory


def load_model(directory) -> tuple[nn.Module, dict]:
    """Rebuild the architecture from model.json and load model.npz into it (eval mode)."""
    directory = Path(directory)
    paths = directory / "model.json", directory / "model.npz"
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"load_model: missing {missing}; run milestones/03_cifar10.py "
                                "(it prints where it saved the model) or pass that directory")
    info = json.loads(paths[0].read_text())
    model = build_cnn(info["config"])
    with np.load(paths[1], allow_pickle=False) as archive:
        model.load_state_dict({name: archive[name] for name in archive.files})
    model.eval()
    return model, info

