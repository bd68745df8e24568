//! The data: MNIST and Fashion-MNIST as the `vae-data` crate reads them (re-exported here), and
//! the [`batcher`] that turns images and labels into batches.
//!
//! Lookup order for MNIST: `--data-dir`, then the `VAE_MNIST_DIR` environment variable, then
//! Burn's cache/download (`~/.cache/burn-dataset/mnist`); see `vae-data` for Fashion-MNIST.

pub mod batcher;

pub use vae_data::{
    DatasetKind, FASHION_MNIST_DIR_ENV, IMAGE_PIXELS, IMAGE_SIDE, MAX_IDX_BYTES, MNIST_DIR_ENV,
    MnistData, MnistImage, NUM_CLASSES, Split,
};
