//! The training objectives: the IWAE bound against the ELBO, free bits' gradients and reported
//! loss, and the KL warm-up schedule.

use burn::prelude::*;
use vae_model::{KlWarmupConfig, Likelihood, ObjectiveConfig, Vae, VaeConfig, kl_penalty};

mod support;
use support::{seeded_flex, values};

/// A small MLP VAE on 12-pixel images, with fixed weights (seed 5).
fn model(device: &Device) -> Vae {
    device.seed(5);
    VaeConfig::new()
        .with_input_dim(12)
        .with_hidden_dims(vec![16])
        .with_latent_dim(3)
        .init(device)
}

/// `copies` copies of each of three binary images, `[3 * copies, 12]`.
fn images(copies: usize, device: &Device) -> Tensor<2> {
    let rows: [[f32; 12]; 3] = [
        [1., 0., 1., 1., 0., 0., 1., 1., 0., 0., 0., 1.],
        [0., 0., 0., 1., 1., 1., 0., 1., 0., 1., 1., 0.],
        [1., 1., 1., 1., 1., 1., 0., 0., 0., 0., 0., 0.],
    ];
    let flat: Vec<f32> = (0..copies)
        .flat_map(|_| rows.iter().flatten().copied())
        .collect();
    Tensor::<1>::from_floats(flat.as_slice(), device).reshape([3 * copies, 12])
}

fn mean_and_stderr(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

#[test]
fn the_one_sample_bound_has_the_elbo_as_its_expectation() {
    let (_rng, device) = seeded_flex(1);
    let vae = model(&device);
    let x = images(1000, &device);
    // k = 1: log w = log p(x|z) + log p(z) - log q(z|x), one draw per copy.
    let bound = values(
        vae.importance_weighted_log_likelihood(x.clone(), None, 1, 1)
            .neg(),
    );
    let elbo = values(
        vae.objective(x, None, &ObjectiveConfig::new(), 1.0)
            .terms
            .loss,
    );
    let (bound_mean, bound_err) = mean_and_stderr(&bound);
    let (elbo_mean, elbo_err) = mean_and_stderr(&elbo);
    let tolerance = 4.0 * (bound_err.powi(2) + elbo_err.powi(2)).sqrt();
    assert!(
        (bound_mean - elbo_mean).abs() < tolerance,
        "k = 1 bound {bound_mean} ± {bound_err}, ELBO {elbo_mean} ± {elbo_err}"
    );
}

#[test]
fn the_bound_tightens_as_k_grows() {
    let (_rng, device) = seeded_flex(2);
    let vae = model(&device);
    let x = images(300, &device);
    let mut previous = f64::INFINITY;
    for k in [1, 5, 50] {
        let objective = ObjectiveConfig::new().with_samples(k);
        let output = vae.objective(x.clone(), None, &objective, 1.0);
        let bound = match output.bound {
            Some(bound) => values(bound),
            None => values(output.terms.loss),
        };
        let (mean, _) = mean_and_stderr(&bound);
        assert!(
            mean < previous,
            "-bound with k = {k}: {mean}, before: {previous}"
        );
        // The objective is the batch sum of what is reported per example.
        let objective_value = values(output.objective)[0];
        if k > 1 {
            let sum: f64 = bound.iter().sum();
            assert!(
                (objective_value - sum).abs() < 1e-3 * sum.abs(),
                "{objective_value} vs {sum}"
            );
        }
        previous = mean;
    }
}

#[test]
fn free_bits_zero_the_kl_gradient_below_the_floor_and_keep_it_above() {
    let device = Device::flex().autodiff();
    // Two examples, three dimensions: batch-mean KL 0.6 (below λ = 1), 2.5 (above), 1.0.
    let kl = Tensor::<1>::from_floats([0.5, 2.0, 0.9, 0.7, 3.0, 1.1], &device)
        .reshape([2, 3])
        .require_grad();
    let beta = 0.7;
    let floored = kl_penalty(kl.clone(), beta, 1.0);
    let plain = kl_penalty(kl.clone(), beta, 0.0);
    let with_floor = values(kl.grad(&floored.backward()).unwrap());
    let without = values(kl.grad(&plain.backward()).unwrap());
    for example in 0..2 {
        let row = |g: &[f64], d: usize| g[example * 3 + d];
        assert_eq!(row(&with_floor, 0), 0.0, "below the floor");
        assert!(
            (row(&with_floor, 1) - row(&without, 1)).abs() < 1e-6,
            "above the floor"
        );
        assert!((row(&without, 1) - beta).abs() < 1e-6);
    }
    // The value: β * batch * (λ + 2.5 + 1.0) with the floor, β * Σ KL without.
    let floored = kl_penalty(kl.clone(), beta, 1.0).into_scalar::<f64>();
    assert!((floored - beta * 2.0 * 4.5).abs() < 1e-5, "{floored}");
    let plain = kl_penalty(kl, beta, 0.0).into_scalar::<f64>();
    assert!((plain - beta * 8.2).abs() < 1e-5, "{plain}");
}

#[test]
fn under_free_bits_the_reported_loss_is_the_unclamped_negative_elbo() {
    let (_rng, device) = seeded_flex(3);
    let vae = model(&device);
    let x = images(4, &device);
    let free_bits = ObjectiveConfig::new().with_free_bits(5.0);
    // Initialize the (lazy) weights now, so that both passes draw the same noise.
    let _ = vae.reconstruct(x.clone(), None).into_data();
    // A KL weight other than 1: the reported loss must still weight the KL by 1.
    device.seed(9);
    let floored = vae.objective(x.clone(), None, &free_bits, 0.5);
    device.seed(9);
    let plain = vae.objective(x, None, &ObjectiveConfig::new(), 0.5);
    let reported = values(floored.terms.loss);
    assert_eq!(reported, values(plain.terms.loss));
    let elbo: Vec<f64> = values(plain.terms.reconstruction)
        .iter()
        .zip(values(plain.terms.kl))
        .map(|(r, k)| r + k)
        .collect();
    for (a, b) in reported.iter().zip(&elbo) {
        assert!((a - b).abs() < 1e-4, "{a} vs {b}");
    }
    // The floor (5 nats per dimension, 3 dimensions) lies above this model's KL, so the
    // objective is larger than the negative ELBO it reports.
    let objective = values(floored.objective)[0];
    assert!(objective > reported.iter().sum::<f64>(), "{objective}");
}

#[test]
fn the_warm_up_rises_linearly_then_holds() {
    let warmup = KlWarmupConfig::new(100);
    for (step, expected) in [
        (0, 0.0),
        (25, 0.25),
        (50, 0.5),
        (99, 0.99),
        (100, 1.0),
        (10_000, 1.0),
    ] {
        assert!(
            (warmup.beta(1.0, step) - expected).abs() < 1e-12,
            "step {step}"
        );
    }
    let from_a_start = KlWarmupConfig::new(10).with_start(0.2);
    assert!((from_a_start.beta(0.6, 5) - 0.4).abs() < 1e-12);
    assert_eq!(KlWarmupConfig::new(0).beta(0.6, 0), 0.6);
    assert!(KlWarmupConfig::new(10).with_start(-1.0).validate().is_err());
}

#[test]
fn bad_objectives_name_the_field_and_the_fix() {
    let cases = [
        (ObjectiveConfig::new().with_samples(0), "`samples` is 0"),
        (
            ObjectiveConfig::new().with_free_bits(-0.5),
            "`free_bits` is -0.5",
        ),
        (
            ObjectiveConfig::new().with_samples(5).with_free_bits(0.5),
            "set `free_bits` to 0 or `samples` to 1",
        ),
    ];
    for (config, expected) in cases {
        let error = config.validate().unwrap_err().to_string();
        assert!(error.contains(expected), "{error}");
    }
    assert!(ObjectiveConfig::new().validate().is_ok());
}

/// With a KL weight β ≠ 1, the IWAE objective weights `log p(z) - log q(z|x)` by β, while the
/// reported bound is the unweighted one and the reported loss the true negative ELBO.
#[test]
fn a_kl_weight_scales_only_the_objective() {
    let (_rng, device) = seeded_flex(4);
    let vae = model(&device);
    let x = images(2, &device);
    let _ = vae.reconstruct(x.clone(), None).into_data(); // initialize the lazy weights
    let k = 4;
    let beta = 0.3;
    let objective = ObjectiveConfig::new().with_samples(k);
    device.seed(21);
    let output = vae.objective(x.clone(), None, &objective, beta);
    // The same draws, by hand: log w = log p(x|z) + log p(z) - log q(z|x).
    device.seed(21);
    let posterior = vae.encode(x.clone(), None);
    let mut log_px = Vec::new();
    let log_w = values(vae_model::log_importance_weights(
        &posterior,
        k,
        k,
        |z, count| {
            let params = vae.decode(z, None);
            let value = vae
                .likelihood
                .nll(params, vae_model::repeat_each(x.clone(), count))
                .neg();
            log_px = values(value.clone());
            value
        },
    ));
    let log_mean_exp = |row: &[f64]| {
        let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        max + (row.iter().map(|v| (v - max).exp()).sum::<f64>() / row.len() as f64).ln()
    };
    let mut expected_objective = 0.0;
    let mut expected_bound = Vec::new();
    for example in 0..6 {
        let w = &log_w[example * k..(example + 1) * k];
        let px = &log_px[example * k..(example + 1) * k];
        let weighted: Vec<f64> = w.iter().zip(px).map(|(w, p)| p + beta * (w - p)).collect();
        expected_objective -= log_mean_exp(&weighted);
        expected_bound.push(-log_mean_exp(w));
    }
    let objective_value = values(output.objective)[0];
    assert!(
        (objective_value - expected_objective).abs() < 1e-3 * expected_objective.abs(),
        "{objective_value} vs {expected_objective}"
    );
    for (got, want) in values(output.bound.unwrap()).iter().zip(&expected_bound) {
        assert!((got - want).abs() < 1e-3, "bound {got} vs {want}");
    }
    // The reported loss: the mean over the k samples of -log p(x|z), plus the analytic KL.
    let kl = values(posterior.kl_to_standard_normal());
    for (example, loss) in values(output.terms.loss).iter().enumerate() {
        let px = &log_px[example * k..(example + 1) * k];
        let expected = -px.iter().sum::<f64>() / k as f64 + kl[example];
        assert!((loss - expected).abs() < 1e-3, "loss {loss} vs {expected}");
    }
}
