"""Every differentiable op, one file per family. `Tensor` methods call into here."""

from .arithmetic import (
    Add,
    Div,
    Mul,
    Neg,
    Pow,
    PowScalar,
    Sub,
    add,
    as_operands,
    div,
    mul,
    pow,
    sub,
)
from .einsum import Einsum, einsum
from .indexing import (
    Gather,
    GetItem,
    IndexAdd,
    IndexPut,
    MaskedFill,
    Scatter,
    Where,
    copy_to,
    gather,
    getitem,
    index_add,
    index_put,
    index_to_numpy,
    masked_fill,
    nondifferentiable,
    scatter,
    where,
    write_at,
)
from .linalg import Linear, MatMul, linear, matmul
from .pointwise import (
    GELU,
    Abs,
    Cast,
    Clamp,
    Clone,
    Cos,
    Exp,
    LeakyReLU,
    Log,
    ReLU,
    Sigmoid,
    Sin,
    Sqrt,
    Tanh,
    clamp,
    erf,
    gelu_derivative,
    gelu_with_derivative,
    normal_cdf,
)
from .reduction import (
    LogSoftmax,
    MaxMin,
    MaxMinDim,
    Mean,
    Softmax,
    Sum,
    Var,
    arg_reduce,
    log_softmax,
    max_min,
    mean,
    reduce_sum,
    softmax,
    var,
)
from .shape import (
    Cat,
    Expand,
    Permute,
    Repeat,
    Reshape,
    Stack,
    cat,
    chunk,
    expand,
    flatten,
    permute,
    repeat,
    reshape,
    split,
    squeeze,
    stack,
    transpose,
    unsqueeze,
)
from .sorting import argsort, sort, topk

__all__ = [name for name in dir() if not name.startswith("_")]

from .loss import CrossEntropy  # noqa: E402
from .normalization import LayerNorm  # noqa: E402

__all__ += ["CrossEntropy", "LayerNorm"]
