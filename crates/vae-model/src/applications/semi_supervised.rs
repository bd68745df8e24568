//! The M2 model of Kingma et al. (2014), "Semi-supervised learning with deep generative models":
//! a conditional VAE `p(x|y,z) q(z|x,y)` and a classifier `q(y|x)` trained together on a few
//! labelled images and many unlabelled ones.
//!
//! With a uniform prior `p(y) = 1/C` over `C` classes, the objective to minimise is
//!
//! - for a labelled pair: `L(x, y) = -ELBO(x, y) + log C`, the conditional VAE's negative ELBO
//!   with `y` as its condition, plus `-log p(y)`;
//! - for an unlabelled image: `U(x) = Σ_y q(y|x) L(x, y) - H(q(y|x))`, the labelled bound
//!   averaged over the classifier's belief, minus its entropy;
//! - plus `α` times the classifier's cross-entropy on the labelled pairs, so that `q(y|x)` also
//!   learns from the labels directly. The paper weighs sums over the data set with
//!   `α = 0.1 N`; on per-batch means, as here, implementations take `α = 0.1 N_u / N_l`
//!   (unlabelled over labelled images), which `vae experiment semi-supervised` defaults to.
//!
//! `L` is the VAE's [`ElboTerms::loss`](crate::ElboTerms), so with `beta` other than 1 it is not
//! the negative ELBO: train M2 with `beta = 1`.
//!
//! The VAE is any [`Vae`] whose condition is the one-hot class (`condition_dim = C`); the
//! classifier is any network: the functions here take its logits.

use burn::prelude::*;
use burn::tensor::activation::{log_softmax, softmax};

use crate::{Decoder, Encoder, Likelihood, Vae, repeat_each};

/// The terms of one M2 step, each a mean over its images (`[1]`).
#[derive(Debug, Clone)]
pub struct M2Terms {
    /// Mean of `L(x, y)` over the labelled images.
    pub labelled: Tensor<1>,
    /// Mean of `U(x)` over the unlabelled images.
    pub unlabelled: Tensor<1>,
    /// Mean cross-entropy of `q(y|x)` on the labelled images.
    pub classification: Tensor<1>,
    /// `labelled + unlabelled + alpha * classification`: what a training step minimises.
    pub total: Tensor<1>,
}

/// `[batch * classes, classes]`: the one-hot rows of the identity, repeated `batch` times.
fn every_class(batch: usize, classes: usize, device: &Device) -> Tensor<2> {
    let mut values = vec![0.0f32; batch * classes * classes];
    for row in 0..batch * classes {
        values[row * classes + row % classes] = 1.0;
    }
    Tensor::from_data(TensorData::new(values, [batch * classes, classes]), device)
}

/// Evaluates `per_row(x', y')` once for every image of `x` (`[batch, features]`) with every
/// one-hot class: `x'` repeats each row `classes` times, `y'` cycles through the classes, and
/// the `[batch * classes]` answers come back as `[batch, classes]` (row = image, column =
/// class).
///
/// ```
/// # use burn::prelude::*;
/// use vae_model::applications::per_class;
///
/// let device = Device::flex();
/// let x = Tensor::<2>::from_floats([[1.0, 2.0], [3.0, 4.0]], &device);
/// // Each image's first pixel plus 10 times the class index.
/// let classes = Tensor::<1>::from_floats([0.0, 1.0, 2.0], &device).reshape([3, 1]);
/// let values = per_class(x, 3, |x, y| {
///     let class = y.matmul(classes.clone()).flatten::<1>(0, 1);
///     x.slice([0..6, 0..1]).flatten::<1>(0, 1) + class * 10.0
/// });
/// let expected = TensorData::from([[1.0f32, 11.0, 21.0], [3.0, 13.0, 23.0]]);
/// values.into_data().assert_eq(&expected, false);
/// ```
pub fn per_class<F>(x: Tensor<2>, classes: usize, per_row: F) -> Tensor<2>
where
    F: FnOnce(Tensor<2>, Tensor<2>) -> Tensor<1>,
{
    let [batch, _] = x.dims();
    let repeated = repeat_each(x, classes);
    let labels = every_class(batch, classes, &repeated.device());
    per_row(repeated, labels).reshape([batch, classes])
}

/// `U(x) = Σ_y q(y|x) L(x, y) - H(q(y|x))` per image, from `bounds[b, y] = L(x_b, y)` and the
/// classifier's `logits` (both `[batch, classes]`).
///
/// ```
/// # use burn::prelude::*;
/// use vae_model::applications::unlabelled_bound;
///
/// let device = Device::flex();
/// // q(y|x) = (1/4, 3/4): logits 0 and ln 3.
/// let logits = Tensor::<2>::from_floats([[0.0, 3f32.ln()]], &device);
/// let bounds = Tensor::<2>::from_floats([[10.0, 20.0]], &device);
/// let u = unlabelled_bound(bounds, logits).into_scalar::<f32>();
/// // 0.25 * 10 + 0.75 * 20 + (0.25 ln 0.25 + 0.75 ln 0.75)
/// let expected = 17.5 + 0.25 * 0.25f32.ln() + 0.75 * 0.75f32.ln();
/// assert!((u - expected).abs() < 1e-5);
/// ```
pub fn unlabelled_bound(bounds: Tensor<2>, logits: Tensor<2>) -> Tensor<1> {
    let q = softmax(logits.clone(), 1);
    let log_q = log_softmax(logits, 1);
    let expected = (q.clone() * bounds).sum_dim(1);
    let negative_entropy = (q * log_q).sum_dim(1);
    (expected + negative_entropy).flatten::<1>(0, 1)
}

/// The M2 terms of one step: `labelled_x` (`[n_l, features]`) with one-hot `labels`
/// (`[n_l, classes]`) and the classifier's logits on them, `unlabelled_x` (`[n_u, features]`)
/// with the classifier's logits on those, and the weight `alpha` of the classification term.
/// The VAE's condition is the one-hot class (its `condition_dim` is `classes`).
///
/// ```
/// # use burn::prelude::*;
/// # use burn::tensor::Distribution;
/// use vae_model::applications::m2_terms;
/// use vae_model::{Bernoulli, Vae, VaeConfig};
///
/// let device = Device::flex();
/// // A conditional VAE of 6-pixel images with 3 classes: the one-hot class is its condition.
/// let config = VaeConfig::new().with_input_dim(6).with_hidden_dims(vec![8]).with_latent_dim(2);
/// let (encoder, decoder) = config.try_init_networks(3, &device).unwrap();
/// let vae = Vae::new(encoder, decoder, Bernoulli, 2).with_condition_dim(3);
/// let labelled = Tensor::<2>::random([2, 6], Distribution::Default, &device);
/// let labels = Tensor::<2>::from_floats([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], &device);
/// let unlabelled = Tensor::<2>::random([4, 6], Distribution::Default, &device);
/// // Any classifier's logits (here: uniform ones).
/// let terms = m2_terms(
///     &vae,
///     labelled,
///     labels,
///     Tensor::zeros([2, 3], &device),
///     unlabelled,
///     Tensor::zeros([4, 3], &device),
///     0.5,
/// );
/// let value = |t: &Tensor<1>| t.clone().into_scalar::<f32>();
/// // Uniform logits: the cross-entropy is ln 3.
/// assert!((value(&terms.classification) - 3f32.ln()).abs() < 1e-5);
/// let sum = value(&terms.labelled) + value(&terms.unlabelled) + 0.5 * 3f32.ln();
/// assert!((value(&terms.total) - sum).abs() < 1e-3);
/// ```
#[allow(clippy::too_many_arguments)]
pub fn m2_terms<E, D, L>(
    vae: &Vae<E, D, L>,
    labelled_x: Tensor<2>,
    labels: Tensor<2>,
    labelled_logits: Tensor<2>,
    unlabelled_x: Tensor<2>,
    unlabelled_logits: Tensor<2>,
    alpha: f64,
) -> M2Terms
where
    E: Encoder,
    D: Decoder,
    L: Likelihood,
{
    let [_, classes] = labels.dims();
    let log_classes = (classes as f64).ln();
    let labelled = vae
        .loss(labelled_x, Some(labels.clone()))
        .loss
        .add_scalar(log_classes)
        .mean();
    let bounds = per_class(unlabelled_x, classes, |x, y| {
        vae.loss(x, Some(y)).loss.add_scalar(log_classes)
    });
    let unlabelled = unlabelled_bound(bounds, unlabelled_logits).mean();
    let classification = (labels * log_softmax(labelled_logits, 1))
        .sum_dim(1)
        .neg()
        .mean();
    let total = labelled.clone() + unlabelled.clone() + classification.clone().mul_scalar(alpha);
    M2Terms {
        labelled,
        unlabelled,
        classification,
        total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::VaeConfig;
    use burn::tensor::Distribution;

    fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().unwrap()
    }

    /// A small MLP VAE of `pixels`-value images conditioned on `classes` one-hot classes.
    fn conditional_vae(pixels: usize, classes: usize, device: &Device) -> Vae {
        let config = VaeConfig::new()
            .with_input_dim(pixels)
            .with_hidden_dims(vec![7])
            .with_latent_dim(2);
        let (encoder, decoder) = config.try_init_networks(classes, device).unwrap();
        Vae::new(encoder, decoder, crate::Bernoulli, 2).with_condition_dim(classes)
    }

    #[test]
    fn the_per_class_matrix_puts_image_b_class_c_at_row_b_column_c() {
        let device = Device::flex();
        let vae = conditional_vae(5, 4, &device);
        let x = Tensor::<2>::random([3, 5], Distribution::Default, &device);
        // Deterministic per-row values: the negative ELBO at the posterior mean.
        let at_mean = |x: Tensor<2>, y: Tensor<2>| {
            let posterior = vae.encode(x.clone(), Some(y.clone()));
            let z = posterior.mode();
            let params = vae.decode(z.clone(), Some(y));
            let pass = crate::VaeForward {
                posterior,
                z,
                params,
            };
            vae.terms(&pass, x).loss
        };
        let matrix = values(per_class(x.clone(), 4, at_mean));
        for class in 0..4 {
            let mut one_hot = vec![0.0f32; 3 * 4];
            for b in 0..3 {
                one_hot[b * 4 + class] = 1.0;
            }
            let y = Tensor::from_data(TensorData::new(one_hot, [3, 4]), &device);
            let direct = values(at_mean(x.clone(), y));
            for b in 0..3 {
                assert!(
                    (matrix[b * 4 + class] - direct[b]).abs() < 1e-4,
                    "image {b}, class {class}: {} vs {}",
                    matrix[b * 4 + class],
                    direct[b]
                );
            }
        }
    }

    #[test]
    fn a_certain_classifier_makes_the_unlabelled_bound_that_class_s_bound() {
        let device = Device::flex();
        let bounds = Tensor::<2>::from_floats([[5.0, 7.0, 9.0], [4.0, 2.0, 8.0]], &device);
        let logits = Tensor::<2>::from_floats([[50.0, 0.0, 0.0], [0.0, 0.0, 50.0]], &device);
        let u = values(unlabelled_bound(bounds.clone(), logits));
        assert!(
            (u[0] - 5.0).abs() < 1e-4 && (u[1] - 8.0).abs() < 1e-4,
            "{u:?}"
        );
        // Uniform belief: the mean bound minus ln 3 (the entropy).
        let u = values(unlabelled_bound(bounds, Tensor::zeros([2, 3], &device)));
        let ln3 = 3f32.ln();
        assert!((u[0] - (7.0 - ln3)).abs() < 1e-4, "{u:?}");
        assert!((u[1] - (14.0 / 3.0 - ln3)).abs() < 1e-4, "{u:?}");
    }

    #[test]
    fn the_unlabelled_bound_is_never_below_the_best_class_minus_log_classes() {
        // min_q Σ q L - H(q) = -log Σ exp(-L) >= min L - log C.
        let device = Device::flex();
        let bounds = Tensor::<2>::random([20, 4], Distribution::Uniform(0.0, 10.0), &device);
        let logits = Tensor::<2>::random([20, 4], Distribution::Normal(0.0, 3.0), &device);
        let u = values(unlabelled_bound(bounds.clone(), logits));
        let least = values(bounds.min_dim(1).flatten::<1>(0, 1));
        for (u, least) in u.iter().zip(&least) {
            assert!(*u >= least - 4f32.ln() - 1e-4, "{u} < {least} - ln 4");
        }
    }

    #[test]
    fn the_gradient_reaches_the_vae_and_the_classifier_logits() {
        let device = Device::flex().autodiff();
        let vae = conditional_vae(6, 3, &device);
        let labelled = Tensor::<2>::random([2, 6], Distribution::Default, &device);
        let labels = Tensor::<2>::from_floats([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], &device);
        let unlabelled = Tensor::<2>::random([3, 6], Distribution::Default, &device);
        let labelled_logits = Tensor::<2>::zeros([2, 3], &device).require_grad();
        let unlabelled_logits = Tensor::<2>::zeros([3, 3], &device).require_grad();
        let terms = m2_terms(
            &vae,
            labelled,
            labels,
            labelled_logits.clone(),
            unlabelled,
            unlabelled_logits.clone(),
            1.0,
        );
        let grads = terms.total.backward();
        assert!(vae.encoder.mean.weight.grad(&grads).is_some());
        let g = values(labelled_logits.grad(&grads).unwrap());
        // d CE / d logits = (softmax - one-hot) / n: row 0 is (1/3, -2/3, 1/3) / 2.
        assert!(
            (g[0] - 1.0 / 6.0).abs() < 1e-5 && (g[1] + 1.0 / 3.0).abs() < 1e-5,
            "{g:?}"
        );
        assert!(unlabelled_logits.grad(&grads).is_some());
    }
}
