"""Fit y = sin(x) with a cubic: tensors, autograd and a hand-written SGD step.

The "Learning PyTorch with Examples" pattern: parameters are plain tensors with
requires_grad=True, updated in place with `-=` inside `torch.no_grad()`.
"""

import math

import numpy as np
import torch

dtype = torch.float
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
torch.cuda.manual_seed_all(0)

x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
y = torch.sin(x)

start = np.random.default_rng(0).standard_normal(4)
a = torch.tensor(start[0], device=device, dtype=dtype, requires_grad=True)
b = torch.tensor(start[1], device=device, dtype=dtype, requires_grad=True)
c = torch.tensor(start[2], device=device, dtype=dtype, requires_grad=True)
d = torch.tensor(start[3], device=device, dtype=dtype, requires_grad=True)

learning_rate = 1e-6
for t in range(2000):
    y_pred = a + b * x + c * x ** 2 + d * x ** 3
    loss = (y_pred - y).pow(2).sum()
    if t % 100 == 99:
        print(t, f"loss {loss:.4f}")
    loss.backward()
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None

print(f"Result: y = {a.item():.5f} + {b.item():.5f} x + {c.item():.5f} x^2 + {d.item():.5f} x^3")
assert a.is_leaf and a.requires_grad
