"""tinytorch.core: tensors, autograd, nn, optim, data and training, built on numpy.

    from tinytorch.core import Tensor, tensor, no_grad, manual_seed
    from tinytorch.core import nn, optim
    import tinytorch.core.nn.functional as F
"""

from . import dtypes
from .__about__ import __version__
from .autograd import Function, enable_grad, gradcheck, is_grad_enabled, no_grad, set_grad_enabled
from .creation import (
    arange,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    tril,
    triu,
    zeros,
    zeros_like,
)
from .dtypes import (
    bool_,
    double,
    float16,
    float32,
    float64,
    half,
    int8,
    int16,
    int32,
    int64,
    long,
    uint8,
)
from .functions import (
    abs,
    argmax,
    argmin,
    cat,
    chunk,
    clamp,
    cos,
    exp,
    flatten,
    gather,
    log,
    log_softmax,
    masked_fill,
    matmul,
    max,
    mean,
    min,
    permute,
    relu,
    reshape,
    sigmoid,
    sin,
    softmax,
    split,
    sqrt,
    squeeze,
    stack,
    std,
    sum,
    tanh,
    transpose,
    unsqueeze,
    var,
    where,
)
from .random import Generator, manual_seed
from .serialization import load, save
from .tensor import Tensor

bool = bool_
float = float32

__all__ = [name for name in dir() if not name.startswith("_")]
