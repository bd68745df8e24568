//! MNIST (and Fashion-MNIST) reading lives in the `vae-data` crate; this module re-exports it so
//! that `vae_train::mnist::...` paths keep working.
//!
//! Lookup order for MNIST: `--data-dir`, then the `VAE_MNIST_DIR` environment variable, then
//! Burn's cache/download (`~/.cache/burn-dataset/mnist`).

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
