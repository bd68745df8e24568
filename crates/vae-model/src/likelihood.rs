//! The importance-weighted estimate of `log p(x)` (Burda, Grosse & Salakhutdinov 2016):
//!
//! `log p(x) ≈ log (1/K) Σ_k p(x|z_k) p(z_k) / q(z_k|x)`, `z_k ~ q(z|x)`.
//!
//! With `K = 1` its expectation is the ELBO; it increases with `K` and converges to `log p(x)`.
//! The sum is taken with a stable log-sum-exp, and the `K` samples are drawn in chunks so that
//! memory stays at `batch * chunk * input_dim` values whatever `K` is.

use std::f64::consts::PI;

use burn::prelude::*;
use burn::tensor::Distribution;

use crate::loss::bernoulli_nll_with_logits;
use crate::vae::Vae;

/// `log N(z; 0, I)` per row.
///
/// # Shapes
/// - input: `[n, latent_dim]`
/// - output: `[n]`
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
pub fn log_mean_exp(values: Tensor<2>) -> Tensor<1> {
    let count = values.dims()[1] as f64;
    let max = values.clone().max_dim(1); // [batch, 1]
    let sum = (values - max.clone()).exp().sum_dim(1); // [batch, 1]
    (max + sum.log())
        .squeeze_dim::<1>(1) // [batch]
        .sub_scalar(count.ln())
}

impl Vae {
    /// Log importance weights `log p(x|z_k) + log p(z_k) - log q(z_k|x)` for `samples` draws
    /// per image, `chunk` draws at a time.
    ///
    /// # Shapes
    /// - input: `[batch, input_dim]`
    /// - output: `[batch, samples]`
    ///
    /// # Panics
    /// If `samples` or `chunk` is zero.
    pub fn log_importance_weights(
        &self,
        input: Tensor<2>,
        samples: usize,
        chunk: usize,
    ) -> Tensor<2> {
        assert!(
            samples > 0 && chunk > 0,
            "samples and chunk must be at least 1"
        );
        let [batch, input_dim] = input.dims();
        let latent_dim = self.latent_dim();
        let posterior = self.encode(input.clone());
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
                &input.device(),
            );
            let mean = posterior.mean.clone().unsqueeze_dim::<3>(1); // [batch, 1, latent]
            let z = mean + std.clone().unsqueeze_dim::<3>(1) * eps.clone(); // [batch, count, latent]
            let z = z.reshape([batch * count, latent_dim]);
            let targets = input
                .clone()
                .unsqueeze_dim::<3>(1)
                .expand([batch, count, input_dim])
                .reshape([batch * count, input_dim]);
            let log_likelihood = bernoulli_nll_with_logits(self.decode(z.clone()), targets).neg();
            let log_prior = standard_normal_log_prob(z);
            let log_q_noise = eps
                .square()
                .sum_dim(2) // [batch, count, 1]
                .reshape([batch, count])
                .mul_scalar(-0.5);
            let log_weight = (log_likelihood + log_prior).reshape([batch, count])
                - log_q_noise
                - log_det.clone();
            chunks.push(log_weight);
        }
        Tensor::cat(chunks, 1)
    }

    /// The importance-weighted estimate of `log p(x)` per image, in nats, with `samples`
    /// posterior draws drawn `chunk` at a time (`samples = 1` gives a one-sample ELBO).
    ///
    /// For continuous targets in `[0, 1]` (PyTorch's MNIST setup), `p(x|z)` is the
    /// Bernoulli expression evaluated at non-binary `x`, as in the training loss.
    ///
    /// # Shapes
    /// - input: `[batch, input_dim]`
    /// - output: `[batch]`
    pub fn importance_weighted_log_likelihood(
        &self,
        input: Tensor<2>,
        samples: usize,
        chunk: usize,
    ) -> Tensor<1> {
        log_mean_exp(self.log_importance_weights(input, samples, chunk))
    }
}
