"""Conv2d: a learnable bank of (C/groups, kh, kw) filters slid over the image.

What it teaches: a convolution layer is a Linear layer applied to every kh x kw patch
with the same weights at every position. Weight sharing is the whole point: a 3x3 conv
from 64 to 64 channels has 36,928 parameters whatever the image size, where a Linear
layer between two 32x32x64 feature maps would need 4.3 billion.

Initialisation as in PyTorch: Kaiming-uniform with a = sqrt(5) over fan_in =
C/groups * kh * kw, bias uniform in +-1/sqrt(fan_in).

Systems lesson: parameters grow with C_in * C_out * kh * kw, but compute grows with that
times Ho * Wo, so the early, high-resolution layers dominate the FLOPs while the late,
wide layers dominate the parameters (see `conv2d_flops`).
"""

from __future__ import annotations

import math

import numpy as np

from tinytorch.core.memory import allocating
from tinytorch.core.nn import Module, Parameter, init
from tinytorch.core.nn.sizes import pair

from .. import functional as VF


class Conv2d(Module):
    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, dtype=None):
        super().__init__()
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                            ("groups", groups)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"Conv2d: {name} must be a positive int, got {value!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv2d: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must both be divisible by groups ({groups})")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = pair("Conv2d", "kernel_size", kernel_size, minimum=1)
        self.stride = pair("Conv2d", "stride", stride, minimum=1)
        self.dilation = pair("Conv2d", "dilation", dilation, minimum=1)
        self.padding = padding if isinstance(padding, str) else \
            pair("Conv2d", "padding", padding)
        if isinstance(padding, str) and padding not in ("same", "valid"):
            raise ValueError(f"Conv2d: padding must be an int, a pair, 'valid' or 'same', got "
                             f"{padding!r}")
        if padding == "same" and self.stride != (1, 1):
            raise ValueError(f"Conv2d: padding='same' is not supported for strided "
                             f"convolutions (stride={self.stride})")
        dtype = np.float32 if dtype is None else dtype
        shape = (out_channels, in_channels // groups, *self.kernel_size)
        with allocating("Conv2d", f"a weight of shape {shape}"):
            self.weight = Parameter(np.empty(shape, dtype=dtype))
            self.bias = Parameter(np.empty((out_channels,), dtype=dtype)) if bias else None
            self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * self.kernel_size[0] * self.kernel_size[1]
            bound = 1 / math.sqrt(fan_in)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        return VF.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                         self.groups, op=f"{type(self).__name__}({self.extra_repr()})")

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding not in ((0, 0), "valid"):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text
