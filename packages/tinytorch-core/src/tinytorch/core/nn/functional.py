"""tinytorch.core.nn.functional (import as F): stateless layers, activations and losses.

What it teaches: a layer's computation without its parameters. `nn.Linear` stores a
weight and calls `F.linear(x, weight, bias)`; you can call the function directly with
any tensors. Losses check their inputs hard: a (N,) prediction against (N, 1) targets
would broadcast to (N, N) and train on garbage, so here it is an error.

Systems lesson: dropout at p=0.5 stores a mask as large as its input for backward;
inference (`model.eval()`) skips it entirely.
"""

from __future__ import annotations

import numpy as np

from .. import extensions, ops
from ..random import dropout_mask, get_rng
from ..tensor import Tensor

_REDUCTIONS = ("mean", "sum", "none")


# ---------------------------------------------------------------- activations
def relu(x: Tensor) -> Tensor:
    return ops.ReLU.apply(x)


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    return ops.LeakyReLU.apply(x, negative_slope)


def _require_float(op: str, x) -> None:
    """PyTorch has no integer kernel for these ops; say so instead of computing garbage."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating point input, got dtype {x.dtype} "
                        f"(convert with .float())")


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    _require_float("gelu", x)
    return ops.GELU.apply(x, approximate)


def sigmoid(x: Tensor) -> Tensor:
    return x.sigmoid()


def tanh(x: Tensor) -> Tensor:
    return x.tanh()


def softmax(x: Tensor, dim: int = -1, dtype=None) -> Tensor:
    x = x if dtype is None else x.to(dtype)
    _require_float("softmax", x)
    return ops.softmax(x, dim)


def log_softmax(x: Tensor, dim: int = -1, dtype=None) -> Tensor:
    x = x if dtype is None else x.to(dtype)
    _require_float("log_softmax", x)
    return ops.log_softmax(x, dim)


# ---------------------------------------------------------------- layers
def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    return ops.linear(x, weight, bias)


def dropout(x: Tensor, p: float = 0.5, training: bool = True, generator=None) -> Tensor:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    return x * Tensor._make(dropout_mask(get_rng(generator), x.shape, p, x.dtype))


def layer_norm(x: Tensor, normalized_shape, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    _require_float("layer_norm", x)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if x.shape[x.ndim - len(shape):] != shape:
        raise ValueError(f"layer_norm: input of shape {x.shape} does not end with "
                         f"normalized_shape {shape}")
    for name, param in (("weight", weight), ("bias", bias)):
        if param is not None and tuple(param.shape) != shape:
            raise ValueError(f"layer_norm: {name} of shape {tuple(param.shape)} must have "
                             f"the normalized_shape {shape}")
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    return ops.LayerNorm.apply(x, weight, bias, axes, eps)


def one_hot(labels: Tensor, num_classes: int = -1) -> Tensor:
    data = labels.array if isinstance(labels, Tensor) else np.asarray(labels)
    if data.dtype.kind not in "iu":
        raise TypeError(f"one_hot: labels must be integers, got {data.dtype}")
    if num_classes < 0:
        num_classes = int(data.max()) + 1 if data.size else 0
    if data.size and (data.min() < 0 or data.max() >= num_classes):
        raise ValueError(f"one_hot: labels must be in [0, {num_classes}), got range "
                         f"[{data.min()}, {data.max()}]")
    return Tensor._make(np.eye(num_classes, dtype=np.int64)[data])


# ---------------------------------------------------------------- losses
def _check_reduction(op: str, reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _check_same_shape(op: str, input: Tensor, target: Tensor) -> None:
    if input.shape != target.shape:
        raise ValueError(f"{op}: input shape {input.shape} and target shape {target.shape} "
                         "differ; they would broadcast silently and compute the wrong loss. "
                         "Reshape one of them (e.g. target.view(-1, 1)).")


def _as_target(op: str, target, like: Tensor) -> Tensor:
    if not isinstance(target, Tensor):
        target = Tensor(np.asarray(target, dtype=like.dtype))
    if target.dtype.kind == "f" and target.dtype != like.dtype:
        raise TypeError(f"{op}: target dtype {target.dtype} does not match input dtype "
                        f"{like.dtype}")
    return target if target.dtype.kind == "f" else target.to(like.dtype)


def mse_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    _check_reduction("mse_loss", reduction)
    target = _as_target("mse_loss", target, input)
    _check_same_shape("mse_loss", input, target)
    # BEGIN SOLUTION
    diff = input - target
    return _reduce(diff * diff, reduction)
    # END SOLUTION


def l1_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    _check_reduction("l1_loss", reduction)
    target = _as_target("l1_loss", target, input)
    _check_same_shape("l1_loss", input, target)
    return _reduce((input - target).abs(), reduction)


def smooth_l1_loss(input: Tensor, target, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (Huber loss divided by beta)."""
    _check_reduction("smooth_l1_loss", reduction)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    if beta == 0:
        return l1_loss(input, target, reduction)
    return _reduce(_huber(input, target, "smooth_l1_loss", beta) / beta, reduction)


def huber_loss(input: Tensor, target, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta): quadratic near 0, linear
    far away, so outliers pull with a bounded gradient."""
    _check_reduction("huber_loss", reduction)
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta}")
    return _reduce(_huber(input, target, "huber_loss", delta), reduction)


def _huber(input: Tensor, target, op: str, delta: float) -> Tensor:
    target = _as_target(op, target, input)
    _check_same_shape(op, input, target)
    diff = input - target
    size = diff.abs()
    quadratic = diff * diff * 0.5
    linear = (size - 0.5 * delta) * delta
    return ops.where(size < delta, quadratic, linear)


def _class_layout(op: str, input: Tensor, target: np.ndarray):
    """Move the class dim (dim 1) last and flatten: (N, C, d1..) -> (N*d1.., C)."""
    if input.ndim < 1:
        raise ValueError(f"{op}: input must have a class dimension, got a scalar")
    if input.ndim == 1:  # a single sample of C logits
        return input.reshape(1, -1), target.reshape(1)
    num_classes = input.shape[1]
    if target.shape != (input.shape[0],) + input.shape[2:]:
        raise ValueError(f"{op}: expected target of shape {(input.shape[0],) + input.shape[2:]} "
                         f"for input of shape {input.shape}, got {target.shape}")
    if input.ndim > 2:
        input = ops.permute(input, (0, *range(2, input.ndim), 1))
    return input.reshape(-1, num_classes), target.reshape(-1)


def _coefficients(op, labels, num_classes, weight, ignore_index, label_smoothing, dtype):
    """The target distribution q (N, C) and each sample's normaliser (weight of its class)."""
    if labels.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold class indices of an integer dtype (long), got "
                        f"{labels.dtype}; for class probabilities pass a float tensor of the "
                        "input's shape")
    valid = labels != ignore_index
    picked = np.where(valid, labels, 0)
    if picked.size and (picked.min() < 0 or picked.max() >= num_classes):
        bad = labels[valid & ((labels < 0) | (labels >= num_classes))]
        raise IndexError(f"{op}: target {int(bad[0])} is out of bounds: class indices must be in "
                         f"[0, {num_classes - 1}] (or ignore_index={ignore_index})")
    w = np.ones(num_classes, dtype=dtype) if weight is None else weight.array.astype(dtype)
    rows = np.arange(labels.size)
    q = np.zeros((labels.size, num_classes), dtype=dtype)
    q[rows, picked] = (1.0 - label_smoothing) * w[picked]
    if label_smoothing:
        q += (label_smoothing / num_classes) * w
    q *= valid[:, None]
    norm = (w[picked] * valid).astype(dtype)
    return q, norm


def cross_entropy(input: Tensor, target, weight: Tensor | None = None,
                  ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Log-softmax + negative log-likelihood in one fused op (targets: indices or probs)."""
    _check_reduction("cross_entropy", reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    if input.dtype.kind != "f":
        raise TypeError(f"cross_entropy: input (logits) must be floating point, got {input.dtype}")
    target_data = target.array if isinstance(target, Tensor) else np.asarray(target)
    num_classes = input.shape[1] if input.ndim > 1 else input.shape[0]
    if weight is not None and weight.shape != (num_classes,):
        raise ValueError(f"cross_entropy: weight must have shape ({num_classes},), got "
                         f"{weight.shape}")
    if target_data.dtype.kind == "f":  # class probabilities
        if target_data.shape != input.shape:
            raise ValueError(
                f"cross_entropy: target has dtype {target_data.dtype} and shape "
                f"{target_data.shape}; class-index targets must be an integer (long) tensor, "
                f"probability targets must match the input shape {input.shape}")
        logits, _ = _class_layout("cross_entropy", input, np.zeros(
            (input.shape[0],) + input.shape[2:], dtype=np.int64) if input.ndim > 1
            else np.zeros(1, np.int64))
        probs = np.moveaxis(target_data, 1, -1).reshape(-1, num_classes) if input.ndim > 1 \
            else target_data.reshape(1, -1)
        probs = probs.astype(input.dtype) * (1 - label_smoothing) + label_smoothing / num_classes
        if weight is not None:
            probs = probs * weight.array
        losses = ops.CrossEntropy.apply(logits, probs.astype(input.dtype))
        shape = (input.shape[0],) + input.shape[2:] if input.ndim > 1 else ()
        return _reduce(losses.reshape(shape), reduction)
    logits, labels = _class_layout("cross_entropy", input, target_data)
    q, norm = _coefficients("cross_entropy", labels, num_classes, weight, ignore_index,
                            label_smoothing, input.dtype)
    losses = ops.CrossEntropy.apply(logits, q)
    if reduction == "mean":
        return losses.sum() / input.dtype.type(norm.sum())
    if reduction == "sum":
        return losses.sum()
    return losses.reshape(target_data.shape)


def nll_loss(input: Tensor, target, weight: Tensor | None = None,
             ignore_index: int = -100, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities `input` (N, C) at class indices."""
    _check_reduction("nll_loss", reduction)
    target_data = target.array if isinstance(target, Tensor) else np.asarray(target)
    log_probs, labels = _class_layout("nll_loss", input, target_data)
    q, norm = _coefficients("nll_loss", labels, log_probs.shape[1], weight, ignore_index,
                            0.0, input.dtype)
    losses = -(log_probs * Tensor._make(q)).sum(dim=1)
    if reduction == "mean":
        return losses.sum() / input.dtype.type(norm.sum())
    if reduction == "sum":
        return losses.sum()
    return losses.reshape(target_data.shape)


def binary_cross_entropy_with_logits(input: Tensor, target, weight=None,
                                     reduction: str = "mean", pos_weight=None) -> Tensor:
    """-[y log s(x) + (1-y) log(1-s(x))], computed stably as (1-y)x + L softplus(-x)."""
    _check_reduction("binary_cross_entropy_with_logits", reduction)
    target = _as_target("binary_cross_entropy_with_logits", target, input)
    _check_same_shape("binary_cross_entropy_with_logits", input, target)
    softplus_neg = (-input).relu() + ((-input.abs()).exp() + 1.0).log()  # log(1 + e^-x)
    scale = 1.0 if pos_weight is None else (pos_weight - 1.0) * target + 1.0
    loss = (1.0 - target) * input + scale * softplus_neg
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy(input: Tensor, target, reduction: str = "mean") -> Tensor:
    _check_reduction("binary_cross_entropy", reduction)
    target = _as_target("binary_cross_entropy", target, input)
    _check_same_shape("binary_cross_entropy", input, target)
    if input.numel() and not (input.array.min() >= 0 and input.array.max() <= 1):
        raise ValueError(f"binary_cross_entropy: all elements of input should be between 0 "
                         f"and 1 (probabilities), got range [{input.array.min():.4g}, "
                         f"{input.array.max():.4g}]; for logits use "
                         "binary_cross_entropy_with_logits")
    eps = np.finfo(input.dtype).eps
    p = input.clamp(eps, 1 - eps)
    return _reduce(-(target * p.log() + (1.0 - target) * (1.0 - p).log()), reduction)


__all__ = [
    "relu", "leaky_relu", "gelu", "sigmoid", "tanh", "softmax", "log_softmax", "linear",
    "dropout", "layer_norm", "one_hot", "mse_loss", "l1_loss", "cross_entropy",
    "nll_loss", "binary_cross_entropy_with_logits", "binary_cross_entropy", "smooth_l1_loss",
    "huber_loss",
]


def __getattr__(name: str):
    """Functions of later phases (`F.max_pool2d`, `F.scaled_dot_product_attention`)."""
    if name.startswith("__"):
        raise AttributeError(name)
    return extensions.resolve("nn.functional", name)
