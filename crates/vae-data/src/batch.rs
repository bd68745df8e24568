//! Pixels to a tensor, as PyTorch's `ToTensor` does: intensities in `[0, 1]`.

use burn::prelude::*;

/// Builds the `[batch, values]` tensor of intensities `pixel / 255` from rows of raw pixels
/// of one length (e.g. [`ImageData::pixels`](crate::ImageData::pixels): 784 for MNIST), on
/// `device`.
///
/// # Shapes
/// - rows: `batch` slices of `values` bytes each
/// - output: `[batch, values]` (`[0, 0]` for no rows)
///
/// # Panics
/// If the rows differ in length (a programmer error: every image of an [`ImageData`] has
/// the same size).
///
/// # Example
/// ```rust
/// use burn::prelude::*;
/// use vae_data::images_to_tensor;
///
/// let device = Device::flex();
/// // Two images of three pixels each (e.g. `data.pixels(i)` of an `ImageData`).
/// let rows: [&[u8]; 2] = [&[0, 51, 255], &[255, 102, 0]];
/// let x = images_to_tensor(rows.into_iter(), &device);
/// assert_eq!(x.dims(), [2, 3]);
/// let values = x.into_data().try_to_vec::<f32>()?;
/// let expected = [0.0, 0.2, 1.0, 1.0, 0.4, 0.0];
/// assert!(values.iter().zip(expected).all(|(v, e)| (v - e).abs() < 1e-6));
///
/// // A batch of an `ImageData`'s images: `(0..n).map(|i| data.pixels(i))`.
/// let empty = images_to_tensor(std::iter::empty::<&[u8]>(), &device);
/// assert_eq!(empty.dims(), [0, 0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// [`ImageData`]: crate::ImageData
pub fn images_to_tensor<'a>(
    rows: impl ExactSizeIterator<Item = &'a [u8]>,
    device: &Device,
) -> Tensor<2> {
    let count = rows.len();
    let mut values = Vec::new();
    let mut width = None;
    for row in rows {
        let width = *width.get_or_insert(row.len());
        assert_eq!(
            row.len(),
            width,
            "every image row must have the same length"
        );
        if values.is_empty() {
            values.reserve_exact(count * width);
        }
        values.extend(row.iter().map(|&p| f32::from(p) / 255.0));
    }
    Tensor::from_data(TensorData::new(values, [count, width.unwrap_or(0)]), device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IMAGE_PIXELS;

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
