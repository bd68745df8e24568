//! The slots: a user-defined encoder plugged into a shipped decoder and likelihood trains,
//! saves and reloads; the convolutional networks keep any image shape; conditions reach both
//! networks.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig, Tanh};
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::Distribution;
use vae_model::{
    ActivationConfig, Bernoulli, ContinuousBernoulli, ConvDecoderConfig, ConvEncoderConfig,
    Decoder, DiagonalGaussian, Encoder, ImageShape, MlpDecoderConfig, MlpEncoderConfig, Vae,
};

mod support;

fn test_device() -> (std::sync::MutexGuard<'static, ()>, Device) {
    support::seeded_flex(5)
}

/// An encoder this crate does not ship: one tanh layer, then the two heads.
#[derive(Module, Debug)]
struct TanhEncoder {
    hidden: Linear,
    activation: Tanh,
    mean: Linear,
    log_var: Linear,
}

impl TanhEncoder {
    fn new(input: usize, latent: usize, device: &Device) -> Self {
        Self {
            hidden: LinearConfig::new(input, 32).init(device),
            activation: Tanh::new(),
            mean: LinearConfig::new(32, latent).init(device),
            log_var: LinearConfig::new(32, latent).init(device),
        }
    }
}

impl Encoder for TanhEncoder {
    fn encode(&self, x: Tensor<2>, _condition: Option<Tensor<2>>) -> DiagonalGaussian {
        let h = self.activation.forward(self.hidden.forward(x));
        DiagonalGaussian {
            mean: self.mean.forward(h.clone()),
            log_var: self.log_var.forward(h),
        }
    }
}

/// Two smooth blobs: data with structure a 2-D latent space can learn.
fn blobs(count: usize, device: &Device) -> Tensor<2> {
    let t = Tensor::<2>::random([count, 1], Distribution::Uniform(0.0, 1.0), device);
    let grid = Tensor::<1, Int>::arange(0..16, device)
        .float()
        .div_scalar(15.0)
        .reshape([1, 16]);
    let d = grid - t;
    d.square().mul_scalar(-20.0).exp()
}

#[test]
fn a_user_encoder_trains_with_a_shipped_decoder_and_likelihood_then_reloads_exactly() {
    let (_rng, device) = test_device();
    let device = device.autodiff();
    let decoder = MlpDecoderConfig::new(2, vec![32], 16, ActivationConfig::Relu).init(&device);
    let mut vae = Vae::new(
        TanhEncoder::new(16, 2, &device),
        decoder,
        ContinuousBernoulli,
        2,
    );
    let data = blobs(64, &device);
    let mut adam = AdamConfig::new().init();
    let mut losses = Vec::new();
    for _ in 0..60 {
        let loss = vae.loss(data.clone(), None).mean_loss();
        losses.push(loss.clone().into_scalar::<f32>());
        let grads = GradientsParams::from_grads(loss.backward(), &vae);
        vae = adam.step(5e-3, vae, grads);
    }
    let (first, last) = (losses[0], losses[losses.len() - 1]);
    assert!(
        last < first - 1.0,
        "the loss did not fall: {first} -> {last}"
    );

    let probe = data.slice([0..4, 0..16]);
    let expected = vae.reconstruct(probe.clone(), None).into_data();
    let dir = tempdir("custom-encoder");
    let path = dir.join("model.bpk");
    vae.clone().save_file(&path).expect("save");
    let fresh = Vae::new(
        TanhEncoder::new(16, 2, &device),
        MlpDecoderConfig::new(2, vec![32], 16, ActivationConfig::Relu).init(&device),
        ContinuousBernoulli,
        2,
    );
    assert_ne!(fresh.reconstruct(probe.clone(), None).into_data(), expected);
    let loaded = fresh.try_load_file(&path).expect("load");
    assert_eq!(loaded.reconstruct(probe, None).into_data(), expected);
    std::fs::remove_dir_all(dir).ok();
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("vae-model-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn conv_networks_retrace_any_image_shape_in_both_ranks() {
    let (_rng, device) = test_device();
    for (image, layers) in [
        (ImageShape::new(1, 28, 28), vec![32, 64]),
        (ImageShape::new(3, 13, 9), vec![4, 8, 8]),
        (ImageShape::new(2, 5, 6), vec![]),
    ] {
        let encoder = ConvEncoderConfig::new(image, 3)
            .with_conv_channels(layers.clone())
            .try_init(&device)
            .unwrap();
        let decoder = ConvDecoderConfig::new(image, 3)
            .with_conv_channels(layers.clone())
            .with_hidden_dim(16)
            .try_init(&device)
            .unwrap();
        let vae = Vae::new(encoder, decoder, Bernoulli, 3);
        let [c, h, w] = [image.channels, image.height, image.width];
        let rows = Tensor::<2>::random([2, image.elements()], Distribution::Default, &device);
        let forward = vae.forward(rows.clone(), None);
        assert_eq!(
            forward.params.dims(),
            [2, c * h * w],
            "{image:?} {layers:?}"
        );
        // The rank-4 slots give the same numbers on the same weights.
        let images = rows.clone().reshape([2, c, h, w]);
        let posterior = Encoder::<4>::encode(&vae.encoder, images, None);
        let rank2 = vae.encode(rows, None);
        assert_eq!(posterior.mean.into_data(), rank2.mean.clone().into_data());
        let decoded = vae_model::Decoder::<4>::decode(&vae.decoder, rank2.mean.clone(), None);
        assert_eq!(decoded.dims(), [2, c, h, w]);
    }
}

#[test]
fn conv_configs_that_cannot_work_name_the_field() {
    let (_rng, device) = test_device();
    let error = ConvEncoderConfig::new(ImageShape::new(1, 6, 6), 2)
        .with_conv_channels(vec![8, 8, 8])
        .try_init(&device)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("8x8") && error.contains("conv_channels"),
        "{error}"
    );
    let error = ConvDecoderConfig::new(ImageShape::new(1, 28, 28), 2)
        .with_conv_channels(vec![8, 0])
        .try_init(&device)
        .unwrap_err()
        .to_string();
    assert!(error.contains("conv_channels[1]"), "{error}");
    let huge = ConvEncoderConfig::new(ImageShape::new(1, 28, 28), 2)
        .with_conv_channels(vec![1_000_000])
        .validate();
    assert!(
        matches!(huge, Err(vae_model::VaeError::TooLarge { .. })),
        "{huge:?}"
    );
}

#[test]
fn the_conv_parameter_count_is_the_built_pairs() {
    let (_rng, device) = test_device();
    for (channels, hidden, condition) in [(vec![32, 64], 0, 0), (vec![4, 8, 8], 16, 10)] {
        let image = ImageShape::new(1, 28, 28);
        let config = ConvEncoderConfig::new(image, 20)
            .with_conv_channels(channels.clone())
            .with_hidden_dim(hidden)
            .with_condition_dim(condition);
        let encoder = config.try_init(&device).unwrap();
        let decoder = config.decoder().try_init(&device).unwrap();
        let built = encoder.num_params() + decoder.num_params();
        assert_eq!(built as u128, config.pair_num_params(), "{channels:?}");
        if channels == [32, 64] {
            assert_eq!(
                built, 258_025,
                "the README's figure for configs/mnist-conv.json"
            );
        }
    }
}

#[test]
#[should_panic(expected = "no condition")]
fn a_condition_given_to_an_unconditional_model_is_refused_by_name() {
    let (_rng, device) = test_device();
    let vae = Vae::new(
        MlpEncoderConfig::new(16, vec![8], 2, ActivationConfig::Relu).init(&device),
        MlpDecoderConfig::new(2, vec![8], 16, ActivationConfig::Relu).init(&device),
        Bernoulli,
        2,
    );
    let x = Tensor::<2>::zeros([3, 16], &device);
    let _ = vae.encode(x, Some(Tensor::zeros([3, 10], &device)));
}

#[test]
fn the_condition_changes_what_both_conditional_networks_give() {
    let (_rng, device) = test_device();
    let one_hot = |class: i64| {
        Tensor::<1, Int>::from_ints([class, class], &device)
            .one_hot::<2>(10)
            .float()
    };
    let image = ImageShape::new(1, 12, 12);
    let conv = Vae::new(
        ConvEncoderConfig::new(image, 4)
            .with_conv_channels(vec![4])
            .with_condition_dim(10)
            .try_init(&device)
            .unwrap(),
        ConvDecoderConfig::new(image, 4)
            .with_conv_channels(vec![4])
            .with_condition_dim(10)
            .try_init(&device)
            .unwrap(),
        Bernoulli,
        4,
    )
    .with_condition_dim(10);
    let mlp = Vae::new(
        MlpEncoderConfig::new(144, vec![16], 4, ActivationConfig::Relu)
            .with_condition_dim(10)
            .init(&device),
        MlpDecoderConfig::new(4, vec![16], 144, ActivationConfig::Relu)
            .with_condition_dim(10)
            .init(&device),
        Bernoulli,
        4,
    )
    .with_condition_dim(10);
    let x = Tensor::<2>::random([2, 144], Distribution::Default, &device);
    let z = Tensor::<2>::random([2, 4], Distribution::Default, &device);
    let differ = |a: Tensor<2>, b: Tensor<2>| (a - b).abs().max().into_scalar::<f32>() > 1e-6;
    assert!(differ(
        conv.encode(x.clone(), Some(one_hot(1))).mean,
        conv.encode(x.clone(), Some(one_hot(7))).mean
    ));
    assert!(differ(
        conv.decode(z.clone(), Some(one_hot(1))),
        conv.decode(z.clone(), Some(one_hot(7)))
    ));
    assert!(differ(
        mlp.encode(x.clone(), Some(one_hot(1))).mean,
        mlp.encode(x, Some(one_hot(7))).mean
    ));
    assert!(differ(
        mlp.decode(z.clone(), Some(one_hot(1))),
        mlp.decode(z, Some(one_hot(7)))
    ));
    let samples = mlp.generate(2, Some(one_hot(3)), &device);
    assert_eq!(samples.dims(), [2, 144]);
    assert!(mlp.check_condition(Some(&one_hot(3)), 2).is_ok());
}

/// A decoder given an output bias decodes exactly that much more than the same decoder with a
/// zero bias: per feature for the MLP, per channel for the conv decoder. A bias of the wrong
/// length is refused by name.
#[test]
fn the_output_bias_is_added_to_every_decoded_value() {
    let (_rng, device) = test_device();
    let z = Tensor::<2>::random([3, 4], Distribution::Default, &device);
    let mlp = MlpDecoderConfig::new(4, vec![8], 6, ActivationConfig::Relu).init(&device);
    let _ = mlp.decode(z.clone(), None).into_data(); // initialize the lazy weights
    let bias = Tensor::<1>::from_floats([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0], &device);
    let with = mlp.clone().with_output_bias(bias.clone()).unwrap();
    let zero = mlp
        .clone()
        .with_output_bias(Tensor::zeros([6], &device))
        .unwrap();
    let difference = with.decode(z.clone(), None) - zero.decode(z.clone(), None);
    let expected = bias.unsqueeze_dim::<2>(0).expand([3, 6]);
    assert!(difference.all_close(expected, Some(1e-5), Some(1e-5)));
    let error = mlp
        .with_output_bias(Tensor::zeros([5], &device))
        .unwrap_err();
    assert!(error.to_string().contains("6 biases"), "{error}");

    let image = ImageShape::new(2, 7, 7);
    let conv = ConvDecoderConfig::new(image, 4)
        .with_conv_channels(vec![4])
        .try_init(&device)
        .unwrap();
    let _ = Decoder::<4>::decode(&conv, z.clone(), None).into_data();
    let channel_bias = Tensor::<1>::from_floats([0.75, -1.5], &device);
    let with = conv.clone().with_output_bias(channel_bias).unwrap();
    let zero = conv.with_output_bias(Tensor::zeros([2], &device)).unwrap();
    let difference =
        Decoder::<4>::decode(&with, z.clone(), None) - Decoder::<4>::decode(&zero, z, None); // [3, 2, 7, 7]
    for (channel, expected) in [(0, 0.75), (1, -1.5)] {
        let values = support::values(difference.clone().narrow(1, channel, 1));
        assert_eq!(values.len(), 3 * 49);
        assert!(
            values.iter().all(|v| (v - expected).abs() < 1e-5),
            "channel {channel}: {values:?}"
        );
    }
}
