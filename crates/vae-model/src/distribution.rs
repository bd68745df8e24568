//! The diagonal Gaussian posterior `q(z|x) = N(mean, diag(exp(log_var)))`.

use burn::prelude::*;
use burn::tensor::Distribution;

/// A batch of diagonal Gaussians, as produced by the [`Encoder`](crate::Encoder).
///
/// PyTorch's `examples/vae` calls these `mu` and `logvar`.
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
    pub fn sample(&self) -> Tensor<2> {
        let eps = self.mean.random_like(Distribution::Normal(0.0, 1.0));
        self.sample_with_noise(eps)
    }

    /// The reparameterization with caller-supplied noise `eps` (same shape as `mean`).
    pub fn sample_with_noise(&self, eps: Tensor<2>) -> Tensor<2> {
        let std = self.log_var.clone().mul_scalar(0.5).exp();
        self.mean.clone() + std * eps
    }

    /// The mode (and mean) of the distribution, for deterministic encoding.
    pub fn mode(&self) -> Tensor<2> {
        self.mean.clone()
    }

    /// `KL(q || N(0, I))` per latent dimension, in nats:
    /// `-1/2 (1 + log_var - mean^2 - exp(log_var))`
    /// (Kingma & Welling 2014, Appendix B).
    ///
    /// # Shapes
    /// - output: `[batch, latent_dim]`
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
    pub fn kl_to_standard_normal(&self) -> Tensor<1> {
        self.kl_to_standard_normal_per_dim()
            .sum_dim(1) // [batch, 1]
            .squeeze_dim::<1>(1) // [batch]
    }
}
