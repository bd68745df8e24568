#!/usr/bin/env python3
"""Reference values for the ELBO terms, computed in float64 with Python's standard library.

Tool: CPython 3.11 `math` (float64); no third-party package. Run from this folder:

    python3 elbo_reference.py > elbo_golden.json

Formulas (independent of the Rust code's algebra):
- BCE per pixel, written directly from the definition with log1p/exp in float64 and
  a branch on the sign of the logit so that no term overflows:
      -[x * log(sigmoid(l)) + (1 - x) * log(1 - sigmoid(l))]
  log(sigmoid(l)) = -log1p(exp(-l)) for l >= 0, l - log1p(exp(l)) for l < 0.
- KL(N(m, exp(v)) || N(0, 1)) per dimension, from the general Gaussian KL
      log(s2/s1) + (s1^2 + (m1 - m2)^2) / (2 s2^2) - 1/2 with m2 = 0, s2 = 1.
"""
import json
import math
import random


def log_sigmoid(l):
    return -math.log1p(math.exp(-l)) if l >= 0 else l - math.log1p(math.exp(l))


def bce(logits, targets):
    return -sum(x * log_sigmoid(l) + (1 - x) * log_sigmoid(-l) for l, x in zip(logits, targets))


def kl(mean, log_var):
    total = 0.0
    for m, v in zip(mean, log_var):
        s1 = math.exp(0.5 * v)
        total += math.log(1.0 / s1) + (s1 * s1 + m * m) / 2.0 - 0.5
    return total


def main():
    rng = random.Random(20261125)
    batch, pixels, latent = 4, 12, 5
    logits = [[round(rng.uniform(-8, 8), 4) for _ in range(pixels)] for _ in range(batch)]
    # Continuous targets in [0, 1] (as PyTorch's example trains on), with exact 0 and 1 too.
    targets = [[round(rng.choice([0.0, 1.0, rng.random()]), 4) for _ in range(pixels)] for _ in range(batch)]
    mean = [[round(rng.uniform(-3, 3), 4) for _ in range(latent)] for _ in range(batch)]
    log_var = [[round(rng.uniform(-4, 2), 4) for _ in range(latent)] for _ in range(batch)]
    beta = 4.0
    rec = [bce(l, x) for l, x in zip(logits, targets)]
    kls = [kl(m, v) for m, v in zip(mean, log_var)]
    out = {
        "tool": "CPython 3.11 math, float64 (elbo_reference.py)",
        "logits": logits,
        "targets": targets,
        "mean": mean,
        "log_var": log_var,
        "beta": beta,
        "reconstruction": rec,
        "kl": kls,
        "loss": [r + beta * k for r, k in zip(rec, kls)],
        # Extreme logits: BCE of logit +-100 against targets 0 and 1.
        "extreme_logits": [100.0, -100.0, 100.0, -100.0],
        "extreme_targets": [0.0, 1.0, 1.0, 0.0],
        "extreme_bce": bce([100.0, -100.0, 100.0, -100.0], [0.0, 1.0, 1.0, 0.0]),
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
