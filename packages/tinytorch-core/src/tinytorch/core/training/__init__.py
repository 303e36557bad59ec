"""tinytorch.core.training: the Trainer loop, metrics and checkpoints."""

from . import metrics
from .checkpoint import load_checkpoint, save_checkpoint
from .history import History
from .metrics import accuracy, confusion_matrix
from .trainer import DEFAULT_METRICS, NonFiniteLossError, Trainer

__all__ = [
    "DEFAULT_METRICS",
    "History",
    "NonFiniteLossError",
    "Trainer",
    "accuracy",
    "confusion_matrix",
    "load_checkpoint",
    "metrics",
    "save_checkpoint",
]
