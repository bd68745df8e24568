//! Anomaly scores: their relations to each other, and that a trained model scores an input
//! unlike its training data higher on all three.

use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use vae_model::applications::{AnomalyScore, auroc};
use vae_model::{Vae, VaeConfig};

mod support;
use support::{seeded_flex, values};

const NORMAL: [[f32; 12]; 3] = [
    [1., 0., 1., 1., 0., 0., 1., 1., 0., 0., 0., 1.],
    [0., 0., 0., 1., 1., 1., 0., 1., 0., 1., 1., 0.],
    [1., 1., 1., 1., 1., 1., 0., 0., 0., 0., 0., 0.],
];

/// `copies` copies of each row, `[rows * copies, 12]`.
fn images(rows: &[[f32; 12]], copies: usize, device: &Device) -> Tensor<2> {
    let flat: Vec<f32> = (0..copies)
        .flat_map(|_| rows.iter().flatten().copied())
        .collect();
    Tensor::<1>::from_floats(flat.as_slice(), device).reshape([rows.len() * copies, 12])
}

fn model(device: &Device) -> Vae {
    device.seed(5);
    VaeConfig::new()
        .with_input_dim(12)
        .with_hidden_dims(vec![16])
        .with_latent_dim(3)
        .init(device)
}

#[test]
fn the_scores_agree_with_their_definitions() {
    let (_rng, device) = seeded_flex(2);
    let vae = model(&device);
    let x = images(&NORMAL, 2, &device);

    // One sample: the importance-weighted bound is that sample's ELBO.
    let one = vae.anomaly_scores(x.clone(), None, 1, 1);
    assert_eq!(
        values(one.negative_elbo.clone()),
        values(one.negative_iw_bound.clone())
    );

    // Eight samples: log-mean-exp of the same weights is never below their mean.
    let scores = vae.anomaly_scores(x.clone(), None, 8, 3);
    let elbo = values(scores.negative_elbo.clone());
    let bound = values(scores.negative_iw_bound.clone());
    assert_eq!(elbo.len(), 6);
    for (e, b) in elbo.iter().zip(&bound) {
        assert!(b.is_finite() && *b <= e + 1e-4, "bound {b} above ELBO {e}");
    }
    assert!(
        elbo.iter().zip(&bound).any(|(e, b)| e - b > 1e-3),
        "eight samples gave no gap between the ELBO and the bound: {elbo:?} {bound:?}"
    );

    // The reconstruction error is the squared distance to the deterministic reconstruction.
    let pixels = values(x.clone());
    let reconstructed = values(vae.reconstruct(x, None));
    let by_hand: Vec<f64> = pixels
        .chunks(12)
        .zip(reconstructed.chunks(12))
        .map(|(a, b)| a.iter().zip(b).map(|(p, r)| (p - r).powi(2)).sum())
        .collect();
    let error = values(scores.get(AnomalyScore::ReconstructionError).clone());
    for (a, b) in error.iter().zip(&by_hand) {
        assert!((a - b).abs() < 1e-4, "{error:?} against {by_hand:?}");
    }
}

#[test]
fn a_trained_model_scores_unseen_patterns_above_its_training_patterns() {
    let (_rng, device) = seeded_flex(3);
    let device = device.autodiff();
    let mut vae = model(&device);
    let data = images(&NORMAL, 8, &device);
    let mut adam = AdamConfig::new().init();
    for _ in 0..300 {
        let loss = vae.loss(data.clone(), None).mean_loss();
        let grads = GradientsParams::from_grads(loss.backward(), &vae);
        vae = adam.step(1e-2, vae, grads);
    }
    let vae = vae.valid();
    let device = Device::flex();
    // The complements of the training patterns: as many ones, none in the same places.
    let anomalous: Vec<[f32; 12]> = NORMAL.iter().map(|r| r.map(|p| 1.0 - p)).collect();
    let mut rows = NORMAL.to_vec();
    rows.extend(&anomalous);
    let x = images(&rows, 1, &device);
    let is_anomalous = [false, false, false, true, true, true];
    let scores = vae.anomaly_scores(x, None, 64, 16);
    for score in AnomalyScore::ALL {
        let values = values(scores.get(score).clone());
        let area = auroc(&values, &is_anomalous).unwrap();
        assert_eq!(area, 1.0, "{}: {values:?}", score.name());
    }
}
