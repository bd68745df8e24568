//! Turns labelled images into a [`VaeBatch`] of flattened images in `[0, 1]` on the device (or,
//! with dynamic binarization, binary images drawn anew), with their one-hot labels when the
//! model is conditional; for a denoising run, corrupted images with the clean ones as targets.

use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use burn::tensor::Distribution;
use vae_model::applications::Corruption;
use vae_model::train::VaeBatch;

use crate::data::LabelledImage;

/// Scales pixels by 1/255 (PyTorch's `ToTensor`) and flattens to `[batch, values]`; for a
/// conditional model, also gives the labels one-hot.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImageBatcher {
    /// Classes of the one-hot condition; `None` for an unconditional model.
    pub condition_classes: Option<usize>,
    /// Draw each pixel as Bernoulli(intensity) at every use, from the device's random stream
    /// (dynamic binarization).
    pub dynamic_binarization: bool,
    /// Corrupt each batch anew, from the device's random stream, and score the clean images
    /// (a denoising VAE).
    pub corruption: Option<Corruption>,
}

impl ImageBatcher {
    /// A batcher for a model with a condition of `condition_dim` classes (0: none).
    pub fn new(condition_dim: usize) -> Self {
        Self {
            condition_classes: (condition_dim > 0).then_some(condition_dim),
            dynamic_binarization: false,
            corruption: None,
        }
    }

    /// Corrupts every batch anew and keeps the clean images as its targets (see
    /// [`ImageBatcher::corruption`]).
    pub fn with_corruption(mut self, corruption: Option<Corruption>) -> Self {
        self.corruption = corruption;
        self
    }

    /// Binarizes every batch anew (see [`ImageBatcher::dynamic_binarization`]).
    pub fn with_dynamic_binarization(mut self, enabled: bool) -> Self {
        self.dynamic_binarization = enabled;
        self
    }

    /// Each intensity `p` becomes 1 with probability `p`, else 0: `u < p` for `u ~ U[0, 1)`
    /// drawn on the device.
    pub fn binarize(intensities: Tensor<2>) -> Tensor<2> {
        let noise = Tensor::random(
            intensities.dims(),
            Distribution::Uniform(0.0, 1.0),
            &intensities.device(),
        );
        noise.lower(intensities).float()
    }

    /// Builds the `[batch, values]` tensor of intensities in `[0, 1]` from raw pixel rows.
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

impl Batcher<LabelledImage, VaeBatch> for ImageBatcher {
    fn batch(&self, items: Vec<LabelledImage>, device: &Device) -> VaeBatch {
        let condition = self.condition_classes.map(|classes| {
            let labels: Vec<u8> = items.iter().map(|item| item.label).collect();
            one_hot(&labels, classes, device)
        });
        let mut images = Self::images(items.iter().map(|item| &item.pixels[..]), device);
        if self.dynamic_binarization {
            images = Self::binarize(images);
        }
        match self.corruption {
            None => VaeBatch {
                images,
                targets: None,
                condition,
            },
            Some(corruption) => VaeBatch {
                images: corruption.apply(images.clone()),
                targets: Some(images),
                condition,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamic_binarization_draws_bernoulli_pixels_of_the_intensity() {
        let device = Device::flex();
        let width = 20_000;
        let mut values = vec![0.0f32; width];
        values.extend(vec![1.0f32; width]);
        values.extend(vec![0.3f32; width]);
        let intensities = Tensor::<2>::from_data(TensorData::new(values, [3, width]), &device);
        let binary = ImageBatcher::binarize(intensities)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert!(binary.iter().all(|&v| v == 0.0 || v == 1.0));
        let row_mean =
            |row: usize| binary[row * width..(row + 1) * width].iter().sum::<f32>() / width as f32;
        assert_eq!(row_mean(0), 0.0);
        assert_eq!(row_mean(1), 1.0);
        // Standard error sqrt(0.21 / 20000) = 0.0032: within 0.02 is over 6 of them.
        assert!((row_mean(2) - 0.3).abs() < 0.02, "{}", row_mean(2));
    }

    #[test]
    fn a_denoising_batch_holds_corrupted_inputs_and_clean_targets() {
        let device = Device::flex();
        device.seed(5);
        let items: Vec<LabelledImage> = (0..4u8)
            .map(|label| LabelledImage {
                pixels: vec![128; 784],
                label,
            })
            .collect();
        let batcher = ImageBatcher::new(10)
            .with_corruption(Some(Corruption::SaltAndPepper { fraction: 0.5 }));
        let batch = batcher.batch(items.clone(), &device);
        let clean = ImageBatcher::new(10).batch(items, &device);
        let targets = batch.targets.expect("a denoising batch has targets");
        assert_eq!(targets.into_data(), clean.images.clone().into_data());
        let inputs = batch.images.into_data().try_to_vec::<f32>().unwrap();
        let changed = inputs.iter().filter(|&&v| v == 0.0 || v == 1.0).count();
        // Half of 3,136 pixels: 1,568 expected, sd 28.
        assert!((1400..1740).contains(&changed), "{changed}");
        assert_eq!(
            batch.condition.unwrap().into_data(),
            clean.condition.unwrap().into_data()
        );
        assert!(clean.targets.is_none());
    }

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
