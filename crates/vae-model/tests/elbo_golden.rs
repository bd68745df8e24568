//! The ELBO terms against golden values from `golden/elbo_reference.py` (CPython `math`,
//! float64), and the stable BCE at extreme logits.

use burn::prelude::*;
use serde::Deserialize;
use vae_model::{DiagonalGaussian, bernoulli_nll_with_logits, negative_elbo};

mod support;
use support::values;

/// f32 arithmetic over a dozen terms: relative 1e-5 plus a small absolute slack.
fn assert_close(actual: &[f64], expected: &[f64], what: &str) {
    support::assert_close(actual, expected.iter().copied(), 1e-5, 1e-4, what);
}

#[derive(Deserialize)]
struct Golden {
    logits: Vec<Vec<f32>>,
    targets: Vec<Vec<f32>>,
    mean: Vec<Vec<f32>>,
    log_var: Vec<Vec<f32>>,
    beta: f64,
    reconstruction: Vec<f64>,
    kl: Vec<f64>,
    loss: Vec<f64>,
    extreme_logits: Vec<f32>,
    extreme_targets: Vec<f32>,
    extreme_bce: f64,
}

fn golden() -> Golden {
    serde_json::from_str(include_str!("golden/elbo_golden.json")).expect("golden file parses")
}

fn matrix(rows: &[Vec<f32>], device: &Device) -> Tensor<2> {
    let cols = rows[0].len();
    let flat: Vec<f32> = rows.iter().flatten().copied().collect();
    Tensor::<1>::from_floats(flat.as_slice(), device).reshape([rows.len(), cols])
}

#[test]
fn terms_match_the_float64_reference() {
    let g = golden();
    let device = Device::flex();
    let posterior = DiagonalGaussian {
        mean: matrix(&g.mean, &device),
        log_var: matrix(&g.log_var, &device),
    };
    let terms = negative_elbo(
        matrix(&g.logits, &device),
        matrix(&g.targets, &device),
        &posterior,
        g.beta,
    );
    assert_close(
        &values(terms.reconstruction),
        &g.reconstruction,
        "reconstruction",
    );
    assert_close(&values(terms.kl), &g.kl, "kl");
    assert_close(&values(terms.loss), &g.loss, "loss (beta-weighted)");
}

#[test]
fn bce_is_finite_and_exact_at_logits_of_plus_minus_100() {
    let g = golden();
    let device = Device::flex();
    let logits = Tensor::<1>::from_floats(g.extreme_logits.as_slice(), &device).reshape([1, 4]);
    let targets = Tensor::<1>::from_floats(g.extreme_targets.as_slice(), &device).reshape([1, 4]);
    let bce = values(bernoulli_nll_with_logits(logits, targets));
    assert!(bce[0].is_finite(), "BCE overflowed: {}", bce[0]);
    assert_close(&bce, &[g.extreme_bce], "extreme BCE");
}

#[test]
fn kl_is_zero_exactly_at_the_prior() {
    let device = Device::flex();
    let posterior = DiagonalGaussian {
        mean: Tensor::zeros([3, 7], &device),
        log_var: Tensor::zeros([3, 7], &device),
    };
    assert_eq!(values(posterior.kl_to_standard_normal()), vec![0.0; 3]);
}
