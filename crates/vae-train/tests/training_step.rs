//! The training step the `Learner` runs ([`TrainingVae`]): the step guard withholds a
//! non-finite update, and the host reconstruction term gives the tensor formula's loss and
//! gradients. In a test binary of their own, because both seed Flex's process-wide random
//! number generator and expect the same draws.

use std::sync::{Mutex, MutexGuard};

use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::Distribution;
use burn::train::TrainStep;
use vae_model::train::VaeBatch;
use vae_model::{ObjectiveConfig, Vae, VaeConfig};
use vae_train::train::step::TrainingVae;
use vae_train::train::step_guard::{NonFinitePolicy, StepGuard};

/// Flex's random number generator is global to the process: each test holds this lock
/// while it draws random numbers.
static RNG: Mutex<()> = Mutex::new(());

fn test_device() -> (MutexGuard<'static, ()>, Device) {
    let guard = RNG.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex();
    device.seed(7);
    (guard, device)
}

/// A step whose loss is not finite applies no update (Adam leaves the weights as they are) and
/// is reported; a finite one afterwards trains as usual.
#[test]
fn the_step_guard_withholds_a_non_finite_update() {
    let (_rng, device) = test_device();
    let device = device.autodiff();
    let guard = StepGuard::new(NonFinitePolicy::Skip);
    let model = TrainingVae::new(
        VaeConfig::new()
            .with_hidden_dims(vec![16])
            .with_latent_dim(2)
            .init(&device),
    )
    .with_step_guard(guard.clone());
    let images = Tensor::<2>::random([4, 784], Distribution::Default, &device);
    let probe = images.clone().slice([0..1, 0..784]);
    let weights = |m: &TrainingVae<Vae>| m.model.reconstruct(probe.clone(), None).into_data();
    let before = weights(&model);
    let mut optimizer = AdamConfig::new().init();

    let poisoned = images
        .clone()
        .mask_fill(images.clone().greater_elem(0.5), f32::NAN);
    let output = TrainStep::step(
        &model,
        VaeBatch {
            images: poisoned,
            targets: None,
            condition: None,
        },
    );
    assert!(output.item.skipped);
    assert!(output.grads.is_empty());
    let model = optimizer.step(1e-2, model, output.grads);
    assert_eq!(
        weights(&model),
        before,
        "a non-finite step changed the weights"
    );
    let report = guard.report();
    assert_eq!((report.steps, report.non_finite_steps), (1, 1));
    assert!(report.first_non_finite.unwrap().loss.is_nan());

    let output = TrainStep::step(
        &model,
        VaeBatch {
            images,
            targets: None,
            condition: None,
        },
    );
    assert!(!output.item.skipped);
    let model = optimizer.step(1e-2, model, output.grads);
    assert_ne!(weights(&model), before, "a finite step did not train");
}

/// A 784-`hidden`-3 model on the autodiff `device` and 6 random images, with the (lazy) weights
/// initialized already, so that later seeded runs draw the same noise.
fn small_model(device: Device, hidden: usize) -> (Device, TrainingVae<Vae>, Tensor<2>) {
    let device = device.autodiff();
    let model = TrainingVae::new(
        VaeConfig::new()
            .with_hidden_dims(vec![hidden])
            .with_latent_dim(3)
            .init(&device),
    );
    let images = Tensor::<2>::random([6, 784], Distribution::Default, &device);
    let _ = model.model.reconstruct(images.clone(), None).into_data();
    (device, model, images)
}

/// The host-fused reconstruction term gives the loss and the gradients of the tensor one (same
/// noise), up to `f32` rounding: under the ELBO, under free bits and under the importance-weighted
/// bound.
#[test]
fn host_reconstruction_matches_the_tensor_loss_and_its_gradients() {
    let (_rng, device) = test_device();
    let (device, model, images) = small_model(device, 32);
    // Targets other than the inputs, as a denoising run has.
    let targets = Tensor::<2>::random([6, 784], Distribution::Default, &device);
    let run_with = |host: bool, objective: ObjectiveConfig, denoising: bool| {
        let model = model
            .clone()
            .with_host_reconstruction(host)
            .with_objective(objective);
        device.seed(11);
        let output = model.step_objective(VaeBatch {
            images: images.clone(),
            targets: denoising.then(|| targets.clone()),
            condition: None,
        });
        let (terms, surrogate) = (output.terms, output.objective);
        let bound = output
            .bound
            .map(|b| b.into_data().try_to_vec::<f32>().unwrap());
        let value = surrogate.clone().into_scalar::<f32>();
        let grads = GradientsParams::from_grads(surrogate.backward(), &model);
        let weight = |id| {
            grads
                .get::<2>(id)
                .expect("a gradient for every weight")
                .into_data()
                .try_to_vec::<f32>()
                .unwrap()
        };
        (
            terms.loss.into_data().try_to_vec::<f32>().unwrap(),
            weight(model.model.encoder.body.layers[0].weight.id),
            weight(model.model.decoder.output.weight.id),
            bound,
            value,
        )
    };
    let run = |host: bool, free_bits: f64, denoising: bool| {
        run_with(
            host,
            ObjectiveConfig::new().with_free_bits(free_bits),
            denoising,
        )
    };
    let close = |a: &[f32], b: &[f32], what: &str| {
        let scale = a.iter().map(|v| v.abs()).fold(1e-3, f32::max);
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() <= 1e-4 * scale, "{what}: {x} vs {y}");
        }
    };
    let mut first_weights = Vec::new();
    for free_bits in [0.0, 0.5] {
        let (tensor, host) = (run(false, free_bits, false), run(true, free_bits, false));
        close(&tensor.0, &host.0, "loss per image");
        close(&tensor.1, &host.1, "first encoder weight gradient");
        close(&tensor.2, &host.2, "decoder output weight gradient");
        assert!(tensor.1.iter().any(|g| *g != 0.0));
        first_weights.push(tensor.1);
    }
    // The floor changes the encoder's gradient (its KL part), not the reported loss.
    assert_ne!(first_weights[0], first_weights[1]);
    // With targets, both paths score the targets, not the inputs.
    let (tensor, host) = (run(false, 0.0, true), run(true, 0.0, true));
    close(&tensor.0, &host.0, "denoising loss per image");
    close(
        &tensor.2,
        &host.2,
        "denoising decoder output weight gradient",
    );
    assert_ne!(tensor.0, run(false, 0.0, false).0);
    // The importance-weighted bound (k = 5), with and without targets: the host term gives the
    // bound, the objective's value (here the bound's sum, not a surrogate) and the gradients.
    for denoising in [false, true] {
        let iwae = || ObjectiveConfig::new().with_samples(5);
        let (tensor, host) = (
            run_with(false, iwae(), denoising),
            run_with(true, iwae(), denoising),
        );
        close(&tensor.0, &host.0, "IWAE: negative ELBO per image");
        let (tensor_bound, host_bound) = (tensor.3.unwrap(), host.3.unwrap());
        close(&tensor_bound, &host_bound, "IWAE: bound per image");
        close(&[tensor.4], &[host.4], "IWAE: objective");
        close(&tensor.1, &host.1, "IWAE: first encoder weight gradient");
        close(&tensor.2, &host.2, "IWAE: decoder output weight gradient");
        let sum: f32 = host_bound.iter().sum();
        assert!(
            (sum - host.4).abs() <= 1e-4 * sum.abs(),
            "{sum} vs {}",
            host.4
        );
    }
}

/// The objective is a batch sum, so the gradient of a batch is the sum of its halves'
/// gradients (same noise): what `vae train --devices a,b` sums in one optimizer step is the
/// gradient of the two devices' batches taken as one.
#[test]
fn a_batchs_gradient_is_the_sum_of_its_halves_gradients() {
    let (_rng, device) = test_device();
    let (device, model, images) = small_model(device, 16);
    let gradient = |rows: std::ops::Range<usize>| {
        let output = TrainStep::step(
            &model,
            VaeBatch {
                images: images.clone().slice([rows, 0..784]),
                targets: None,
                condition: None,
            },
        );
        let weight = |id| {
            output
                .grads
                .get::<2>(id)
                .expect("a gradient for every weight")
                .into_data()
                .try_to_vec::<f32>()
                .unwrap()
        };
        [
            weight(model.model.encoder.body.layers[0].weight.id),
            weight(model.model.decoder.output.weight.id),
        ]
    };
    // One draw of noise for 6 images is the draws for the first 3, then the last 3.
    device.seed(11);
    let whole = gradient(0..6);
    device.seed(11);
    let (first, second) = (gradient(0..3), gradient(3..6));
    for ((whole, first), second) in whole.iter().zip(&first).zip(&second) {
        let scale = whole.iter().map(|v| v.abs()).fold(1e-3, f32::max);
        assert!(whole.iter().any(|g| *g != 0.0));
        for ((w, a), b) in whole.iter().zip(first).zip(second) {
            assert!((w - (a + b)).abs() <= 1e-4 * scale, "{w} vs {a} + {b}");
        }
        // Not the mean: a batch-mean objective would halve the sum.
        assert!(
            first
                .iter()
                .zip(second)
                .any(|(a, b)| (a + b).abs() > 1e-3 * scale)
        );
    }
}
