"""SGD: stochastic gradient descent, with momentum, Nesterov and weight decay.

What it teaches: the simplest update, `p <- p - lr * g`, and the three classic additions,
written exactly as PyTorch computes them:

    g <- -g                    if maximize
    g <- g + weight_decay * p  (L2 penalty folded into the gradient)
    b <- g                     on the first step (no dampening yet)
    b <- momentum * b + (1 - dampening) * g   afterwards
    g <- g + momentum * b      if nesterov (look ahead along the velocity) else g <- b
    p <- p - lr * g

Momentum is a moving sum of past gradients: in a long narrow valley the components that
flip sign cancel and the ones that agree add up, so the ball rolls along the valley floor.

Systems lesson: plain SGD keeps no state (zero extra memory); momentum keeps one buffer
the size of the parameters. The update reads and writes every parameter once per step, so
it is memory-bound: ~3 passes over the weights (read p, read g, write p) and 2 more with
momentum.
"""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, check_range


class SGD(Optimizer):
    """Stochastic gradient descent (mirrors `torch.optim.SGD`)."""

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False):
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize}
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        check_range("SGD", "learning rate", group["lr"])
        check_range("SGD", "momentum value", group["momentum"])
        check_range("SGD", "weight_decay value", group["weight_decay"])
        check_range("SGD", "dampening value", group["dampening"], low=-float("inf"))
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                "SGD: Nesterov momentum requires a momentum and zero dampening, got "
                f"momentum={group['momentum']} and dampening={group['dampening']}"
            )

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        # Python floats take the array's dtype (NEP 50), so float32 stays float32.
        lr, momentum = float(group["lr"]), float(group["momentum"])
        weight_decay, dampening = float(group["weight_decay"]), float(group["dampening"])

        if group["maximize"]:
            grad = -grad  # a new array: never write into p.grad
        # BEGIN SOLUTION
        if weight_decay != 0:
            grad = grad + weight_decay * param
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                # np.array, not grad.copy(): maths on a 0-d array returns a numpy scalar,
                # and the buffer must stay an array for the in-place updates below.
                buf = state["momentum_buffer"] = np.array(grad, copy=True)
            else:
                buf *= momentum
                buf += (1 - dampening) * grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        param -= lr * grad
        # END SOLUTION
