#!/usr/bin/env python3
"""Reference values for the per-element decoder likelihoods: Bernoulli, continuous
Bernoulli and Gaussian, each on float64 inputs, computed in arbitrary precision.

Tool: mpmath (values made with mpmath 1.3 at 50 digits, rounded to float64) on
CPython 3.11; no other third-party package. `pip install mpmath` if it is missing.
Run from this folder:

    python3 likelihood_reference.py > likelihood_golden.json

Every input (logit, x, mu, log_sigma) is a float64, converted to mpmath exactly, so
e.g. x = 0.1 means the float64 nearest 0.1, as the Rust test will pass it. Outputs are
rounded to nearest float64 only at the end, so the reference does not share float64
rounding with the code under test.

Formulas (definitions, independent of the Rust code's algebra):
- Bernoulli on logits, sigma(l) = 1 / (1 + exp(-l)):
      nll(l, x) = -[x log sigma(l) + (1 - x) log(1 - sigma(l))],  mean = sigma(l).
  Value written out as x softplus(-l) + (1 - x) softplus(l), softplus(z) = log1p(exp(z)),
  and asserted equal to the definition evaluated with 150 working digits.
- Continuous Bernoulli (Loaiza-Ganem & Cunningham, NeurIPS 2019), lam = sigma(l):
      p(x | lam) = C(lam) lam^x (1 - lam)^(1 - x),
      C(lam) = 2 atanh(1 - 2 lam) / (1 - 2 lam) for lam != 1/2, C(1/2) = 2,
      log_norm(l) = log C(sigma(l)),  nll(l, x) = bernoulli_nll(l, x) - log_norm(l),
      mean(l) = lam / (2 lam - 1) + 1 / (2 atanh(1 - 2 lam)) for lam != 1/2, 1/2 at 1/2.
  Reported values use the definition in lam, evaluated with 150 working digits (the
  definition cancels badly near lam = 1/2 and when lam is within 1e-44 of 0 or 1) and
  rounded to 50 digits. The script asserts that the equal logit forms
      log_norm = log(l / tanh(l / 2)),  mean = sigma(l) / tanh(l / 2) - 1 / l
  (evaluated at 50 digits) agree with it to 1e-40 relative at every l != 0, and that
  the density integrates to 1 over [0, 1] and has the reported mean at a few logits.
  The logits cluster around 0 (lam near 1/2), where float64 code must switch to a
  series; see LOGITS below.
- Gaussian with standard deviation exp(log_sigma):
      nll(mu, x, log_sigma) = 0.5 ((x - mu) / exp(log_sigma))^2 + log_sigma + 0.5 log(2 pi),
  mean = mu.
"""
import json

import mpmath
from mpmath import mp, mpf

mp.dps = 50
DIGITS = 50
GUARD_DPS = 150

# Every one of these appears at least once in "continuous_bernoulli".
MAGNITUDES = [1e-7, 1e-5, 1e-3, 0.01, 0.05, 0.3, 1.0, 2.5, 8.0, 20.0, 60.0, 100.0]
LOGITS = [0.0] + [s * m for m in MAGNITUDES for s in (1.0, -1.0)]
TARGETS = [0.0, 0.1, 0.5, 0.77, 1.0]


def sigmoid(l):
    return 1 / (1 + mpmath.exp(-l))


def softplus(z):
    return mpmath.log1p(mpmath.exp(z))


def bernoulli_nll(l, x):
    l, x = mpf(l), mpf(x)
    value = x * softplus(-l) + (1 - x) * softplus(l)
    with mp.workdps(GUARD_DPS):
        lam = sigmoid(l)
        definition = -(x * mpmath.log(lam) + (1 - x) * mpmath.log(1 - lam))
    assert close(value, definition), (l, x, value, definition)
    return value


def cb_log_norm_and_mean(l):
    """Definition in lam = sigma(l), with guard digits, rounded back to 50 digits."""
    l = mpf(l)
    with mp.workdps(GUARD_DPS):
        lam = sigmoid(l)
        if lam == mpf(1) / 2:
            log_norm, mean = mpmath.log(2), mpf(1) / 2
        else:
            a = mpmath.atanh(1 - 2 * lam)
            log_norm = mpmath.log(2 * a / (1 - 2 * lam))
            mean = lam / (2 * lam - 1) + 1 / (2 * a)
    log_norm, mean = +log_norm, +mean  # round to mp.dps = 50
    if l != 0:
        # The equal forms in the logit, at 50 digits.
        t = mpmath.tanh(l / 2)
        assert close(log_norm, mpmath.log(l / t)), (l, log_norm)
        assert close(mean, sigmoid(l) / t - 1 / l), (l, mean)
    return log_norm, mean


def close(a, b, rel=mpf("1e-40")):
    return abs(a - b) <= rel * max(abs(a), abs(b), mpf("1e-300"))


def check_cb_density(l):
    """The density integrates to 1 and its first moment is the reported mean."""
    log_norm, mean = cb_log_norm_and_mean(l)
    lam = sigmoid(mpf(l))
    with mp.workdps(30):
        pdf = lambda x: mpmath.exp(log_norm + x * mpmath.log(lam) + (1 - x) * mpmath.log(1 - lam))
        total = mpmath.quad(pdf, [0, 1])
        first = mpmath.quad(lambda x: x * pdf(x), [0, 1])
    assert abs(total - 1) < mpf("1e-25"), (l, total)
    assert abs(first - mean) < mpf("1e-25"), (l, first, mean)


def gaussian_nll(mu, x, log_sigma):
    mu, x, log_sigma = mpf(mu), mpf(x), mpf(log_sigma)
    z = (x - mu) / mpmath.exp(log_sigma)
    return z * z / 2 + log_sigma + mpmath.log(2 * mpmath.pi) / 2


def f64(v):
    out = float(v)  # mpmath rounds to nearest float64
    assert out == out and abs(out) != float("inf"), v
    return out


def main():
    for l in [0.0, 1e-5, -0.3, 2.5, -20.0]:
        check_cb_density(l)

    bernoulli = []
    bern_pairs = [(l, x) for l in [0.0, 1e-3, -0.3, 1.0, -2.5, 8.0, -20.0, 100.0, -100.0]
                  for x in (0.0, 1.0)]
    bern_pairs += [(0.3, 0.1), (-1.0, 0.5), (2.5, 0.77), (-8.0, 0.77), (60.0, 0.1),
                   (-60.0, 0.5), (0.05, 0.77), (-1e-7, 0.1)]
    for l, x in bern_pairs:
        bernoulli.append({"logit": l, "x": x, "nll": f64(bernoulli_nll(l, x)),
                          "mean": f64(sigmoid(mpf(l)))})

    continuous_bernoulli = []
    # Two targets per logit, cycling through TARGETS; then a few extra pairs.
    cb_pairs = [(l, TARGETS[(2 * i + k) % len(TARGETS)])
                for i, l in enumerate(LOGITS) for k in (0, 1)]
    cb_pairs += [(0.0, 0.5), (1e-7, 1.0), (-1e-5, 0.1), (100.0, 1.0), (-100.0, 0.0),
                 (20.0, 0.0), (-20.0, 1.0)]
    for l, x in cb_pairs:
        log_norm, mean = cb_log_norm_and_mean(l)
        continuous_bernoulli.append({
            "logit": l, "x": x, "log_norm": f64(log_norm),
            "nll": f64(bernoulli_nll(l, x) - log_norm), "mean": f64(mean)})
    assert {e["logit"] for e in continuous_bernoulli} >= set(LOGITS)

    gaussian = []
    log_sigmas = [-3.0, -1.0, 0.0, 0.5, 2.0]
    mus = [-1.0, 0.0, 0.2, 0.9, 3.0]
    xs = [0.0, 0.25, 1.0]
    for i, s in enumerate(log_sigmas):
        for j, m in enumerate(mus):
            x = xs[(i + j) % len(xs)]
            gaussian.append({"mu": m, "x": x, "log_sigma": s,
                             "nll": f64(gaussian_nll(m, x, s))})

    out = {
        "tool": "mpmath %s at %d digits, rounded to float64 (likelihood_reference.py)"
                % (mpmath.__version__, DIGITS),
        "digits": DIGITS,
        "bernoulli": bernoulli,
        "continuous_bernoulli": continuous_bernoulli,
        "gaussian": gaussian,
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
