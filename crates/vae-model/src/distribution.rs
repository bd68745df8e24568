//! The diagonal Gaussian posterior `q(z|x) = N(mean, diag(exp(log_var)))`.

use burn::prelude::*;
use burn::tensor::Distribution;

/// A batch of diagonal Gaussians, as produced by the [`Encoder`](crate::Encoder).
///
/// PyTorch's `examples/vae` calls these `mu` and `logvar`.
///
/// ```
/// use burn::prelude::*;
/// use vae_model::DiagonalGaussian;
///
/// let device = Device::flex();
/// // Two posteriors over a 3-dimensional latent space, both equal to the prior N(0, I).
/// let posterior = DiagonalGaussian {
///     mean: Tensor::zeros([2, 3], &device),
///     log_var: Tensor::zeros([2, 3], &device),
/// };
/// assert_eq!(posterior.sample().dims(), [2, 3]);
/// // The prior's KL to itself is 0.
/// let kl: Vec<f32> = posterior.kl_to_standard_normal().into_data().to_vec().unwrap();
/// assert_eq!(kl, [0.0, 0.0]);
/// ```
#[derive(Debug, Clone)]
pub struct DiagonalGaussian {
    /// Means, `[batch, latent_dim]`.
    pub mean: Tensor<2>,
    /// Log-variances (natural log), `[batch, latent_dim]`.
    pub log_var: Tensor<2>,
}

impl DiagonalGaussian {
    /// Draws one sample per row with the reparameterization trick
    /// (Kingma & Welling 2014, §2.4): `z = mean + exp(log_var / 2) * eps`, `eps ~ N(0, I)`.
    ///
    /// `eps` comes from the device's RNG, so `device.seed(s)` makes it reproducible.
    /// Gradients flow to `mean` and `log_var`.
    ///
    /// # Shapes
    /// - output: `[batch, latent_dim]`
    ///
    /// ```
    /// use burn::prelude::*;
    /// use vae_model::DiagonalGaussian;
    ///
    /// let device = Device::flex();
    /// let posterior = DiagonalGaussian {
    ///     mean: Tensor::from_floats([[1.0, -2.0]], &device),
    ///     log_var: Tensor::full([1, 2], -20.0, &device), // std = exp(-10): almost a point mass
    /// };
    /// device.seed(5);
    /// let z = posterior.sample();
    /// device.seed(5);
    /// assert_eq!(z.to_data(), posterior.sample().to_data()); // the same seed, the same draw
    /// let z: Vec<f32> = z.into_data().to_vec().unwrap();
    /// assert!((z[0] - 1.0).abs() < 1e-3 && (z[1] + 2.0).abs() < 1e-3);
    /// ```
    pub fn sample(&self) -> Tensor<2> {
        let eps = self.mean.random_like(Distribution::Normal(0.0, 1.0));
        self.sample_with_noise(eps)
    }

    /// The reparameterization with caller-supplied noise `eps` (same shape as `mean`).
    ///
    /// ```
    /// use burn::prelude::*;
    /// use vae_model::DiagonalGaussian;
    ///
    /// let device = Device::flex();
    /// let posterior = DiagonalGaussian {
    ///     mean: Tensor::from_floats([[1.0, 0.0]], &device),
    ///     log_var: Tensor::from_floats([[4.0f32.ln(), 0.0]], &device), // std 2 and 1
    /// };
    /// let eps = Tensor::from_floats([[1.0, -0.5]], &device);
    /// // z = mean + std * eps = [1 + 2 * 1, 0 + 1 * (-0.5)].
    /// let z: Vec<f32> = posterior.sample_with_noise(eps).into_data().to_vec().unwrap();
    /// assert!((z[0] - 3.0).abs() < 1e-6 && (z[1] + 0.5).abs() < 1e-6);
    /// ```
    pub fn sample_with_noise(&self, eps: Tensor<2>) -> Tensor<2> {
        let std = self.log_var.clone().mul_scalar(0.5).exp();
        self.mean.clone() + std * eps
    }

    /// The mode (and mean) of the distribution, for deterministic encoding.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use vae_model::DiagonalGaussian;
    ///
    /// let device = Device::flex();
    /// let mean = Tensor::<2>::from_floats([[0.5, -1.5]], &device);
    /// let log_var = Tensor::ones([1, 2], &device);
    /// let posterior = DiagonalGaussian { mean: mean.clone(), log_var };
    /// assert_eq!(posterior.mode().into_data(), mean.into_data());
    /// ```
    pub fn mode(&self) -> Tensor<2> {
        self.mean.clone()
    }

    /// `KL(q || N(0, I))` per latent dimension, in nats:
    /// `-1/2 (1 + log_var - mean^2 - exp(log_var))`
    /// (Kingma & Welling 2014, Appendix B).
    ///
    /// # Shapes
    /// - output: `[batch, latent_dim]`
    ///
    /// ```
    /// use burn::prelude::*;
    /// use vae_model::DiagonalGaussian;
    ///
    /// let device = Device::flex();
    /// // N(1, 1) and N(0, e) against N(0, 1): 1/2 and (e - 2) / 2 nats.
    /// let posterior = DiagonalGaussian {
    ///     mean: Tensor::from_floats([[1.0, 0.0]], &device),
    ///     log_var: Tensor::from_floats([[0.0, 1.0]], &device),
    /// };
    /// let kl: Vec<f32> = posterior.kl_to_standard_normal_per_dim().into_data().to_vec().unwrap();
    /// assert!((kl[0] - 0.5).abs() < 1e-6);
    /// assert!((kl[1] - (std::f32::consts::E - 2.0) / 2.0).abs() < 1e-6);
    /// ```
    pub fn kl_to_standard_normal_per_dim(&self) -> Tensor<2> {
        let terms = self.log_var.clone().add_scalar(1.0)
            - self.mean.clone().square()
            - self.log_var.clone().exp();
        terms.mul_scalar(-0.5)
    }

    /// `KL(q || N(0, I))` summed over latent dimensions, in nats per example.
    ///
    /// # Shapes
    /// - output: `[batch]`
    ///
    /// ```
    /// use burn::prelude::*;
    /// use vae_model::DiagonalGaussian;
    ///
    /// let device = Device::flex();
    /// // Row 0 is the prior (KL 0); row 1 is N(1, 1) in each of 4 dimensions (1/2 nat each).
    /// let posterior = DiagonalGaussian {
    ///     mean: Tensor::from_floats([[0.0; 4], [1.0; 4]], &device),
    ///     log_var: Tensor::zeros([2, 4], &device),
    /// };
    /// let kl: Vec<f32> = posterior.kl_to_standard_normal().into_data().to_vec().unwrap();
    /// assert_eq!(kl.len(), 2);
    /// assert!(kl[0].abs() < 1e-6 && (kl[1] - 2.0).abs() < 1e-6);
    /// ```
    pub fn kl_to_standard_normal(&self) -> Tensor<1> {
        self.kl_to_standard_normal_per_dim()
            .sum_dim(1) // [batch, 1]
            .squeeze_dim::<1>(1) // [batch]
    }
}
