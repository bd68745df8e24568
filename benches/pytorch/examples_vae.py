#!/usr/bin/env python3
"""PyTorch's examples/vae (main.py), run on the same MNIST IDX files as burn-vae.

The model, loss, optimizer, batch sizes and data order follow
https://github.com/pytorch/examples/blob/main/vae/main.py: 784-400-20 with ReLU, sigmoid
decoder, BCE summed over pixels + analytic KL, loss summed over the batch, Adam(lr=1e-3),
batch 128, shuffled training set, test loss with one posterior sample, seed 1.
The only change: MNIST is read from the IDX files (no torchvision download).

Set-up: `pip install torch numpy`. Run:

    python3 benches/pytorch/examples_vae.py --data-dir ../shared/datasets/mnist --epochs 10
"""
import argparse
import gzip
import os
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_images(data_dir, stem):
    for name in (stem, stem + ".gz"):
        path = os.path.join(data_dir, name)
        if os.path.exists(path):
            return torch.from_numpy(read_idx(path).astype(np.float32) / 255.0).reshape(-1, 784)
    raise SystemExit(f"{stem} not found in {data_dir}")


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)

    train = load_images(args.data_dir, "train-images-idx3-ubyte")
    test = load_images(args.data_dir, "t10k-images-idx3-ubyte")
    train_loader = torch.utils.data.DataLoader(train, batch_size=args.batch_size, shuffle=True)
    test_loader = torch.utils.data.DataLoader(test, batch_size=args.batch_size, shuffle=False)

    model = VAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    print("epoch,train_loss,test_loss,seconds")
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        model.train()
        train_loss = 0.0
        for data in train_loader:
            optimizer.zero_grad()
            recon, mu, logvar = model(data)
            loss = loss_function(recon, data, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
        model.eval()
        test_loss = 0.0
        with torch.no_grad():
            for data in test_loader:
                recon, mu, logvar = model(data)
                test_loss += loss_function(recon, data, mu, logvar).item()
        seconds = time.perf_counter() - start
        print(f"{epoch},{train_loss / len(train):.4f},{test_loss / len(test):.4f},{seconds:.2f}", flush=True)


if __name__ == "__main__":
    main()
