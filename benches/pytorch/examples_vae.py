#!/usr/bin/env python3
"""PyTorch's examples/vae (main.py), run on the same MNIST IDX files as burn-vae.

The model, loss, optimizer, batch sizes and data order follow
https://github.com/pytorch/examples/blob/main/vae/main.py: 784-400-20 with ReLU, sigmoid
decoder, BCE summed over pixels + analytic KL, loss summed over the batch, Adam(lr=1e-3),
batch 128, shuffled training set, test loss with one posterior sample, seed 1.
The only change: MNIST is read from the IDX files (no torchvision download).

With --save-state-dict FILE.pt the trained weights are saved for `vae import`; with
--iw-samples K the script then evaluates them on the test set as `vae evaluate` does: the
negative ELBO with one posterior sample per image and the importance-weighted estimate of
-log p(x) with K samples (Burda et al. 2016), each with its standard error over images;
--scores-csv FILE writes both per image. --load-state-dict FILE.pt evaluates saved weights
(with --epochs 0: no training), --test-images N only the first N test images: together they
time the evaluation beside `vae evaluate --images N` on the same weights.
--device cuda trains and evaluates on the GPU as the example does with --accel (batches are
moved to the device one at a time); --train-images N trains on the first N images only (the
GPU script's tiny mode).

Set-up: `pip install torch numpy`. Run:

    python3 benches/pytorch/examples_vae.py --data-dir ../shared/datasets/mnist --epochs 10
"""
import argparse
import gzip
import math
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


def mean_and_stderr(values):
    return values.mean().item(), (values.std(correction=1) / len(values) ** 0.5).item()


def evaluate(model, test, samples, scores_csv, device, batch=50):
    """Per test image: -ELBO with one posterior sample and the IW estimate of -log p(x)."""
    start = time.perf_counter()
    log_2pi = math.log(2 * math.pi)
    neg_elbo, iw_nll = [], []
    model.eval()
    with torch.no_grad():
        for x in test.split(batch):
            x = x.to(device)
            mu, logvar = model.encode(x)
            std = torch.exp(0.5 * logvar)
            z = mu + torch.randn_like(std) * std
            logits = model.fc4(F.relu(model.fc3(z)))
            rec = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)
            kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)
            neg_elbo.append(rec + kl)
            eps = torch.randn(x.shape[0], samples, mu.shape[1], device=device)
            z = mu.unsqueeze(1) + eps * std.unsqueeze(1)
            logits = model.fc4(F.relu(model.fc3(z)))
            log_px_z = -F.binary_cross_entropy_with_logits(
                logits, x.unsqueeze(1).expand_as(logits), reduction="none").sum(2)
            log_pz = -0.5 * (z.pow(2) + log_2pi).sum(2)
            log_qz = -0.5 * (eps.pow(2) + log_2pi + logvar.unsqueeze(1)).sum(2)
            log_w = log_px_z + log_pz - log_qz
            iw_nll.append(-(torch.logsumexp(log_w, dim=1) - math.log(samples)))
    neg_elbo, iw_nll = torch.cat(neg_elbo).cpu(), torch.cat(iw_nll).cpu()
    elbo_mean, elbo_se = mean_and_stderr(neg_elbo)
    iw_mean, iw_se = mean_and_stderr(iw_nll)
    print(f"negative ELBO (1 sample): {elbo_mean:.2f} +- {elbo_se:.2f}")
    print(f"IW -log p(x) (K = {samples}): {iw_mean:.2f} +- {iw_se:.2f}")
    print(f"evaluation seconds: {time.perf_counter() - start:.1f}")
    if scores_csv:
        with open(scores_csv, "w") as f:
            f.write("index,negative_elbo,negative_iw_bound\n")
            for i, (a, b) in enumerate(zip(neg_elbo.tolist(), iw_nll.tolist())):
                f.write(f"{i},{a:.6f},{b:.6f}\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--save-state-dict", metavar="FILE.pt")
    parser.add_argument("--iw-samples", type=int, default=0)
    parser.add_argument("--scores-csv", metavar="FILE.csv")
    parser.add_argument("--load-state-dict", metavar="FILE.pt")
    parser.add_argument("--test-images", type=int, metavar="N")
    parser.add_argument("--train-images", type=int, metavar="N")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    args = parser.parse_args()
    if args.scores_csv and args.iw_samples <= 0:
        parser.error("--scores-csv needs --iw-samples K (the scores are the evaluation's)")
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)

    train = load_images(args.data_dir, "train-images-idx3-ubyte")
    test = load_images(args.data_dir, "t10k-images-idx3-ubyte")
    if args.test_images is not None:
        if args.test_images <= 0:
            parser.error("--test-images must be at least 1")
        test = test[: args.test_images]
    if args.train_images is not None:
        if args.train_images <= 0:
            parser.error("--train-images must be at least 1")
        train = train[: args.train_images]
    if args.device != "cpu" and not torch.cuda.is_available():
        parser.error(f"--device {args.device}: this PyTorch has no usable CUDA device")
    device = torch.device(args.device)
    if args.load_state_dict and args.epochs > 0:
        parser.error("--load-state-dict evaluates saved weights: pass --epochs 0 with it")
    train_loader = torch.utils.data.DataLoader(train, batch_size=args.batch_size, shuffle=True)
    test_loader = torch.utils.data.DataLoader(test, batch_size=args.batch_size, shuffle=False)

    model = VAE()
    if args.load_state_dict:
        model.load_state_dict(torch.load(args.load_state_dict, weights_only=True))
    model = model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    print("epoch,train_loss,test_loss,seconds")
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        model.train()
        train_loss = 0.0
        for data in train_loader:
            data = data.to(device)
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
                data = data.to(device)
                recon, mu, logvar = model(data)
                test_loss += loss_function(recon, data, mu, logvar).item()
        seconds = time.perf_counter() - start
        print(f"{epoch},{train_loss / len(train):.4f},{test_loss / len(test):.4f},{seconds:.2f}", flush=True)
    if args.save_state_dict:
        torch.save({k: v.cpu() for k, v in model.state_dict().items()}, args.save_state_dict)
    if args.iw_samples > 0:
        evaluate(model, test, args.iw_samples, args.scores_csv, device)


if __name__ == "__main__":
    main()
