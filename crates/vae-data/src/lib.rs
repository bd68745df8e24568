#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod batch;
mod burn_mnist;
mod dataset;
mod error;
mod files;
mod idx;
mod kind;
mod lookup;

pub use batch::images_to_tensor;
/// Burn's dataset trait, implemented by [`MnistData`] (re-exported for `len`, `get`, `iter`).
pub use burn::data::dataset::Dataset;
pub use dataset::{MnistData, MnistImage};
pub use error::{DataError, DirOrigin};
pub use files::Split;
pub use idx::MAX_IDX_BYTES;
pub use kind::{
    DatasetKind, FASHION_MNIST_DIR_ENV, FASHION_MNIST_SYSTEM_DIR, MNIST_DIR_ENV, NUM_CLASSES,
};

/// Width and height of an image (both datasets).
pub const IMAGE_SIDE: usize = 28;
/// Pixels per image.
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;
