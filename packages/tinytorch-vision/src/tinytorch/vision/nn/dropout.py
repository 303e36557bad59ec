"""Dropout2d: drop whole feature maps, not single pixels.

What it teaches: neighbouring pixels of a feature map carry nearly the same information,
so zeroing random pixels (plain Dropout) barely hides anything from the next layer;
zeroing whole channels forces the network not to rely on any single feature detector.

Systems lesson: the mask is one number per (sample, channel), H*W times smaller than
plain dropout's.
"""

from __future__ import annotations

from tinytorch.core.nn import Module

from .. import functional as VF


class Dropout2d(Module):
    def __init__(self, p: float = 0.5):
        super().__init__()
        VF.check_probability("Dropout2d", p)
        self.p = p

    def forward(self, x):
        return VF.dropout2d(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
