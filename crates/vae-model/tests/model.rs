//! Behaviour of the model: shapes, config validation, the reparameterization's gradients,
//! and the saved record round trip.

use burn::module::Module;
use burn::prelude::*;
use burn::tensor::Distribution;
use vae_model::{ActivationConfig, Bernoulli, Vae, VaeConfig, VaeError};

mod support;

fn test_device() -> (std::sync::MutexGuard<'static, ()>, Device) {
    support::seeded_flex(7)
}

fn small_config() -> VaeConfig {
    VaeConfig::new()
        .with_input_dim(20)
        .with_hidden_dims(vec![16, 8])
        .with_latent_dim(3)
}

fn images(batch: usize, dim: usize, device: &Device) -> Tensor<2> {
    Tensor::random([batch, dim], Distribution::Uniform(0.0, 1.0), device)
}

#[test]
fn shapes_follow_the_config() {
    let (_rng, device) = test_device();
    let vae = small_config().init(&device);
    let x = images(5, 20, &device);
    let forward = vae.forward(x.clone(), None);
    assert_eq!(forward.posterior.mean.dims(), [5, 3]);
    assert_eq!(forward.posterior.log_var.dims(), [5, 3]);
    assert_eq!(forward.z.dims(), [5, 3]);
    assert_eq!(forward.params.dims(), [5, 20]);
    let terms = vae.loss(x.clone(), None);
    assert_eq!(terms.loss.dims(), [5]);
    assert_eq!(terms.reconstruction.dims(), [5]);
    assert_eq!(terms.kl.dims(), [5]);
    assert_eq!(vae.reconstruct(x, None).dims(), [5, 20]);
    let samples = vae.generate(4, None, &device);
    assert_eq!(samples.dims(), [4, 20]);
    let pixels = samples.into_data().try_to_vec::<f32>().unwrap();
    assert!(pixels.iter().all(|p| (0.0..=1.0).contains(p)));
}

#[test]
fn pytorch_parity_model_has_pytorchs_parameter_count() {
    // PyTorch examples/vae: fc1 784x400, fc21/fc22 400x20, fc3 20x400, fc4 400x784.
    let (_rng, device) = test_device();
    let vae = VaeConfig::new().init(&device);
    assert_eq!(vae.num_params(), 652_824);
}

#[test]
fn no_hidden_layers_is_a_linear_vae() {
    let (_rng, device) = test_device();
    let vae = VaeConfig::new()
        .with_input_dim(6)
        .with_hidden_dims(vec![])
        .with_latent_dim(2)
        .init(&device);
    assert_eq!(vae.num_params(), 2 * (6 * 2 + 2) + (2 * 6 + 6));
    assert_eq!(vae.loss(images(3, 6, &device), None).loss.dims(), [3]);
}

#[test]
fn invalid_configs_name_the_field() {
    let (_rng, device) = test_device();
    let cases = [
        (small_config().with_latent_dim(0), "latent_dim"),
        (small_config().with_input_dim(0), "input_dim"),
        (
            small_config().with_hidden_dims(vec![16, 0]),
            "hidden_dims[1]",
        ),
        (small_config().with_beta(-1.0), "beta"),
        (small_config().with_beta(f64::NAN), "beta"),
    ];
    for (config, field) in cases {
        let error = config.try_init(&device).expect_err(field);
        assert!(error.to_string().contains(field), "{error}");
    }
    let swiglu = small_config().with_activation(ActivationConfig::SwiGlu(
        burn::nn::activation::SwiGluConfig::new(16, 16),
    ));
    assert!(matches!(
        swiglu.validate(),
        Err(VaeError::UnsupportedActivation(_))
    ));
}

#[test]
fn a_condition_is_required_exactly_when_the_model_is_conditional() {
    let (_rng, device) = test_device();
    let plain = small_config().init(&device);
    let c = Tensor::<2>::zeros([2, 10], &device);
    assert!(plain.check_condition(None, 2).is_ok());
    let error = plain.check_condition(Some(&c), 2).unwrap_err();
    assert!(error.to_string().contains("no condition"), "{error}");
    assert!(error.to_string().contains("[2, 10]"), "{error}");

    let config = small_config();
    let conditional = Vae::new(
        config.encoder(10).init(&device),
        config.decoder(10).init(&device),
        Bernoulli,
        config.latent_dim,
    )
    .with_condition_dim(10);
    assert!(conditional.check_condition(Some(&c), 2).is_ok());
    assert!(conditional.check_condition(None, 2).is_err());
    assert!(conditional.check_condition(Some(&c), 3).is_err());
}

#[test]
fn gradients_reach_the_encoder_through_the_sample() {
    let (_rng, device) = test_device();
    let device = device.autodiff();
    let vae = small_config().init(&device);
    // Only the reconstruction term: its gradient reaches the encoder *only* through z.
    let x = images(8, 20, &device);
    let terms = vae.loss(x, None);
    let grads = terms.reconstruction.mean().backward();
    let head = vae
        .encoder
        .log_var
        .weight
        .grad(&grads)
        .expect("log_var head has a gradient");
    let norm: f32 = head.abs().sum().into_scalar();
    assert!(norm > 0.0, "no gradient reached the log-variance head");
    let first = vae.encoder.body.layers[0]
        .weight
        .grad(&grads)
        .expect("first layer gradient");
    let norm: f32 = first.abs().sum().into_scalar();
    assert!(norm > 0.0, "no gradient reached the first encoder layer");
}

#[test]
fn sampling_is_reproducible_with_a_seed_and_varies_without() {
    let (_rng, device) = test_device();
    let vae = small_config().init(&device);
    let x = images(4, 20, &device);
    let posterior = vae.encode(x, None);
    device.seed(3);
    let a = posterior.sample().into_data();
    device.seed(3);
    let b = posterior.sample().into_data();
    let c = posterior.sample().into_data();
    assert_eq!(a, b);
    assert_ne!(b, c);
}

#[test]
fn a_saved_record_loads_into_a_fresh_model_with_identical_outputs() {
    let (_rng, device) = test_device();
    let config = small_config();
    let trained = config.init(&device);
    let x = images(6, 20, &device);
    let expected = trained.reconstruct(x.clone(), None).into_data();

    let dir = std::env::temp_dir().join(format!("vae-model-record-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.bpk");
    trained.save_file(&path).expect("save");
    let fresh = config.init(&device);
    assert_ne!(fresh.reconstruct(x.clone(), None).into_data(), expected);
    let loaded = fresh.try_load_file(&path).expect("load");
    assert_eq!(loaded.reconstruct(x, None).into_data(), expected);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn config_round_trips_through_json() {
    let config = small_config().with_beta(2.5);
    let json = serde_json::to_string(&config).unwrap();
    let back: VaeConfig = serde_json::from_str(&json).unwrap();
    assert_eq!(serde_json::to_string(&back).unwrap(), json);
    assert_eq!(back.hidden_dims, vec![16, 8]);
    assert_eq!(back.beta, 2.5);
}
