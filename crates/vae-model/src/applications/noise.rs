//! Corruptions for denoising experiments (Im et al. 2017): additive Gaussian noise clipped to
//! `[0, 1]`, and salt-and-pepper noise. Both draw from the device's random stream: seed it with
//! `device.seed(..)` for reproducible corruptions.

use std::fmt;
use std::str::FromStr;

use burn::prelude::*;
use burn::tensor::Distribution;
use serde::{Deserialize, Serialize};

use crate::VaeError;

/// A corruption of data in `[0, 1]`, as a config or command line names it: a denoising VAE
/// (Im et al. 2017) trains on `corruption.apply(x)` against the clean `x`, and denoises by
/// [`Vae::reconstruct`](crate::Vae::reconstruct) (encode the noisy input, decode the mean of
/// `p(x|z)` at the posterior mean).
///
/// ```
/// use burn::prelude::*;
/// use vae_model::applications::{Corruption, psnr};
///
/// let device = Device::flex();
/// device.seed(3);
/// let corruption: Corruption = "salt-and-pepper:0.2".parse().unwrap();
/// assert_eq!(corruption, Corruption::SaltAndPepper { fraction: 0.2 });
/// let clean = Tensor::<2>::full([4, 784], 0.25, &device);
/// let noisy = corruption.apply(clean.clone());
/// let to_vec = |t: Tensor<2>| t.into_data().convert::<f64>().to_vec::<f64>().unwrap();
/// // About 20 % of the pixels are moved to 0 or 1: a PSNR near 10 dB.
/// let db = psnr(&to_vec(noisy), &to_vec(clean)).unwrap();
/// assert!(db > 8.0 && db < 12.0, "{db}");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Corruption {
    /// [`gaussian_noise`]: `clamp(x + sigma * N(0, 1), 0, 1)` (Chollet's protocol: 0.5).
    Gaussian {
        /// The noise's standard deviation, `> 0`.
        sigma: f64,
    },
    /// [`salt_and_pepper`]: each element, with probability `fraction`, set to 0 or 1.
    SaltAndPepper {
        /// The fraction of elements replaced, in `(0, 1]`.
        fraction: f64,
    },
}

impl Corruption {
    /// The corrupted copy of `x`, drawn from the device's random stream.
    ///
    /// # Shapes
    /// - x, output: any
    ///
    /// ```
    /// use burn::prelude::*;
    /// use vae_model::applications::Corruption;
    ///
    /// let device = Device::flex();
    /// let images = Tensor::<4>::full([2, 1, 4, 4], 0.5, &device);
    /// let noisy = Corruption::Gaussian { sigma: 0.5 }.apply(images);
    /// assert_eq!(noisy.dims(), [2, 1, 4, 4]);
    /// let noisy: Vec<f32> = noisy.into_data().to_vec().unwrap();
    /// assert!(noisy.iter().all(|v| (0.0..=1.0).contains(v))); // clipped to [0, 1]
    /// ```
    pub fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Self::Gaussian { sigma } => gaussian_noise(x, sigma),
            Self::SaltAndPepper { fraction } => salt_and_pepper(x, fraction),
        }
    }

    /// `gaussian` or `salt-and-pepper`, as configs and the command line spell it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Gaussian { .. } => "gaussian",
            Self::SaltAndPepper { .. } => "salt-and-pepper",
        }
    }

    /// Checks that `sigma` is a finite number `> 0` and `fraction` is in `(0, 1]`.
    ///
    /// ```
    /// use vae_model::applications::Corruption;
    ///
    /// let gaussian = Corruption::Gaussian { sigma: 0.5 };
    /// assert!(gaussian.validate().is_ok());
    /// assert_eq!(gaussian.name(), "gaussian");
    /// assert_eq!(gaussian.to_string(), "gaussian:0.5");
    /// assert!(Corruption::SaltAndPepper { fraction: 1.5 }.validate().is_err());
    /// assert!(Corruption::Gaussian { sigma: f64::NAN }.validate().is_err());
    /// ```
    pub fn validate(self) -> Result<(), VaeError> {
        let problem = match self {
            Self::Gaussian { sigma } if !(sigma.is_finite() && sigma > 0.0) => format!(
                "the Gaussian noise's `sigma` is {sigma}, but it must be a finite number > 0 \
                 (Chollet's denoising protocol uses 0.5)"
            ),
            Self::SaltAndPepper { fraction } if !(fraction > 0.0 && fraction <= 1.0) => format!(
                "the salt-and-pepper `fraction` is {fraction}, but it must be in (0, 1] (the \
                 share of pixels set to 0 or 1, e.g. 0.2)"
            ),
            _ => return Ok(()),
        };
        Err(VaeError::InvalidCorruption(problem))
    }
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Gaussian { sigma } => write!(f, "gaussian:{sigma}"),
            Self::SaltAndPepper { fraction } => write!(f, "salt-and-pepper:{fraction}"),
        }
    }
}

/// Parses `gaussian:SIGMA` or `salt-and-pepper:FRACTION` (the form [`Display`](fmt::Display)
/// writes) and validates it.
impl FromStr for Corruption {
    type Err = VaeError;

    fn from_str(text: &str) -> Result<Self, VaeError> {
        let bad = || {
            VaeError::InvalidCorruption(format!(
                "`{text}` is not a corruption: write gaussian:SIGMA (e.g. gaussian:0.5) or \
                 salt-and-pepper:FRACTION (e.g. salt-and-pepper:0.2)"
            ))
        };
        let (kind, value) = text.split_once(':').ok_or_else(bad)?;
        let value: f64 = value.trim().parse().map_err(|_| bad())?;
        let corruption = match kind.trim() {
            "gaussian" => Self::Gaussian { sigma: value },
            "salt-and-pepper" => Self::SaltAndPepper { fraction: value },
            _ => return Err(bad()),
        };
        corruption.validate()?;
        Ok(corruption)
    }
}

/// `clamp(x + sigma * N(0, 1), 0, 1)`, element by element, for data in `[0, 1]`.
///
/// # Shapes
/// - x, output: any
///
/// ```
/// use burn::prelude::*;
/// use vae_model::applications::gaussian_noise;
///
/// let device = Device::flex();
/// let x = Tensor::<2>::full([10, 10], 0.5, &device);
/// let noisy: Vec<f32> = gaussian_noise(x, 0.1).into_data().to_vec().unwrap();
/// assert!(noisy.iter().all(|v| (0.0..=1.0).contains(v)));
/// assert!(noisy.iter().any(|&v| v != 0.5)); // the noise moved the pixels
/// ```
pub fn gaussian_noise<const D: usize>(x: Tensor<D>, sigma: f64) -> Tensor<D> {
    let noise = Tensor::random(x.shape(), Distribution::Normal(0.0, 1.0), &x.device());
    (x + noise.mul_scalar(sigma)).clamp(0.0, 1.0)
}

/// Each element, with probability `fraction`, replaced by 0 (pepper) or 1 (salt) with equal
/// odds; the others kept.
///
/// # Shapes
/// - x, output: any
///
/// ```
/// use burn::prelude::*;
/// use vae_model::applications::salt_and_pepper;
///
/// let device = Device::flex();
/// let x = Tensor::<2>::full([10, 10], 0.3, &device);
/// let noisy: Vec<f32> = salt_and_pepper(x.clone(), 0.5).into_data().to_vec().unwrap();
/// assert!(noisy.iter().all(|&v| v == 0.0 || v == 0.3 || v == 1.0));
/// // With fraction 1, every pixel is salt or pepper.
/// let all: Vec<f32> = salt_and_pepper(x, 1.0).into_data().to_vec().unwrap();
/// assert!(all.iter().all(|&v| v == 0.0 || v == 1.0));
/// ```
pub fn salt_and_pepper<const D: usize>(x: Tensor<D>, fraction: f64) -> Tensor<D> {
    let device = x.device();
    let hit = Tensor::<D>::random(x.shape(), Distribution::Default, &device).lower_elem(fraction);
    let salt = Tensor::<D>::random(x.shape(), Distribution::Default, &device)
        .lower_elem(0.5)
        .float();
    x.mask_where(hit, salt)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn gaussian_noise_has_the_asked_spread_and_stays_in_range() {
        let device = Device::flex();
        device.seed(11);
        let x = Tensor::<2>::full([200, 500], 0.5, &device);
        let noisy = values(gaussian_noise(x, 0.1));
        assert!(noisy.iter().all(|v| (0.0..=1.0).contains(v)));
        let n = noisy.len() as f64;
        let mean = noisy.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let sd = (noisy
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n)
            .sqrt();
        // 100,000 draws: the mean within 0.002 of 0.5, the spread within 2 % of 0.1.
        assert!((mean - 0.5).abs() < 0.002, "{mean}");
        assert!((sd - 0.1).abs() < 0.002, "{sd}");
        // At sigma 0.5 around 0.9, clipping puts many pixels at exactly 1.
        let clipped = values(gaussian_noise(
            Tensor::<2>::full([100, 100], 0.9, &device),
            0.5,
        ));
        let ones = clipped.iter().filter(|&&v| v == 1.0).count() as f64 / 10_000.0;
        // P(N(0.9, 0.5) > 1) = P(Z > 0.2) = 0.42.
        assert!((ones - 0.42).abs() < 0.03, "{ones}");
    }

    #[test]
    fn corruptions_parse_print_and_check_their_parameter() {
        for text in ["gaussian:0.5", "salt-and-pepper:0.2"] {
            let corruption: Corruption = text.parse().unwrap();
            assert_eq!(corruption.to_string(), text);
        }
        assert_eq!(
            "gaussian:0.5".parse::<Corruption>().unwrap(),
            Corruption::Gaussian { sigma: 0.5 }
        );
        for bad in [
            "gaussian",
            "gaussian:",
            "gaussian:x",
            "gaussian:0",
            "gaussian:-1",
            "gaussian:inf",
            "salt-and-pepper:0",
            "salt-and-pepper:1.5",
            "pepper:0.2",
        ] {
            let message = bad.parse::<Corruption>().unwrap_err().to_string();
            assert!(message.contains("corruption"), "{bad}: {message}");
        }
        let json = serde_json::to_string(&Corruption::SaltAndPepper { fraction: 0.2 }).unwrap();
        assert_eq!(json, r#"{"kind":"salt-and-pepper","fraction":0.2}"#);
        assert!(
            serde_json::from_str::<Corruption>(r#"{"kind":"gaussian","sigma":0.5,"x":1}"#).is_err()
        );
    }

    #[test]
    fn apply_draws_the_named_corruption() {
        let device = Device::flex();
        let x = Tensor::<2>::full([100, 100], 0.5, &device);
        let noisy = values(Corruption::SaltAndPepper { fraction: 0.3 }.apply(x.clone()));
        let changed = noisy.iter().filter(|&&v| v != 0.5).count() as f64 / 10_000.0;
        assert!((changed - 0.3).abs() < 0.03, "{changed}");
        assert!(noisy.iter().all(|&v| v == 0.0 || v == 0.5 || v == 1.0));
        let noisy = values(Corruption::Gaussian { sigma: 0.1 }.apply(x));
        assert!(noisy.iter().filter(|&&v| v == 0.5).count() < 10);
    }

    #[test]
    fn salt_and_pepper_changes_the_asked_fraction_half_to_each_extreme() {
        let device = Device::flex();
        device.seed(12);
        let x = Tensor::<2>::full([200, 500], 0.5, &device);
        let noisy = values(salt_and_pepper(x, 0.2));
        let n = noisy.len() as f64;
        let salt = noisy.iter().filter(|&&v| v == 1.0).count() as f64 / n;
        let pepper = noisy.iter().filter(|&&v| v == 0.0).count() as f64 / n;
        let kept = noisy.iter().filter(|&&v| v == 0.5).count() as f64 / n;
        assert!((salt - 0.1).abs() < 0.005, "{salt}");
        assert!((pepper - 0.1).abs() < 0.005, "{pepper}");
        assert!((salt + pepper + kept - 1.0).abs() < 1e-12);
        // No corruption at fraction 0.
        let clean = values(salt_and_pepper(
            Tensor::<2>::full([10, 10], 0.3, &device),
            0.0,
        ));
        assert!(clean.iter().all(|&v| v == 0.3));
    }
}
