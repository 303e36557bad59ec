"""tinytorch.core.nn: modules, layers, activations, losses and initialisation."""

from . import functional, init, utils
from .activation import GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .container import ModuleDict, ModuleList, Sequential
from .layers import Dense, Dropout, Flatten, Identity, LayerNorm, Linear
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .module import Module, Parameter
from .utils import clip_grad_norm_, clip_grad_value_

__all__ = [name for name in dir() if not name.startswith("_")]
