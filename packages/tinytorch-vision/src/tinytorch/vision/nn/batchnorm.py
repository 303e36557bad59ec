"""BatchNorm2d (and BatchNorm1d): per-channel normalisation with running statistics.

What it teaches: the difference between train() and eval() in one layer. In training
the layer normalises with the batch's own mean and variance and folds them into running
averages (running = (1 - momentum) * running + momentum * batch, with the unbiased
variance); in eval it uses only those running averages, so one image's output no longer
depends on the rest of its batch. Forgetting `model.eval()` before testing is the
classic bug this layer makes visible.

Systems lesson: the layer has 2*C parameters and 2*C buffers (plus a counter), negligible
next to a conv, but it reads and writes the whole activation tensor in forward and
backward: it is memory-bound, and that is why inference engines fold it into the conv.
"""

from __future__ import annotations

import numpy as np

from tinytorch.core.autograd import no_grad
from tinytorch.core.memory import allocating
from tinytorch.core.nn import Module, Parameter
from tinytorch.core.tensor import Tensor

from .. import functional as VF


class _BatchNorm(Module):
    _expected_dims: tuple = ()
    _shape_text = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, dtype=None):
        super().__init__()
        name = type(self).__name__
        if isinstance(num_features, bool) or not isinstance(num_features, int) \
                or num_features <= 0:
            raise ValueError(f"{name}: num_features must be a positive int, got "
                             f"{num_features!r}")
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{name}: momentum must be in [0, 1] or None, got {momentum!r}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        dtype = np.float32 if dtype is None else dtype
        with allocating(name, f"{num_features:,} features"):
            self._allocate(num_features, dtype, affine, track_running_stats)

    def _allocate(self, num_features: int, dtype, affine: bool, track_running_stats: bool):
        self.weight = Parameter(np.ones(num_features, dtype=dtype)) if affine else None
        self.bias = Parameter(np.zeros(num_features, dtype=dtype)) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype=dtype)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, dtype=dtype)))
            self.register_buffer("num_batches_tracked", Tensor(np.zeros((), dtype=np.int64)))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            with no_grad():
                self.running_mean.array[...] = 0
                self.running_var.array[...] = 1
                self.num_batches_tracked.array[...] = 0

    def forward(self, x):
        return VF.batch_norm(x, **self.functional_arguments(x))

    def functional_arguments(self, x) -> dict:
        """Check `x`, count the batch, and return the keyword arguments of this call's
        `batch_norm` (statistics, parameters, mode): forward and the fused
        batch norm + pool of FusedSequential both normalise with exactly these."""
        name = f"{type(self).__name__}({self.extra_repr()})"
        if not isinstance(x, Tensor) or x.ndim not in self._expected_dims:
            shape = x.shape if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"{name}: expected input of shape {self._shape_text}, got {shape}")
        if x.shape[1] != self.num_features:
            raise ValueError(f"{name}: expected {self.num_features} channels (dim 1), got "
                             f"input of shape {x.shape}")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.array += 1
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked.array)
        use_batch_stats = self.training or self.running_mean is None
        update_buffers = not self.training or self.track_running_stats
        return {"running_mean": self.running_mean if update_buffers else None,
                "running_var": self.running_var if update_buffers else None,
                "weight": self.weight, "bias": self.bias, "training": use_batch_stats,
                "momentum": factor, "eps": self.eps, "op": name}

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm2d(_BatchNorm):
    """Normalise each channel of (N, C, H, W) over the batch and all pixels."""

    _expected_dims = (4,)
    _shape_text = "(N, C, H, W)"


class BatchNorm1d(_BatchNorm):
    """Normalise each feature of (N, C) or (N, C, L) over the batch (and length)."""

    _expected_dims = (2, 3)
    _shape_text = "(N, C) or (N, C, L)"
