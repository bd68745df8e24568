//! Pixels to a tensor, as PyTorch's `ToTensor` does: intensities in `[0, 1]`.

use burn::prelude::*;

use crate::IMAGE_PIXELS;

/// Builds the `[batch, 784]` tensor of intensities `pixel / 255` from rows of raw pixels
/// (e.g. [`MnistData::pixels`](crate::MnistData::pixels)), on `device`.
///
/// # Shapes
/// - rows: `batch` slices of 784 bytes
/// - output: `[batch, 784]`
///
/// # Panics
/// If a row is not [`IMAGE_PIXELS`] long (a programmer error: every image of both datasets is).
pub fn images_to_tensor<'a>(
    rows: impl ExactSizeIterator<Item = &'a [u8]>,
    device: &Device,
) -> Tensor<2> {
    let count = rows.len();
    let mut values = Vec::with_capacity(count * IMAGE_PIXELS);
    for row in rows {
        assert_eq!(row.len(), IMAGE_PIXELS, "an image row must have 784 pixels");
        values.extend(row.iter().map(|&p| f32::from(p) / 255.0));
    }
    Tensor::from_data(TensorData::new(values, [count, IMAGE_PIXELS]), device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_pixels_to_unit_intensities_row_by_row() {
        let device = Device::flex();
        let rows = [[0u8; IMAGE_PIXELS], [255u8; IMAGE_PIXELS]];
        let x = images_to_tensor(rows.iter().map(|r| &r[..]), &device);
        assert_eq!(x.dims(), [2, IMAGE_PIXELS]);
        let values = x.into_data().try_to_vec::<f32>().unwrap();
        assert!(values[..IMAGE_PIXELS].iter().all(|&v| v == 0.0));
        assert!(values[IMAGE_PIXELS..].iter().all(|&v| v == 1.0));
    }
}
