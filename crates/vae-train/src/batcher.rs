//! Turns MNIST items into a [`VaeBatch`] of flattened images in `[0, 1]` on the device.

use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use vae_model::train::VaeBatch;

use crate::mnist::{IMAGE_PIXELS, MnistImage};

/// Scales pixels by 1/255 (PyTorch's `ToTensor`) and flattens to `[batch, 784]`.
#[derive(Debug, Clone, Copy, Default)]
pub struct MnistBatcher;

impl MnistBatcher {
    /// Builds the `[batch, 784]` tensor of intensities in `[0, 1]` from raw pixel rows.
    pub fn images<'a>(rows: impl ExactSizeIterator<Item = &'a [u8]>, device: &Device) -> Tensor<2> {
        let count = rows.len();
        let mut values = Vec::with_capacity(count * IMAGE_PIXELS);
        for row in rows {
            values.extend(row.iter().map(|&p| f32::from(p) / 255.0));
        }
        Tensor::from_data(TensorData::new(values, [count, IMAGE_PIXELS]), device)
    }
}

impl Batcher<MnistImage, VaeBatch> for MnistBatcher {
    fn batch(&self, items: Vec<MnistImage>, device: &Device) -> VaeBatch {
        VaeBatch {
            images: Self::images(items.iter().map(|item| &item.pixels[..]), device),
        }
    }
}
