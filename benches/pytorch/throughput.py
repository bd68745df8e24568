#!/usr/bin/env python3
"""PyTorch reference for `cargo bench --workspace --bench throughput` (burn-vae).

Measures the same rows as the Rust bench, the PyTorch way a user would write them
(PyTorch's examples/vae: nn.Linear layers, ReLU, sigmoid + binary_cross_entropy summed over
the batch, analytic KL, torch.optim.Adam with its defaults), on the same real MNIST images:

  matmul  GFLOP/s of an n x n by n x n float32 product
  train   images/s of one training step (forward, loss, backward, Adam) on a fixed batch
  conv    the same for the conv VAE of configs/mnist-conv.json (ConvVAE below: 4x4 stride-2
          convolutions of 32 and 64 channels, 20-D latent space, transposed convolutions
          back; batch 128; binary_cross_entropy_with_logits, as our Bernoulli decoder's logits)
  infer   images/s of encode + decode (posterior mean) under torch.no_grad()
  evaluate  images/s of the importance-weighted estimate of log p(x) with K = 1000 posterior
          samples per image, batches of 50 images, as examples_vae.py's evaluate() computes it
          (784-400-20 only)
  epoch   images/s of a training epoch over the 60,000 images, shuffled, batch 128, as in
          the example's train() loop (batches sliced from one preloaded tensor)

Peak memory per row is the process's peak resident set (VmHWM), reset before each row; with
--device cuda it is the GPU memory PyTorch allocated (torch.cuda.max_memory_allocated), every
tensor lives on the GPU and each timed repeat ends with torch.cuda.synchronize().
Prints one JSON line on standard output. Set-up: `pip install torch numpy`.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from examples_vae import read_idx  # noqa: E402  (the same IDX reader as the example)


def load_train_images(data_dir):
    for name in ("train-images-idx3-ubyte", "train-images-idx3-ubyte.gz"):
        path = os.path.join(data_dir, name)
        if os.path.exists(path):
            return torch.from_numpy(read_idx(path).astype(np.float32) / 255.0).reshape(-1, 784)
    raise SystemExit(f"train-images-idx3-ubyte not found in {data_dir}")


class VAE(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        widths = [784] + hidden
        self.body = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
        self.mean = nn.Linear(widths[-1], 20)
        self.log_var = nn.Linear(widths[-1], 20)
        back = [20] + hidden[::-1]
        self.dec = nn.ModuleList(nn.Linear(a, b) for a, b in zip(back, back[1:]))
        self.out = nn.Linear(back[-1], 784)

    def encode(self, x):
        for layer in self.body:
            x = F.relu(layer(x))
        return self.mean(x), self.log_var(x)

    def decode(self, z):
        for layer in self.dec:
            z = F.relu(layer(z))
        return torch.sigmoid(self.out(z))

    def forward(self, x):
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decode(z), mu, logvar


class ConvVAE(nn.Module):
    """configs/mnist-conv.json's network, as vae-model's ConvEncoder/ConvDecoder build it."""

    def __init__(self, channels=(32, 64), latent=20):
        super().__init__()
        c1, c2 = channels
        self.enc = nn.Sequential(
            nn.Conv2d(1, c1, 4, 2, 1), nn.ReLU(), nn.Conv2d(c1, c2, 4, 2, 1), nn.ReLU(),
            nn.Flatten())
        flat = c2 * 7 * 7
        self.mean = nn.Linear(flat, latent)
        self.log_var = nn.Linear(flat, latent)
        self.project = nn.Linear(latent, flat)
        self.dec = nn.Sequential(
            nn.ReLU(), nn.Unflatten(1, (c2, 7, 7)), nn.ConvTranspose2d(c2, c1, 4, 2, 1),
            nn.ReLU(), nn.ConvTranspose2d(c1, 1, 4, 2, 1), nn.Flatten())

    def forward(self, x):
        h = self.enc(x.view(-1, 1, 28, 28))
        mu, logvar = self.mean(h), self.log_var(h)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.dec(self.project(z)), mu, logvar


def conv_loss_function(logits, x, mu, logvar):
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def loss_function(recon_x, x, mu, logvar):
    bce = F.binary_cross_entropy(recon_x, x, reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


DEVICE = torch.device("cpu")


def sync():
    if DEVICE.type == "cuda":
        torch.cuda.synchronize(DEVICE)


def reset_peak():
    if DEVICE.type == "cuda":
        torch.cuda.reset_peak_memory_stats(DEVICE)
        return
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def peak_mib():
    if DEVICE.type == "cuda":
        return torch.cuda.max_memory_allocated(DEVICE) / 2**20
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def median_rate(work, units_per_repeat, warmup, repeats):
    for _ in range(warmup):
        work()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        sync()
        times.append(time.perf_counter() - start)
    return units_per_repeat / statistics.median(times)


def train_rate(model, loss_fn, x, args):
    """Images/s of training steps (zero_grad, forward, loss, backward, Adam) on the batch x."""
    model = model.to(DEVICE)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    batch = x.shape[0]
    steps = max(1, args.images_per_repeat // batch)

    def train_steps():
        for _ in range(steps):
            optimizer.zero_grad()
            out, mu, logvar = model(x)
            loss = loss_fn(out, x, mu, logvar)
            loss.backward()
            optimizer.step()

    return median_rate(train_steps, steps * batch, 1, args.repeats)


def model_name(hidden):
    return "-".join(str(w) for w in [784] + hidden + [20])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batches", default="128,1024")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--images-per-repeat", type=int, default=8192)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--matmul-n", type=int, default=1024)
    parser.add_argument("--workloads", default="matmul,train,conv,infer,evaluate,epoch")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    args = parser.parse_args()
    global DEVICE
    if args.device != "cpu" and not torch.cuda.is_available():
        parser.error(f"--device {args.device}: this PyTorch has no usable CUDA device")
    DEVICE = torch.device(args.device)
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    workloads = set(args.workloads.split(","))
    batches = [int(b) for b in args.batches.split(",")]
    shapes = [[400], [512, 256]]
    images = load_train_images(args.data_dir).to(DEVICE)
    rows = []

    if "matmul" in workloads:
        reset_peak()
        n = args.matmul_n
        a, b = torch.rand(n, n, device=DEVICE), torch.rand(n, n, device=DEVICE)

        def product():
            for _ in range(4):
                a @ b

        rate = median_rate(product, 4 * 2 * n**3 / 1e9, 1, args.repeats)
        rows.append(dict(kind="matmul", model="", batch=n, rate=rate, peak_mib=peak_mib()))

    if "train" in workloads:
        for hidden in shapes:
            for batch in batches:
                reset_peak()
                rate = train_rate(VAE(hidden), loss_function, images[:batch], args)
                rows.append(dict(kind="train", model=model_name(hidden), batch=batch,
                                 rate=rate, peak_mib=peak_mib()))

    if "conv" in workloads:
        batch = 128
        reset_peak()
        rate = train_rate(ConvVAE(), conv_loss_function, images[:batch], args)
        rows.append(dict(kind="train", model="conv 32-64-20", batch=batch,
                         rate=rate, peak_mib=peak_mib()))

    if "infer" in workloads:
        batch = 1024
        for hidden in shapes:
            reset_peak()
            model = VAE(hidden).to(DEVICE)
            x = images[:batch]
            steps = max(1, args.images_per_repeat // batch)

            def infer():
                with torch.no_grad():
                    for _ in range(steps):
                        model.decode(model.encode(x)[0])

            rate = median_rate(infer, steps * batch, 1, args.repeats)
            rows.append(dict(kind="infer", model=model_name(hidden), batch=batch,
                             rate=rate, peak_mib=peak_mib()))

    if "evaluate" in workloads:
        hidden, batch, samples = [400], 50, 1000
        reset_peak()
        model = VAE(hidden).to(DEVICE)
        x = images[:batch]
        log_2pi = math.log(2 * math.pi)

        def evaluate():
            with torch.no_grad():
                mu, logvar = model.encode(x)
                std = torch.exp(0.5 * logvar)
                eps = torch.randn(batch, samples, mu.shape[1], device=DEVICE)
                z = mu.unsqueeze(1) + eps * std.unsqueeze(1)
                h = z
                for layer in model.dec:
                    h = F.relu(layer(h))
                logits = model.out(h)
                log_px_z = -F.binary_cross_entropy_with_logits(
                    logits, x.unsqueeze(1).expand_as(logits), reduction="none").sum(2)
                log_pz = -0.5 * (z.pow(2) + log_2pi).sum(2)
                log_qz = -0.5 * (eps.pow(2) + log_2pi + logvar.unsqueeze(1)).sum(2)
                (torch.logsumexp(log_pz + log_px_z - log_qz, dim=1) - math.log(samples)).sum()

        rate = median_rate(evaluate, batch, 1, args.repeats)
        rows.append(dict(kind="evaluate", model=model_name(hidden), batch=batch,
                         rate=rate, peak_mib=peak_mib()))

    if "epoch" in workloads and args.epochs > 0:
        hidden, batch = [400], 128
        reset_peak()
        model = VAE(hidden).to(DEVICE)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        rates = []
        for _ in range(args.epochs):
            start = time.perf_counter()
            order = torch.randperm(images.shape[0], device=DEVICE)
            for i in range(0, images.shape[0], batch):
                x = images[order[i:i + batch]]
                optimizer.zero_grad()
                recon, mu, logvar = model(x)
                loss = loss_function(recon, x, mu, logvar)
                loss.backward()
                optimizer.step()
                loss.item()  # the example logs loss.item() every step
            rates.append(images.shape[0] / (time.perf_counter() - start))
        rows.append(dict(kind="epoch", model=model_name(hidden), batch=batch,
                         rate=statistics.median(rates), peak_mib=peak_mib()))

    device = torch.cuda.get_device_name(DEVICE) if DEVICE.type == "cuda" else "cpu"
    print(json.dumps(dict(torch_version=torch.__version__, threads=torch.get_num_threads(),
                          device=device, rows=rows)))


if __name__ == "__main__":
    main()
