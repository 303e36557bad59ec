"""The cubic fit again, as an nn.Module trained by torch.optim (RMSprop, then Adagrad)."""

import math

import numpy as np
import torch
from torch import nn


def init_from_numpy(model, seed):
    """Identical starting weights in any framework: copied in from numpy."""
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng.uniform(-0.5, 0.5, tuple(p.shape)).astype(np.float32)))


x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)
p = torch.tensor([1, 2, 3])
xx = x.unsqueeze(-1).pow(p)

for name, make_optimizer in [
    ("RMSprop", lambda params: torch.optim.RMSprop(params, lr=1e-3)),
    ("Adagrad", lambda params: torch.optim.Adagrad(params, lr=0.05)),
    ("Adadelta", lambda params: torch.optim.Adadelta(params, lr=0.1)),
]:
    model = nn.Sequential(nn.Linear(3, 1), nn.Flatten(0, 1))
    init_from_numpy(model, 1)
    loss_fn = nn.MSELoss(reduction="sum")
    optimizer = make_optimizer(model.parameters())
    for t in range(500):
        y_pred = model(xx)
        loss = loss_fn(y_pred, y)
        if t % 50 == 49:
            print(name, t, f"loss {loss.item():.6f}")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    linear_layer = model[0]
    w = linear_layer.weight
    print(name, f"y = {linear_layer.bias.item():.5f} + {w[:, 0].item():.5f} x"
          f" + {w[:, 1].item():.5f} x^2 + {w[:, 2].item():.5f} x^3")
