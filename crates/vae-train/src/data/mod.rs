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

#[cfg(test)]
pub(crate) mod tests {
    /// Seconds each fuzz test runs: `VAE_FUZZ_SECONDS`, default 2.
    pub(crate) fn fuzz_seconds() -> f64 {
        std::env::var("VAE_FUZZ_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(2.0)
    }
}
