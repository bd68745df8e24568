//! What the page asks of a trained run, computed without HTTP: decode a code, decode a point of
//! the 2-D plane, reconstruct and score a drawn image, interpolate between test images. The
//! test set's figures the answers refer to (the KL order of the dimensions, the plane, the
//! distribution of its anomaly scores) are computed once, when the server starts.

use burn::prelude::*;
use serde::Serialize;
use vae_model::applications::AnomalyScore;

use crate::data::ImageData;
use crate::data::batcher::ImageBatcher;
use crate::inspect::plots::{LatentPlane, latent_plane};
use crate::inspect::sampling::{Sampling, log_importance_weights};
use crate::inspect::{InspectError, read_back};
use crate::run::metrics_csv::EpochMetrics;
use crate::run::trained_run::TrainedRun;

/// Test images whose posterior means give the KL order and the plane.
const TEST_IMAGES_FOR_LATENTS: usize = 2000;
/// Test images whose negative ELBOs a drawn image's score is ranked among.
const TEST_IMAGES_FOR_SCORES: usize = 1000;
/// Posterior samples behind each negative ELBO (the page's score and the test set's alike).
pub const SCORE_SAMPLES: usize = 64;
/// The most points an interpolation decodes.
pub const MAX_STEPS: usize = 32;

/// Something the page asked for that cannot be answered; the message names the field and the
/// accepted values.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// A field with a wrong value (length, range, a label for an unconditional model, ...).
    #[error("{0}")]
    Invalid(String),
    /// The model or the device failed.
    #[error(transparent)]
    Inspect(#[from] InspectError),
}

fn invalid(message: impl Into<String>) -> WebError {
    WebError::Invalid(message.into())
}

/// One epoch of the training curves.
#[derive(Debug, Clone, Serialize)]
pub struct CurvePoint {
    /// Epoch number, from 1.
    pub epoch: f64,
    /// Training loss (negative ELBO per image).
    pub train_loss: f64,
    /// Validation loss.
    pub valid_loss: f64,
}

/// What the page needs to lay itself out.
#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    /// Latent dimensions.
    pub latent_dim: usize,
    /// Image width, height and channels.
    pub width: usize,
    /// Image height.
    pub height: usize,
    /// 1 (grayscale) or 3 (RGB, channel by channel).
    pub channels: usize,
    /// The class names when the model is conditional (the page's class picker), else empty.
    pub classes: Vec<String>,
    /// Latent dimensions in order of decreasing mean KL over the test images (one slider each).
    pub dimensions_by_kl: Vec<usize>,
    /// Posterior-mean code of test image 0: where the sliders start.
    pub start_code: Vec<f64>,
    /// What the 2-D plane's axes are.
    pub plane: String,
    /// The plane's extent `[x_min, x_max, y_min, y_max]`, covering the test images' means.
    pub plane_extent: [f64; 4],
    /// Test images available to interpolate between.
    pub test_images: usize,
    /// Posterior samples behind each score.
    pub score_samples: usize,
    /// Training curves (empty for an imported run).
    pub curves: Vec<CurvePoint>,
}

/// A reconstructed image and its anomaly score.
#[derive(Debug, Clone, Serialize)]
pub struct Scored {
    /// The reconstruction (mean of `p(x|z)` at the posterior mean), values in `[0, 1]`.
    pub reconstruction: Vec<f32>,
    /// Negative ELBO in nats, averaged over [`SCORE_SAMPLES`] posterior samples.
    pub negative_elbo: f64,
    /// The share of test images (in `[0, 1]`) whose negative ELBO is at most this one.
    pub percentile: f64,
}

/// A trained run, ready to answer the page.
pub struct WebModel {
    run: TrainedRun,
    test: ImageData,
    device: Device,
    plane: LatentPlane,
    info: ModelInfo,
    /// The test images' negative ELBOs, sorted.
    test_scores: Vec<f64>,
    /// Whether the reconstruction term is computed on the host (the flex backend).
    host: bool,
}

impl WebModel {
    /// Computes the test-set figures (KL order, plane, score distribution) for `run` on
    /// `device`; `host` computes the Bernoulli term of the scores on the host (flex: see
    /// [`Sampling::on_host`]).
    pub fn new(
        run: TrainedRun,
        test: ImageData,
        curves: Vec<EpochMetrics>,
        device: Device,
        host: bool,
    ) -> Result<Self, WebError> {
        let latent_dim = run.model.latent_dim();
        let count = test.labels().len().min(TEST_IMAGES_FOR_LATENTS);
        if count == 0 {
            return Err(invalid(
                "the run's test set is empty: there is nothing to show",
            ));
        }
        let means: Vec<f64> =
            crate::inspect::pictures::posterior_means(&run, &test, count, &device)?;
        let order = crate::inspect::pictures::dimensions_by_kl(&run, &test, &device)?;
        let plane = latent_plane(&means, latent_dim);
        let mut extent = [f64::MAX, f64::MIN, f64::MAX, f64::MIN];
        for row in means.chunks_exact(latent_dim) {
            let (x, y) = plane.coordinates(row);
            extent = [
                extent[0].min(x),
                extent[1].max(x),
                extent[2].min(y),
                extent[3].max(y),
            ];
        }
        let shape = run.config.image_shape();
        let classes = if run.is_conditional() {
            test.class_names().to_vec()
        } else {
            Vec::new()
        };
        let info = ModelInfo {
            latent_dim,
            width: shape.width,
            height: shape.height,
            channels: shape.channels,
            classes,
            dimensions_by_kl: order,
            start_code: means[..latent_dim].to_vec(),
            plane: plane.description.clone(),
            plane_extent: extent,
            test_images: test.labels().len(),
            score_samples: SCORE_SAMPLES,
            curves: curves
                .iter()
                .map(|row| CurvePoint {
                    epoch: row.epoch,
                    train_loss: row.values[0],
                    valid_loss: row.values[3],
                })
                .collect(),
        };
        let mut model = Self {
            run,
            test,
            device,
            plane,
            info,
            test_scores: Vec::new(),
            host,
        };
        let scored = model.test.labels().len().min(TEST_IMAGES_FOR_SCORES);
        let mut scores = Vec::with_capacity(scored);
        for first in (0..scored).step_by(100) {
            let last = (first + 100).min(scored);
            let x =
                ImageBatcher::images((first..last).map(|i| model.test.pixels(i)), &model.device);
            let labels = model.test.labels()[first..last].to_vec();
            scores.extend(model.negative_elbo(x, &labels)?);
        }
        scores.sort_by(f64::total_cmp);
        model.test_scores = scores;
        Ok(model)
    }

    /// The layout figures.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// Values per image.
    fn elements(&self) -> usize {
        self.info.width * self.info.height * self.info.channels
    }

    /// Checks `label` against the model: required by a conditional model, refused by another.
    fn condition(&self, label: Option<u8>, rows: usize) -> Result<Option<Tensor<2>>, WebError> {
        let classes = self.run.config.classes();
        match (self.run.is_conditional(), label) {
            (true, Some(label)) if usize::from(label) < classes => {
                Ok(self.run.condition(&vec![label; rows], &self.device))
            }
            (true, Some(label)) => Err(invalid(format!(
                "label {label} is out of range: this model's classes are 0..={}",
                classes - 1
            ))),
            (true, None) => Err(invalid(format!(
                "this model is conditional: send a label (0..={}) with the request",
                classes - 1
            ))),
            (false, Some(_)) => Err(invalid(
                "this model is not conditional: leave the label out",
            )),
            (false, None) => Ok(None),
        }
    }

    fn decode_codes(&self, codes: &[f64], label: Option<u8>) -> Result<Vec<f32>, WebError> {
        let rows = codes.len() / self.info.latent_dim;
        let condition = self.condition(label, rows)?;
        let values: Vec<f32> = codes.iter().map(|&v| v as f32).collect();
        let z = Tensor::<1>::from_floats(values.as_slice(), &self.device)
            .reshape([rows, self.info.latent_dim]);
        Ok(read_back(self.run.model.decode_mean(z, condition))?)
    }

    /// The image decoded from latent code `code` (the mean of `p(x|z)`).
    pub fn decode(&self, code: &[f64], label: Option<u8>) -> Result<Vec<f32>, WebError> {
        if code.len() != self.info.latent_dim {
            return Err(invalid(format!(
                "z has {} values; this model's latent space has {} dimensions",
                code.len(),
                self.info.latent_dim
            )));
        }
        if let Some(bad) = code.iter().find(|v| !v.is_finite() || v.abs() > 1e3) {
            return Err(invalid(format!(
                "z holds {bad}: every value must be a finite number within ±1000"
            )));
        }
        self.decode_codes(code, label)
    }

    /// The code at `(x, y)` on the plane, and its image.
    pub fn decode_plane(
        &self,
        x: f64,
        y: f64,
        label: Option<u8>,
    ) -> Result<(Vec<f64>, Vec<f32>), WebError> {
        if !(x.is_finite() && y.is_finite() && x.abs() <= 1e3 && y.abs() <= 1e3) {
            return Err(invalid("x and y must be finite numbers within ±1000"));
        }
        let code = self.plane.code(x, y);
        let image = self.decode(&code, label)?;
        Ok((code, image))
    }

    /// Negative ELBOs of a batch of images (averaged over [`SCORE_SAMPLES`] samples each).
    fn negative_elbo(&self, x: Tensor<2>, labels: &[u8]) -> Result<Vec<f64>, WebError> {
        let condition = self.run.condition(labels, &self.device);
        let sampling = Sampling::new(
            SCORE_SAMPLES,
            SCORE_SAMPLES,
            labels.len().max(1),
            self.elements(),
        )?
        .on_host(self.host);
        let weights =
            log_importance_weights(&self.run.model, x.clone(), condition.clone(), sampling);
        let scores = self
            .run
            .model
            .anomaly_scores_from_weights(x, condition, weights);
        Ok(read_back(scores.get(AnomalyScore::NegativeElbo).clone())?
            .into_iter()
            .map(f64::from)
            .collect())
    }

    /// Reconstructs `pixels` (values in `[0, 1]`, channel by channel) and scores it against the
    /// test set.
    pub fn reconstruct(&self, pixels: &[f32], label: Option<u8>) -> Result<Scored, WebError> {
        if pixels.len() != self.elements() {
            return Err(invalid(format!(
                "pixels has {} values; this model's images have {} ({}×{}, {} channel(s))",
                pixels.len(),
                self.elements(),
                self.info.width,
                self.info.height,
                self.info.channels
            )));
        }
        if let Some(bad) = pixels.iter().find(|v| !(0.0..=1.0).contains(*v)) {
            return Err(invalid(format!(
                "pixels holds {bad}: every value must be an intensity in [0, 1]"
            )));
        }
        let condition = self.condition(label, 1)?;
        let x = Tensor::<1>::from_floats(pixels, &self.device).reshape([1, pixels.len()]);
        let reconstruction = read_back(self.run.model.reconstruct(x.clone(), condition))?;
        let labels = label.map(|l| vec![l]).unwrap_or_else(|| vec![0]);
        let negative_elbo = self.negative_elbo(x, &labels)?[0];
        let at_most = self.test_scores.partition_point(|&s| s <= negative_elbo);
        Ok(Scored {
            reconstruction,
            negative_elbo,
            percentile: at_most as f64 / self.test_scores.len().max(1) as f64,
        })
    }

    /// Test image `index`: its pixels, its label and its posterior mean.
    pub fn test_image(&self, index: usize) -> Result<(Vec<f32>, u8, Vec<f64>), WebError> {
        let count = self.test.labels().len();
        if index >= count {
            return Err(invalid(format!(
                "index {index} is out of range: the test set has {count} images (0..={})",
                count - 1
            )));
        }
        let pixels: Vec<f32> = self
            .test
            .pixels(index)
            .iter()
            .map(|&p| f32::from(p) / 255.0)
            .collect();
        let label = self.test.labels()[index];
        let x = ImageBatcher::images(std::iter::once(self.test.pixels(index)), &self.device);
        let condition = self.run.condition(&[label], &self.device);
        let mean = read_back(self.run.model.encode(x, condition).mean)?;
        Ok((pixels, label, mean.into_iter().map(f64::from).collect()))
    }

    /// `steps` images on the line between the posterior means of test images `a` and `b` (the
    /// condition, for a conditional model, moves along with the code).
    pub fn interpolate(&self, a: usize, b: usize, steps: usize) -> Result<Vec<Vec<f32>>, WebError> {
        if !(2..=MAX_STEPS).contains(&steps) {
            return Err(invalid(format!("steps must be within 2..={MAX_STEPS}")));
        }
        for index in [a, b] {
            self.test_image(index)?;
        }
        let grid = crate::inspect::pictures::interpolate(
            &self.run,
            &self.test,
            &[(a, b)],
            steps,
            &self.device,
        )?;
        Ok((0..grid.len()).map(|i| grid.tile(i).to_vec()).collect())
    }
}
