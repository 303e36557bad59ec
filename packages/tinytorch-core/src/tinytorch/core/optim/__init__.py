"""tinytorch.core.optim: optimizers (SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta) and
learning-rate schedulers.

    from tinytorch.core import optim
    optimizer = optim.AdamW(model.parameters(), lr=3e-4)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=100)
    for batch in loader:
        optimizer.zero_grad()
        loss_fn(model(batch.x), batch.y).backward()
        optimizer.step()
        scheduler.step()
"""

from . import lr_scheduler
from .adam import Adam, AdamW
from .adaptive import Adadelta, Adagrad, RMSprop
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta",
           "lr_scheduler"]
