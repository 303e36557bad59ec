"""FusedSequential: a Sequential that runs BatchNorm2d -> MaxPool2d (-> ReLU) as one op.

    model = FusedSequential(Conv2d(3, 32, 3, padding=1), BatchNorm2d(32), nn.ReLU(),
                            MaxPool2d(2), ...)     # same layers, names and weights

What it teaches: fusion is a rewrite of the graph, not of the model. The container holds
the very layers a Sequential would, with the same state_dict; only its forward looks one
layer ahead: where a BatchNorm2d is followed by a 2x2-style max pool (windows that tile
the input) and, before or after the pool, a ReLU, it calls the fused op of
ops/batchnorm_pool.py, which pools first and normalises a quarter of the numbers.
Anything else (other layers, a pool with padding or overlap, odd sizes) runs layer by
layer, exactly as in nn.Sequential.

A forward hook or pre-hook on one of the layers turns fusion off for that layer: a hook
expects the layer's own output, which the fused op never forms. (So a profiler that
hooks every layer times the unfused layers; the op tracer sees the fused op.)

Systems lesson: deployment tools fuse layers for inference (BatchNorm folded into the
conv); the same idea pays in training when the fused form moves less memory.
"""

from __future__ import annotations

from tinytorch.core import nn
from tinytorch.core.nn.sizes import pair
from tinytorch.core.tensor import Tensor

from .. import functional as VF
from ..ops.pooling import windows_tile
from .batchnorm import BatchNorm2d
from .pooling import MaxPool2d


class FusedSequential(nn.Sequential):
    """nn.Sequential, with batch norm -> max pool (-> ReLU) runs fused (see module doc)."""

    def forward(self, x):
        layers = list(self._modules.values())
        i = 0
        while i < len(layers):
            pool_at, relu = fusable_run(layers, i, x)
            if pool_at is None:
                x = layers[i](x)
                i += 1
                continue
            batch_norm, pool = layers[i], layers[pool_at]
            arguments = {**batch_norm.functional_arguments(x),
                         "op": f"{type(self).__name__}[{i}:{i + 2 + relu}] (batch norm, "
                               "max pool" + (", ReLU)" if relu else ")")}
            x = VF.batch_norm_max_pool2d(x, kernel_size=pool.kernel_size, relu=relu,
                                         **arguments)
            i += 2 + relu
        return x


def fusable_run(layers: list, i: int, x) -> tuple[int | None, bool]:
    """(index of the pool, whether a ReLU is fused) if layers[i:] start with batch norm ->
    [ReLU ->] tiling max pool [-> ReLU] that can run fused on `x`; else (None, False)."""
    run = layers[i:i + 3]
    if len(run) < 2 or not _is_plain(run[0], BatchNorm2d) or not _fits(run[0], x):
        return None, False
    if _is_plain(run[1], MaxPool2d) and _tiles(run[1], x):
        return i + 1, len(run) == 3 and _is_plain(run[2], nn.ReLU)
    if len(run) == 3 and _is_plain(run[1], nn.ReLU) and _is_plain(run[2], MaxPool2d) \
            and _tiles(run[2], x):
        return i + 2, True  # ReLU and max commute: same function as pool-then-ReLU
    return None, False


def _is_plain(layer, cls) -> bool:
    """A layer of exactly this kind, with no hooks that expect its own output."""
    return type(layer) is cls and not layer._forward_hooks and not layer._forward_pre_hooks


def _fits(batch_norm: BatchNorm2d, x) -> bool:
    """Input the batch norm accepts (anything else runs unfused, for its own error)."""
    return (isinstance(x, Tensor) and x.ndim == 4 and x.dtype.kind == "f"
            and x.shape[1] == batch_norm.num_features
            and (x.shape[0] * x.shape[2] * x.shape[3] > 1
                 or not (batch_norm.training or batch_norm.running_mean is None)))


def _tiles(pool: MaxPool2d, x) -> bool:
    """Do the pool's windows cover every pixel of `x` exactly once?"""
    try:
        kernel = pair("MaxPool2d", "kernel_size", pool.kernel_size, minimum=1)
        stride = pair("MaxPool2d", "stride", pool.stride, minimum=1)
        padding = pair("MaxPool2d", "padding", pool.padding)
        dilation = pair("MaxPool2d", "dilation", pool.dilation, minimum=1)
    except (TypeError, ValueError):
        return False  # the pool itself will explain
    out_hw = tuple(size // k for size, k in zip(x.shape[2:], kernel))
    return padding == (0, 0) and windows_tile(x.shape[2:], kernel, stride, dilation, out_hw)
