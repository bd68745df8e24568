//! Pictures of a trained model: prior samples, reconstructions, interpolations and latent
//! traversals, each a PNG grid of tiles of the run's image size.

use burn::prelude::*;
use vae_model::ImageShape;

use crate::data::ImageData;
use crate::data::batcher::ImageBatcher;
use crate::inspect::images::save_grid;
use crate::inspect::{InspectError, read_back};
use crate::run::trained_run::TrainedRun;

/// Each pixel is drawn as a block this wide.
pub(crate) const SCALE: u32 = 2;

/// A grid of images, `rows * columns` tiles of `shape.elements()` intensities each, row-major.
#[derive(Debug, Clone)]
pub struct Grid {
    /// Intensities in `[0, 1]`, one block of `shape.elements()` per tile (channel by channel).
    pub pixels: Vec<f32>,
    /// Tiles per row.
    pub columns: usize,
    /// The shape of every tile.
    pub shape: ImageShape,
}

impl Grid {
    pub(crate) fn from_tensor(
        tensor: Tensor<2>,
        columns: usize,
        shape: ImageShape,
    ) -> Result<Self, InspectError> {
        Ok(Self {
            pixels: read_back(tensor)?,
            columns,
            shape,
        })
    }

    /// Number of tiles.
    pub fn len(&self) -> usize {
        self.pixels.len() / self.shape.elements()
    }

    /// Whether the grid has no tiles.
    pub fn is_empty(&self) -> bool {
        self.pixels.is_empty()
    }

    /// Tile `index`.
    pub fn tile(&self, index: usize) -> &[f32] {
        let len = self.shape.elements();
        &self.pixels[index * len..(index + 1) * len]
    }

    /// Writes the grid as a PNG.
    pub fn save(&self, path: &std::path::Path) -> Result<(), InspectError> {
        save_grid(path, &self.pixels, self.shape, self.columns, SCALE).map_err(|source| {
            InspectError::Write {
                path: path.to_owned(),
                source,
            }
        })
    }
}

fn check_index(test: &ImageData, index: usize) -> Result<(), InspectError> {
    let count = test.labels().len();
    if index >= count {
        return Err(InspectError::IndexOutOfRange { index, count });
    }
    Ok(())
}

/// An [`InspectError::Argument`] with `message`.
fn argument(message: impl Into<String>) -> InspectError {
    InspectError::Argument(message.into())
}

fn test_images(
    test: &ImageData,
    indices: &[usize],
    device: &Device,
) -> Result<Tensor<2>, InspectError> {
    for &index in indices {
        check_index(test, index)?;
    }
    Ok(ImageBatcher::images(
        indices.iter().map(|&i| test.pixels(i)),
        device,
    ))
}

/// `count` images decoded from prior samples, `columns` per row. A conditional model draws
/// them all of class `label`, or without a label one row of `columns` per class.
pub fn sample(
    run: &TrainedRun,
    count: usize,
    columns: usize,
    label: Option<u8>,
    device: &Device,
) -> Result<Grid, InspectError> {
    if count == 0 || columns == 0 {
        return Err(argument("--count and --columns must be at least 1"));
    }
    let labels: Vec<u8> = match (run.is_conditional(), label) {
        (false, None) => {
            return Grid::from_tensor(
                run.model.generate(count, None, device),
                columns,
                run.config.image_shape(),
            );
        }
        (false, Some(_)) => {
            return Err(argument(
                "--label needs a conditional model, but this run's config has \"condition\": \
                 \"none\"; train one with \"condition\": \"label\" (configs/mnist-cvae.json)",
            ));
        }
        (true, Some(label)) if usize::from(label) >= run.config.classes() => {
            return Err(argument(format!(
                "--label {label} is out of range: the classes are 0..={}",
                run.config.classes() - 1
            )));
        }
        (true, Some(label)) => vec![label; count],
        (true, None) => (0..run.config.classes() * columns)
            .map(|i| (i / columns) as u8)
            .collect(),
    };
    let condition = run.condition(&labels, device);
    Grid::from_tensor(
        run.model.generate(labels.len(), condition, device),
        columns,
        run.config.image_shape(),
    )
}

/// The test images at `indices` (first row) over their reconstructions from the posterior mean.
pub fn reconstruct(
    run: &TrainedRun,
    test: &ImageData,
    indices: &[usize],
    device: &Device,
) -> Result<Grid, InspectError> {
    if indices.is_empty() {
        return Err(argument("no test images chosen: give --indices or --count"));
    }
    let inputs = test_images(test, indices, device)?;
    let condition = run.condition(&labels_of(test, indices), device);
    let reconstructions = run.model.reconstruct(inputs.clone(), condition);
    Grid::from_tensor(
        Tensor::cat(vec![inputs, reconstructions], 0),
        indices.len(),
        run.config.image_shape(),
    )
}

/// For each pair of test images, one row decoding `steps` evenly spaced points on the line
/// between their posterior means (the first and last are the endpoints' reconstructions).
pub fn interpolate(
    run: &TrainedRun,
    test: &ImageData,
    pairs: &[(usize, usize)],
    steps: usize,
    device: &Device,
) -> Result<Grid, InspectError> {
    if pairs.is_empty() || steps < 2 {
        return Err(argument(
            "give at least one pair (--pairs 0:1) and --steps >= 2",
        ));
    }
    let mut rows = Vec::with_capacity(pairs.len());
    for &(a, b) in pairs {
        let ends = test_images(test, &[a, b], device)?;
        let condition = run.condition(&labels_of(test, &[a, b]), device); // [2, classes]
        let means = run.model.encode(ends, condition.clone()).mean; // [2, latent]
        let weights: Vec<f32> = (0..steps).map(|i| i as f32 / (steps - 1) as f32).collect();
        let t = Tensor::<1>::from_floats(weights.as_slice(), device).reshape([steps, 1]);
        let line = |ends: Tensor<2>| {
            let start = ends.clone().narrow(0, 0, 1);
            let end = ends.narrow(0, 1, 1);
            start.clone() + (end - start) * t.clone() // [steps, width]
        };
        // A conditional model's condition moves along the line with the code.
        rows.push(run.model.decode_mean(line(means), condition.map(line)));
    }
    Grid::from_tensor(Tensor::cat(rows, 0), steps, run.config.image_shape())
}

/// Around the posterior mean of test image `index`, one row per latent dimension (in order of
/// decreasing mean KL over `test`), varying that dimension over `[-range, range]` in `steps`.
/// Returns the grid and the dimension of each row.
pub fn traverse(
    run: &TrainedRun,
    test: &ImageData,
    index: usize,
    range: f32,
    steps: usize,
    device: &Device,
) -> Result<(Grid, Vec<usize>), InspectError> {
    if steps < 2 || !(range.is_finite() && range > 0.0) {
        return Err(argument(
            "--steps must be >= 2 and --range a positive number",
        ));
    }
    let order = dimensions_by_kl(run, test, device)?;
    let image = test_images(test, &[index], device)?; // checks the index first
    let condition = run.condition(&labels_of(test, &[index]), device);
    let center = run.model.encode(image, condition.clone()).mean; // [1, latent]
    let offsets: Vec<f32> = (0..steps)
        .map(|i| -range + 2.0 * range * i as f32 / (steps - 1) as f32)
        .collect();
    let rows = order
        .iter()
        .map(|&dim| {
            run.model.decode_mean(
                traversal_codes(center.clone(), dim, &offsets),
                condition
                    .clone()
                    .map(|c| c.expand([steps, run.config.classes()])),
            )
        })
        .collect();
    Ok((
        Grid::from_tensor(Tensor::cat(rows, 0), steps, run.config.image_shape())?,
        order,
    ))
}

/// For a 2-D latent space: decodes a `size` x `size` lattice over `[-range, range]^2`
/// (the Keras example's manifold picture); rows go from high `z1` (top) to low.
pub fn manifold(
    run: &TrainedRun,
    size: usize,
    range: f32,
    device: &Device,
) -> Result<Grid, InspectError> {
    if run.model.latent_dim() != 2 {
        return Err(argument(format!(
            "the manifold picture needs latent_dim = 2 (this model has {})",
            run.model.latent_dim()
        )));
    }
    if size < 2 {
        return Err(argument("--grid must be at least 2"));
    }
    if run.is_conditional() {
        return Err(argument(
            "the manifold picture is drawn for unconditional models only",
        ));
    }
    let at = |i: usize| -range + 2.0 * range * i as f32 / (size - 1) as f32;
    let codes: Vec<f32> = (0..size)
        .flat_map(|row| (0..size).flat_map(move |col| [at(col), at(size - 1 - row)]))
        .collect();
    let z = Tensor::<1>::from_floats(codes.as_slice(), device).reshape([size * size, 2]);
    Grid::from_tensor(
        run.model.decode_mean(z, None),
        size,
        run.config.image_shape(),
    )
}

/// Posterior means of the first `count` test images, row-major `[count, latent_dim]`.
pub fn posterior_means(
    run: &TrainedRun,
    test: &ImageData,
    count: usize,
    device: &Device,
) -> Result<Vec<f64>, InspectError> {
    let mut means = Vec::with_capacity(count * run.model.latent_dim());
    for first in (0..count).step_by(1000) {
        let last = (first + 1000).min(count);
        let x = ImageBatcher::images((first..last).map(|i| test.pixels(i)), device);
        let condition = run.condition(&test.labels()[first..last], device);
        let batch = read_back(run.model.encode(x, condition).mean)?;
        means.extend(batch.into_iter().map(f64::from));
    }
    Ok(means)
}

/// `center` (`[1, latent_dim]`) repeated once per offset, with `offsets[i]` added to dimension
/// `dim` of row `i` and every other dimension unchanged.
///
/// # Shapes
/// - output: `[offsets.len(), latent_dim]`
pub(crate) fn traversal_codes(center: Tensor<2>, dim: usize, offsets: &[f32]) -> Tensor<2> {
    let [_, latent_dim] = center.dims();
    let steps = offsets.len();
    let mut shift = vec![0.0f32; steps * latent_dim];
    for (i, offset) in offsets.iter().enumerate() {
        shift[i * latent_dim + dim] = *offset;
    }
    let shift =
        Tensor::<1>::from_floats(shift.as_slice(), &center.device()).reshape([steps, latent_dim]);
    center.expand([steps, latent_dim]) + shift
}

/// Latent dimensions sorted by decreasing mean KL over (up to 2,000 images of) `test`.
pub(crate) fn dimensions_by_kl(
    run: &TrainedRun,
    test: &ImageData,
    device: &Device,
) -> Result<Vec<usize>, InspectError> {
    let count = test.labels().len().min(2000);
    let x = ImageBatcher::images((0..count).map(|i| test.pixels(i)), device);
    let condition = run.condition(&test.labels()[..count], device);
    let kl = read_back(
        run.model
            .encode(x, condition)
            .kl_to_standard_normal_per_dim()
            .mean_dim(0)
            .squeeze_dim::<1>(0),
    )?;
    let mut order: Vec<usize> = (0..kl.len()).collect();
    order.sort_by(|&a, &b| kl[b].total_cmp(&kl[a]));
    Ok(order)
}

/// The labels of the test images at `indices` (checked by [`test_images`] first).
fn labels_of(test: &ImageData, indices: &[usize]) -> Vec<u8> {
    indices.iter().map(|&i| test.labels()[i]).collect()
}

/// `count` distinct test indices drawn with `seed` (for `reconstruct` without `--indices`).
pub(crate) fn random_indices(test: &ImageData, count: usize, seed: u64) -> Vec<usize> {
    use rand::SeedableRng;
    let total = test.labels().len();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    rand::seq::index::sample(&mut rng, total, count.min(total)).into_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_rows_differ_from_the_centre_only_along_their_dimension() {
        let device = Device::flex();
        let center = Tensor::<1>::from_floats([0.5, -1.0, 2.0, 0.25], &device).reshape([1, 4]);
        let offsets = [-3.0, -1.5, 0.0, 1.5, 3.0];
        for dim in 0..4 {
            let codes = traversal_codes(center.clone(), dim, &offsets);
            assert_eq!(codes.dims(), [5, 4]);
            let delta = (codes - center.clone().expand([5, 4]))
                .into_data()
                .try_to_vec::<f32>()
                .unwrap();
            for (i, offset) in offsets.iter().enumerate() {
                for d in 0..4 {
                    let expected = if d == dim { *offset } else { 0.0 };
                    assert_eq!(delta[i * 4 + d], expected, "row {i}, dimension {d}");
                }
            }
        }
    }
}
