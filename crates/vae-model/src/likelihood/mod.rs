//! The shipped likelihoods `p(x|params)`: [`Bernoulli`] and [`ContinuousBernoulli`] on logits,
//! and [`Gaussian`] with a fixed or learned σ; [`AnyLikelihood`] chooses one from a
//! [`LikelihoodConfig`].
//!
//! Values are in nats and each likelihood's numbers are under its own density: a Bernoulli NLL
//! and a Gaussian NLL of the same images are not comparable.

mod any;
mod bernoulli;
mod continuous_bernoulli;
mod gaussian;

pub use any::{AnyLikelihood, LikelihoodConfig};
pub use bernoulli::{Bernoulli, bernoulli_nll_elementwise};
pub use continuous_bernoulli::{
    ContinuousBernoulli, continuous_bernoulli_log_norm, continuous_bernoulli_mean,
};
pub use gaussian::{Gaussian, GaussianConfig, LearnedSigma};
