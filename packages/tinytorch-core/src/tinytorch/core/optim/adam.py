"""Adam and AdamW: a per-weight step size from running gradient statistics.

What it teaches: Adam keeps two exponential moving averages per weight, of the gradient
(`exp_avg`, m: which way to go) and of its square (`exp_avg_sq`, v: how noisy or large the
gradient is), and steps by m / sqrt(v). Weights with large or noisy gradients take small
steps, weights with small consistent gradients take large ones, so one learning rate suits
all layers. Written exactly as PyTorch computes it, at step t:

    g <- -g                              if maximize
    g <- g + weight_decay * p            Adam (L2 penalty inside the gradient)
    p <- p * (1 - lr * weight_decay)     AdamW (decoupled: shrink the weight directly)
    m <- m + (1 - beta1) * (g - m)       (= beta1 * m + (1 - beta1) * g)
    v <- beta2 * v + (1 - beta2) * g * g
    v_max <- max(v_max, v)               if amsgrad (use v_max below instead of v)
    p <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

Both averages start at zero, so early on they are biased towards zero; dividing by
(1 - beta^t) undoes that bias (at t=1 it turns m back into exactly g).

Why AdamW: with Adam, the L2 term goes through the division by sqrt(v), so weights with
large gradients are barely regularised. AdamW decays every weight by the same factor,
which is what "weight decay" was meant to be; it is the default for transformers.

Systems lesson: Adam holds two extra float arrays per parameter (three with amsgrad), so
optimizer state is twice the model's weight memory: a 7B-parameter float32 model carries
56 GB of Adam state. This is what ZeRO/FSDP shard across GPUs and 8-bit optimizers
compress. `optimizer.state_bytes()` shows it.
"""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, check_range


class Adam(Optimizer):
    """Adam (mirrors `torch.optim.Adam`); `decoupled_weight_decay=True` makes it AdamW."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *,
                 maximize: bool = False, decoupled_weight_decay: bool = False):
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad, "maximize": maximize,
                    "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        name = self._name
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}")
        group["betas"] = tuple(betas)
        check_range(name, "learning rate", group["lr"])
        check_range(name, "epsilon value", group["eps"])
        check_range(name, "beta parameter at index 0", betas[0], high=1.0)
        check_range(name, "beta parameter at index 1", betas[1], high=1.0)
        check_range(name, "weight_decay value", group["weight_decay"])

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        # Python floats take the array's dtype (NEP 50), so float32 stays float32.
        lr, eps = float(group["lr"]), float(group["eps"])
        weight_decay = float(group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        if not state:
            self._init_state(param, state)
        if group["amsgrad"] and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = np.zeros_like(param)
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        state["step"] += 1
        step = state["step"]

        if group["maximize"]:
            grad = -grad  # a new array: never write into p.grad
        if weight_decay != 0:
            if group["decoupled_weight_decay"]:
                param *= 1 - lr * weight_decay
            else:
                grad = grad + weight_decay * param

        # BEGIN SOLUTION
        exp_avg += (1 - beta1) * (grad - exp_avg)  # PyTorch's lerp form (same rounding)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        # END SOLUTION
        if group["amsgrad"]:
            second_moment = np.maximum(state["max_exp_avg_sq"], exp_avg_sq,
                                       out=state["max_exp_avg_sq"])
        else:
            second_moment = exp_avg_sq

        # BEGIN SOLUTION
        step_size = lr / (1 - beta1**step)
        denom = np.sqrt(second_moment)
        denom /= (1 - beta2**step) ** 0.5
        denom += eps
        update = np.multiply(exp_avg, step_size)
        update /= denom
        param -= update
        # END SOLUTION

    @staticmethod
    def _init_state(param: np.ndarray, state: dict) -> None:
        # BEGIN SOLUTION
        state["step"] = 0
        state["exp_avg"] = np.zeros_like(param)
        state["exp_avg_sq"] = np.zeros_like(param)
        # END SOLUTION


class AdamW(Adam):
    """Adam with decoupled weight decay (mirrors `torch.optim.AdamW`, default decay 1e-2)."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)
