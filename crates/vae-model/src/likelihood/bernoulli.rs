//! Independent Bernoulli elements on logits.

use burn::prelude::*;
use burn::tensor::activation::{relu, sigmoid};

use crate::parts::{Likelihood, sum_per_example};

/// Independent Bernoulli elements with probabilities `sigmoid(params)`: the likelihood of
/// PyTorch's `examples/vae`. Targets may be binary or, as there, continuous in `[0, 1]` (then it
/// is not a normalised density: see [`ContinuousBernoulli`](super::ContinuousBernoulli)).
#[derive(Module, Debug, Default)]
pub struct Bernoulli;

/// `-[x log sigmoid(l) + (1 - x) log sigmoid(-l)]` per element, in the overflow-free form
/// `max(l, 0) - l x + log1p(exp(-|l|))`, finite for every finite logit.
///
/// # Shapes
/// - logits, x: any shape, the same
/// - output: that shape
pub fn bernoulli_nll_elementwise<const X: usize>(logits: Tensor<X>, x: Tensor<X>) -> Tensor<X> {
    let softplus_tail = logits.clone().abs().neg().exp().log1p();
    relu(logits.clone()) - logits * x + softplus_tail
}

impl Likelihood for Bernoulli {
    fn nll<const X: usize>(&self, params: Tensor<X>, x: Tensor<X>) -> Tensor<1> {
        sum_per_example(bernoulli_nll_elementwise(params, x))
    }

    fn mean<const X: usize>(&self, params: Tensor<X>) -> Tensor<X> {
        sigmoid(params)
    }

    fn describe(&self) -> String {
        "bernoulli".into()
    }
}
