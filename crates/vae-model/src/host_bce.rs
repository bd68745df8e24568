//! The Bernoulli reconstruction term and its gradient in one pass over host memory.
//!
//! On Burn's CPU backends, `exp` and `log1p` are scalar libm calls on one core, and autodiff
//! evaluates `exp` again in the backward pass: in a 784-400-20 training step at batch 128 the
//! reconstruction term cost more than any matmul. Here each element costs one `exp` and one
//! `log1p` in all, the gradient `sigmoid(l) - x` comes from the same `exp`, and the rows are
//! split across threads. A training step can use it in place of the tensor formula (the `vae`
//! trainer does on flex); it reads the logits back from the device, so it is for the CPU
//! backends only. [`bernoulli_nll_rows`] is the same term without the gradient, for the
//! importance-weighted estimate, where each image is scored against many decoded samples.
//!
//! `exp` and `log1p` are [`host_math`](crate::host_math)'s, vectorized for the CPU's SIMD
//! (AVX-512 or AVX2, chosen at run time), and each row's sum is accumulated in `f64` every 128
//! elements. `log1p` only ever sees `exp(-|l|)` in `(0, 1]`, where a short series
//! ([`ln_1p_unit`]) is accurate to 2.3e-7 (relative) and was measured about five times faster
//! than the `wide` crate's `ln_1p` (5.4 against 26 ns per element with `exp`, SSE2, this
//! project's machine; scalar libm: 17 ns).

use burn::prelude::*;
use rayon::prelude::*;

use crate::host_math::{exp, ln_1p_unit, vectorized};
use crate::iwae::{log_importance_weights, repeat_each};
use crate::parts::{Decoder, Encoder, Likelihood};
use crate::vae::Vae;

const LANES: usize = 8;
/// Elements summed in `f32` lanes before the lanes are added to the row's `f64` total.
const BLOCK: usize = 16 * LANES;

/// Per-row sums of `softplus(l) - l * x` (the Bernoulli negative log-likelihood with logits
/// `l`, targets `x` in `[0, 1]`), and the gradient of their total with respect to the logits.
///
/// `logits` and `targets` are `[rows, width]` in row-major order.
///
/// # Panics
/// If `width` is 0, or the two slices differ in length or are not whole rows.
///
/// ```
/// use vae_model::host_bce::bernoulli_nll_and_grad;
///
/// // Two rows of two pixels, every logit 0 (probability 1/2).
/// let logits = [0.0; 4];
/// let targets = [1.0, 0.0, 0.25, 0.5];
/// let (nll, grad) = bernoulli_nll_and_grad(&logits, &targets, 2);
/// assert!(nll.iter().all(|v| (v - 2.0 * std::f32::consts::LN_2).abs() < 1e-6));
/// // The gradient is sigmoid(l) - x = 1/2 - x.
/// assert_eq!(grad, [-0.5, 0.5, 0.25, 0.0]);
/// ```
pub fn bernoulli_nll_and_grad(
    logits: &[f32],
    targets: &[f32],
    width: usize,
) -> (Vec<f32>, Vec<f32>) {
    assert_eq!(
        logits.len(),
        targets.len(),
        "logits and targets differ in size"
    );
    assert!(
        width > 0 && logits.len().is_multiple_of(width),
        "{} values are not whole rows of width {width}",
        logits.len()
    );
    bernoulli_nll_and_grad_rows(logits, targets, width, 1)
}

/// [`bernoulli_nll_and_grad`] where logits row `r` is scored against targets row `r / repeats`
/// (the layout of a k-sample objective, which decodes `repeats` codes per image): each image is
/// read in place instead of being copied `repeats` times.
///
/// `logits` (and the returned gradient) are `[rows, width]`, `targets` `[rows / repeats, width]`,
/// row-major.
///
/// ```
/// use vae_model::host_bce::bernoulli_nll_and_grad_rows;
///
/// // One image of two pixels, two decoded samples, every logit 0.
/// let (nll, grad) = bernoulli_nll_and_grad_rows(&[0.0; 4], &[1.0, 0.0], 2, 2);
/// assert_eq!(nll.len(), 2);
/// assert_eq!(grad, [-0.5, 0.5, -0.5, 0.5]);
/// ```
///
/// # Panics
/// If `width` or `repeats` is 0, or the slices' lengths do not fit those shapes.
pub fn bernoulli_nll_and_grad_rows(
    logits: &[f32],
    targets: &[f32],
    width: usize,
    repeats: usize,
) -> (Vec<f32>, Vec<f32>) {
    check_repeated_rows(logits, targets, width, repeats);
    let mut grad = vec![0.0f32; logits.len()];
    let per_row = score_rows(logits, targets, width, repeats, Some(&mut grad));
    (per_row, grad)
}

/// Rows per task: the rows split evenly over the threads of rayon's pool (at least 1).
fn rows_per_task(rows: usize) -> usize {
    let threads = rayon::current_num_threads();
    rows.div_ceil(threads.min(rows.max(1))).max(1)
}

/// The shapes [`bernoulli_nll_rows`] and [`bernoulli_nll_and_grad_rows`] accept.
fn check_repeated_rows(logits: &[f32], targets: &[f32], width: usize, repeats: usize) {
    assert!(
        width > 0 && repeats > 0,
        "width and repeats must be at least 1"
    );
    assert!(
        targets.len().is_multiple_of(width) && targets.len() * repeats == logits.len(),
        "{} logits are not {repeats} rows per target row of {} targets of width {width}",
        logits.len(),
        targets.len()
    );
}

/// Each logits row's Bernoulli negative log-likelihood against targets row `row / repeats`,
/// the rows split over the cores; with `grad` (`[rows, width]`), each row's gradient too.
fn score_rows(
    logits: &[f32],
    targets: &[f32],
    width: usize,
    repeats: usize,
    grad: Option<&mut [f32]>,
) -> Vec<f32> {
    let rows = logits.len() / width;
    let mut per_row = vec![0.0f32; rows];
    let rows_per_task = rows_per_task(rows);
    // The tasks run on rayon's pool, the one Burn's flex backend runs its matmuls on: its
    // threads are awake during a training step, where a fresh thread per call cost more.
    let task = |part: usize, sums: &mut [f32], mut grads: Option<&mut [f32]>| {
        let first = part * rows_per_task;
        for (offset, sum) in sums.iter_mut().enumerate() {
            let row = first + offset;
            let target = row / repeats;
            *sum = row_terms(
                &logits[row * width..(row + 1) * width],
                &targets[target * width..(target + 1) * width],
                grads
                    .as_deref_mut()
                    .map(|grads| &mut grads[offset * width..(offset + 1) * width]),
            ) as f32;
        }
    };
    match grad {
        Some(grad) => per_row
            .par_chunks_mut(rows_per_task)
            .zip(grad.par_chunks_mut(rows_per_task * width))
            .enumerate()
            .for_each(|(part, (sums, grads))| task(part, sums, Some(grads))),
        None => per_row
            .par_chunks_mut(rows_per_task)
            .enumerate()
            .for_each(|(part, sums)| task(part, sums, None)),
    }
    per_row
}

/// Per-row sums of `softplus(l) - l * x`, the Bernoulli negative log-likelihood with logits
/// `l`, where logits row `r` is scored against targets row `r / repeats`: the layout of the
/// importance-weighted estimate, which decodes `repeats` codes per image, image by image,
/// and need not copy each image `repeats` times.
///
/// `logits` is `[rows, width]` and `targets` `[rows / repeats, width]`, row-major.
///
/// ```
/// use vae_model::host_bce::bernoulli_nll_rows;
///
/// // Two images of two pixels, three decoded samples each.
/// let targets = [1.0, 0.0, 0.5, 0.5];
/// let logits = [0.0; 12];
/// let nll = bernoulli_nll_rows(&logits, &targets, 2, 3);
/// assert_eq!(nll.len(), 6);
/// // Logit 0 is probability 1/2 for every pixel: ln 2 per pixel, whatever the target.
/// assert!(nll.iter().all(|v| (v - 2.0 * std::f32::consts::LN_2).abs() < 1e-6));
/// ```
///
/// # Panics
/// If `width` or `repeats` is 0, or the slices' lengths do not fit those shapes.
pub fn bernoulli_nll_rows(
    logits: &[f32],
    targets: &[f32],
    width: usize,
    repeats: usize,
) -> Vec<f32> {
    check_repeated_rows(logits, targets, width, repeats);
    score_rows(logits, targets, width, repeats, None)
}

/// [`Vae::log_importance_weights`] for a model whose decoder gives Bernoulli logits, with each
/// decoded sample's reconstruction term computed on the host by [`bernoulli_nll_rows`] (each
/// image scored against its `count` samples without being copied per sample). On the CPU
/// backends that is faster than the tensor formula; the weights are the same up to `f32`
/// rounding. The decoder's output is read as Bernoulli logits whatever `model.likelihood` is:
/// call it for Bernoulli models only.
///
/// # Shapes
/// - x: `[batch, values]`; output: `[batch, samples]`
///
/// # Panics
/// If `samples` or `chunk` is zero.
///
/// ```
/// use burn::prelude::*;
/// use burn::tensor::Distribution;
/// use vae_model::VaeConfig;
/// use vae_model::host_bce::bernoulli_log_importance_weights;
///
/// let device = Device::flex();
/// let config = VaeConfig::new().with_input_dim(6).with_hidden_dims(vec![8]);
/// let vae = config.with_latent_dim(2).init(&device);
/// let x = Tensor::<2>::random([3, 6], Distribution::Default, &device);
/// let _ = vae.loss(x.clone(), None); // parameters initialize on first use, before the seed
/// device.seed(8);
/// let host = bernoulli_log_importance_weights(&vae, x.clone(), None, 10, 4);
/// assert_eq!(host.dims(), [3, 10]);
/// // The same draws through the tensor formula: the same weights, up to f32 rounding.
/// device.seed(8);
/// let tensor = vae.log_importance_weights(x, None, 10, 4);
/// let values = |t: Tensor<2>| t.into_data().to_vec::<f32>().unwrap();
/// assert!(values(host).iter().zip(&values(tensor)).all(|(a, b)| (a - b).abs() < 1e-3));
/// ```
pub fn bernoulli_log_importance_weights<E, D, L>(
    model: &Vae<E, D, L>,
    x: Tensor<2>,
    condition: Option<Tensor<2>>,
    samples: usize,
    chunk: usize,
) -> Tensor<2>
where
    E: Encoder<2>,
    D: Decoder<2>,
    L: Likelihood,
{
    let device = x.device();
    let width = x.dims()[1];
    let images = host_values(x.clone());
    let posterior = model.encode(x, condition.clone());
    log_importance_weights(&posterior, samples, chunk, |z, count| {
        let condition = condition.clone().map(|c| repeat_each(c, count));
        let logits = model.decode(z, condition);
        let rows = logits.dims()[0];
        let nll = bernoulli_nll_rows(&host_values(logits), &images, width, count);
        Tensor::<1>::from_data(TensorData::new(nll, [rows]), &device).neg()
    })
}

fn host_values(tensor: Tensor<2>) -> Vec<f32> {
    tensor
        .into_data()
        .try_into_vec_as::<f32>()
        .expect("float tensors read as f32")
}

/// One row: the sum of `softplus(l) - l * x` and, if asked, `sigmoid(l) - x` per element,
/// vectorized for the CPU's SIMD ([`vectorized`]).
fn row_terms(logits: &[f32], targets: &[f32], grads: Option<&mut [f32]>) -> f64 {
    debug_assert_eq!(logits.len(), targets.len());
    debug_assert!(grads.as_ref().is_none_or(|g| g.len() == logits.len()));
    match grads {
        Some(grads) => vectorized(
            #[inline(always)]
            || row_terms_with::<true>(logits, targets, grads),
        ),
        None => vectorized(
            #[inline(always)]
            || row_terms_with::<false>(logits, targets, &mut []),
        ),
    }
}

/// [`row_terms`]' loop, the gradient written to `grads` if `GRAD`: per block of [`BLOCK`]
/// elements, the terms in one loop the compiler vectorizes, then summed in [`LANES`] `f32`
/// lanes (element `i` to lane `i mod LANES`) and the lanes added to the `f64` total.
#[inline(always)]
fn row_terms_with<const GRAD: bool>(logits: &[f32], targets: &[f32], grads: &mut [f32]) -> f64 {
    let mut total = 0.0f64;
    let mut terms = [0.0f32; BLOCK];
    for (block, (logits, targets)) in logits.chunks(BLOCK).zip(targets.chunks(BLOCK)).enumerate() {
        let terms = &mut terms[..logits.len()];
        if GRAD {
            let grads = &mut grads[block * BLOCK..block * BLOCK + logits.len()];
            for (((term, grad), &l), &x) in terms.iter_mut().zip(grads).zip(logits).zip(targets) {
                let e = exp(-l.abs());
                // The stable form used by `bernoulli_nll_with_logits`.
                *term = if l > 0.0 { l } else { 0.0 } - l * x + ln_1p_unit(e);
                *grad = (if l >= 0.0 { 1.0 } else { e }) / (1.0 + e) - x;
            }
        } else {
            for ((term, &l), &x) in terms.iter_mut().zip(logits).zip(targets) {
                *term = if l > 0.0 { l } else { 0.0 } - l * x + ln_1p_unit(exp(-l.abs()));
            }
        }
        let mut lanes = [0.0f32; LANES];
        for chunk in terms.chunks(LANES) {
            lanes
                .iter_mut()
                .zip(chunk)
                .for_each(|(lane, &term)| *lane += term);
        }
        total += lanes.iter().map(|&v| f64::from(v)).sum::<f64>();
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(l: f64, x: f64) -> (f64, f64) {
        let sigmoid = 1.0 / (1.0 + (-l).exp());
        let nll = if l > 30.0 {
            l * (1.0 - x)
        } else if l < -30.0 {
            -l * x
        } else {
            -(x * sigmoid.ln() + (1.0 - x) * (1.0 - sigmoid).ln())
        };
        (nll, sigmoid - x)
    }

    #[test]
    fn matches_float64_values_and_derivatives_including_extreme_logits() {
        let logits = [-100.0f32, -8.0, -0.5, 0.0, 0.3, 7.0, 100.0, 2.0, -3.0];
        let targets = [0.0f32, 1.0, 0.25, 0.5, 1.0, 0.0, 1.0, 0.9, 0.1];
        let (sums, grads) = bernoulli_nll_and_grad(&logits, &targets, 3);
        assert_eq!(sums.len(), 3);
        for (row, sum) in sums.iter().enumerate() {
            let mut expected = 0.0;
            for i in row * 3..row * 3 + 3 {
                let (nll, grad) = reference(f64::from(logits[i]), f64::from(targets[i]));
                expected += nll;
                assert!(
                    (f64::from(grads[i]) - grad).abs() < 1e-6,
                    "grad {i}: {} vs {grad}",
                    grads[i]
                );
            }
            assert!(
                (f64::from(*sum) - expected).abs() < 1e-4 * expected.abs().max(1.0),
                "row {row}: {sum} vs {expected}"
            );
        }
    }

    /// Logits and targets of MNIST's size, with extreme logits among them.
    fn image_rows(rows: usize, width: usize) -> (Vec<f32>, Vec<f32>) {
        let logits = (0..rows * width)
            .map(|i| match i % 97 {
                0 => 95.0,
                1 => -95.0,
                k => (k as f32 * 0.37).sin() * 12.0,
            })
            .collect();
        let targets = (0..rows * width).map(|i| (i % 11) as f32 / 10.0).collect();
        (logits, targets)
    }

    #[test]
    fn simd_rows_of_mnist_width_match_float64_sums_and_derivatives() {
        let width = 784;
        let (logits, targets) = image_rows(3, width);
        let (sums, grads) = bernoulli_nll_and_grad(&logits, &targets, width);
        for (row, sum) in sums.iter().enumerate() {
            let mut expected = 0.0;
            for i in row * width..(row + 1) * width {
                let (nll, grad) = reference(f64::from(logits[i]), f64::from(targets[i]));
                expected += nll;
                assert!((f64::from(grads[i]) - grad).abs() < 1e-6, "grad {i}");
            }
            assert!(
                (f64::from(*sum) - expected).abs() < 1e-6 * expected,
                "row {row}: {sum} vs {expected}"
            );
        }
    }

    #[test]
    fn rows_scored_against_repeated_targets_equal_the_gradient_pass_on_copies() {
        let (width, images, repeats) = (37, 4, 5);
        let (logits, _) = image_rows(images * repeats, width);
        let (_, targets) = image_rows(images, width);
        let copies: Vec<f32> = targets
            .chunks(width)
            .flat_map(|row| std::iter::repeat_n(row, repeats).flatten().copied())
            .collect();
        let (expected, expected_grad) = bernoulli_nll_and_grad(&logits, &copies, width);
        assert_eq!(
            bernoulli_nll_rows(&logits, &targets, width, repeats),
            expected
        );
        // The gradient pass reads the targets in place the same way.
        assert_eq!(
            bernoulli_nll_and_grad_rows(&logits, &targets, width, repeats),
            (expected, expected_grad)
        );
    }

    #[test]
    fn host_importance_weights_equal_the_models_for_the_same_draws() {
        let device = Device::flex();
        let model = crate::VaeConfig::new().init(&device);
        let pixels: Vec<f32> = (0..2 * 784).map(|i| (i % 9) as f32 / 8.0).collect();
        let x = Tensor::<2>::from_data(TensorData::new(pixels, [2, 784]), &device);
        let weights = |host: bool| -> Vec<f32> {
            device.seed(3);
            let weights = if host {
                bernoulli_log_importance_weights(&model, x.clone(), None, 6, 4)
            } else {
                model.log_importance_weights(x.clone(), None, 6, 4)
            };
            weights.into_data().try_to_vec().unwrap()
        };
        // Burn initializes the weights lazily, from the random stream, at the first forward
        // pass: do that before the seeded runs, so that both draw the same noise.
        let _ = model.reconstruct(x.clone(), None).into_data();
        // The flex device's random stream is global: a test running beside this one can draw
        // from it between the seed and the draws. Such a run shows up as a mismatch, so three
        // tries are allowed; a real difference between the two paths fails all three.
        let close = |tensor: &[f32], host: &[f32]| {
            tensor
                .iter()
                .zip(host)
                .all(|(a, b)| (a - b).abs() < 1e-4 * a.abs())
        };
        let mut tries = Vec::new();
        for _ in 0..3 {
            let (tensor, host) = (weights(false), weights(true));
            assert_eq!(host.len(), 2 * 6);
            assert!(tensor.windows(2).any(|w| w[0] != w[1]));
            if close(&tensor, &host) {
                return;
            }
            tries.push((tensor, host));
        }
        panic!("the host weights differ from the model's in three tries: {tries:?}");
    }

    #[test]
    #[should_panic(expected = "not 5 rows per target row")]
    fn targets_that_do_not_fit_the_repeats_are_refused() {
        bernoulli_nll_rows(&[0.0; 12], &[0.0; 4], 2, 5);
    }

    #[test]
    fn many_rows_split_across_threads_give_each_row_its_own_sum() {
        let width = 5;
        let logits: Vec<f32> = (0..1000 * width).map(|i| (i % 7) as f32 - 3.0).collect();
        let targets = vec![0.5f32; logits.len()];
        let (sums, _) = bernoulli_nll_and_grad(&logits, &targets, width);
        for (row, sum) in sums.iter().enumerate() {
            let (one, _) = bernoulli_nll_and_grad(
                &logits[row * width..(row + 1) * width],
                &targets[..width],
                width,
            );
            assert_eq!(*sum, one[0], "row {row}");
        }
    }
}
