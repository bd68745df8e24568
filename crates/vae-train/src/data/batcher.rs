//! Turns MNIST items into a [`VaeBatch`] of flattened images in `[0, 1]` on the device, with
//! their one-hot labels when the model is conditional.

use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use vae_model::train::VaeBatch;

use crate::data::MnistImage;

/// Scales pixels by 1/255 (PyTorch's `ToTensor`) and flattens to `[batch, 784]`; for a
/// conditional model, also gives the labels one-hot.
#[derive(Debug, Clone, Copy, Default)]
pub struct MnistBatcher {
    /// Classes of the one-hot condition; `None` for an unconditional model.
    pub condition_classes: Option<usize>,
}

impl MnistBatcher {
    /// A batcher for a model with a condition of `condition_dim` classes (0: none).
    pub fn new(condition_dim: usize) -> Self {
        Self {
            condition_classes: (condition_dim > 0).then_some(condition_dim),
        }
    }

    /// Builds the `[batch, 784]` tensor of intensities in `[0, 1]` from raw pixel rows.
    pub fn images<'a>(rows: impl ExactSizeIterator<Item = &'a [u8]>, device: &Device) -> Tensor<2> {
        vae_data::images_to_tensor(rows, device)
    }
}

/// `[labels.len(), classes]`: row `i` is 1 at column `labels[i]` and 0 elsewhere.
///
/// # Panics
/// If a label is `>= classes` (callers check user-given labels first).
pub fn one_hot(labels: &[u8], classes: usize, device: &Device) -> Tensor<2> {
    let mut values = vec![0.0f32; labels.len() * classes];
    for (row, &label) in labels.iter().enumerate() {
        assert!(
            usize::from(label) < classes,
            "label {label} is not below {classes}"
        );
        values[row * classes + usize::from(label)] = 1.0;
    }
    Tensor::from_data(TensorData::new(values, [labels.len(), classes]), device)
}

impl Batcher<MnistImage, VaeBatch> for MnistBatcher {
    fn batch(&self, items: Vec<MnistImage>, device: &Device) -> VaeBatch {
        let condition = self.condition_classes.map(|classes| {
            let labels: Vec<u8> = items.iter().map(|item| item.label).collect();
            one_hot(&labels, classes, device)
        });
        VaeBatch {
            images: Self::images(items.iter().map(|item| &item.pixels[..]), device),
            condition,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_hot_rows_mark_their_label() {
        let device = Device::flex();
        let rows = one_hot(&[3, 0, 9], 10, &device)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        for (row, label) in [3usize, 0, 9].into_iter().enumerate() {
            let row = &rows[row * 10..(row + 1) * 10];
            assert_eq!(row.iter().sum::<f32>(), 1.0);
            assert_eq!(row[label], 1.0);
        }
    }
}
