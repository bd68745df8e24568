//! The shipped likelihoods against golden values from `golden/likelihood_reference.py`
//! (mpmath at 50 digits, rounded to float64), including the continuous Bernoulli's stable
//! region around logit 0, and finite gradients there.

use burn::prelude::*;
use serde::Deserialize;
use vae_model::likelihood::{
    Bernoulli, ContinuousBernoulli, Gaussian, GaussianConfig, LearnedSigma,
    continuous_bernoulli_log_norm,
};
use vae_model::{Likelihood, LikelihoodConfig};

mod support;
use support::values;

/// f32 arithmetic: relative 1e-5, plus 1e-6 absolute for values that cancel to near 0.
fn assert_close(actual: &[f64], expected: impl Iterator<Item = f64>, what: &str) {
    support::assert_close(actual, expected, 1e-5, 1e-6, what);
}

#[derive(Deserialize)]
struct Golden {
    bernoulli: Vec<BernoulliCase>,
    continuous_bernoulli: Vec<ContinuousCase>,
    gaussian: Vec<GaussianCase>,
}

#[derive(Deserialize)]
struct BernoulliCase {
    logit: f64,
    x: f64,
    nll: f64,
    mean: f64,
}

#[derive(Deserialize)]
struct ContinuousCase {
    logit: f64,
    x: f64,
    log_norm: f64,
    nll: f64,
    mean: f64,
}

#[derive(Deserialize)]
struct GaussianCase {
    mu: f64,
    x: f64,
    log_sigma: f64,
    nll: f64,
}

fn golden() -> Golden {
    serde_json::from_str(include_str!("golden/likelihood_golden.json")).expect("golden file parses")
}

/// One value per row: `[n, 1]`.
fn column(values: impl Iterator<Item = f64>, device: &Device) -> Tensor<2> {
    let values: Vec<f32> = values.map(|v| v as f32).collect();
    let n = values.len();
    Tensor::<1>::from_floats(values.as_slice(), device).reshape([n, 1])
}

#[test]
fn bernoulli_matches_the_reference() {
    let g = golden().bernoulli;
    let device = Device::flex();
    let logits = column(g.iter().map(|c| c.logit), &device);
    let x = column(g.iter().map(|c| c.x), &device);
    let nll = values(Bernoulli.nll(logits.clone(), x));
    assert_close(&nll, g.iter().map(|c| c.nll), "bernoulli nll");
    assert_close(
        &values(Bernoulli.mean(logits)),
        g.iter().map(|c| c.mean),
        "bernoulli mean",
    );
}

#[test]
fn continuous_bernoulli_matches_the_reference_including_near_logit_zero() {
    let g = golden().continuous_bernoulli;
    assert!(
        g.iter().any(|c| c.logit == 0.0) && g.iter().any(|c| c.logit.abs() == 1e-7),
        "the golden file covers the stable region"
    );
    let device = Device::flex();
    let logits = column(g.iter().map(|c| c.logit), &device);
    let x = column(g.iter().map(|c| c.x), &device);
    assert_close(
        &values(continuous_bernoulli_log_norm(logits.clone())),
        g.iter().map(|c| c.log_norm),
        "log normaliser",
    );
    assert_close(
        &values(ContinuousBernoulli.nll(logits.clone(), x)),
        g.iter().map(|c| c.nll),
        "continuous bernoulli nll",
    );
    assert_close(
        &values(ContinuousBernoulli.mean(logits)),
        g.iter().map(|c| c.mean),
        "continuous bernoulli mean",
    );
}

#[test]
fn continuous_bernoulli_gradients_are_finite_at_and_around_logit_zero() {
    let device = Device::flex().autodiff();
    let logits = Tensor::<1>::from_floats([0.0, 1e-7, -1e-3, 0.009, 0.011, 0.5, 30.0], &device)
        .reshape([7, 1])
        .require_grad();
    let x = Tensor::<2>::full([7, 1], 0.3, &device);
    let loss = ContinuousBernoulli.nll(logits.clone(), x).sum()
        + ContinuousBernoulli.mean(logits.clone()).sum();
    let grads = loss.backward();
    let grad = values(logits.grad(&grads).expect("a gradient"));
    assert!(grad.iter().all(|g| g.is_finite()), "gradients: {grad:?}");
    // Near l = 0, d/dl [nll] is 1/2 - x (the Bernoulli part; log C is flat there) and the
    // mean's slope is 1/12.
    assert!(
        (grad[1] - (0.5 - 0.3 + 1.0 / 12.0)).abs() < 1e-4,
        "{}",
        grad[1]
    );
}

#[test]
fn gaussian_with_fixed_and_learned_sigma_matches_the_reference() {
    let g = golden().gaussian;
    let device = Device::flex();
    for case in &g {
        let mu = column([case.mu].into_iter(), &device);
        let x = column([case.x].into_iter(), &device);
        let fixed = Gaussian::fixed(case.log_sigma.exp());
        assert_close(
            &values(fixed.nll(mu.clone(), x.clone())),
            [case.nll].into_iter(),
            "fixed sigma",
        );
        let learned = GaussianConfig::new()
            .with_learned_sigma(Some(LearnedSigma::Shared))
            .with_min_sigma(1e-6)
            .with_initial_sigma(case.log_sigma.exp())
            .try_init(1, &device)
            .unwrap();
        assert_close(
            &values(learned.nll(mu, x)),
            [case.nll].into_iter(),
            "learned sigma",
        );
    }
}

#[test]
fn a_per_element_sigma_has_one_value_per_element_and_is_clamped_at_its_floor() {
    let device = Device::flex().autodiff();
    let likelihood = LikelihoodConfig::Gaussian(
        GaussianConfig::new()
            .with_learned_sigma(Some(LearnedSigma::PerElement))
            .with_min_sigma(0.5)
            .with_initial_sigma(0.5),
    )
    .try_init(3, &device)
    .unwrap();
    let mu = Tensor::<2>::zeros([2, 3], &device);
    let x = Tensor::<2>::ones([2, 3], &device);
    let nll = values(likelihood.nll(mu, x));
    // Per element: 0.5 (1 / 0.5)^2 + ln 0.5 + 0.5 ln 2π.
    let per_element = 2.0 + 0.5f64.ln() + 0.5 * (2.0 * std::f64::consts::PI).ln();
    assert_close(&nll, [3.0 * per_element; 2].into_iter(), "per-element nll");
    assert_eq!(burn::module::Module::num_params(&likelihood), 3);
    assert!(likelihood.describe().contains("per-element"));
}

#[test]
fn inconsistent_gaussian_configs_are_refused_with_the_fix() {
    let both = GaussianConfig::new()
        .with_sigma(Some(0.1))
        .with_learned_sigma(Some(LearnedSigma::Shared));
    let error = both.validate().unwrap_err().to_string();
    assert!(
        error.contains("both") && error.contains("learned_sigma"),
        "{error}"
    );
    let neither = GaussianConfig::new().validate().unwrap_err().to_string();
    assert!(neither.contains("either"), "{neither}");
    let negative = GaussianConfig::new().with_sigma(Some(-1.0)).validate();
    assert!(negative.unwrap_err().to_string().contains("sigma"));
}

#[test]
fn every_likelihood_reduces_over_all_but_the_batch_axis_at_any_rank() {
    let device = Device::flex();
    let params = Tensor::<4>::random([2, 1, 3, 4], burn::tensor::Distribution::Default, &device);
    let x = Tensor::<4>::random([2, 1, 3, 4], burn::tensor::Distribution::Default, &device);
    let flat = |t: Tensor<4>| t.reshape([2, 12]);
    for likelihood in [
        LikelihoodConfig::Bernoulli,
        LikelihoodConfig::ContinuousBernoulli,
        LikelihoodConfig::Gaussian(GaussianConfig::new().with_sigma(Some(0.3))),
    ] {
        let likelihood = likelihood.try_init(12, &device).unwrap();
        let rank4 = values(likelihood.nll(params.clone(), x.clone()));
        let rank2 = values(likelihood.nll(flat(params.clone()), flat(x.clone())));
        assert_eq!(rank4.len(), 2);
        assert_close(&rank4, rank2.into_iter(), &likelihood.describe());
    }
}
