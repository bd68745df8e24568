//! The three slots of a VAE: an [`Encoder`] from data to a posterior, a [`Decoder`] from latent
//! codes to the parameters of `p(x|z)`, and a [`Likelihood`] that scores data under those
//! parameters.
//!
//! # Data rank
//! The data rank `X` is a const generic, `2` by default: `[batch, features]`. Every shipped
//! network and likelihood works on flat rows, so one batch type, one likelihood and one
//! estimator serve every model, and a data loader only has to produce rows. The convolutional
//! networks also implement the rank-4 slots (`[batch, channels, height, width]`) for users whose
//! data already has that shape; given rows, they reshape them to their configured image shape
//! themselves. A likelihood reduces over every axis but the batch, whatever the rank.
//!
//! # Conditions
//! Every slot takes an optional condition, `[batch, condition_dim]` (a one-hot class label or
//! any vector), so one trait serves plain and conditional VAEs. The shipped networks
//! concatenate it, so they are built for its width (`condition_dim`, 0 for none); a network of
//! your own may ignore it. The [`Vae`](crate::Vae) checks before every encode and decode that a
//! condition is given exactly when it was declared conditional
//! ([`Vae::with_condition_dim`](crate::Vae::with_condition_dim)), with the declared width.

use burn::module::{Module, ModuleDisplay};
use burn::prelude::*;

use crate::distribution::DiagonalGaussian;

/// `x -> q(z|x)`: maps a batch of data (and an optional condition) to a diagonal Gaussian
/// posterior over the latent space.
///
/// ```
/// use burn::prelude::*;
/// use burn::nn::{Linear, LinearConfig};
/// use vae_model::{DiagonalGaussian, Encoder};
///
/// /// One linear layer per posterior parameter: the smallest encoder there is.
/// #[derive(Module, Debug)]
/// struct LinearEncoder {
///     mean: Linear,
///     log_var: Linear,
/// }
///
/// impl Encoder for LinearEncoder {
///     fn encode(&self, x: Tensor<2>, _condition: Option<Tensor<2>>) -> DiagonalGaussian {
///         DiagonalGaussian { mean: self.mean.forward(x.clone()), log_var: self.log_var.forward(x) }
///     }
/// }
/// # let _ = LinearEncoder {
/// #     mean: LinearConfig::new(4, 2).init(&Device::flex()),
/// #     log_var: LinearConfig::new(4, 2).init(&Device::flex()),
/// # };
/// ```
pub trait Encoder<const X: usize = 2>: Module + ModuleDisplay {
    /// The posterior for each example.
    ///
    /// # Shapes
    /// - x: `[batch, ...]` (rank `X`)
    /// - condition: `[batch, condition_dim]`
    /// - output: mean and log_var, each `[batch, latent_dim]`
    fn encode(&self, x: Tensor<X>, condition: Option<Tensor<2>>) -> DiagonalGaussian;
}

/// `z -> parameters of p(x|z)`: one parameter per data element (logits for the Bernoulli
/// likelihoods, means for the Gaussian), in the data's shape.
pub trait Decoder<const X: usize = 2>: Module + ModuleDisplay {
    /// The parameters of `p(x|z)` for each latent code.
    ///
    /// # Shapes
    /// - z: `[batch, latent_dim]`
    /// - condition: `[batch, condition_dim]`
    /// - output: `[batch, ...]` (rank `X`, the data's shape)
    fn decode(&self, z: Tensor<2>, condition: Option<Tensor<2>>) -> Tensor<X>;
}

/// `p(x|params)`: scores data under the decoder's parameters. A likelihood may hold parameters
/// of its own (the learned σ of [`Gaussian`](crate::likelihood::Gaussian)); they train with the
/// networks.
pub trait Likelihood: Module + ModuleDisplay {
    /// `-log p(x | params)`, summed over every axis but the batch, in nats per example.
    ///
    /// # Shapes
    /// - params, x: `[batch, ...]` (the same shape)
    /// - output: `[batch]`
    fn nll<const X: usize>(&self, params: Tensor<X>, x: Tensor<X>) -> Tensor<1>;

    /// The mean of `p(x | params)`, for pictures and reconstructions.
    ///
    /// # Shapes
    /// - params: `[batch, ...]`
    /// - output: the same shape
    fn mean<const X: usize>(&self, params: Tensor<X>) -> Tensor<X>;

    /// [`mean`](Self::mean), computed on the host where this likelihood has a faster host
    /// version (the Bernoulli's `sigmoid`: [`host_sigmoid`](crate::host_tanh::host_sigmoid)).
    /// For the CPU backends only: it reads `params` back from the device.
    /// [`Vae::with_host_mean`](crate::Vae::with_host_mean) turns it on. By default, `mean`.
    ///
    /// # Shapes
    /// - params: `[batch, ...]`
    /// - output: the same shape
    fn mean_on_host<const X: usize>(&self, params: Tensor<X>) -> Tensor<X> {
        self.mean(params)
    }

    /// A short description, e.g. `bernoulli` or `gaussian(sigma = 0.1)`, for reports that must
    /// say which likelihood their numbers are under.
    fn describe(&self) -> String;
}

/// Sums every axis but the first: `[batch, ...] -> [batch]`.
pub(crate) fn sum_per_example<const X: usize>(values: Tensor<X>) -> Tensor<1> {
    let batch = values.dims()[0];
    values
        .reshape([batch as i64, -1])
        .sum_dim(1)
        .reshape([batch])
}
