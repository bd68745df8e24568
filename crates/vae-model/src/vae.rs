//! [`Vae`]: an encoder, the reparameterization, a decoder and a likelihood, and the ELBO.

use burn::prelude::*;
use burn::tensor::Distribution;

use crate::distribution::DiagonalGaussian;
use crate::error::VaeError;
use crate::iwae::{log_importance_weights, log_mean_exp, repeat_each};
use crate::likelihood::Bernoulli;
use crate::loss::ElboTerms;
use crate::networks::{MlpDecoder, MlpEncoder};
use crate::parts::{Decoder, Encoder, Likelihood};

/// A variational autoencoder (Kingma & Welling 2014) with a diagonal Gaussian posterior and a
/// standard normal prior, built from three parts: an [`Encoder`] `E`, a [`Decoder`] `D` and a
/// [`Likelihood`] `L`, on data of rank `X` (`[batch, features]` by default).
///
/// The defaults are the MLP VAE of PyTorch's `examples/vae`, which
/// [`VaeConfig::init`](crate::VaeConfig::init) builds: `Vae` alone names that type. Any other
/// parts go through [`Vae::new`].
///
/// Every method takes an optional condition, `[batch, condition_dim]`, passed to both networks
/// (a conditional VAE); unconditional models take `None`.
#[derive(Module, Debug)]
pub struct Vae<E = MlpEncoder, D = MlpDecoder, L = Bernoulli, const X: usize = 2> {
    /// `x -> q(z|x)`.
    pub encoder: E,
    /// `z -> parameters of p(x|z)`.
    pub decoder: D,
    /// `p(x|parameters)`.
    pub likelihood: L,
    #[module(skip)]
    latent_dim: usize,
    #[module(skip)]
    condition_dim: usize,
    #[module(skip)]
    beta: f64,
}

/// Everything one stochastic forward pass computes.
#[derive(Debug, Clone)]
pub struct VaeForward<const X: usize = 2> {
    /// The posterior `q(z|x)`.
    pub posterior: DiagonalGaussian,
    /// The reparameterized sample, `[batch, latent_dim]`.
    pub z: Tensor<2>,
    /// The decoder's parameters of `p(x|z)` (logits for the Bernoulli likelihoods), in the
    /// data's shape.
    pub params: Tensor<X>,
}

impl<E, D, L, const X: usize> Vae<E, D, L, X>
where
    E: Encoder<X>,
    D: Decoder<X>,
    L: Likelihood,
{
    /// A VAE from its parts, with `beta = 1` and no condition; `latent_dim` is the width of the
    /// encoder's posterior and the decoder's input.
    pub fn new(encoder: E, decoder: D, likelihood: L, latent_dim: usize) -> Self {
        Self {
            encoder,
            decoder,
            likelihood,
            latent_dim,
            condition_dim: 0,
            beta: 1.0,
        }
    }

    /// The same model with KL weight `beta` (`1` is the ELBO; `> 1` a beta-VAE).
    pub fn with_beta(mut self, beta: f64) -> Self {
        self.beta = beta;
        self
    }

    /// The same model, declared conditional on vectors of `condition_dim` values (its networks
    /// must have been built for that width).
    pub fn with_condition_dim(mut self, condition_dim: usize) -> Self {
        self.condition_dim = condition_dim;
        self
    }

    /// Dimension of the latent space.
    pub fn latent_dim(&self) -> usize {
        self.latent_dim
    }

    /// Width of the condition (0: unconditional).
    pub fn condition_dim(&self) -> usize {
        self.condition_dim
    }

    /// Weight of the KL term in [`loss`](Self::loss).
    pub fn beta(&self) -> f64 {
        self.beta
    }

    /// Checks that `condition` is given exactly when the model is conditional, with shape
    /// `[batch, condition_dim]`.
    pub fn check_condition(
        &self,
        condition: Option<&Tensor<2>>,
        batch: usize,
    ) -> Result<(), VaeError> {
        let ok = match condition {
            None => self.condition_dim == 0,
            Some(c) => self.condition_dim > 0 && c.dims() == [batch, self.condition_dim],
        };
        if ok {
            return Ok(());
        }
        let expected = if self.condition_dim == 0 {
            "no condition".to_string()
        } else {
            format!("a condition of shape [{batch}, {}]", self.condition_dim)
        };
        Err(VaeError::Condition {
            expected,
            found: condition.map(|c| c.dims().to_vec()).unwrap_or_default(),
            condition_dim: self.condition_dim,
        })
    }

    /// Panics with [`check_condition`](Self::check_condition)'s message if the condition
    /// does not fit (a network fed the wrong width would panic less clearly).
    fn assert_condition(&self, condition: Option<&Tensor<2>>, batch: usize) {
        if let Err(error) = self.check_condition(condition, batch) {
            panic!("{error}");
        }
    }

    /// The posterior `q(z|x)`.
    ///
    /// # Shapes
    /// - x: `[batch, ...]`; condition: `[batch, condition_dim]`
    /// - output: mean and log_var, `[batch, latent_dim]`
    ///
    /// # Panics
    /// If the condition does not fit the model (see [`check_condition`](Self::check_condition));
    /// every method that encodes or decodes checks it.
    pub fn encode(&self, x: Tensor<X>, condition: Option<Tensor<2>>) -> DiagonalGaussian {
        self.assert_condition(condition.as_ref(), x.dims()[0]);
        self.encoder.encode(x, condition)
    }

    /// The decoder's parameters of `p(x|z)` for latent codes.
    ///
    /// # Shapes
    /// - z: `[batch, latent_dim]`; condition: `[batch, condition_dim]`
    /// - output: `[batch, ...]`, the data's shape
    pub fn decode(&self, z: Tensor<2>, condition: Option<Tensor<2>>) -> Tensor<X> {
        self.assert_condition(condition.as_ref(), z.dims()[0]);
        self.decoder.decode(z, condition)
    }

    /// The mean of `p(x|z)` for latent codes: pixel intensities, for pictures.
    ///
    /// # Shapes
    /// - z: `[batch, latent_dim]`
    /// - output: `[batch, ...]`, the data's shape
    pub fn decode_mean(&self, z: Tensor<2>, condition: Option<Tensor<2>>) -> Tensor<X> {
        self.likelihood.mean(self.decode(z, condition))
    }

    /// Encode, sample `z` by the reparameterization trick, decode.
    pub fn forward(&self, x: Tensor<X>, condition: Option<Tensor<2>>) -> VaeForward<X> {
        let posterior = self.encode(x, condition.clone());
        let z = posterior.sample();
        let params = self.decode(z.clone(), condition);
        VaeForward {
            posterior,
            z,
            params,
        }
    }

    /// The beta-weighted negative ELBO with one posterior sample per example, per example, in
    /// nats. Differentiate `loss(x, c).mean_loss()` (or `sum_loss()`).
    ///
    /// # Shapes
    /// - x: `[batch, ...]`
    /// - output terms: `[batch]`
    pub fn loss(&self, x: Tensor<X>, condition: Option<Tensor<2>>) -> ElboTerms {
        let forward = self.forward(x.clone(), condition);
        self.terms(&forward, x)
    }

    /// The ELBO terms of a forward pass already made (for training code that needs the pass).
    pub fn terms(&self, forward: &VaeForward<X>, x: Tensor<X>) -> ElboTerms {
        ElboTerms::new(
            self.likelihood.nll(forward.params.clone(), x),
            forward.posterior.kl_to_standard_normal(),
            self.beta,
        )
    }

    /// Deterministic reconstruction: the mean of `p(x|z)` at the posterior mean.
    ///
    /// # Shapes
    /// - x: `[batch, ...]`; output: the same shape
    pub fn reconstruct(&self, x: Tensor<X>, condition: Option<Tensor<2>>) -> Tensor<X> {
        let z = self.encode(x, condition.clone()).mode();
        self.decode_mean(z, condition)
    }

    /// Draws `count` codes from the prior `N(0, I)` on `device` and decodes them to the mean of
    /// `p(x|z)`; a conditional model takes `condition`, `[count, condition_dim]`. Seed with
    /// `device.seed(..)` for reproducible samples.
    ///
    /// # Shapes
    /// - output: `[count, ...]`, the data's shape
    pub fn generate(
        &self,
        count: usize,
        condition: Option<Tensor<2>>,
        device: &Device,
    ) -> Tensor<X> {
        let z = Tensor::random(
            [count, self.latent_dim],
            Distribution::Normal(0.0, 1.0),
            device,
        );
        self.decode_mean(z, condition)
    }

    /// Log importance weights `log p(x|z_k) + log p(z_k) - log q(z_k|x)` for `samples` draws
    /// per example, `chunk` at a time (see [`log_importance_weights`]).
    ///
    /// # Shapes
    /// - x: `[batch, ...]`; output: `[batch, samples]`
    ///
    /// # Panics
    /// If `samples` or `chunk` is zero.
    pub fn log_importance_weights(
        &self,
        x: Tensor<X>,
        condition: Option<Tensor<2>>,
        samples: usize,
        chunk: usize,
    ) -> Tensor<2> {
        let posterior = self.encode(x.clone(), condition.clone());
        log_importance_weights(&posterior, samples, chunk, |z, count| {
            let condition = condition.clone().map(|c| repeat_each(c, count));
            let params = self.decode(z, condition);
            self.likelihood
                .nll(params, repeat_each(x.clone(), count))
                .neg()
        })
    }

    /// The importance-weighted estimate of `log p(x)` per example, in nats, under this model's
    /// likelihood, with `samples` posterior draws `chunk` at a time (`samples = 1` gives a
    /// one-sample ELBO).
    ///
    /// # Shapes
    /// - x: `[batch, ...]`; output: `[batch]`
    pub fn importance_weighted_log_likelihood(
        &self,
        x: Tensor<X>,
        condition: Option<Tensor<2>>,
        samples: usize,
        chunk: usize,
    ) -> Tensor<1> {
        log_mean_exp(self.log_importance_weights(x, condition, samples, chunk))
    }
}
