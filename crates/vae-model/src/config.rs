//! [`VaeConfig`]: the hyper-parameters of the MLP [`Vae`] (PyTorch's `examples/vae`),
//! validated in one place.

use burn::nn::activation::ActivationConfig;
use burn::prelude::*;

use crate::error::VaeError;
use crate::likelihood::Bernoulli;
use crate::networks::{MlpDecoder, MlpDecoderConfig, MlpEncoder, MlpEncoderConfig};
use crate::vae::Vae;

/// The most parameters [`VaeConfig::validate`] accepts (2^30, 4 GiB of `f32`): a bound that a
/// typo in a size cannot turn into an allocation the machine cannot make.
pub const MAX_PARAMETERS: u128 = 1 << 30;

/// Configuration of a fully connected VAE with the Bernoulli likelihood.
///
/// The defaults are PyTorch's `examples/vae` model: 784-400-20 with ReLU,
/// `beta = 1`. The decoder mirrors the encoder's hidden sizes.
///
/// ```
/// use vae_model::VaeConfig;
///
/// let config = VaeConfig::new().with_hidden_dims(vec![512, 256]).with_latent_dim(16);
/// assert!(config.validate().is_ok());
/// assert!(VaeConfig::new().with_latent_dim(0).validate().is_err());
/// ```
#[derive(Config, Debug)]
pub struct VaeConfig {
    /// Number of input features (784 for 28x28 MNIST images, flattened).
    #[config(default = 784)]
    pub input_dim: usize,
    /// Widths of the encoder's hidden layers, input side first; the decoder uses them reversed.
    #[config(default = "vec![400]")]
    pub hidden_dims: Vec<usize>,
    /// Dimension of the latent space `z`.
    #[config(default = 20)]
    pub latent_dim: usize,
    /// Activation between hidden layers (element-wise only).
    #[config(default = "ActivationConfig::Relu")]
    pub activation: ActivationConfig,
    /// Weight of the KL term in the loss (`1.0` is the ELBO; `> 1` is a beta-VAE).
    #[config(default = 1.0)]
    pub beta: f64,
}

impl VaeConfig {
    /// Checks every field; the error names the field, its value and the rule.
    pub fn validate(&self) -> Result<(), VaeError> {
        let zero = |field: String, value: usize| {
            (value == 0).then_some(VaeError::ZeroSize { field, value })
        };
        if let Some(error) = zero("input_dim".into(), self.input_dim)
            .or_else(|| zero("latent_dim".into(), self.latent_dim))
            .or_else(|| {
                self.hidden_dims
                    .iter()
                    .enumerate()
                    .find_map(|(i, &d)| zero(format!("hidden_dims[{i}]"), d))
            })
        {
            return Err(error);
        }
        let params = self.num_params();
        if params > MAX_PARAMETERS {
            return Err(VaeError::TooLarge {
                params,
                max: MAX_PARAMETERS,
            });
        }
        if !(self.beta.is_finite() && self.beta >= 0.0) {
            return Err(VaeError::InvalidBeta(self.beta));
        }
        if matches!(self.activation, ActivationConfig::SwiGlu(_)) {
            return Err(VaeError::UnsupportedActivation("SwiGlu".into()));
        }
        Ok(())
    }

    /// Weights and biases of the model this config describes (exact, even for absurd sizes).
    ///
    /// ```
    /// use burn::prelude::*;
    /// use vae_model::VaeConfig;
    ///
    /// // PyTorch's model, 784-400-20 and back: 652,824 weights and biases.
    /// assert_eq!(VaeConfig::new().num_params(), 652_824);
    /// // The count of the model `init` builds.
    /// let small = VaeConfig::new().with_input_dim(6).with_hidden_dims(vec![8]).with_latent_dim(2);
    /// assert_eq!(small.num_params(), small.init(&Device::flex()).num_params() as u128);
    /// ```
    pub fn num_params(&self) -> u128 {
        let linear = |a: usize, b: usize| a as u128 * b as u128 + b as u128;
        let mut widths = vec![self.input_dim];
        widths.extend(&self.hidden_dims);
        let body: u128 = widths.windows(2).map(|w| linear(w[0], w[1])).sum();
        let last = *widths.last().unwrap_or(&self.input_dim);
        let heads = 2 * linear(last, self.latent_dim);
        let mut back = vec![self.latent_dim];
        back.extend(self.hidden_dims.iter().rev());
        back.push(self.input_dim);
        let decoder: u128 = back.windows(2).map(|w| linear(w[0], w[1])).sum();
        body + heads + decoder
    }

    /// The encoder of this config, taking a condition of `condition_dim` values (0: none).
    ///
    /// ```
    /// use vae_model::VaeConfig;
    ///
    /// let encoder = VaeConfig::new().with_hidden_dims(vec![512, 256]).encoder(10);
    /// assert_eq!((encoder.input_dim, encoder.latent_dim, encoder.condition_dim), (784, 20, 10));
    /// assert_eq!(encoder.hidden_dims, [512, 256]);
    /// ```
    pub fn encoder(&self, condition_dim: usize) -> MlpEncoderConfig {
        MlpEncoderConfig::new(
            self.input_dim,
            self.hidden_dims.clone(),
            self.latent_dim,
            self.activation.clone(),
        )
        .with_condition_dim(condition_dim)
    }

    /// The decoder of this config (the encoder's hidden widths reversed), taking a condition of
    /// `condition_dim` values (0: none).
    ///
    /// ```
    /// use vae_model::VaeConfig;
    ///
    /// let decoder = VaeConfig::new().with_hidden_dims(vec![512, 256]).decoder(0);
    /// assert_eq!((decoder.latent_dim, decoder.output_dim, decoder.condition_dim), (20, 784, 0));
    /// assert_eq!(decoder.hidden_dims, [256, 512]); // the encoder's, reversed
    /// ```
    pub fn decoder(&self, condition_dim: usize) -> MlpDecoderConfig {
        MlpDecoderConfig::new(
            self.latent_dim,
            self.hidden_dims.iter().rev().copied().collect(),
            self.input_dim,
            self.activation.clone(),
        )
        .with_condition_dim(condition_dim)
    }

    /// Builds the model on `device` after [`validate`](Self::validate).
    ///
    /// ```
    /// use burn::prelude::*;
    /// use vae_model::{VaeConfig, VaeError};
    ///
    /// let device = Device::flex();
    /// let vae = VaeConfig::new().with_latent_dim(8).try_init(&device).unwrap();
    /// assert_eq!(vae.latent_dim(), 8);
    /// // A config from a user: the error names the field instead of panicking.
    /// let error = VaeConfig::new().with_hidden_dims(vec![400, 0]).try_init(&device).unwrap_err();
    /// assert_eq!(error, VaeError::ZeroSize { field: "hidden_dims[1]".into(), value: 0 });
    /// ```
    pub fn try_init(&self, device: &Device) -> Result<Vae, VaeError> {
        let (encoder, decoder) = self.try_init_networks(0, device)?;
        Ok(Vae::new(encoder, decoder, Bernoulli, self.latent_dim).with_beta(self.beta))
    }

    /// The encoder and decoder of this config on `device`, taking a condition of
    /// `condition_dim` values (0: none), after [`validate`](Self::validate): for a model with
    /// another likelihood or a condition.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use burn::tensor::Distribution;
    /// use vae_model::{ContinuousBernoulli, Likelihood, Vae, VaeConfig};
    ///
    /// let device = Device::flex();
    /// let config = VaeConfig::new()
    ///     .with_input_dim(6)
    ///     .with_hidden_dims(vec![8])
    ///     .with_latent_dim(2);
    /// let (encoder, decoder) = config.try_init_networks(0, &device).unwrap();
    /// let vae = Vae::new(encoder, decoder, ContinuousBernoulli, config.latent_dim);
    /// assert_eq!(vae.likelihood.describe(), "continuous-bernoulli");
    /// let x = Tensor::<2>::random([4, 6], Distribution::Default, &device);
    /// assert_eq!(vae.loss(x, None).loss.dims(), [4]);
    /// ```
    pub fn try_init_networks(
        &self,
        condition_dim: usize,
        device: &Device,
    ) -> Result<(MlpEncoder, MlpDecoder), VaeError> {
        self.validate()?;
        let encoder = self.encoder(condition_dim).init(device);
        let decoder = self.decoder(condition_dim).init(device);
        // Parameters initialize lazily, in the order they are first read. Versions before the
        // generic `Vae` read the output layer's shape here, which initialized it first; doing
        // the same keeps a seed's weights, and so every published run, as they were.
        let _ = decoder.output.weight.dims();
        Ok((encoder, decoder))
    }

    /// Builds the model on `device`.
    ///
    /// # Panics
    /// If the config is invalid; use [`try_init`](Self::try_init) for configs that come
    /// from users.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use burn::tensor::Distribution;
    /// use vae_model::VaeConfig;
    ///
    /// let device = Device::flex();
    /// // A beta-VAE on 6 features: 6-8-2 and back.
    /// let config = VaeConfig::new().with_input_dim(6).with_hidden_dims(vec![8]);
    /// let vae = config.with_latent_dim(2).with_beta(4.0).init(&device);
    /// assert_eq!((vae.latent_dim(), vae.beta()), (2, 4.0));
    /// let x = Tensor::<2>::random([3, 6], Distribution::Default, &device);
    /// assert_eq!(vae.reconstruct(x, None).dims(), [3, 6]);
    /// ```
    pub fn init(&self, device: &Device) -> Vae {
        self.try_init(device)
            .unwrap_or_else(|error| panic!("invalid VaeConfig: {error}"))
    }
}
