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
pub fn bernoulli_nll_with_logits(logits: Tensor<2>, targets: Tensor<2>) -> Tensor<1> {
    sum_per_example(bernoulli_nll_elementwise(logits, targets))
}

/// The terms of the negative ELBO, each `[batch]`, in nats per example.
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
