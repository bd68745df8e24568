//! The importance-weighted log-likelihood against `log p(x)` computed by numerical
//! integration, for a VAE with a one-dimensional latent where the integral is cheap.

use burn::prelude::*;
use vae_model::{Vae, VaeConfig, log_mean_exp};

mod support;
use support::{lock_rng, values};

/// Binary images of 6 pixels.
const IMAGES: [[f32; 6]; 4] = [
    [1.0, 0.0, 1.0, 1.0, 0.0, 0.0],
    [0.0, 0.0, 0.0, 1.0, 1.0, 1.0],
    [1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
    [0.0, 1.0, 0.0, 0.0, 1.0, 0.0],
];

fn model(device: &Device) -> Vae {
    device.seed(11);
    VaeConfig::new()
        .with_input_dim(6)
        .with_hidden_dims(vec![8])
        .with_latent_dim(1)
        .init(device)
}

fn images(device: &Device) -> Tensor<2> {
    let flat: Vec<f32> = IMAGES.iter().flatten().copied().collect();
    Tensor::<1>::from_floats(flat.as_slice(), device).reshape([IMAGES.len(), 6])
}

/// `log p(x) = log ∫ N(z; 0, 1) p(x|z) dz` by the trapezoid rule on [-12, 12], in f64
/// (the decoder runs in f32 on a grid of z; the integrand is smooth).
fn exact_log_likelihood(vae: &Vae, device: &Device) -> Vec<f64> {
    let steps = 24_000;
    let grid: Vec<f32> = (0..=steps)
        .map(|i| -12.0 + 24.0 * i as f32 / steps as f32)
        .collect();
    let z = Tensor::<1>::from_floats(grid.as_slice(), device).reshape([grid.len(), 1]);
    let logits = vae.decode(z, None).into_data().try_to_vec::<f32>().unwrap(); // [grid, 6]
    let dz = 24.0 / steps as f64;
    IMAGES
        .iter()
        .map(|x| {
            let mut integral = 0.0;
            for (i, &zi) in grid.iter().enumerate() {
                let mut log_p =
                    -0.5 * f64::from(zi).powi(2) - 0.5 * (2.0 * std::f64::consts::PI).ln();
                for (j, &xj) in x.iter().enumerate() {
                    let l = f64::from(logits[i * 6 + j]);
                    // log sigmoid(l) if x = 1, log sigmoid(-l) if x = 0
                    let signed = if xj == 1.0 { l } else { -l };
                    log_p -= (1.0 + (-signed).exp()).ln();
                }
                let weight = if i == 0 || i == steps { 0.5 } else { 1.0 };
                integral += weight * log_p.exp() * dz;
            }
            integral.ln()
        })
        .collect()
}

#[test]
fn converges_to_the_exact_log_likelihood_and_bounds_it_from_below() {
    let _rng = lock_rng();
    let device = Device::flex();
    let vae = model(&device);
    let exact = exact_log_likelihood(&vae, &device);
    let x = images(&device);

    // Each column of the weights is a one-sample estimate: their mean is the ELBO.
    let weights = vae.log_importance_weights(x.clone(), None, 20_000, 4096);
    assert_eq!(weights.dims(), [4, 20_000]);
    let elbo = values(weights.clone().mean_dim(1).squeeze_dim::<1>(1));
    let iw = values(log_mean_exp(weights.clone()));
    // E[IW with K samples], averaged over the 20,000 / K groups of K weights of each image.
    let expected_iw = |k: usize| {
        values(
            log_mean_exp(weights.clone().reshape([4 * 20_000 / k, k]))
                .reshape([4, 20_000 / k])
                .mean_dim(1)
                .squeeze_dim::<1>(1),
        )
    };
    let (iw_5, iw_50) = (expected_iw(5), expected_iw(50));

    // An untrained encoder is far from the true posterior for some image.
    let largest_gap = (0..IMAGES.len())
        .map(|i| exact[i] - elbo[i])
        .fold(0.0, f64::max);
    assert!(
        largest_gap > 0.1,
        "the ELBO is nearly exact everywhere ({largest_gap})"
    );
    for i in 0..IMAGES.len() {
        // The ELBO is below log p(x) by KL(q(z|x) || p(z|x)) >= 0 (its Monte Carlo error over
        // 20,000 samples is a few thousandths of a nat).
        assert!(
            exact[i] - elbo[i] > 0.0,
            "image {i}: ELBO {} is not below log p(x) {}",
            elbo[i],
            exact[i]
        );
        // 20,000 samples in one dimension: the estimate is within 0.01 nats, and much closer
        // than with 50 samples (the bias of the bound shrinks like 1/K).
        assert!(
            (iw[i] - exact[i]).abs() < 0.01,
            "image {i}: IW estimate {} vs exact {}",
            iw[i],
            exact[i]
        );
        // More samples, tighter bound: ELBO <= E[IW_5] <= E[IW_50] <= log p(x), up to Monte
        // Carlo error; strictly so where the ELBO is far off.
        let tolerance = if exact[i] - elbo[i] > 0.1 { 0.0 } else { 0.005 };
        assert!(
            elbo[i] < iw_5[i] + tolerance
                && iw_5[i] < iw_50[i] + tolerance
                && iw_50[i] < exact[i] + 0.005,
            "image {i}: ELBO {}, K=5 {}, K=50 {}, exact {}",
            elbo[i],
            iw_5[i],
            iw_50[i],
            exact[i]
        );
    }
}

#[test]
fn small_uneven_chunks_give_the_same_per_image_estimate() {
    let _rng = lock_rng();
    let device = Device::flex();
    let vae = model(&device);
    let exact = exact_log_likelihood(&vae, &device);
    // 3000 samples in chunks of 7 (the last one short): a chunk that mixed images up or
    // reused noise would move each image's estimate away from its own log p(x).
    let iw = values(vae.importance_weighted_log_likelihood(images(&device), None, 3000, 7));
    for i in 0..IMAGES.len() {
        assert!(
            (iw[i] - exact[i]).abs() < 0.015,
            "image {i}: {} vs {}",
            iw[i],
            exact[i]
        );
    }
}

#[test]
fn log_mean_exp_is_stable_for_large_magnitudes() {
    let device = Device::flex();
    let v = Tensor::<1>::from_floats([-1000.0, -1000.0, 1000.0, 1000.0], &device).reshape([2, 2]);
    let out = values(log_mean_exp(v));
    assert!(
        (out[0] + 1000.0).abs() < 1e-3 && (out[1] - 1000.0).abs() < 1e-3,
        "{out:?}"
    );
}
