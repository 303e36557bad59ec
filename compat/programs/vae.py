"""A variational autoencoder in the style of pytorch/examples' VAE: reparameterisation,
binary cross-entropy plus KL divergence, Adam, a DataLoader over a TensorDataset.

The reparameterisation noise comes from numpy (a program that wants identical runs in two
frameworks cannot share torch's generator); everything else is the example's code.
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn, optim
from torch.utils.data import DataLoader, TensorDataset

rng = np.random.default_rng(0)
pixels = 64
images = (rng.random((128, pixels)) < np.linspace(0.1, 0.9, pixels)).astype(np.float32)
images = np.clip(images * 0.9 + 0.05 + rng.normal(0, 0.02, images.shape), 0, 1)
train_loader = DataLoader(TensorDataset(torch.from_numpy(images.astype(np.float32))),
                          batch_size=32, shuffle=False)


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(pixels, 32)
        self.fc21 = nn.Linear(32, 4)
        self.fc22 = nn.Linear(32, 4)
        self.fc3 = nn.Linear(4, 32)
        self.fc4 = nn.Linear(32, pixels)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar, eps):
        std = torch.exp(0.5 * logvar)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x, eps):
        mu, logvar = self.encode(x.view(-1, pixels))
        z = self.reparameterize(mu, logvar, eps)
        return self.decode(z), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, pixels), reduction="sum")
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return BCE + KLD


model = VAE()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.uniform(-0.3, 0.3, tuple(p.shape)).astype(np.float32)))
optimizer = optim.Adam(model.parameters(), lr=1e-2)
noise = rng.standard_normal((5, 4, 32, 4)).astype(np.float32)

for epoch in range(1, 6):
    model.train()
    train_loss = 0
    for batch_idx, (data,) in enumerate(train_loader):
        optimizer.zero_grad()
        eps = torch.from_numpy(noise[epoch - 1, batch_idx])
        recon_batch, mu, logvar = model(data, eps)
        loss = loss_function(recon_batch, data, mu, logvar)
        loss.backward()
        train_loss += loss.item()
        optimizer.step()
        if batch_idx % 2 == 0:
            print(f"Train Epoch: {epoch} [{batch_idx * len(data)}/{len(train_loader.dataset)}]"
                  f"\tLoss: {loss.item() / len(data):.6f}")
    print(f"====> Epoch: {epoch} Average loss: {train_loss / len(train_loader.dataset):.4f}")

model.eval()
with torch.no_grad():
    sample = model.decode(torch.from_numpy(noise[0, 0, :8]))
    print("sample mean", f"{sample.mean().item():.6f}", "shape", list(sample.shape))
