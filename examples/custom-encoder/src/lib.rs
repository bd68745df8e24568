//! A user-defined convolutional encoder plugged into `vae-model`'s slots with a shipped MLP
//! decoder and the continuous Bernoulli likelihood, trained with a plain loop on MNIST read
//! by `vae-data`: everything another Burn project needs, without the `vae` trainer.
//!
//! ```sh
//! VAE_MNIST_DIR=$(realpath ../shared/datasets/mnist) cargo run --release -p vae-example-custom-encoder
//! ```

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d, Relu};
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use vae_data::{DataError, DatasetKind, ImageData, Split, images_to_tensor};
use vae_model::{
    ActivationConfig, ContinuousBernoulli, DiagonalGaussian, Encoder, MlpDecoder, MlpDecoderConfig,
    Vae,
};

/// Two stride-2 convolutions (28 → 14 → 7) and the two posterior heads: this example's own
/// encoder, a plain Burn module.
#[derive(Module, Debug)]
pub struct SmallConvEncoder {
    conv1: Conv2d,
    conv2: Conv2d,
    mean: Linear,
    log_var: Linear,
    relu: Relu,
}

impl SmallConvEncoder {
    /// An encoder to a `latent_dim`-dimensional posterior.
    pub fn new(latent_dim: usize, device: &Device) -> Self {
        let conv = |from, to| {
            Conv2dConfig::new([from, to], [4, 4])
                .with_stride([2, 2])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(device)
        };
        Self {
            conv1: conv(1, 16),
            conv2: conv(16, 32),
            mean: LinearConfig::new(32 * 7 * 7, latent_dim).init(device),
            log_var: LinearConfig::new(32 * 7 * 7, latent_dim).init(device),
            relu: Relu::new(),
        }
    }
}

impl Encoder for SmallConvEncoder {
    fn encode(&self, x: Tensor<2>, _condition: Option<Tensor<2>>) -> DiagonalGaussian {
        let batch = x.dims()[0];
        let h = self
            .relu
            .forward(self.conv1.forward(x.reshape([batch, 1, 28, 28])));
        let h = self.relu.forward(self.conv2.forward(h)).flatten::<2>(1, 3);
        DiagonalGaussian {
            mean: self.mean.forward(h.clone()),
            log_var: self.log_var.forward(h),
        }
    }
}

/// The VAE this example trains.
pub type ExampleVae = Vae<SmallConvEncoder, MlpDecoder, ContinuousBernoulli>;

/// What a run of [`train`] measured.
#[derive(Debug, Clone)]
pub struct Report {
    /// Mean training loss (negative ELBO per image, continuous Bernoulli) of the first 20 steps.
    pub first_loss: f64,
    /// The same over the last 20 steps.
    pub last_loss: f64,
    /// Negative ELBO per image on the first `test_images` test images after training.
    pub test_loss: f64,
}

/// Trains the example VAE for `steps` Adam steps of batch `batch` on MNIST's training images
/// (read from `data_dir`, else `VAE_MNIST_DIR`, else the download cache) and measures the test
/// negative ELBO on the first `test_images` test images.
pub fn train(
    steps: usize,
    batch: usize,
    test_images: usize,
    data_dir: Option<&std::path::Path>,
) -> Result<Report, DataError> {
    let device = Device::flex().autodiff();
    device.seed(0);
    let train_set = DatasetKind::Mnist.load(Split::Train, data_dir)?;
    let test_set = DatasetKind::Mnist.load(Split::Test, data_dir)?;
    let latent = 16;
    let decoder =
        MlpDecoderConfig::new(latent, vec![256], 784, ActivationConfig::Relu).init(&device);
    let mut vae: ExampleVae = Vae::new(
        SmallConvEncoder::new(latent, &device),
        decoder,
        ContinuousBernoulli,
        latent,
    );
    let mut adam = AdamConfig::new().init();
    let rows = |data: &ImageData, from: usize, count: usize, device: &Device| {
        let total = data.labels().len();
        images_to_tensor((from..from + count).map(|i| data.pixels(i % total)), device)
    };
    let mut losses = Vec::with_capacity(steps);
    for step in 0..steps {
        let x = rows(&train_set, step * batch, batch, &device);
        let loss = vae.loss(x, None).mean_loss();
        losses.push(loss.clone().into_scalar::<f64>());
        let grads = GradientsParams::from_grads(loss.backward(), &vae);
        vae = adam.step(1e-3, vae, grads);
    }
    let window = 20.min(steps.max(1));
    let mean = |values: &[f64]| values.iter().sum::<f64>() / values.len().max(1) as f64;
    let model = vae.valid();
    let plain = Device::flex();
    let test = rows(&test_set, 0, test_images, &plain);
    let test_loss = model.loss(test, None).mean_loss().into_scalar::<f64>();
    Ok(Report {
        first_loss: mean(&losses[..window]),
        last_loss: mean(&losses[losses.len() - window..]),
        test_loss,
    })
}
