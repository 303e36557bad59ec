"""Small CNNs described by a JSON-able config, and saving/loading them.

    config = {"stages": [[32, 1], [64, 1], [128, 1]], "hidden": 256}
    model = models.build_cnn(config)
    models.save_model(model, config, "my-cnn")                   # model.safetensors
    model, info = models.load_model("my-cnn")                    # rebuilt, weights loaded

What it teaches: a VGG-style CNN is a stack of stages; each stage is `n` times
[conv3x3 -> BatchNorm -> ReLU] at one width, then a 2x2 max pool that halves the
resolution while the next stage doubles the width. The head flattens the last feature
map into a Linear classifier (or averages it globally first).

One reordering, exact: a stage's last ReLU runs after the max pool, not before it.
ReLU and max commute (max(relu(a), relu(b)) = relu(max(a, b)), because ReLU never
reorders values), and so do their gradients: the pooled gradient goes to the window's
winner only where it is positive in both orders. Pooled, the ReLU touches 4x fewer
numbers, forward and backward. The parameters keep their places (ReLU and pooling have
none), so the state_dict names are those of the textbook order [conv, BN, ReLU, pool];
tests/test_models.py checks loss and every gradient against PyTorch's textbook order.
The model is a `FusedSequential` (nn/fusion.py): it holds these same layers, and runs each
stage's batch norm, pool and ReLU as one op that pools the raw convolution output and
normalises only the window winners (ops/batchnorm_pool.py).

Why save the architecture with the weights: a state_dict is only names and arrays; to use
it later (profiling in tinytorch.perf, compression in tinytorch.mlops) you must rebuild the
same architecture first. Core's model file stores it as JSON (plus the config that made
it), so the checkpoint is self-describing without pickling code, and one checksum covers
it all.

Systems lesson: per image, a 3x3 conv at resolution R from C to C' channels costs
2*R^2*9*C*C' FLOPs; halving R and doubling C keeps the cost per stage roughly constant
while the parameters (9*C*C') grow 4x per stage: early stages cost compute, late stages
cost memory. `describe()` prints both.
"""

from __future__ import annotations

from pathlib import Path

from tinytorch.core import nn
from tinytorch.core.data import cache_dir
from tinytorch.core.serialization import load_model as core_load_model
from tinytorch.core.serialization import save_model as core_save_model

from .__about__ import __version__
from .functional import conv2d_flops
from .nn import AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Dropout2d, FusedSequential, MaxPool2d

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
        for _ in range(convs - 1):
            layers += [Conv2d(channels, width, 3, padding=1, bias=False), BatchNorm2d(width),
                       nn.ReLU()]
            channels = width
        # the stage's last ReLU runs after the pool: the same function, 4x fewer pixels
        layers += [Conv2d(channels, width, 3, padding=1, bias=False), BatchNorm2d(width),
                   MaxPool2d(2), nn.ReLU()]
        channels = width
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
    return FusedSequential(*layers)


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
MODEL_FILE = "model.safetensors"


def default_model_dir(mode: str = "full") -> Path:
    """Where milestone 03 saves its model (and milestone 05 looks for it): the user cache."""
    suffix = "" if mode == "full" else f"-{mode}"
    return cache_dir() / "models" / f"cifar10-cnn{suffix}"


def save_model(model: nn.Module, config: dict, directory, extra: dict | None = None) -> Path:
    """Write `directory/model.safetensors`: weights, architecture, config and `extra` info,
    in core's one checksummed format (`tinytorch.core.serialization.save_model`).
    Returns the directory."""
    directory = Path(directory)
    info = {"architecture": "tinytorch.vision.models.build_cnn", "config": full_config(config),
            "tinytorch_vision_version": __version__, **(extra or {})}
    core_save_model(model, directory / MODEL_FILE, info=info)
    return directory


def load_model(directory) -> tuple[nn.Module, dict]:
    """(model in eval mode, info) from a directory written by `save_model`."""
    path = Path(directory) / MODEL_FILE
    if not path.is_file():
        raise FileNotFoundError(f"load_model: missing {path}; run milestone 03 "
                                "(`tito milestones run cifar10`; it prints where it saved the "
                                "model) or pass that directory")
    return core_load_model(path, return_info=True)
