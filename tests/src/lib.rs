//! Helpers shared by the workspace's behaviour tests: the real MNIST files and a plain
//! training loop (no Learner) that any backend can run.

use std::path::PathBuf;

use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use vae_model::Vae;
use vae_train::data::batcher::ImageBatcher;
use vae_train::data::{ImageData, MNIST_DIR_ENV, Split};

/// The folder of real MNIST IDX files named by `VAE_MNIST_DIR`.
///
/// # Panics
/// If the variable is unset or the folder does not exist: tests on MNIST need the real data.
pub fn mnist_dir() -> PathBuf {
    let dir = std::env::var_os(MNIST_DIR_ENV).map(PathBuf::from).unwrap_or_else(|| {
        panic!(
            "these tests train on the real MNIST files: set {MNIST_DIR_ENV} to a folder holding \
             them (in this repository's CI: ../shared/datasets/mnist)"
        )
    });
    assert!(
        dir.is_dir(),
        "{MNIST_DIR_ENV}={} is not a folder",
        dir.display()
    );
    dir
}

/// The first `count` real MNIST training images as `[count, 784]` intensities on `device`.
pub fn mnist_images(count: usize, device: &Device) -> Tensor<2> {
    let data = ImageData::from_dir(Split::Train, &mnist_dir())
        .expect("real MNIST loads")
        .truncate(count);
    ImageBatcher::images((0..count).map(|i| data.pixels(i)), device)
}

/// Trains with Adam on mini-batches of `images` (cycled in order) for `steps` steps and
/// returns the trained model and each step's mean loss.
pub fn train_steps(
    mut vae: Vae,
    images: &Tensor<2>,
    batch_size: usize,
    steps: usize,
    learning_rate: f64,
) -> (Vae, Vec<f32>) {
    let count = images.dims()[0];
    let mut optimizer = AdamConfig::new().init();
    let mut losses = Vec::with_capacity(steps);
    for step in 0..steps {
        let start = (step * batch_size) % count;
        let end = (start + batch_size).min(count);
        let batch = images.clone().narrow(0, start, end - start);
        let loss = vae.loss(batch, None).mean_loss();
        losses.push(loss.clone().into_scalar::<f32>());
        let grads = GradientsParams::from_grads(loss.backward(), &vae);
        vae = optimizer.step(learning_rate, vae, grads);
    }
    (vae, losses)
}

/// Mean of the first and of the last `window` values.
pub fn first_and_last_mean(values: &[f32], window: usize) -> (f32, f32) {
    let mean = |s: &[f32]| s.iter().sum::<f32>() / s.len() as f32;
    (
        mean(&values[..window]),
        mean(&values[values.len() - window..]),
    )
}
