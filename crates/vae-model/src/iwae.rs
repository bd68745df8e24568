//! The importance-weighted estimate of `log p(x)` (Burda, Grosse & Salakhutdinov 2016):
//!
//! `log p(x) ≈ log (1/K) Σ_k p(x|z_k) p(z_k) / q(z_k|x)`, `z_k ~ q(z|x)`.
//!
//! With `K = 1` its expectation is the ELBO; it increases with `K` and converges to `log p(x)`.
//! The sum is taken with a stable log-sum-exp, and the `K` samples are drawn in chunks so that
//! memory stays at `batch * chunk` decoded examples whatever `K` is.
//!
//! [`log_importance_weights`] needs only a posterior and a function giving `log p(x|z)`, so it
//! serves any encoder, decoder and likelihood (and networks that are not this crate's);
//! [`Vae::importance_weighted_log_likelihood`](crate::Vae::importance_weighted_log_likelihood)
//! wires it to a [`Vae`](crate::Vae).

use std::f64::consts::PI;

use burn::prelude::*;
use burn::tensor::Distribution;

use crate::distribution::DiagonalGaussian;

/// `log N(z; 0, I)` per row.
///
/// # Shapes
/// - input: `[n, latent_dim]`
/// - output: `[n]`
///
/// ```
/// use burn::prelude::*;
/// use vae_model::standard_normal_log_prob;
///
/// let device = Device::flex();
/// // At the origin of 2 dimensions, log N(0; 0, I) = -ln(2π); one unit away, 1/2 nat less.
/// let z = Tensor::<2>::from_floats([[0.0, 0.0], [1.0, 0.0]], &device);
/// let log_p: Vec<f32> = standard_normal_log_prob(z).into_data().to_vec().unwrap();
/// let origin = -(2.0 * std::f32::consts::PI).ln();
/// assert!((log_p[0] - origin).abs() < 1e-6);
/// assert!((log_p[1] - (origin - 0.5)).abs() < 1e-6);
/// ```
pub fn standard_normal_log_prob(z: Tensor<2>) -> Tensor<1> {
    let latent_dim = z.dims()[1] as f64;
    z.square()
        .sum_dim(1) // [n, 1]
        .squeeze_dim::<1>(1) // [n]
        .mul_scalar(-0.5)
        .sub_scalar(0.5 * latent_dim * (2.0 * PI).ln())
}

/// `log Σ_k exp(values[:, k]) - log K`, computed stably.
///
/// # Shapes
/// - input: `[batch, K]`
/// - output: `[batch]`
///
/// ```
/// use burn::prelude::*;
/// use vae_model::log_mean_exp;
///
/// let device = Device::flex();
/// // log((1 + 3) / 2) = ln 2; and values far below exp's range (-1000) do not underflow.
/// let values = Tensor::<2>::from_floats([[0.0, 3.0f32.ln()], [-1000.0, -1000.0]], &device);
/// let result: Vec<f32> = log_mean_exp(values).into_data().to_vec().unwrap();
/// assert!((result[0] - std::f32::consts::LN_2).abs() < 1e-6);
/// assert!((result[1] + 1000.0).abs() < 1e-3);
/// ```
pub fn log_mean_exp(values: Tensor<2>) -> Tensor<1> {
    let count = values.dims()[1] as f64;
    let max = values.clone().max_dim(1); // [batch, 1]
    let sum = (values - max.clone()).exp().sum_dim(1); // [batch, 1]
    (max + sum.log())
        .squeeze_dim::<1>(1) // [batch]
        .sub_scalar(count.ln())
}

/// Log importance weights `log p(x|z_k) + log p(z_k) - log q(z_k|x)` for `samples` draws per
/// example from `posterior`, `chunk` draws at a time, under the standard normal prior.
///
/// `log_likelihood(z, count)` gets the codes of one chunk, `[batch * count, latent_dim]`
/// ordered example by example (the `count` codes of example 0 first), and returns
/// `log p(x_i | z)` for each, `[batch * count]`.
///
/// ```
/// use burn::prelude::*;
/// use vae_model::{DiagonalGaussian, log_importance_weights, log_mean_exp};
///
/// let device = Device::flex();
/// // A posterior equal to the prior, and a likelihood that ignores z: every weight is log p(x).
/// let posterior = DiagonalGaussian {
///     mean: Tensor::zeros([3, 2], &device),
///     log_var: Tensor::zeros([3, 2], &device),
/// };
/// let weights = log_importance_weights(&posterior, 10, 4, |z, _count| {
///     Tensor::full([z.dims()[0]], -5.0, &z.device())
/// });
/// assert_eq!(weights.dims(), [3, 10]);
/// let log_px: Vec<f32> = log_mean_exp(weights).into_data().to_vec().unwrap();
/// assert!(log_px.iter().all(|v| (v + 5.0).abs() < 1e-4));
/// ```
///
/// # Shapes
/// - posterior: `[batch, latent_dim]`
/// - output: `[batch, samples]`
///
/// # Panics
/// If `samples` or `chunk` is zero.
pub fn log_importance_weights(
    posterior: &DiagonalGaussian,
    samples: usize,
    chunk: usize,
    mut log_likelihood: impl FnMut(Tensor<2>, usize) -> Tensor<1>,
) -> Tensor<2> {
    assert!(
        samples > 0 && chunk > 0,
        "samples and chunk must be at least 1"
    );
    let [batch, latent_dim] = posterior.mean.dims();
    let device = posterior.mean.device();
    let std = posterior.log_var.clone().mul_scalar(0.5).exp();
    // log q(z|x) = -1/2 Σ (eps² + log 2π + log_var): the log_var part is the same for all k.
    let log_det = posterior
        .log_var
        .clone()
        .sum_dim(1) // [batch, 1]
        .mul_scalar(-0.5)
        .sub_scalar(0.5 * latent_dim as f64 * (2.0 * PI).ln());
    let mut chunks = Vec::with_capacity(samples.div_ceil(chunk));
    let mut drawn = 0;
    while drawn < samples {
        let count = chunk.min(samples - drawn);
        drawn += count;
        let eps = Tensor::<3>::random(
            [batch, count, latent_dim],
            Distribution::Normal(0.0, 1.0),
            &device,
        );
        let mean = posterior.mean.clone().unsqueeze_dim::<3>(1); // [batch, 1, latent]
        let z = mean + std.clone().unsqueeze_dim::<3>(1) * eps.clone(); // [batch, count, latent]
        let z = z.reshape([batch * count, latent_dim]);
        let log_px = log_likelihood(z.clone(), count);
        let log_prior = standard_normal_log_prob(z);
        let log_q_noise = eps
            .square()
            .sum_dim(2) // [batch, count, 1]
            .reshape([batch, count])
            .mul_scalar(-0.5);
        let log_weight =
            (log_px + log_prior).reshape([batch, count]) - log_q_noise - log_det.clone();
        chunks.push(log_weight);
    }
    Tensor::cat(chunks, 1)
}

/// Each example repeated `count` times in a row: `[batch, ...] -> [batch * count, ...]`, the
/// order [`log_importance_weights`] passes codes in.
///
/// ```
/// use burn::prelude::*;
/// use vae_model::repeat_each;
///
/// let device = Device::flex();
/// let rows = Tensor::<2>::from_floats([[1.0, 2.0], [3.0, 4.0]], &device);
/// let repeated = repeat_each(rows, 3);
/// assert_eq!(repeated.dims(), [6, 2]);
/// let values: Vec<f32> = repeated.into_data().to_vec().unwrap();
/// assert_eq!(values, [1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 4.0, 3.0, 4.0]);
/// ```
pub fn repeat_each<const X: usize>(values: Tensor<X>, count: usize) -> Tensor<X> {
    let mut dims = values.dims();
    let batch = dims[0];
    let flat = values.reshape([batch as i64, -1]);
    let width = flat.dims()[1];
    let repeated = flat
        .unsqueeze_dim::<3>(1)
        .expand([batch, count, width])
        .reshape([batch * count, width]);
    dims[0] = batch * count;
    repeated.reshape(dims)
}
