"""The differentiable spatial ops (numpy in, numpy out); `functional` wraps them for Tensors."""

from .batchnorm import BatchNorm
from .batchnorm_pool import BatchNormMaxPool
from .conv import Conv2d
from .fold import Fold, Unfold
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d, adaptive_pool_matrix

__all__ = ["AdaptiveAvgPool2d", "AvgPool2d", "BatchNorm", "BatchNormMaxPool", "Conv2d", "Fold",
           "MaxPool2d", "Unfold", "adaptive_pool_matrix"]
