"""The CIFAR-10 "Training a Classifier" tutorial on small stand-in images: a CNN with
BatchNorm, a Dataset with a normalising transform, a DataLoader with worker processes,
SGD with momentum, `torch.max(outputs.data, 1)` for the accuracy."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, Dataset, TensorDataset

classes = ("plane", "car", "bird", "cat")


class StandInImages(Dataset):
    """Stripes whose orientation and colour say the class, normalised as Normalize(0.5, 0.5)."""

    def __init__(self, count, seed):
        rng = np.random.default_rng(seed)
        self.labels = rng.integers(0, len(classes), count)
        grid = np.arange(16, dtype=np.float32)
        images = []
        for label in self.labels:
            wave = np.sin(grid[:, None] * (label + 1) * 0.4 + grid[None, :] * (label % 2))
            colour = np.eye(3, dtype=np.float32)[label % 3][:, None, None]
            noise = rng.normal(0, 0.1, (3, 16, 16))
            images.append((0.5 + 0.4 * wave * colour + noise).clip(0, 1).astype(np.float32))
        self.images = np.stack(images)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        image = torch.from_numpy(self.images[index])
        return (image - 0.5) / 0.5, int(self.labels[index])


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(6)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 3)
        self.bn2 = nn.BatchNorm2d(16)
        self.fc1 = nn.Linear(16 * 3 * 3, 32)
        self.fc2 = nn.Linear(32, len(classes))

    def forward(self, x):
        x = self.pool(F.relu(self.bn1(self.conv1(x))))
        x = self.pool(F.relu(self.bn2(self.conv2(x))))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        return self.fc2(x)


def init_from_numpy(model, seed):
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("weight") and p.dim() > 1:
                fan_in = p[0].numel()
                p.copy_(torch.from_numpy(
                    rng.uniform(-1, 1, tuple(p.shape)).astype(np.float32) / np.sqrt(fan_in)))
            elif "bn" not in name:
                p.zero_()


if __name__ == "__main__":
    device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    trainset = StandInImages(96, seed=0)
    order = np.random.default_rng(1).permutation(len(trainset)).tolist()
    trainloader = DataLoader(trainset, batch_size=8, sampler=order, num_workers=2,
                             pin_memory=True)
    testset = StandInImages(40, seed=2)
    testloader = DataLoader(testset, batch_size=10, shuffle=False)

    net = Net().to(device)
    init_from_numpy(net, 3)
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=0.01, momentum=0.9)

    for epoch in range(3):
        running_loss = 0.0
        for i, data in enumerate(trainloader, 0):
            inputs, labels = data[0].to(device), data[1].to(device)
            optimizer.zero_grad()
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
            if i % 4 == 3:
                print(f"[{epoch + 1}, {i + 1:5d}] loss: {running_loss / 4:.4f}")
                running_loss = 0.0

    net.eval()
    correct = 0
    total = 0
    with torch.no_grad():
        for images, labels in testloader:
            outputs = net(images)
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
    print(f"Accuracy of the network on the {total} test images: {100 * correct // total} %")
    print("running mean", [round(v, 4) for v in net.bn1.running_mean.tolist()])

    features = TensorDataset(torch.from_numpy(testset.images), torch.tensor(testset.labels))
    with torch.no_grad():
        batch = next(iter(DataLoader(features, batch_size=40)))
        eval_loss = F.cross_entropy(net((batch[0] - 0.5) / 0.5), batch[1])
    print(f"eval loss {eval_loss.item():.5f}")
