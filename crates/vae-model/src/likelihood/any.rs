//! One likelihood chosen by configuration.

use burn::prelude::*;

use super::{Bernoulli, ContinuousBernoulli, Gaussian, GaussianConfig};
use crate::error::VaeError;
use crate::parts::Likelihood;

/// Which likelihood a model uses, as a config file names it.
///
/// ```
/// use burn::prelude::*;
/// use vae_model::likelihood::GaussianConfig;
/// use vae_model::{Likelihood, LikelihoodConfig};
///
/// let device = Device::flex();
/// assert_eq!(LikelihoodConfig::default().name(), "bernoulli");
/// let config = LikelihoodConfig::Gaussian(GaussianConfig::new().with_sigma(Some(0.5)));
/// assert!(config.validate().is_ok());
/// let likelihood = config.try_init(784, &device).unwrap();
/// assert_eq!(config.name(), "gaussian");
/// assert_eq!(likelihood.describe(), "gaussian(sigma = 0.5)");
/// // A Gaussian with neither a fixed nor a learned σ is refused.
/// assert!(LikelihoodConfig::Gaussian(GaussianConfig::new()).try_init(784, &device).is_err());
/// ```
#[derive(Config, Debug)]
pub enum LikelihoodConfig {
    /// [`Bernoulli`] on logits (PyTorch's `examples/vae`).
    Bernoulli,
    /// [`ContinuousBernoulli`] on logits.
    ContinuousBernoulli,
    /// [`Gaussian`] with a fixed or learned σ.
    Gaussian(GaussianConfig),
}

// Not derived: `#[default]` would be copied into the serde enum Burn's `Config` derive writes.
#[allow(clippy::derivable_impls)]
impl Default for LikelihoodConfig {
    fn default() -> Self {
        Self::Bernoulli
    }
}

impl LikelihoodConfig {
    /// Checks the likelihood's own fields.
    pub fn validate(&self) -> Result<(), VaeError> {
        match self {
            Self::Gaussian(config) => config.validate(),
            _ => Ok(()),
        }
    }

    /// `bernoulli`, `continuous-bernoulli` or `gaussian`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Bernoulli => "bernoulli",
            Self::ContinuousBernoulli => "continuous-bernoulli",
            Self::Gaussian(_) => "gaussian",
        }
    }

    /// Builds the likelihood for examples of `elements` values each.
    pub fn try_init(&self, elements: usize, device: &Device) -> Result<AnyLikelihood, VaeError> {
        Ok(match self {
            Self::Bernoulli => AnyLikelihood::Bernoulli(Bernoulli),
            Self::ContinuousBernoulli => AnyLikelihood::ContinuousBernoulli(ContinuousBernoulli),
            Self::Gaussian(config) => AnyLikelihood::Gaussian(config.try_init(elements, device)?),
        })
    }
}

/// One of the shipped likelihoods, chosen at run time (for models built from a config file).
/// The parameter-free ones add nothing to a saved record, so a Bernoulli model's record is
/// the same with [`Bernoulli`] or with `AnyLikelihood::Bernoulli`.
///
/// ```
/// use burn::prelude::*;
/// use burn::tensor::Distribution;
/// use vae_model::{Likelihood, LikelihoodConfig, Vae, VaeConfig};
///
/// let device = Device::flex();
/// let config = VaeConfig::new().with_input_dim(6).with_hidden_dims(vec![8]).with_latent_dim(2);
/// let (encoder, decoder) = config.try_init_networks(0, &device).unwrap();
/// // The likelihood named at run time, e.g. by a config file.
/// let likelihood = LikelihoodConfig::ContinuousBernoulli.try_init(6, &device).unwrap();
/// assert!(!likelihood.is_bernoulli());
/// let vae = Vae::new(encoder, decoder, likelihood, 2);
/// assert_eq!(vae.likelihood.describe(), "continuous-bernoulli");
/// let x = Tensor::<2>::random([3, 6], Distribution::Default, &device);
/// assert_eq!(vae.loss(x, None).loss.dims(), [3]);
/// ```
#[derive(Module, Debug)]
pub enum AnyLikelihood {
    /// See [`Bernoulli`].
    Bernoulli(Bernoulli),
    /// See [`ContinuousBernoulli`].
    ContinuousBernoulli(ContinuousBernoulli),
    /// See [`Gaussian`].
    Gaussian(Gaussian),
}

impl AnyLikelihood {
    /// Whether this is the plain Bernoulli likelihood (the one `host_bce` computes).
    pub fn is_bernoulli(&self) -> bool {
        matches!(self, Self::Bernoulli(_))
    }
}

impl Likelihood for AnyLikelihood {
    fn nll<const X: usize>(&self, params: Tensor<X>, x: Tensor<X>) -> Tensor<1> {
        match self {
            Self::Bernoulli(l) => l.nll(params, x),
            Self::ContinuousBernoulli(l) => l.nll(params, x),
            Self::Gaussian(l) => l.nll(params, x),
        }
    }

    fn mean<const X: usize>(&self, params: Tensor<X>) -> Tensor<X> {
        match self {
            Self::Bernoulli(l) => l.mean(params),
            Self::ContinuousBernoulli(l) => l.mean(params),
            Self::Gaussian(l) => l.mean(params),
        }
    }

    fn mean_on_host<const X: usize>(&self, params: Tensor<X>) -> Tensor<X> {
        match self {
            Self::Bernoulli(l) => l.mean_on_host(params),
            Self::ContinuousBernoulli(l) => l.mean_on_host(params),
            Self::Gaussian(l) => l.mean_on_host(params),
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Bernoulli(l) => l.describe(),
            Self::ContinuousBernoulli(l) => l.describe(),
            Self::Gaussian(l) => l.describe(),
        }
    }
}
