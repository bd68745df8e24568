//! The terms of the negative ELBO, and its Bernoulli form on flat data.
//!
//! Reduction, stated once: every term is **summed over pixels (or latent dimensions)**
//! and returned **per example** (`[batch]`), in nats. Callers average over the batch,
//! which gives the "loss per image" that PyTorch's `examples/vae` prints.

use burn::prelude::*;

use crate::distribution::DiagonalGaussian;
use crate::likelihood::bernoulli_nll_elementwise;
use crate::parts::sum_per_example;

/// Binary cross-entropy between Bernoulli logits and targets in `[0, 1]`, summed over
/// features: `-sum_j [x_j log sigmoid(l_j) + (1 - x_j) log sigmoid(-l_j)]`.
///
/// Computed in the overflow-free form `max(l, 0) - l x + log1p(exp(-|l|))`, which stays
/// finite for any finite logit (no `log` of a `sigmoid` that underflows to zero).
/// Targets may be continuous in `[0, 1]` (as in PyTorch's example) or binary.
///
/// # Shapes
/// - logits, targets: `[batch, features]`
/// - output: `[batch]`
///
/// ```
/// use burn::prelude::*;
/// use vae_model::bernoulli_nll_with_logits;
///
/// let device = Device::flex();
/// // Logit 0 is probability 1/2: ln 2 per feature whatever the target, 3 features per row.
/// let logits = Tensor::<2>::zeros([2, 3], &device);
/// let targets = Tensor::<2>::from_floats([[0.0, 1.0, 0.5], [1.0, 1.0, 1.0]], &device);
/// let nll: Vec<f32> = bernoulli_nll_with_logits(logits, targets).into_data().to_vec().unwrap();
/// assert!(nll.iter().all(|v| (v - 3.0 * std::f32::consts::LN_2).abs() < 1e-6));
/// // A confident logit stays finite where log(sigmoid(l)) would underflow.
/// let far = Tensor::<2>::full([1, 1], -200.0, &device);
/// let nll = bernoulli_nll_with_logits(far, Tensor::ones([1, 1], &device)).into_scalar::<f32>();
/// assert!((nll - 200.0).abs() < 1e-3);
/// ```
pub fn bernoulli_nll_with_logits(logits: Tensor<2>, targets: Tensor<2>) -> Tensor<1> {
    sum_per_example(bernoulli_nll_elementwise(logits, targets))
}

/// The terms of the negative ELBO, each `[batch]`, in nats per example.
///
/// ```
/// use burn::prelude::*;
/// use vae_model::ElboTerms;
///
/// let device = Device::flex();
/// let reconstruction = Tensor::<1>::from_floats([10.0, 20.0], &device);
/// let kl = Tensor::<1>::from_floats([1.0, 3.0], &device);
/// let terms = ElboTerms::new(reconstruction, kl, 2.0); // a beta-VAE with beta = 2
/// let loss: Vec<f32> = terms.loss.clone().into_data().to_vec().unwrap();
/// assert_eq!(loss, [12.0, 26.0]); // reconstruction + beta * kl, per example
/// assert_eq!(terms.mean_loss().into_scalar::<f32>(), 19.0);
/// assert_eq!(terms.sum_loss().into_scalar::<f32>(), 38.0);
/// ```
#[derive(Debug, Clone)]
pub struct ElboTerms {
    /// `reconstruction + beta * kl`: the negative ELBO when `beta = 1`.
    pub loss: Tensor<1>,
    /// `-log p(x|z)` for the sampled `z`, under the model's likelihood.
    pub reconstruction: Tensor<1>,
    /// `KL(q(z|x) || N(0, I))`, analytic.
    pub kl: Tensor<1>,
}

impl ElboTerms {
    /// Combines a reconstruction term and a KL term with weight `beta`.
    pub fn new(reconstruction: Tensor<1>, kl: Tensor<1>, beta: f64) -> Self {
        let loss = reconstruction.clone() + kl.clone().mul_scalar(beta);
        Self {
            loss,
            reconstruction,
            kl,
        }
    }

    /// Mean of `loss` over the batch: the loss per image.
    pub fn mean_loss(&self) -> Tensor<1> {
        self.loss.clone().mean()
    }

    /// Sum of `loss` over the batch, the objective PyTorch's `examples/vae` differentiates
    /// (`reduction='sum'`). With Adam, the sum and the mean give the same updates except for
    /// how `epsilon` compares with the gradient's scale.
    pub fn sum_loss(&self) -> Tensor<1> {
        self.loss.clone().sum()
    }
}

/// The beta-weighted negative ELBO of a batch given the decoder's logits and the posterior.
///
/// # Shapes
/// - logits, targets: `[batch, features]`
/// - posterior: `[batch, latent_dim]`
/// - output terms: `[batch]`
///
/// ```
/// use burn::prelude::*;
/// use vae_model::{DiagonalGaussian, negative_elbo};
///
/// let device = Device::flex();
/// // Logits 0 over 4 pixels (4 ln 2 nats) and a posterior N(1, 1) over 2 dimensions (1 nat).
/// let logits = Tensor::<2>::zeros([3, 4], &device);
/// let images = Tensor::<2>::ones([3, 4], &device);
/// let posterior = DiagonalGaussian {
///     mean: Tensor::ones([3, 2], &device),
///     log_var: Tensor::zeros([3, 2], &device),
/// };
/// let terms = negative_elbo(logits, images, &posterior, 1.0);
/// assert_eq!(terms.loss.dims(), [3]);
/// let expected = 4.0 * std::f32::consts::LN_2 + 1.0;
/// assert!((terms.mean_loss().into_scalar::<f32>() - expected).abs() < 1e-5);
/// ```
pub fn negative_elbo(
    logits: Tensor<2>,
    targets: Tensor<2>,
    posterior: &DiagonalGaussian,
    beta: f64,
) -> ElboTerms {
    ElboTerms::new(
        bernoulli_nll_with_logits(logits, targets),
        posterior.kl_to_standard_normal(),
        beta,
    )
}
