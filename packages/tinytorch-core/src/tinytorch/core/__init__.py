"""tinytorch.core: tensors, autograd, nn, optim, data and training, built on numpy.

One namespace, as in torch:

    import tinytorch.core as torch            # import torch
    from tinytorch.core import nn, optim      # from torch import nn, optim
    import tinytorch.core.nn.functional as F  # import torch.nn.functional as F
    from tinytorch.core.utils.data import DataLoader, TensorDataset

and `torch.nn`, `torch.optim`, `torch.nn.functional`, `torch.utils.data` are attributes.
"""

from . import allocator, dtypes
from .__about__ import __version__
from .autograd import Function, enable_grad, gradcheck, is_grad_enabled, no_grad, set_grad_enabled
from .creation import (
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    multinomial,
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
from .devices import DeviceError, accelerator, backends, cuda, device
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
    allclose,
    argmax,
    argmin,
    argsort,
    bmm,
    cat,
    chunk,
    clamp,
    cos,
    einsum,
    equal,
    exp,
    flatten,
    gather,
    is_tensor,
    log,
    log_softmax,
    masked_fill,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mm,
    permute,
    pow,
    relu,
    reshape,
    sigmoid,
    sin,
    softmax,
    sort,
    split,
    sqrt,
    squeeze,
    stack,
    std,
    sum,
    t,
    tanh,
    topk,
    transpose,
    unsqueeze,
    var,
    where,
)
from .parallel import get_num_threads, set_num_threads
from .random import Generator, manual_seed
from .serialization import load, save
from .tensor import Tensor

bool = bool_
float = float32

# the subpackages, reachable as attributes (torch.nn, torch.optim, torch.utils.data)
from . import data, nn, optim, utils  # noqa: E402

# keep freed memory for reuse instead of faulting it in again every step (allocator.py)
allocator.keep_freed_memory_unless_disabled()

__all__ = [name for name in dir() if not name.startswith("_")]
