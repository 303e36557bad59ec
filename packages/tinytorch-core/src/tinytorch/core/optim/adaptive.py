"""Adagrad, RMSprop and Adadelta: per-weight step sizes from squared-gradient history.

What it teaches: the three ancestors of Adam, each one fixing its predecessor.
- Adagrad divides the step by sqrt(sum of all past g^2): rarely-updated weights (rare
  words' embeddings) keep large steps. But the sum only grows, so learning slowly stops.
- RMSprop replaces the sum by a moving average (`alpha`), so old gradients fade and the
  step size stays alive. `centered=True` divides by the gradient's variance instead of its
  second moment; `momentum` adds a velocity on top.
- Adadelta also keeps a moving average of past *updates*, and scales by
  sqrt(E[dx^2] + eps) / sqrt(E[g^2] + eps): the units work out, and `lr` (default 1.0)
  is only a final multiplier.
Written exactly as torch.optim computes them (single-tensor path), so runs match.

Systems lesson: each keeps one (Adagrad), one to three (RMSprop) or two (Adadelta) extra
arrays per parameter: optimizer state is 1-3x the model's weight memory.
"""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, check_range


def _with_decay(grad: np.ndarray, param: np.ndarray, group: dict) -> np.ndarray:
    if group.get("maximize"):
        grad = -grad  # a new array: never write into p.grad
    weight_decay = float(group["weight_decay"])
    return grad + weight_decay * param if weight_decay != 0 else grad


class Adagrad(Optimizer):
    """Mirrors `torch.optim.Adagrad`."""

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, *,
                 maximize: bool = False):
        defaults = {"lr": lr, "lr_decay": lr_decay, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value, "eps": eps,
                    "maximize": maximize}
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        for what, key in (("learning rate", "lr"), ("lr_decay", "lr_decay"),
                          ("weight_decay value", "weight_decay"), ("epsilon value", "eps"),
                          ("initial_accumulator_value", "initial_accumulator_value")):
            check_range("Adagrad", what, group[key])

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        if not state:
            state["step"] = 0
            state["sum"] = np.full_like(param, group["initial_accumulator_value"])
        state["step"] += 1
        grad = _with_decay(grad, param, group)
        clr = float(group["lr"]) / (1 + (state["step"] - 1) * float(group["lr_decay"]))
        state["sum"] += grad * grad
        std = np.sqrt(state["sum"])
        std += float(group["eps"])
        param -= clr * (grad / std)


class RMSprop(Optimizer):
    """Mirrors `torch.optim.RMSprop`."""

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, *,
                 maximize: bool = False):
        defaults = {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay,
                    "momentum": momentum, "centered": centered, "maximize": maximize}
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        for what, key in (("learning rate", "lr"), ("epsilon value", "eps"),
                          ("momentum value", "momentum"), ("weight_decay value", "weight_decay"),
                          ("alpha value", "alpha")):
            check_range("RMSprop", what, group[key])

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        alpha, momentum = float(group["alpha"]), float(group["momentum"])
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(param)
            if momentum > 0:
                state["momentum_buffer"] = np.zeros_like(param)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(param)
        state["step"] += 1
        grad = _with_decay(grad, param, group)
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * grad * grad
        if group["centered"]:
            grad_avg = state["grad_avg"]
            grad_avg += (1 - alpha) * (grad - grad_avg)  # torch's lerp_
            avg = np.sqrt(square_avg - grad_avg * grad_avg)
        else:
            avg = np.sqrt(square_avg)
        avg += float(group["eps"])
        if momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum
            buf += grad / avg
            param -= float(group["lr"]) * buf
        else:
            param -= float(group["lr"]) * (grad / avg)


class Adadelta(Optimizer):
    """Mirrors `torch.optim.Adadelta`."""

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, *, maximize: bool = False):
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay,
                    "maximize": maximize}
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        check_range("Adadelta", "learning rate", group["lr"])
        check_range("Adadelta", "rho value", group["rho"], high=1.0 + 1e-12)
        check_range("Adadelta", "epsilon value", group["eps"])
        check_range("Adadelta", "weight_decay value", group["weight_decay"])

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        rho, eps = float(group["rho"]), float(group["eps"])
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(param)
            state["acc_delta"] = np.zeros_like(param)
        state["step"] += 1
        grad = _with_decay(grad, param, group)
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        square_avg *= rho
        square_avg += (1 - rho) * grad * grad
        std = np.sqrt(square_avg + eps)
        delta = np.sqrt(acc_delta + eps) / std * grad
        acc_delta *= rho
        acc_delta += (1 - rho) * delta * delta
        param -= float(group["lr"]) * delta
