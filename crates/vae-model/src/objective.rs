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
///
/// ```
/// use vae_model::ObjectiveConfig;
///
/// let elbo = ObjectiveConfig::new();
/// assert!(elbo.is_elbo() && elbo.validate().is_ok());
/// let free_bits = ObjectiveConfig::new().with_free_bits(0.25);
/// assert!(!free_bits.is_elbo() && free_bits.validate().is_ok());
/// assert!(ObjectiveConfig::new().with_samples(0).validate().is_err());
/// // Free bits floor the ELBO's KL term, which the IWAE bound does not have.
/// let both = ObjectiveConfig::new().with_samples(5).with_free_bits(0.25);
/// assert!(both.validate().unwrap_err().to_string().contains("free_bits"));
/// ```
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
    ///
    /// ```
    /// use vae_model::KlWarmupConfig;
    ///
    /// let warmup = KlWarmupConfig::new(100); // from 0 to the target over 100 steps
    /// assert_eq!(warmup.beta(1.0, 0), 0.0);
    /// assert_eq!(warmup.beta(1.0, 25), 0.25);
    /// assert_eq!(warmup.beta(1.0, 500), 1.0); // then the target
    /// assert_eq!(KlWarmupConfig::new(10).with_start(0.5).beta(2.0, 5), 1.25);
    /// assert!(KlWarmupConfig::new(10).with_start(-1.0).validate().is_err());
    /// ```
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
    /// PyTorch's `examples/vae`; see the `train` module, behind the `train` feature).
    pub objective: Tensor<1>,
}

/// The KL part of the objective in batch-sum form, from the KL of each example and latent
/// dimension (`[batch, latent_dim]`): `beta * Σ_i Σ_j KL_ij`, or with free bits `λ > 0`,
/// `beta * batch * Σ_j max(λ, mean_i KL_ij)`. The gradient of a dimension above the floor is
/// unchanged; below it, zero.
///
/// ```
/// use burn::prelude::*;
/// use vae_model::kl_penalty;
///
/// let device = Device::flex();
/// // 2 examples, 2 latent dimensions; the batch means are 0.2 and 1.5.
/// let kl = Tensor::<2>::from_floats([[0.1, 2.0], [0.3, 1.0]], &device);
/// // No floor: beta times the sum of everything.
/// assert!((kl_penalty(kl.clone(), 1.0, 0.0).into_scalar::<f32>() - 3.4).abs() < 1e-6);
/// // Free bits 0.5: dimension 0 counts as 0.5, so beta * batch * (0.5 + 1.5) = 4.
/// assert!((kl_penalty(kl, 1.0, 0.5).into_scalar::<f32>() - 4.0).abs() < 1e-6);
/// ```
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
    ///
    /// ```
    /// use burn::prelude::*;
    /// use burn::tensor::Distribution;
    /// use vae_model::{ObjectiveConfig, VaeConfig};
    ///
    /// let device = Device::flex();
    /// let config = VaeConfig::new().with_input_dim(6).with_hidden_dims(vec![8]);
    /// let vae = config.with_latent_dim(2).init(&device);
    /// let x = Tensor::<2>::random([3, 6], Distribution::Default, &device);
    /// let _ = vae.loss(x.clone(), None); // parameters initialize on first use, before the seed
    /// // The default objective is the summed negative ELBO: `loss(..).sum_loss()`, same draws.
    /// device.seed(4);
    /// let out = vae.objective(x.clone(), None, &ObjectiveConfig::new(), vae.beta());
    /// assert!(out.bound.is_none()); // only with `samples > 1`
    /// device.seed(4);
    /// assert_eq!(out.objective.into_data(), vae.loss(x, None).sum_loss().into_data());
    /// ```
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
    ///
    /// ```
    /// use burn::prelude::*;
    /// use burn::tensor::Distribution;
    /// use vae_model::applications::Corruption;
    /// use vae_model::{ObjectiveConfig, VaeConfig};
    ///
    /// let device = Device::flex();
    /// let config = VaeConfig::new().with_input_dim(6).with_hidden_dims(vec![8]);
    /// let vae = config.with_latent_dim(2).init(&device);
    /// let clean = Tensor::<2>::random([3, 6], Distribution::Default, &device);
    /// let noisy = Corruption::Gaussian { sigma: 0.3 }.apply(clean.clone());
    /// // A denoising IWAE step: encode the noisy images, score the clean ones, k = 4.
    /// let iwae = ObjectiveConfig::new().with_samples(4);
    /// let out = vae.objective_with_targets(noisy, clean, None, &iwae, 1.0);
    /// assert_eq!(out.bound.unwrap().dims(), [3]);
    /// assert_eq!(out.terms.loss.dims(), [3]);
    /// assert!(out.objective.into_scalar::<f32>().is_finite());
    /// ```
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
        self.importance_weighted_objective(
            inputs,
            condition,
            objective.samples,
            beta,
            |params, count| {
                self.likelihood
                    .nll(params, repeat_each(x.clone(), count))
                    .neg()
            },
        )
    }

    /// The importance-weighted objective of [`objective_with_targets`](Self::objective_with_targets)
    /// for `samples = k > 1`, with each decoded batch scored by `log_likelihood(params, count)`:
    /// `params` are the decoder's outputs for `[batch * count, ...]` codes, each example's
    /// `count` codes in a row (the order of [`repeat_each`]), and the result is `log p(x|z)` per
    /// row, `[batch * count]`. `objective_with_targets` passes the likelihood's own
    /// `-nll(params, repeat_each(targets, count))`; a caller may compute the same term its own
    /// way, as the `vae` trainer does for the Bernoulli term on the CPU (one host pass for the
    /// term and its gradient), and keep the bound's maths here.
    ///
    /// # Shapes
    /// - inputs: `[batch, ...]`; output tensors: `[batch]`, objective `[1]`
    ///
    /// # Panics
    /// If `samples` is 0, or `log_likelihood` returns another shape than `[batch * count]`.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use burn::tensor::Distribution;
    /// use vae_model::{Likelihood, ObjectiveConfig, VaeConfig, repeat_each};
    ///
    /// let device = Device::flex();
    /// let vae = VaeConfig::new().with_input_dim(6).with_hidden_dims(vec![8]).init(&device);
    /// let x = Tensor::<2>::random([3, 6], Distribution::Default, &device);
    /// let _ = vae.loss(x.clone(), None); // parameters initialize on first use, before the seed
    /// device.seed(7);
    /// let own = vae.importance_weighted_objective(x.clone(), None, 4, 1.0, |params, count| {
    ///     vae.likelihood.nll(params, repeat_each(x.clone(), count)).neg()
    /// });
    /// device.seed(7);
    /// let iwae = ObjectiveConfig::new().with_samples(4);
    /// let same = vae.objective(x, None, &iwae, 1.0);
    /// assert_eq!(own.objective.into_data(), same.objective.into_data());
    /// ```
    pub fn importance_weighted_objective(
        &self,
        inputs: Tensor<X>,
        condition: Option<Tensor<2>>,
        samples: usize,
        beta: f64,
        mut log_likelihood: impl FnMut(Tensor<X>, usize) -> Tensor<1>,
    ) -> ObjectiveOutput {
        let batch = inputs.dims()[0];
        let posterior = self.encode(inputs, condition.clone());
        let mut log_px = None;
        let log_weights = log_importance_weights(&posterior, samples, samples, |z, count| {
            let condition = condition.clone().map(|c| repeat_each(c, count));
            let params = self.decode(z, condition);
            let value = log_likelihood(params, count);
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
