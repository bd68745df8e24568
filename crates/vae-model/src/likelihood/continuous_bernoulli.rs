//! The continuous Bernoulli distribution on `[0, 1]` (Loaiza-Ganem & Cunningham, "The
//! continuous Bernoulli: fixing a pervasive error in variational autoencoders", NeurIPS 2019).

use burn::prelude::*;

use super::bernoulli::bernoulli_nll_elementwise;
use crate::parts::{Likelihood, sum_per_example};

/// Below this `|logit|` the normaliser uses its Taylor series (the closed form is `0 / 0` at 0).
const LOG_NORM_SERIES_BELOW: f64 = 1e-2;
/// Below this `|logit|` the mean uses its Taylor series (the closed form cancels near 0).
const MEAN_SERIES_BELOW: f64 = 0.5;

/// The continuous Bernoulli with `λ = sigmoid(params)`: `p(x|λ) = C(λ) λ^x (1-λ)^(1-x)` for
/// `x` in `[0, 1]`, the normalised density that the Bernoulli expression becomes when pixels
/// are not binary. Its NLL is the Bernoulli NLL minus `log C(λ)`.
///
/// ```
/// use burn::prelude::*;
/// use vae_model::{ContinuousBernoulli, Likelihood};
///
/// let device = Device::flex();
/// // Logit 0 (λ = 1/2) is the uniform density on [0, 1]: NLL 0 and mean 1/2 for any pixels.
/// let logits = Tensor::<2>::zeros([2, 3], &device);
/// let x = Tensor::<2>::from_floats([[0.0, 0.3, 1.0], [0.5, 0.5, 0.9]], &device);
/// let nll: Vec<f32> = ContinuousBernoulli.nll(logits.clone(), x).into_data().to_vec().unwrap();
/// assert!(nll.iter().all(|v| v.abs() < 1e-5));
/// let mean: Vec<f32> = ContinuousBernoulli.mean(logits).into_data().to_vec().unwrap();
/// assert!(mean.iter().all(|m| (m - 0.5).abs() < 1e-6));
/// assert_eq!(ContinuousBernoulli.describe(), "continuous-bernoulli");
/// ```
#[derive(Module, Debug, Default)]
pub struct ContinuousBernoulli;

/// `log C(λ)` with `λ = sigmoid(l)`, per element.
///
/// `C(λ) = 2 atanh(1 - 2λ) / (1 - 2λ)`, which in logits is `l / tanh(l / 2)` (`2` at `l = 0`).
/// That closed form is `0 / 0` at `l = 0`, so below `|l| = 0.01` the Taylor series
/// `log 2 + h²/3 - 7h⁴/90` with `h = l / 2` is used (error below `1e-14` there); both branches
/// are evaluated on finite inputs, so gradients stay finite everywhere.
///
/// # Shapes
/// - logits: any shape; output: that shape
///
/// ```
/// use burn::prelude::*;
/// use vae_model::likelihood::continuous_bernoulli_log_norm;
///
/// let device = Device::flex();
/// // C = 2 at l = 0 (the series branch), and l / tanh(l / 2) elsewhere (the closed form).
/// let logits = Tensor::<1>::from_floats([0.0, 3.0], &device);
/// let log_c: Vec<f32> = continuous_bernoulli_log_norm(logits).into_data().to_vec().unwrap();
/// assert!((log_c[0] - std::f32::consts::LN_2).abs() < 1e-6);
/// assert!((log_c[1] - (3.0 / 1.5f32.tanh()).ln()).abs() < 1e-5);
/// ```
pub fn continuous_bernoulli_log_norm<const X: usize>(logits: Tensor<X>) -> Tensor<X> {
    let magnitude = logits.abs();
    let near_zero = magnitude.clone().lower_elem(LOG_NORM_SERIES_BELOW);
    let safe = magnitude.clone().clamp_min(LOG_NORM_SERIES_BELOW);
    let closed = (safe.clone() / safe.div_scalar(2.0).tanh()).log();
    // The series sees at most the threshold, so that its masked-off values stay finite too.
    let h2 = magnitude
        .clamp_max(LOG_NORM_SERIES_BELOW)
        .div_scalar(2.0)
        .square();
    let series = h2.clone().div_scalar(3.0) - h2.square().mul_scalar(7.0 / 90.0);
    closed.mask_where(near_zero, series.add_scalar(std::f64::consts::LN_2))
}

/// The mean of the continuous Bernoulli with `λ = sigmoid(l)`, per element:
/// `λ / (2λ - 1) + 1 / (2 atanh(1 - 2λ))`, in logits `1/2 + 1 / (2 tanh(l/2)) - 1/l`.
/// Below `|l| = 0.5`, where that difference cancels, the series
/// `1/2 + l/12 - l³/720 + l⁵/30240` is used (error below `1e-8` there).
///
/// # Shapes
/// - logits: any shape; output: that shape
///
/// ```
/// use burn::prelude::*;
/// use vae_model::likelihood::continuous_bernoulli_mean;
///
/// let device = Device::flex();
/// // 1/2 at l = 0, and symmetric: mean(-l) = 1 - mean(l), on both sides of the series' bound.
/// let logits = Tensor::<1>::from_floats([0.0, 0.3, -0.3, 4.0, -4.0], &device);
/// let mean: Vec<f32> = continuous_bernoulli_mean(logits).into_data().to_vec().unwrap();
/// assert!((mean[0] - 0.5).abs() < 1e-7);
/// assert!((mean[1] + mean[2] - 1.0).abs() < 1e-6 && (mean[3] + mean[4] - 1.0).abs() < 1e-6);
/// // At l = 4: 1/2 + 1 / (2 tanh 2) - 1/4.
/// assert!((mean[3] - (0.25 + 0.5 / 2.0f32.tanh())).abs() < 1e-6);
/// ```
pub fn continuous_bernoulli_mean<const X: usize>(logits: Tensor<X>) -> Tensor<X> {
    let near_zero = logits.clone().abs().lower_elem(MEAN_SERIES_BELOW);
    let safe = logits.clone().mask_fill(near_zero.clone(), 1.0);
    let closed = (safe.clone().div_scalar(2.0).tanh().recip().div_scalar(2.0) - safe.recip())
        .add_scalar(0.5);
    let small = logits.clamp(-MEAN_SERIES_BELOW, MEAN_SERIES_BELOW);
    let l2 = small.clone().square();
    let series = small.clone().div_scalar(12.0) - small.clone() * l2.clone().div_scalar(720.0)
        + small * l2.clone() * l2.div_scalar(30240.0);
    closed.mask_where(near_zero, series.add_scalar(0.5))
}

impl Likelihood for ContinuousBernoulli {
    fn nll<const X: usize>(&self, params: Tensor<X>, x: Tensor<X>) -> Tensor<1> {
        let log_norm = continuous_bernoulli_log_norm(params.clone());
        sum_per_example(bernoulli_nll_elementwise(params, x) - log_norm)
    }

    fn mean<const X: usize>(&self, params: Tensor<X>) -> Tensor<X> {
        continuous_bernoulli_mean(params)
    }

    fn describe(&self) -> String {
        "continuous-bernoulli".into()
    }
}
