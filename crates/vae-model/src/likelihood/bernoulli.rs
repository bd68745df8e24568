//! Independent Bernoulli elements on logits.

use burn::prelude::*;
use burn::tensor::activation::{relu, sigmoid};

use crate::host_tanh::host_sigmoid;
use crate::parts::{Likelihood, sum_per_example};

/// Independent Bernoulli elements with probabilities `sigmoid(params)`: the likelihood of
/// PyTorch's `examples/vae`. Targets may be binary or, as there, continuous in `[0, 1]` (then it
/// is not a normalised density: see [`ContinuousBernoulli`](super::ContinuousBernoulli)).
///
/// ```
/// use burn::prelude::*;
/// use vae_model::{Bernoulli, Likelihood};
///
/// let device = Device::flex();
/// let logits = Tensor::<2>::from_floats([[0.0, 0.0], [2.0, -2.0]], &device);
/// let x = Tensor::<2>::from_floats([[1.0, 0.0], [1.0, 0.0]], &device);
/// let nll: Vec<f32> = Bernoulli.nll(logits.clone(), x).into_data().to_vec().unwrap();
/// // Row 0: probability 1/2 per pixel, 2 ln 2. Row 1: 2 softplus(-2) = 2 ln(1 + e^-2).
/// assert!((nll[0] - 2.0 * std::f32::consts::LN_2).abs() < 1e-6);
/// assert!((nll[1] - 2.0 * (-2.0f32).exp().ln_1p()).abs() < 1e-6);
/// // The mean is sigmoid(logits).
/// let mean: Vec<f32> = Bernoulli.mean(logits).into_data().to_vec().unwrap();
/// assert!((mean[0] - 0.5).abs() < 1e-6 && (mean[2] - 1.0 / (1.0 + (-2.0f32).exp())).abs() < 1e-6);
/// assert_eq!(Bernoulli.describe(), "bernoulli");
/// ```
#[derive(Module, Debug, Default)]
pub struct Bernoulli;

/// `-[x log sigmoid(l) + (1 - x) log sigmoid(-l)]` per element, in the overflow-free form
/// `max(l, 0) - l x + log1p(exp(-|l|))`, finite for every finite logit.
///
/// # Shapes
/// - logits, x: any shape, the same
/// - output: that shape
///
/// ```
/// use burn::prelude::*;
/// use vae_model::likelihood::bernoulli_nll_elementwise;
///
/// let device = Device::flex();
/// // Any rank: here [1, 1, 3]. Logit 0 costs ln 2; a confident right logit almost nothing; a
/// // confident wrong one about |l|, and stays finite.
/// let logits = Tensor::<3>::from_floats([[[0.0, 50.0, 100.0]]], &device);
/// let x = Tensor::<3>::from_floats([[[1.0, 1.0, 0.0]]], &device);
/// let nll: Vec<f32> = bernoulli_nll_elementwise(logits, x).into_data().to_vec().unwrap();
/// assert!((nll[0] - std::f32::consts::LN_2).abs() < 1e-6);
/// assert!(nll[1] < 1e-6 && (nll[2] - 100.0).abs() < 1e-4);
/// ```
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

    fn mean_on_host<const X: usize>(&self, params: Tensor<X>) -> Tensor<X> {
        host_sigmoid(params)
    }

    fn describe(&self) -> String {
        "bernoulli".into()
    }
}
