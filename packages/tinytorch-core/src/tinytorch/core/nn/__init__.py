"""tinytorch.core.nn: modules, layers, activations, losses and initialisation.

Layers of later phases (`nn.Conv2d` from tinytorch-vision, `nn.Embedding` from
tinytorch-language) resolve here through the `tinytorch.nn` entry points when their
package is installed (see tinytorch.core.extensions).
"""

from .. import extensions as _extensions
from . import functional, init, utils
from .activation import GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .container import ModuleDict, ModuleList, Sequential
from .layers import Dense, Dropout, Flatten, Identity, LayerNorm, Linear
from .loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from .module import Module, Parameter
from .utils import clip_grad_norm_, clip_grad_value_

__all__ = [name for name in dir() if not name.startswith("_")]


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    return _extensions.resolve("nn", name)


def __dir__():
    return sorted(set(globals()) | set(_extensions.names("nn")))
