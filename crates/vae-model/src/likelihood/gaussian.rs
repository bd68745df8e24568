//! Independent Gaussian elements with a fixed or learned standard deviation.

use std::f64::consts::PI;

use burn::module::Param;
use burn::prelude::*;

use crate::error::VaeError;
use crate::parts::{Likelihood, sum_per_example};

/// What a learned σ covers.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum LearnedSigma {
    /// One σ for every element.
    Shared,
    /// One σ per data element (per pixel).
    PerElement,
}

/// Configuration of a [`Gaussian`]: exactly one of `sigma` (fixed) and `learned_sigma`.
///
/// ```
/// use vae_model::likelihood::{GaussianConfig, LearnedSigma};
///
/// assert!(GaussianConfig::new().with_sigma(Some(0.1)).validate().is_ok());
/// assert!(GaussianConfig::new().with_learned_sigma(Some(LearnedSigma::Shared)).validate().is_ok());
/// assert!(GaussianConfig::new().validate().is_err()); // neither
/// ```
#[derive(Config, Debug)]
pub struct GaussianConfig {
    /// A fixed standard deviation (`> 0`); `None` when σ is learned.
    #[config(default = "None")]
    pub sigma: Option<f64>,
    /// Learn σ, shared or per element; `None` when σ is fixed.
    #[config(default = "None")]
    pub learned_sigma: Option<LearnedSigma>,
    /// The smallest σ a learned σ may reach: without a floor, elements the decoder matches
    /// exactly (MNIST's always-black border) drive σ to 0 and the loss to minus infinity.
    #[config(default = 1e-3)]
    pub min_sigma: f64,
    /// The learned σ's starting value.
    #[config(default = 1.0)]
    pub initial_sigma: f64,
}

impl GaussianConfig {
    /// Checks that exactly one of `sigma` and `learned_sigma` is set and that σ values are
    /// positive and finite.
    pub fn validate(&self) -> Result<(), VaeError> {
        let positive = |field: &str, value: f64| {
            if value.is_finite() && value > 0.0 {
                Ok(())
            } else {
                Err(VaeError::InvalidLikelihood(format!(
                    "`{field}` is {value}, but it must be a finite number > 0"
                )))
            }
        };
        match (self.sigma, self.learned_sigma) {
            (Some(sigma), None) => positive("sigma", sigma),
            (None, Some(_)) => {
                positive("min_sigma", self.min_sigma)?;
                positive("initial_sigma", self.initial_sigma)?;
                if self.initial_sigma < self.min_sigma {
                    return Err(VaeError::InvalidLikelihood(format!(
                        "`initial_sigma` ({}) is below `min_sigma` ({})",
                        self.initial_sigma, self.min_sigma
                    )));
                }
                Ok(())
            }
            (Some(_), Some(_)) => Err(VaeError::InvalidLikelihood(
                "the Gaussian has both a fixed `sigma` and a `learned_sigma`; keep one (remove \
                 `sigma` to learn σ, or `learned_sigma` to fix it)"
                    .into(),
            )),
            (None, None) => Err(VaeError::InvalidLikelihood(
                "the Gaussian needs either a fixed `sigma` (e.g. 0.1) or `learned_sigma` (shared \
                 or per element)"
                    .into(),
            )),
        }
    }

    /// Builds the likelihood for examples of `elements` values each (needed for a per-element σ).
    ///
    /// ```
    /// use burn::prelude::*;
    /// use vae_model::likelihood::{GaussianConfig, LearnedSigma};
    ///
    /// let device = Device::flex();
    /// let per_pixel = GaussianConfig::new().with_learned_sigma(Some(LearnedSigma::PerElement));
    /// let gaussian = per_pixel.try_init(784, &device).unwrap();
    /// assert_eq!(gaussian.log_sigma.unwrap().dims(), [784]); // one trained log σ per pixel
    /// let fixed = GaussianConfig::new().with_sigma(Some(0.1)).try_init(784, &device).unwrap();
    /// assert!(fixed.log_sigma.is_none());
    /// assert!(GaussianConfig::new().with_sigma(Some(-1.0)).try_init(784, &device).is_err());
    /// ```
    pub fn try_init(&self, elements: usize, device: &Device) -> Result<Gaussian, VaeError> {
        self.validate()?;
        let log_sigma = self.learned_sigma.map(|learned| {
            let count = match learned {
                LearnedSigma::Shared => 1,
                LearnedSigma::PerElement => elements,
            };
            Param::from_tensor(Tensor::full([count], self.initial_sigma.ln(), device))
        });
        Ok(Gaussian {
            log_sigma,
            fixed_log_sigma: self.sigma.map_or(0.0, f64::ln),
            min_log_sigma: self.min_sigma.ln(),
        })
    }
}

/// Independent Gaussian elements `N(x; params, σ²)`: the decoder gives the means; σ is fixed or
/// learned here (clamped below at the configured minimum).
#[derive(Module, Debug)]
pub struct Gaussian {
    /// The learned `log σ`, `[1]` (shared) or `[elements]`; `None` when σ is fixed.
    pub log_sigma: Option<Param<Tensor<1>>>,
    #[module(skip)]
    fixed_log_sigma: f64,
    #[module(skip)]
    min_log_sigma: f64,
}

impl Gaussian {
    /// A Gaussian with the fixed standard deviation `sigma`.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use vae_model::{Gaussian, Likelihood};
    ///
    /// let device = Device::flex();
    /// let gaussian = Gaussian::fixed(0.5);
    /// assert_eq!(gaussian.describe(), "gaussian(sigma = 0.5)");
    /// // Stored as ln σ, described as given.
    /// assert_eq!(Gaussian::fixed(0.1).describe(), "gaussian(sigma = 0.1)");
    /// assert_eq!(Gaussian::fixed(2e-8).describe(), "gaussian(sigma = 2e-8)");
    /// // Per element: ((x - mean) / σ)² / 2 + ln σ + ln(2π) / 2; here x - mean = [0, 0.5].
    /// let means = Tensor::<2>::from_floats([[0.2, 0.2]], &device);
    /// let x = Tensor::<2>::from_floats([[0.2, 0.7]], &device);
    /// let nll = gaussian.nll(means.clone(), x).into_scalar::<f32>();
    /// let constant = 0.5f32.ln() + 0.5 * (2.0 * std::f32::consts::PI).ln();
    /// assert!((nll - (0.5 + 2.0 * constant)).abs() < 1e-5);
    /// assert_eq!(gaussian.mean(means.clone()).into_data(), means.into_data());
    /// ```
    pub fn fixed(sigma: f64) -> Self {
        Self {
            log_sigma: None,
            fixed_log_sigma: sigma.ln(),
            min_log_sigma: f64::NEG_INFINITY,
        }
    }

    /// `log σ` broadcastable against `like`: `[1, ...]` with the example's shape, or all ones.
    fn log_sigma_like<const X: usize>(&self, like: &Tensor<X>) -> Option<Tensor<X>> {
        let log_sigma = self.log_sigma.as_ref()?.val().clamp_min(self.min_log_sigma);
        let mut shape = like.dims();
        shape[0] = 1;
        if log_sigma.dims()[0] == 1 {
            shape = [1; X];
        }
        Some(log_sigma.reshape(shape))
    }
}

impl Likelihood for Gaussian {
    fn nll<const X: usize>(&self, params: Tensor<X>, x: Tensor<X>) -> Tensor<1> {
        let half_log_2pi = 0.5 * (2.0 * PI).ln();
        let diff = x - params;
        let per_element = match self.log_sigma_like(&diff) {
            Some(log_sigma) => {
                (diff * log_sigma.clone().neg().exp())
                    .square()
                    .mul_scalar(0.5)
                    + log_sigma
            }
            None => diff
                .mul_scalar((-self.fixed_log_sigma).exp())
                .square()
                .mul_scalar(0.5)
                .add_scalar(self.fixed_log_sigma),
        };
        sum_per_example(per_element.add_scalar(half_log_2pi))
    }

    fn mean<const X: usize>(&self, params: Tensor<X>) -> Tensor<X> {
        params
    }

    fn describe(&self) -> String {
        let Some(log_sigma) = &self.log_sigma else {
            return format!("gaussian(sigma = {})", short(self.fixed_log_sigma.exp()));
        };
        let count = log_sigma.dims()[0];
        let mean_sigma = log_sigma
            .val()
            .clamp_min(self.min_log_sigma)
            .exp()
            .mean()
            .into_scalar::<f64>();
        if count == 1 {
            format!("gaussian(learned shared sigma = {mean_sigma:.4})")
        } else {
            format!("gaussian(learned per-element sigma, mean {mean_sigma:.4})")
        }
    }
}

/// `value` with at most 6 decimals and no trailing zeros (sigma is stored as its log, so
/// `exp(ln 0.1)` prints as 0.10000000000000002 otherwise); scientific notation below 1e-6.
fn short(value: f64) -> String {
    let fixed = format!("{value:.6}");
    let trimmed = fixed.trim_end_matches('0').trim_end_matches('.');
    if trimmed == "0" && value != 0.0 {
        let scientific = format!("{value:.5e}");
        let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
        let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
        format!("{mantissa}e{exponent}")
    } else {
        trimmed.to_string()
    }
}
