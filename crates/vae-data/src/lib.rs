#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod batch;
mod dataset;
#[cfg(feature = "download")]
mod download;
mod error;
mod files;
mod idx;
mod image_folder;
mod kind;
mod lookup;

pub use batch::images_to_tensor;
/// Burn's dataset trait, implemented by [`ImageData`] (re-exported for `len`, `get`, `iter`).
pub use burn::data::dataset::Dataset;
pub use dataset::{DataSource, ImageData, LabelledImage};
#[cfg(feature = "download")]
pub use download::{DownloadConfig, FASHION_MNIST_MIRROR_ENV, MNIST_MIRROR_ENV};
pub use error::{DataError, DirOrigin};
pub use files::Split;
pub use idx::MAX_IDX_BYTES;
pub use image_folder::{
    IMAGE_EXTENSIONS, ImageFolderConfig, MAX_CLASSES, MAX_IMAGE_SIDE, UNLABELLED_CLASS,
};
pub use kind::{
    DatasetKind, FASHION_MNIST_DIR_ENV, FASHION_MNIST_SYSTEM_DIR, MNIST_DIR_ENV, NUM_CLASSES,
};

/// Width and height of an image of MNIST and Fashion-MNIST.
pub const IMAGE_SIDE: usize = 28;
/// Pixels per image of MNIST and Fashion-MNIST.
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;
