//! Reuse `vae-model` in your own training loop, without Burn's Learner.
//!
//! ```sh
//! VAE_MNIST_DIR=path/to/mnist cargo run --release -p vae-examples --example custom_loop
//! ```
//!
//! Trains a beta-VAE (beta = 4) for 300 steps on MNIST on the CPU, printing the ELBO terms,
//! then writes 64 samples from the prior to `custom_loop_samples.png`.

use burn::data::dataloader::DataLoaderBuilder;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use vae_model::VaeConfig;
use vae_train::config::IDX_IMAGE_SHAPE;
use vae_train::data::batcher::ImageBatcher;
use vae_train::data::{ImageData, Split};
use vae_train::inspect::images::save_grid;

fn main() -> anyhow::Result<()> {
    let device = Device::flex().autodiff();
    device.seed(0);
    let mut vae = VaeConfig::new()
        .with_hidden_dims(vec![512, 256])
        .with_latent_dim(10)
        .with_beta(4.0)
        .try_init(&device)?;
    let data = ImageData::load(Split::Train, None)?;
    let loader = DataLoaderBuilder::new(ImageBatcher::default())
        .batch_size(128)
        .shuffle(0)
        .set_device(device.clone())
        .build(data);
    let mut optimizer = AdamConfig::new().init();

    for (step, batch) in loader.iter().take(300).enumerate() {
        let terms = vae.loss(batch?.images, None);
        let loss = terms.mean_loss();
        if step % 50 == 0 {
            let mean = |t: Tensor<1>| t.mean().into_scalar::<f32>();
            println!(
                "step {step:>3}: loss {:7.2}  reconstruction {:7.2}  KL {:6.2}",
                mean(terms.loss.clone()),
                mean(terms.reconstruction.clone()),
                mean(terms.kl.clone()),
            );
        }
        let grads = GradientsParams::from_grads(loss.backward(), &vae);
        vae = optimizer.step(1e-3, vae, grads);
    }

    let samples = vae
        .generate(64, None, &device)
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    save_grid(
        "custom_loop_samples.png".as_ref(),
        &samples,
        IDX_IMAGE_SHAPE,
        8,
        2,
    )?;
    println!("wrote custom_loop_samples.png");
    Ok(())
}
