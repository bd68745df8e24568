//! The data: MNIST, Fashion-MNIST and image folders as the `vae-data` crate reads them
//! (re-exported here), and the [`batcher`] that turns images and labels into batches.
//!
//! Lookup order for MNIST: `--data-dir`, then the `VAE_MNIST_DIR` environment variable, then
//! the download cache (`~/.cache/burn-vae/mnist`, downloaded and verified when missing); see
//! `vae-data` for Fashion-MNIST.

pub mod batcher;

pub use vae_data::{
    DataSource, DatasetKind, FASHION_MNIST_DIR_ENV, IMAGE_PIXELS, IMAGE_SIDE, ImageData,
    ImageFolderConfig, LabelledImage, MAX_CLASSES, MAX_IDX_BYTES, MNIST_DIR_ENV, NUM_CLASSES,
    Split,
};

/// The shape of `data`'s images as the networks take it.
pub fn image_shape(data: &ImageData) -> vae_model::ImageShape {
    let [channels, height, width] = data.shape();
    vae_model::ImageShape {
        channels,
        height,
        width,
    }
}
