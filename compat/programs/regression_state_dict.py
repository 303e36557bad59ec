"""pytorch/examples' polynomial regression: smooth L1 loss, updates through `param.data`,
then the learned weights saved with torch.save (a checkpoint dict), loaded with torch.load
and put into a fresh model through load_state_dict."""

import os
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

POLY_DEGREE = 4
rng = np.random.default_rng(0)
W_target = torch.from_numpy(rng.standard_normal((POLY_DEGREE, 1)).astype(np.float32) * 5)
b_target = torch.from_numpy(rng.standard_normal(1).astype(np.float32) * 5)


def make_features(x):
    """Builds features i.e. a matrix with columns [x, x^2, x^3, x^4]."""
    x = x.unsqueeze(1)
    return torch.cat([x ** i for i in range(1, POLY_DEGREE + 1)], 1)


def f(x):
    return x.mm(W_target) + b_target.item()


def poly_desc(W, b):
    result = "y = "
    for i, w in enumerate(W):
        result += f"{w:+.2f} x^{i + 1} "
    result += f"{b[0]:+.2f}"
    return result


def get_batch(batch_size=32):
    random = torch.from_numpy(rng.standard_normal(batch_size).astype(np.float32))
    x = make_features(random)
    y = f(x)
    return x, y


fc = torch.nn.Linear(W_target.size(0), 1)
with torch.no_grad():
    fc.weight.copy_(torch.zeros(1, POLY_DEGREE))
    fc.bias.fill_(0.0)

for batch_idx in range(1, 301):
    batch_x, batch_y = get_batch()
    fc.zero_grad()
    output = F.smooth_l1_loss(fc(batch_x), batch_y)
    loss = output.item()
    output.backward()
    for param in fc.parameters():
        param.data.add_(-0.1 * param.grad)
    if batch_idx % 25 == 0:
        print(f"batch {batch_idx} loss {loss:.6f}")
    if loss < 1e-3:
        break

print(f"Loss: {loss:.6f} after {batch_idx} batches")
print("==> Learned function:\t" + poly_desc(fc.weight.view(-1), fc.bias))
print("==> Actual function:\t" + poly_desc(W_target.view(-1), b_target))

path = os.path.join(tempfile.mkdtemp(), "checkpoint.pt")
torch.save({"model": fc.state_dict(), "batches": batch_idx, "loss": loss}, path)
checkpoint = torch.load(path)
print(f"checkpoint: {checkpoint['batches']} batches, loss {checkpoint['loss']:.6f}")
copy = torch.nn.Linear(W_target.size(0), 1)
copy.load_state_dict(checkpoint["model"])
x, y = get_batch(64)
with torch.no_grad():
    print(f"copied model huber loss {F.huber_loss(copy(x), y, delta=0.5).item():.6f}")
    print("same weights", bool(torch.equal(copy.weight, fc.weight)))
