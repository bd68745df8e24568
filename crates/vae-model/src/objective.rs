//! Training objectives beyond the one-sample ELBO: a KL weight that warms up
//! ([`KlWarmupConfig`]; Bowman et al. 2016, Sønderby et al. 2016), free bits (Kingma et al.
//! 2016) and the importance-weighted bound with `k` samples (IWAE; Burda, Grosse &
//! Salakhutdinov 2016), chosen with an [`ObjectiveConfig`] and computed by
//! [`Vae::objective`].
//!
//! Whatever the objective, [`ObjectiveOutput::terms`] is the true negative ELBO (weight 1, no
//! floor): the figure to report. Only [`ObjectiveOutput::objective`] (what a step
//! differentiates) changes.
//!
//! ```
//! use burn::prelude::*;
//! use vae_model::{ObjectiveConfig, VaeConfig};
//!
//! let device = Device::flex();
//! let vae = VaeConfig::new()
//!     .with_hidden_dims(vec![32])
//!     .with_latent_dim(8)
//!     .init(&device);
//! let x = Tensor::<2>::ones([4, 784], &device).mul_scalar(0.5);
//! // IWAE with k = 5: the step differentiates the batch sum of -log of the 5-sample bound.
//! let iwae = ObjectiveConfig::new().with_samples(5);
//! let out = vae.objective(x, None, &iwae, 1.0);
//! assert_eq!(out.bound.unwrap().dims(), [4]);
//! assert_eq!(out.terms.loss.dims(), [4]); // the plain negative ELBO, for the metrics
//! assert_eq!(out.objective.dims(), [1]);
//! ```

use burn::config::Config;
use burn::prelude::*;

use crate::error::VaeError;
use crate::iwae::{log_importance_weights, log_mean_exp, repeat_each};
use crate::loss::ElboTerms;
use crate::parts::{Decoder, Encoder, Likelihood};
use crate::vae::Vae;

/// What a training step minimises. The default (`samples = 1`, `free_bits = 0`) is the
/// negative ELBO, as in PyTorch's `examples/vae`.
#[derive(Config, Debug, PartialEq)]
pub struct ObjectiveConfig {
    /// Importance samples `k` per example: `1` trains on the ELBO, `k > 1` on the
    /// importance-weighted bound (IWAE).
    #[config(default = 1)]
    pub samples: usize,
    /// Free bits `λ`, in nats per latent dimension: the KL of a dimension (averaged over the
    /// batch) counts as at least `λ`, so a dimension below the floor gets no KL gradient.
    /// `0` turns it off. Only with `samples = 1`.
    #[config(default = 0.0)]
    pub free_bits: f64,
}

impl ObjectiveConfig {
    /// Checks the rules each field's documentation states.
    pub fn validate(&self) -> Result<(), VaeError> {
        if self.samples == 0 {
            return Err(VaeError::InvalidObjective {
                field: "samples",
                message: "`samples` is 0, but it must be at least 1 (1 trains on the ELBO, k > 1 \
                          on the importance-weighted bound)"
                    .into(),
            });
        }
        if !(self.free_bits.is_finite() && self.free_bits >= 0.0) {
            return Err(VaeError::InvalidObjective {
                field: "free_bits",
                message: format!(
                    "`free_bits` is {}, but it must be a finite number >= 0 (nats per latent \
                     dimension; 0 turns it off)",
                    self.free_bits
                ),
            });
        }
        if self.samples > 1 && self.free_bits > 0.0 {
            return Err(VaeError::InvalidObjective {
                field: "free_bits",
                message: format!(
                    "`free_bits` ({}) bounds the KL term of the ELBO, which the \
                     importance-weighted bound (`samples` = {}) does not have: set `free_bits` to \
                     0 or `samples` to 1",
                    self.free_bits, self.samples
                ),
            });
        }
        Ok(())
    }

    /// Whether this is the plain one-sample negative ELBO without a floor.
    pub fn is_elbo(&self) -> bool {
        self.samples == 1 && self.free_bits == 0.0
    }
}

/// A KL weight that rises linearly from `start` to the model's `beta` over `steps` optimizer
/// steps, then stays there.
#[derive(Config, Debug, PartialEq)]
pub struct KlWarmupConfig {
    /// The weight at step 0.
    #[config(default = 0.0)]
    pub start: f64,
    /// Steps to reach the target weight (0: no warm-up).
    pub steps: usize,
}

impl KlWarmupConfig {
    /// The KL weight at `step` (from 0) for a target weight `target`.
    pub fn beta(&self, target: f64, step: usize) -> f64 {
        if step >= self.steps {
            return target;
        }
        self.start + (target - self.start) * step as f64 / self.steps as f64
    }

    /// Checks that `start` is a finite number >= 0.
    pub fn validate(&self) -> Result<(), VaeError> {
        if !(self.start.is_finite() && self.start >= 0.0) {
            return Err(VaeError::InvalidObjective {
                field: "start",
                message: format!(
                    "the warm-up's `start` is {}, but it must be a finite number >= 0",
                    self.start
                ),
            });
        }
        Ok(())
    }
}

/// One batch under an objective.
#[derive(Debug, Clone)]
pub struct ObjectiveOutput {
    /// The true negative ELBO per example and its terms (weight 1, no floor), `[batch]`. With
    /// `k > 1` samples, the reconstruction term is the mean over the `k` samples.
    pub terms: ElboTerms,
    /// With `k > 1`: `-log` of the `k`-sample importance-weighted bound per example, `[batch]`.
    pub bound: Option<Tensor<1>>,
    /// The scalar a step differentiates, `[1]`: the batch sum of the objective (the sum, as in
    /// PyTorch's `examples/vae`; see [`crate::train`]).
    pub objective: Tensor<1>,
}

/// The KL part of the objective in batch-sum form, from the KL of each example and latent
/// dimension (`[batch, latent_dim]`): `beta * Σ_i Σ_j KL_ij`, or with free bits `λ > 0`,
/// `beta * batch * Σ_j max(λ, mean_i KL_ij)`. The gradient of a dimension above the floor is
/// unchanged; below it, zero.
pub fn kl_penalty(kl_per_dim: Tensor<2>, beta: f64, free_bits: f64) -> Tensor<1> {
    if free_bits <= 0.0 {
        return kl_per_dim
            .sum_dim(1)
            .squeeze_dim::<1>(1)
            .sum()
            .mul_scalar(beta);
    }
    let [batch, _] = kl_per_dim.dims();
    let mean = kl_per_dim.mean_dim(0); // [1, latent_dim]
    let below = mean.clone().lower_elem(free_bits);
    // A filled entry is a constant: no gradient flows to a dimension below the floor.
    mean.mask_fill(below, free_bits)
        .sum()
        .mul_scalar(beta * batch as f64)
}

impl<E, D, L, const X: usize> Vae<E, D, L, X>
where
    E: Encoder<X>,
    D: Decoder<X>,
    L: Likelihood,
{
    /// The batch under `objective`, with KL weight `beta` (the model's own [`Vae::beta`], or
    /// a warm-up's value at this step).
    ///
    /// With `k = objective.samples > 1`, each log importance weight is
    /// `log p(x|z) + beta * (log p(z) - log q(z|x))` (the IWAE bound when `beta = 1`) and the
    /// objective is `-Σ_i log (1/k) Σ_k w_ik`.
    ///
    /// # Shapes
    /// - x: `[batch, ...]`; output tensors: `[batch]`, objective `[1]`
    pub fn objective(
        &self,
        x: Tensor<X>,
        condition: Option<Tensor<2>>,
        objective: &ObjectiveConfig,
        beta: f64,
    ) -> ObjectiveOutput {
        self.objective_with_targets(x.clone(), x, condition, objective, beta)
    }

    /// [`objective`](Self::objective) with the encoder given `inputs` and the likelihood
    /// scoring `targets`: a denoising VAE (Im et al. 2017) trains on corrupted inputs against
    /// the clean targets (`q(z|x̃)` in place of `q(z|x)`; the bound's prior and posterior terms
    /// are unchanged).
    ///
    /// # Shapes
    /// - inputs, targets: `[batch, ...]`, the same shape; output tensors: `[batch]`, objective
    ///   `[1]`
    pub fn objective_with_targets(
        &self,
        inputs: Tensor<X>,
        targets: Tensor<X>,
        condition: Option<Tensor<2>>,
        objective: &ObjectiveConfig,
        beta: f64,
    ) -> ObjectiveOutput {
        let x = targets;
        if objective.samples <= 1 {
            let forward = self.forward(inputs, condition);
            let reconstruction = self.likelihood.nll(forward.params, x);
            let kl_per_dim = forward.posterior.kl_to_standard_normal_per_dim();
            let kl = kl_per_dim.clone().sum_dim(1).squeeze_dim::<1>(1);
            let objective_value = if objective.free_bits > 0.0 {
                reconstruction.clone().sum() + kl_penalty(kl_per_dim, beta, objective.free_bits)
            } else {
                // The same operations as `Vae::loss(..).sum_loss()`: the same numbers.
                ElboTerms::new(reconstruction.clone(), kl.clone(), beta).sum_loss()
            };
            return ObjectiveOutput {
                terms: ElboTerms::new(reconstruction, kl, 1.0),
                bound: None,
                objective: objective_value,
            };
        }
        let samples = objective.samples;
        let batch = x.dims()[0];
        let posterior = self.encode(inputs, condition.clone());
        let mut log_px = None;
        let log_weights = log_importance_weights(&posterior, samples, samples, |z, count| {
            let condition = condition.clone().map(|c| repeat_each(c, count));
            let params = self.decode(z, condition);
            let value = self
                .likelihood
                .nll(params, repeat_each(x.clone(), count))
                .neg();
            log_px = Some(value.clone());
            value
        }); // [batch, k]
        let log_px = log_px
            .expect("one chunk of k samples was drawn")
            .reshape([batch, samples]);
        let weighted = if beta == 1.0 {
            log_weights.clone()
        } else {
            log_px.clone() + (log_weights.clone() - log_px.clone()).mul_scalar(beta)
        };
        let bound = log_mean_exp(weighted).neg(); // [batch]
        let reconstruction = log_px.mean_dim(1).squeeze_dim::<1>(1).neg();
        let kl = posterior.kl_to_standard_normal();
        ObjectiveOutput {
            terms: ElboTerms::new(reconstruction, kl, 1.0),
            objective: bound.clone().sum(),
            bound: Some(if beta == 1.0 {
                bound
            } else {
                log_mean_exp(log_weights).neg()
            }),
        }
    }
}
