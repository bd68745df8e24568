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
///
/// ```
/// use burn::prelude::*;
/// use vae_model::{
///     Bernoulli, ConvDecoder, ConvEncoder, ConvEncoderConfig, ImageShape, Vae, VaeConfig,
/// };
///
/// let device = Device::flex();
/// // `Vae` alone is the MLP VAE with the Bernoulli likelihood, on rows `[batch, features]`.
/// let config = VaeConfig::new().with_input_dim(64).with_hidden_dims(vec![16]).with_latent_dim(2);
/// let mlp: Vae = config.init(&device);
/// // Other parts, here on images `[batch, channels, height, width]` (data rank 4).
/// let conv = ConvEncoderConfig::new(ImageShape::new(1, 8, 8), 2).with_conv_channels(vec![4]);
/// let encoder = conv.try_init(&device).unwrap();
/// let decoder = conv.decoder().try_init(&device).unwrap();
/// let conv: Vae<ConvEncoder, ConvDecoder, Bernoulli, 4> =
///     Vae::new(encoder, decoder, Bernoulli, 2);
///
/// let images = Tensor::<4>::full([3, 1, 8, 8], 0.5, &device);
/// assert_eq!(conv.reconstruct(images.clone(), None).dims(), [3, 1, 8, 8]);
/// assert_eq!(mlp.reconstruct(images.reshape([3, 64]), None).dims(), [3, 64]);
/// ```
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
    /// Whether [`decode_mean`](Self::decode_mean) computes the likelihood's mean on the host
    /// ([`Likelihood::mean_on_host`]); not part of records.
    #[module(skip)]
    host_mean: bool,
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
    ///
    /// ```
    /// use burn::prelude::*;
    /// use burn::tensor::Distribution;
    /// use vae_model::{ActivationConfig, Gaussian, MlpDecoderConfig, MlpEncoderConfig, Vae};
    ///
    /// let device = Device::flex();
    /// let encoder = MlpEncoderConfig::new(6, vec![8], 2, ActivationConfig::Relu).init(&device);
    /// let decoder = MlpDecoderConfig::new(2, vec![8], 6, ActivationConfig::Relu).init(&device);
    /// // A Gaussian likelihood with sigma = 0.1 and a beta-VAE's KL weight.
    /// let vae = Vae::new(encoder, decoder, Gaussian::fixed(0.1), 2).with_beta(4.0);
    /// assert_eq!((vae.latent_dim(), vae.condition_dim(), vae.beta()), (2, 0, 4.0));
    ///
    /// let x = Tensor::<2>::random([3, 6], Distribution::Default, &device);
    /// assert_eq!(vae.loss(x, None).loss.dims(), [3]);
    /// ```
    pub fn new(encoder: E, decoder: D, likelihood: L, latent_dim: usize) -> Self {
        Self {
            encoder,
            decoder,
            likelihood,
            latent_dim,
            condition_dim: 0,
            beta: 1.0,
            host_mean: false,
        }
    }

    /// Computes the likelihood's mean in [`decode_mean`](Self::decode_mean) (and so in
    /// [`reconstruct`](Self::reconstruct) and [`generate`](Self::generate)) on the host, where
    /// the likelihood has a faster host version ([`Likelihood::mean_on_host`]: the Bernoulli's
    /// `sigmoid` as one SIMD pass on every core, where flex's is a scalar `exp` on one). For
    /// Burn's CPU backends only: on a GPU it would copy each batch to the host and back.
    ///
    /// ```
    /// # use burn::prelude::*;
    /// # use burn::tensor::Distribution;
    /// # use vae_model::VaeConfig;
    /// # let device = Device::flex();
    /// let vae = VaeConfig::new().with_input_dim(6).with_hidden_dims(vec![8]).init(&device);
    /// let x = Tensor::<2>::random([4, 6], Distribution::Default, &device);
    /// let on_device: Vec<f32> = vae.reconstruct(x.clone(), None).into_data().to_vec().unwrap();
    /// let vae = vae.with_host_mean(true);
    /// let on_host: Vec<f32> = vae.reconstruct(x, None).into_data().to_vec().unwrap();
    /// assert!(on_device.iter().zip(&on_host).all(|(a, b)| (a - b).abs() < 3e-7));
    /// ```
    #[must_use]
    pub fn with_host_mean(mut self, enabled: bool) -> Self {
        self.host_mean = enabled;
        self
    }

    /// Whether [`decode_mean`](Self::decode_mean) computes the mean on the host
    /// ([`with_host_mean`](Self::with_host_mean)).
    pub fn host_mean(&self) -> bool {
        self.host_mean
    }

    /// The same model with KL weight `beta` (`1` is the ELBO; `> 1` a beta-VAE).
    pub fn with_beta(mut self, beta: f64) -> Self {
        self.beta = beta;
        self
    }

    /// The same model, declared conditional on vectors of `condition_dim` values (its networks
    /// must have been built for that width).
    ///
    /// ```
    /// use burn::prelude::*;
    /// use burn::tensor::Distribution;
    /// use vae_model::{Bernoulli, Vae, VaeConfig};
    ///
    /// let device = Device::flex();
    /// let config = VaeConfig::new()
    ///     .with_input_dim(6)
    ///     .with_hidden_dims(vec![8])
    ///     .with_latent_dim(2);
    /// // Networks that take a one-hot label of 3 classes next to their input.
    /// let (encoder, decoder) = config.try_init_networks(3, &device).unwrap();
    /// let cvae = Vae::new(encoder, decoder, Bernoulli, 2).with_condition_dim(3);
    ///
    /// let labels = Tensor::<2>::from_floats([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], &device);
    /// let x = Tensor::<2>::random([2, 6], Distribution::Default, &device);
    /// assert_eq!(cvae.loss(x, Some(labels.clone())).loss.dims(), [2]);
    /// // One sample of class 0 and one of class 2.
    /// assert_eq!(cvae.generate(2, Some(labels), &device).dims(), [2, 6]);
    /// ```
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
    ///
    /// ```
    /// use burn::prelude::*;
    /// use vae_model::{VaeConfig, VaeError};
    ///
    /// let device = Device::flex();
    /// let config = VaeConfig::new().with_input_dim(6).with_hidden_dims(vec![8]);
    /// let vae = config.with_latent_dim(2).init(&device);
    /// assert!(vae.check_condition(None, 4).is_ok());
    /// // An unconditional model given a condition: the error says what it expects.
    /// let labels = Tensor::<2>::zeros([4, 3], &device);
    /// let error = vae.check_condition(Some(&labels), 4).unwrap_err();
    /// assert!(matches!(error, VaeError::Condition { condition_dim: 0, .. }));
    /// assert!(error.to_string().contains("no condition"));
    /// ```
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
    ///
    /// ```
    /// # use burn::prelude::*;
    /// # use burn::tensor::Distribution;
    /// # use vae_model::VaeConfig;
    /// # let device = Device::flex();
    /// let config = VaeConfig::new().with_input_dim(6).with_hidden_dims(vec![8]);
    /// let vae = config.with_latent_dim(2).init(&device);
    /// let x = Tensor::<2>::random([4, 6], Distribution::Default, &device);
    /// let posterior = vae.encode(x, None);
    /// assert_eq!(posterior.mean.dims(), [4, 2]);
    /// assert_eq!(posterior.log_var.dims(), [4, 2]);
    /// ```
    pub fn encode(&self, x: Tensor<X>, condition: Option<Tensor<2>>) -> DiagonalGaussian {
        self.assert_condition(condition.as_ref(), x.dims()[0]);
        self.encoder.encode(x, condition)
    }

    /// The decoder's parameters of `p(x|z)` for latent codes.
    ///
    /// # Shapes
    /// - z: `[batch, latent_dim]`; condition: `[batch, condition_dim]`
    /// - output: `[batch, ...]`, the data's shape
    ///
    /// ```
    /// # use burn::prelude::*;
    /// # use burn::tensor::Distribution;
    /// # use vae_model::VaeConfig;
    /// # let device = Device::flex();
    /// let config = VaeConfig::new().with_input_dim(6).with_hidden_dims(vec![8]);
    /// let vae = config.with_latent_dim(2).init(&device);
    /// let z = Tensor::<2>::random([5, 2], Distribution::Normal(0.0, 1.0), &device);
    /// // Bernoulli logits, one per feature: any real number.
    /// let logits = vae.decode(z, None);
    /// assert_eq!(logits.dims(), [5, 6]);
    /// ```
    pub fn decode(&self, z: Tensor<2>, condition: Option<Tensor<2>>) -> Tensor<X> {
        self.assert_condition(condition.as_ref(), z.dims()[0]);
        self.decoder.decode(z, condition)
    }

    /// The mean of `p(x|z)` for latent codes: pixel intensities, for pictures.
    ///
    /// # Shapes
    /// - z: `[batch, latent_dim]`
    /// - output: `[batch, ...]`, the data's shape
    ///
    /// ```
    /// # use burn::prelude::*;
    /// # use burn::tensor::Distribution;
    /// # use vae_model::VaeConfig;
    /// # let device = Device::flex();
    /// let config = VaeConfig::new().with_input_dim(6).with_hidden_dims(vec![8]);
    /// let vae = config.with_latent_dim(2).init(&device);
    /// let z = Tensor::<2>::random([5, 2], Distribution::Normal(0.0, 1.0), &device);
    /// // The Bernoulli mean is sigmoid(logits): intensities in [0, 1].
    /// let expected = burn::tensor::activation::sigmoid(vae.decode(z.clone(), None));
    /// let pixels = vae.decode_mean(z, None);
    /// assert_eq!(pixels.dims(), [5, 6]);
    /// assert_eq!(pixels.clone().into_data(), expected.into_data());
    /// let pixels: Vec<f32> = pixels.into_data().to_vec().unwrap();
    /// assert!(pixels.iter().all(|p| (0.0..=1.0).contains(p)));
    /// ```
    pub fn decode_mean(&self, z: Tensor<2>, condition: Option<Tensor<2>>) -> Tensor<X> {
        let params = self.decode(z, condition);
        if self.host_mean {
            self.likelihood.mean_on_host(params)
        } else {
            self.likelihood.mean(params)
        }
    }

    /// Encode, sample `z` by the reparameterization trick, decode.
    ///
    /// ```
    /// # use burn::prelude::*;
    /// # use burn::tensor::Distribution;
    /// # use vae_model::VaeConfig;
    /// # let device = Device::flex();
    /// let config = VaeConfig::new().with_input_dim(6).with_hidden_dims(vec![8]);
    /// let vae = config.with_latent_dim(2).init(&device);
    /// let x = Tensor::<2>::random([4, 6], Distribution::Default, &device);
    /// let pass = vae.forward(x, None);
    /// assert_eq!(pass.posterior.mean.dims(), [4, 2]);
    /// assert_eq!(pass.z.dims(), [4, 2]); // one posterior sample per example
    /// assert_eq!(pass.params.dims(), [4, 6]); // the decoder's logits of p(x|z)
    /// ```
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
    ///
    /// ```
    /// use burn::prelude::*;
    /// use burn::tensor::Distribution;
    /// use vae_model::VaeConfig;
    ///
    /// let device = Device::flex().autodiff();
    /// let config = VaeConfig::new().with_input_dim(6).with_hidden_dims(vec![8]);
    /// let vae = config.with_latent_dim(2).init(&device);
    /// let x = Tensor::<2>::random([4, 6], Distribution::Default, &device);
    /// let terms = vae.loss(x, None);
    /// assert_eq!(terms.loss.dims(), [4]);
    /// let values = |t: &Tensor<1>| t.clone().into_data().to_vec::<f32>().unwrap();
    /// let (loss, kl) = (values(&terms.loss), values(&terms.kl));
    /// let reconstruction = values(&terms.reconstruction);
    /// for i in 0..4 {
    ///     // beta = 1: loss = reconstruction + KL, and the KL is never negative.
    ///     assert!(loss[i].is_finite() && kl[i] >= 0.0);
    ///     assert!((loss[i] - reconstruction[i] - kl[i]).abs() < 1e-4);
    /// }
    /// // A training step differentiates the batch mean (or sum).
    /// let grads = terms.mean_loss().backward();
    /// assert!(vae.encoder.mean.weight.grad(&grads).is_some());
    /// ```
    pub fn loss(&self, x: Tensor<X>, condition: Option<Tensor<2>>) -> ElboTerms {
        let forward = self.forward(x.clone(), condition);
        self.terms(&forward, x)
    }

    /// The ELBO terms of a forward pass already made (for training code that needs the pass).
    ///
    /// ```
    /// # use burn::prelude::*;
    /// # use burn::tensor::Distribution;
    /// # use vae_model::VaeConfig;
    /// # let device = Device::flex();
    /// let config = VaeConfig::new().with_input_dim(6).with_hidden_dims(vec![8]);
    /// let vae = config.with_latent_dim(2).init(&device);
    /// let x = Tensor::<2>::random([3, 6], Distribution::Default, &device);
    /// let _ = vae.loss(x.clone(), None); // parameters initialize on first use, before the seed
    /// device.seed(1);
    /// let pass = vae.forward(x.clone(), None);
    /// let terms = vae.terms(&pass, x.clone());
    /// // With the same posterior sample, the same terms as `loss`.
    /// device.seed(1);
    /// assert_eq!(terms.loss.into_data(), vae.loss(x, None).loss.into_data());
    /// ```
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
    ///
    /// ```
    /// # use burn::prelude::*;
    /// # use burn::tensor::Distribution;
    /// # use vae_model::VaeConfig;
    /// # let device = Device::flex();
    /// let config = VaeConfig::new().with_input_dim(6).with_hidden_dims(vec![8]);
    /// let vae = config.with_latent_dim(2).init(&device);
    /// let x = Tensor::<2>::random([4, 6], Distribution::Default, &device);
    /// let reconstruction = vae.reconstruct(x.clone(), None);
    /// assert_eq!(reconstruction.dims(), [4, 6]);
    /// // No sampling: the same input gives the same reconstruction.
    /// assert_eq!(reconstruction.into_data(), vae.reconstruct(x, None).into_data());
    /// ```
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
    ///
    /// ```
    /// # use burn::prelude::*;
    /// # use burn::tensor::Distribution;
    /// # use vae_model::VaeConfig;
    /// # let device = Device::flex();
    /// let config = VaeConfig::new().with_input_dim(6).with_hidden_dims(vec![8]);
    /// let vae = config.with_latent_dim(2).init(&device);
    /// let _ = vae.generate(1, None, &device); // parameters initialize on first use
    /// device.seed(9);
    /// let samples = vae.generate(5, None, &device);
    /// assert_eq!(samples.dims(), [5, 6]);
    /// device.seed(9);
    /// assert_eq!(samples.into_data(), vae.generate(5, None, &device).into_data());
    /// ```
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
    ///
    /// ```
    /// # use burn::prelude::*;
    /// # use burn::tensor::Distribution;
    /// # use vae_model::VaeConfig;
    /// # let device = Device::flex();
    /// let config = VaeConfig::new().with_input_dim(6).with_hidden_dims(vec![8]);
    /// let vae = config.with_latent_dim(2).init(&device);
    /// let x = Tensor::<2>::random([3, 6], Distribution::Default, &device);
    /// // 10 draws per example, 4 at a time (4, 4 and 2).
    /// let log_weights = vae.log_importance_weights(x, None, 10, 4);
    /// assert_eq!(log_weights.dims(), [3, 10]);
    /// let log_weights: Vec<f32> = log_weights.into_data().to_vec().unwrap();
    /// assert!(log_weights.iter().all(|w| w.is_finite()));
    /// ```
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
    ///
    /// ```
    /// # use burn::prelude::*;
    /// # use burn::tensor::Distribution;
    /// # use vae_model::VaeConfig;
    /// # let device = Device::flex();
    /// let config = VaeConfig::new().with_input_dim(6).with_hidden_dims(vec![8]);
    /// let vae = config.with_latent_dim(2).init(&device);
    /// let x = Tensor::<2>::random([3, 6], Distribution::Default, &device);
    /// let _ = vae.loss(x.clone(), None); // parameters initialize on first use, before the seed
    /// device.seed(2);
    /// let log_px = vae.importance_weighted_log_likelihood(x.clone(), None, 16, 8);
    /// assert_eq!(log_px.dims(), [3]);
    /// // From the same 16 draws, the bound is at least their average log weight (an ELBO).
    /// device.seed(2);
    /// let elbo = vae.log_importance_weights(x, None, 16, 8).mean_dim(1).reshape([3]);
    /// let (log_px, elbo): (Vec<f32>, Vec<f32>) =
    ///     (log_px.into_data().to_vec().unwrap(), elbo.into_data().to_vec().unwrap());
    /// assert!(log_px.iter().zip(&elbo).all(|(bound, elbo)| bound + 1e-4 >= *elbo));
    /// ```
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
