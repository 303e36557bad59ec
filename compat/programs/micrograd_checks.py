"""micrograd-style scalar checks: in-place updates of non-leaf tensors are recorded."""

import torch

x = torch.Tensor([-4.0]).double()
x.requires_grad = True
z = 2 * x + 2 + x
q = z.relu() + z * x
h = (z * z).relu()
y = h + q + q * x
y.backward()
print("sanity", f"{y.data.item():.6f}", f"{x.grad.item():.6f}")

a = torch.Tensor([-4.0]).double()
b = torch.Tensor([2.0]).double()
a.requires_grad = True
b.requires_grad = True
c = a + b
d = a * b + b ** 3
c += c + 1
c += 1 + c + (-a)
d += d * 2 + (b + a).relu()
d += 3 * d + (b - a).relu()
e = c - d
f = e ** 2
g = f / 2.0
g += 10.0 / f
g.backward()
print("more ops", f"{g.data.item():.6f}", f"{a.grad.item():.6f}", f"{b.grad.item():.6f}")

w = torch.zeros(3, requires_grad=True)
for step in range(5):
    loss = ((w - torch.tensor([1.0, -2.0, 3.0])) ** 2).sum()
    loss.backward()
    w.data.add_(-0.1 * w.grad)
    w.grad.zero_()
    print("data update", step, "loss", f"{loss.item():.6f}", w.tolist())
