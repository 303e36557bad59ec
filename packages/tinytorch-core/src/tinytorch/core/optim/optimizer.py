"""Optimizer: the bookkeeping every update rule shares.

What it teaches: an optimizer is three things. `param_groups` is a list of dicts, each
holding some parameters and the hyper-parameters that apply to them (so the last layer can
have its own learning rate). `state` maps each parameter to what the rule remembers between
steps (SGD's momentum buffer, Adam's two moving averages). `step()` walks the groups and
applies the rule to every parameter that has a gradient, in place, with autograd off. The
rule itself (`_update`) is a few lines of numpy in each subclass; everything else lives here.

Systems lesson, memory: training memory = weights + gradients + optimizer state +
activations. Plain SGD keeps no state; SGD with momentum keeps one extra copy of the
weights; Adam keeps two (`exp_avg`, `exp_avg_sq`), three with amsgrad. For a 1B-parameter
float32 model that is 4 GB of weights and 8 GB of Adam state. `state_bytes()` measures it.

Checkpoints: `state_dict()` names parameters by their position (0, 1, 2, ... across the
groups), not by object, so a saved state can be loaded into a freshly built optimizer over
a freshly built model, as long as the parameters come in the same order.
"""

from __future__ import annotations

import numbers
from collections import defaultdict
from collections.abc import Callable
from itertools import chain
from typing import Any

import numpy as np

from ..autograd import enable_grad, no_grad
from ..tensor import Tensor


class Optimizer:
    """Base class of all optimizers (mirrors `torch.optim.Optimizer`).

    `params` is an iterable of Tensors, or of dicts `{"params": [...], "lr": ..., ...}`
    (one per parameter group; missing hyper-parameters are filled from `defaults`).
    """

    def __init__(self, params, defaults: dict[str, Any]):
        self.defaults = dict(defaults)
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []

        if isinstance(params, Tensor):
            raise TypeError(
                f"{self._name}: params argument given to the optimizer should be an iterable "
                f"of Tensors or dicts, but got a single {type(params).__name__}; wrap it in a "
                "list"
            )
        if isinstance(params, (set, frozenset)):
            raise TypeError(_SET_MESSAGE.format(op=self._name))
        param_groups = list(params)
        if not param_groups:
            raise ValueError(f"{self._name}: optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    @property
    def _name(self) -> str:
        return type(self).__name__

    # ------------------------------------------------------------ parameter groups
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyper-parameters (e.g. a new layer)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"{self._name}.add_param_group: param_group must be a dict, got "
                            f"{type(param_group).__name__}")
        group = dict(param_group)
        params = group.get("params")
        if params is None:
            raise ValueError(f"{self._name}.add_param_group: the group has no 'params' entry "
                             f"(keys: {sorted(group)})")
        group["params"] = self._checked_params(params)
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self._check_group(group)

        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in group["params"]):
            raise ValueError(f"{self._name}.add_param_group: some parameters appear in more "
                             "than one parameter group")
        self.param_groups.append(group)

    def _checked_params(self, params) -> list[Tensor]:
        if isinstance(params, Tensor):
            return [params]
        if isinstance(params, (set, frozenset)):
            raise TypeError(_SET_MESSAGE.format(op=self._name))
        params = list(params)
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{self._name}: optimizer can only optimize Tensors, but "
                                f"parameter {i} is a {type(p).__name__}")
            if not p.is_floating_point():
                raise TypeError(f"{self._name}: optimizer can only optimize floating point "
                                f"Tensors, but parameter {i} has dtype {p.dtype}")
            if not p.is_leaf:
                raise ValueError(f"{self._name}: can't optimize a non-leaf Tensor (parameter "
                                 f"{i}, shape {p.shape}, made by {p.grad_fn!r})")
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{self._name}: a parameter group contains the same parameter "
                             "twice; it would be updated twice per step")
        return params

    def _check_group(self, group: dict[str, Any]) -> None:
        """Subclasses validate their hyper-parameters here (called for every group)."""

    # ------------------------------------------------------------ the training-loop API
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients. `set_to_none` frees their memory instead of writing zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.array.fill(0)

    def step(self, closure: Callable[[], Any] | None = None):
        """Update every parameter that has a gradient; return `closure()` if one is given.

        The closure (re-computing the loss, as some optimizers need) runs with autograd on;
        the updates themselves run under `no_grad`, in place on `p.array`.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        self._step_one(p, group)
        return loss

    def _step_one(self, p: Tensor, group: dict) -> None:
        state = self.state.get(p, {})
        self._update(p.array, self._grad_of(p), state, group)
        if state:  # only rules that remember something (momentum, moments) keep state
            self.state[p] = state

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        """The update rule: change `param` in place, using and updating `state`."""
        raise NotImplementedError(f"{self._name} must implement _update(param, grad, state, "
                                  "group) or override step()")

    def _grad_of(self, p: Tensor) -> np.ndarray:
        grad = p.grad.array
        if grad.shape != p.shape or grad.dtype != p.dtype:
            raise RuntimeError(
                f"{self._name}.step: a parameter of shape {p.shape} and dtype {p.dtype} has a "
                f"gradient of shape {grad.shape} and dtype {grad.dtype}; expected them to match"
            )
        return grad

    # ------------------------------------------------------------ memory accounting
    def state_bytes(self) -> int:
        """Bytes held by the optimizer's per-parameter arrays (momentum, moments...)."""
        return int(sum(value.nbytes for per_param in self.state.values()
                       for value in per_param.values() if isinstance(value, np.ndarray)))

    # ------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """`{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}`.

        As in PyTorch the state arrays are shared, not copied: save the dict (or deep-copy
        it) before stepping again if you want a snapshot.
        """
        index_of: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {key: value for key, value in group.items() if key != "params"}
            packed["params"] = [index_of.setdefault(id(p), len(index_of))
                                for p in group["params"]]
            groups.append(packed)
        state = {index_of[id(p)]: dict(per_param) for p, per_param in self.state.items()
                 if id(p) in index_of}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyper-parameters and state saved by `state_dict()` (arrays are copied)."""
        saved_groups = self._checked_saved_groups(state_dict)
        param_of = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                            chain.from_iterable(g["params"] for g in self.param_groups)))
        state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for index, per_param in state_dict["state"].items():
            if index not in param_of:
                raise ValueError(f"{self._name}.load_state_dict: the state refers to parameter "
                                 f"{index!r}, which no parameter group lists")
            param = param_of[index]
            state[param] = {key: self._restored(param, key, value)
                            for key, value in per_param.items()}
        groups = [{**group, **saved, "params": group["params"]}
                  for group, saved in zip(self.param_groups, saved_groups)]
        for group in groups:
            self._check_group(group)
        self.state, self.param_groups = state, groups

    def _checked_saved_groups(self, state_dict) -> list[dict[str, Any]]:
        op = f"{self._name}.load_state_dict"
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= state_dict.keys():
            got = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise ValueError(f"{op}: expected a dict with keys 'state' and 'param_groups', "
                             f"got {got}")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{op}: loaded state dict has a different number of parameter "
                             f"groups ({len(saved_groups)}) than this optimizer "
                             f"({len(self.param_groups)})")
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{op}: loaded state dict contains a parameter group that "
                                 f"doesn't match the size of optimizer's group: group {i} has "
                                 f"{len(saved['params'])} parameters in the state dict and "
                                 f"{len(group['params'])} in the optimizer")
        return saved_groups

    def _restored(self, param: Tensor, key: str, value):
        """Copy one saved state value; arrays take the parameter's dtype and must fit it."""
        if isinstance(value, Tensor):
            value = value.array
        if not isinstance(value, np.ndarray):
            return value
        if value.ndim > 0 and value.shape != param.shape:
            raise ValueError(f"{self._name}.load_state_dict: state '{key}' has shape "
                             f"{value.shape} but its parameter has shape {param.shape}")
        dtype = param.dtype if value.dtype.kind == "f" else value.dtype
        return np.array(value, dtype=dtype, copy=True)

    # ------------------------------------------------------------ printing
    def __repr__(self) -> str:
        lines = [f"{self._name} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {key}: {group[key]}" for key in sorted(group) if key != "params"]
        lines.append(")")
        return "\n".join(lines)


_SET_MESSAGE = ("{op}: optimizer parameters need to be organized in ordered collections, but "
                "the ordering of tensors in sets will change between runs. Please use a list "
                "instead.")


def check_range(op: str, what: str, value, low: float = 0.0, high: float | None = None) -> None:
    """Raise unless `low <= value` (and `value < high`), in PyTorch's words plus context."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{op}: {what} must be a real number, got {type(value).__name__} "
                        f"{value!r}")
    if not (low <= value and (high is None or value < high)):
        expected = f">= {low}" if high is None else f"in [{low}, {high})"
        raise ValueError(f"{op}: Invalid {what}: {value} (expected a value {expected})")
