//! `vae probe`: the label-probe accuracy of a run's latent codes, a cheap figure of how much of
//! the class a representation holds. A linear classifier (multinomial logistic regression) is
//! fitted on the posterior means of training images and scored on the test images' means.

use std::fmt;
use std::path::PathBuf;
use std::time::Instant;

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use serde::Serialize;

use super::InspectError;
use super::pictures::posterior_means;
use crate::backend::Backend;
use crate::classifier::label_tensor;
use crate::data::Split;
use crate::run::trained_run::TrainedRun;

/// Adam's learning rate for the probe (on standardized features).
pub const PROBE_LEARNING_RATE: f64 = 0.05;

/// What `vae probe` measures, and on what.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// The run folder.
    pub run_dir: PathBuf,
    /// The compute backend.
    pub backend: Backend,
    /// The dataset folder (see `vae evaluate`).
    pub data_dir: Option<PathBuf>,
    /// Training images whose means fit the probe. Default: the whole training split.
    pub train_images: Option<usize>,
    /// Full-batch Adam steps.
    pub steps: usize,
    /// Seeds the probe's initial weights.
    pub seed: u64,
}

/// The probe's result.
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    /// The run folder.
    pub run_dir: PathBuf,
    /// Latent dimensions (the probe's inputs).
    pub latent_dim: usize,
    /// Whether the model was given the label (a conditional model's code need not hold it).
    pub conditional: bool,
    /// Training images the probe was fitted on.
    pub train_images: usize,
    /// Test images it was scored on.
    pub test_images: usize,
    /// Full-batch Adam steps.
    pub steps: usize,
    /// Accuracy on the training images' means, in `[0, 1]`.
    pub train_accuracy: f64,
    /// Accuracy on the test images' means, in `[0, 1]`.
    pub test_accuracy: f64,
    /// The share of the most frequent test class: what a probe that learned nothing scores.
    pub majority_share: f64,
    /// Wall time, encoding included.
    pub seconds: f64,
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "label probe of {} ({}-D posterior means{}): a linear classifier fitted on {} training \
             images ({} full-batch Adam steps)",
            self.run_dir.display(),
            self.latent_dim,
            if self.conditional {
                ", a conditional model: the label was an input"
            } else {
                ""
            },
            self.train_images,
            self.steps
        )?;
        writeln!(
            f,
            "test accuracy {:.2} % on {} images (training {:.2} %; the most frequent class alone: \
             {:.2} %); {:.1} s",
            100.0 * self.test_accuracy,
            self.test_images,
            100.0 * self.train_accuracy,
            100.0 * self.majority_share,
            self.seconds
        )
    }
}

/// A linear classifier on standardized features.
#[derive(Debug)]
pub struct LinearProbe {
    linear: Linear,
    mean: Vec<f64>,
    scale: Vec<f64>,
}

impl LinearProbe {
    /// Fits the probe to `features` (row-major, `dim` per row) and `labels` (each below
    /// `classes`): standardizes each feature with the training rows' mean and deviation, then
    /// minimizes the cross-entropy with `steps` full-batch Adam steps.
    pub fn fit(
        features: &[f64],
        labels: &[u8],
        dim: usize,
        classes: usize,
        steps: usize,
        seed: u64,
        device: &Device,
    ) -> Self {
        let rows = labels.len();
        assert_eq!(
            features.len(),
            rows * dim,
            "features must be labels.len() × dim"
        );
        let (mean, scale) = standardization(features, dim);
        let train_device = device.clone().autodiff();
        train_device.seed(seed);
        let mut probe = Self {
            linear: LinearConfig::new(dim, classes).init(&train_device),
            mean,
            scale,
        };
        let x = probe.standardized(features, &train_device);
        let targets = label_tensor(labels, &train_device);
        let loss_function = CrossEntropyLossConfig::new().init(&train_device);
        let mut optimizer = AdamConfig::new().init();
        for _ in 0..steps {
            let loss = loss_function.forward(probe.linear.forward(x.clone()), targets.clone());
            let grads = GradientsParams::from_grads(loss.backward(), &probe.linear);
            probe.linear = optimizer.step(PROBE_LEARNING_RATE, probe.linear, grads);
        }
        probe.linear = probe.linear.valid();
        probe
    }

    /// `features` standardized, row-major.
    fn standardized_values(&self, features: &[f64]) -> Vec<f32> {
        let dim = self.mean.len();
        features
            .chunks(dim)
            .flat_map(|row| {
                row.iter()
                    .zip(self.mean.iter().zip(&self.scale))
                    .map(|(&v, (&m, &s))| ((v - m) * s) as f32)
            })
            .collect()
    }

    /// `features` standardized, as a `[rows, dim]` tensor.
    fn standardized(&self, features: &[f64], device: &Device) -> Tensor<2> {
        let dim = self.mean.len();
        let values = self.standardized_values(features);
        let rows = values.len() / dim.max(1);
        Tensor::from_data(TensorData::new(values, [rows, dim]), device)
    }

    /// The share of rows of `features` whose most likely class is their label.
    pub fn accuracy(
        &self,
        features: &[f64],
        labels: &[u8],
        device: &Device,
    ) -> Result<f64, InspectError> {
        if labels.is_empty() {
            return Err(InspectError::Argument("no images to classify".into()));
        }
        let dim = self.mean.len();
        if features.len() != labels.len() * dim {
            return Err(InspectError::Argument(format!(
                "{} feature values for {} labels: the probe takes {dim} per image",
                features.len(),
                labels.len()
            )));
        }
        let logits = self.linear.forward(self.standardized(features, device));
        let predicted = logits
            .argmax(1)
            .flatten::<1>(0, 1)
            .into_data()
            .convert::<i64>()
            .try_into_vec::<i64>()
            .map_err(|e| InspectError::ReadBack(format!("{e:?}")))?;
        let correct = predicted
            .iter()
            .zip(labels)
            .filter(|(p, l)| **p == i64::from(**l))
            .count();
        Ok(correct as f64 / labels.len() as f64)
    }
}

/// Each feature's mean and the factor that scales its deviation to 1, over the rows of
/// `features` (row-major, `dim` per row). Two passes in `f64`, so that a feature with a large
/// mean and a small spread keeps its spread; a feature whose spread is below 10^-12 of its
/// magnitude (a constant one, up to rounding) is only centred.
fn standardization(features: &[f64], dim: usize) -> (Vec<f64>, Vec<f64>) {
    let count = (features.len() / dim.max(1)).max(1) as f64;
    let mut mean = vec![0.0f64; dim];
    for row in features.chunks(dim) {
        for (sum, &v) in mean.iter_mut().zip(row) {
            *sum += v;
        }
    }
    mean.iter_mut().for_each(|m| *m /= count);
    let mut variance = vec![0.0f64; dim];
    for row in features.chunks(dim) {
        for ((sum, &v), &m) in variance.iter_mut().zip(row).zip(&mean) {
            *sum += (v - m).powi(2);
        }
    }
    let scale = variance
        .iter()
        .zip(&mean)
        .map(|(&sum, &m)| {
            let deviation = (sum / count).sqrt();
            if deviation > 1e-12 * m.abs() && deviation > 0.0 {
                1.0 / deviation
            } else {
                1.0
            }
        })
        .collect();
    (mean, scale)
}

/// The share of the most frequent label.
fn majority_share(labels: &[u8]) -> f64 {
    let mut counts = [0usize; 256];
    for &label in labels {
        counts[usize::from(label)] += 1;
    }
    counts.iter().copied().max().unwrap_or(0) as f64 / labels.len().max(1) as f64
}

/// Encodes the training and test images of `options.run_dir`, fits the probe, scores it.
pub fn probe(options: &ProbeOptions) -> Result<Probe, InspectError> {
    if options.steps == 0 || options.train_images == Some(0) {
        return Err(InspectError::Argument(
            "--steps and --train-images must each be at least 1".into(),
        ));
    }
    let start = Instant::now();
    let device = options.backend.device()?;
    let run = TrainedRun::open(&options.run_dir, &device)?;
    let data_dir = options.data_dir.as_deref();
    let mut train = run.config.load_split(Split::Train, data_dir)?;
    if let Some(count) = options.train_images {
        train = train.truncate(count);
    }
    let train = run.config.data_treatment.test_set(train);
    let test = run.test_set(data_dir)?;
    let classes = usize::from(
        train
            .labels()
            .iter()
            .chain(test.labels())
            .copied()
            .max()
            .unwrap_or(0),
    ) + 1;
    if classes < 2 {
        return Err(InspectError::Argument(format!(
            "the probe needs labelled images of at least 2 classes, but every image of {}'s data \
             has label 0 (an image folder without class subfolders?)",
            options.run_dir.display()
        )));
    }
    let dim = run.model.latent_dim();
    let train_means = posterior_means(&run, &train, train.labels().len(), &device)?;
    let test_means = posterior_means(&run, &test, test.labels().len(), &device)?;
    let probe = LinearProbe::fit(
        &train_means,
        train.labels(),
        dim,
        classes,
        options.steps,
        options.seed,
        &device,
    );
    Ok(Probe {
        run_dir: options.run_dir.clone(),
        latent_dim: dim,
        conditional: run.is_conditional(),
        train_images: train.labels().len(),
        test_images: test.labels().len(),
        steps: options.steps,
        train_accuracy: probe.accuracy(&train_means, train.labels(), &device)?,
        test_accuracy: probe.accuracy(&test_means, test.labels(), &device)?,
        majority_share: majority_share(test.labels()),
        seconds: start.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three classes around three far-apart centres in 2-D, on an awkward scale (the probe
    /// standardizes); and a constant third feature.
    fn clusters(per_class: usize) -> (Vec<f64>, Vec<u8>) {
        let centres = [(0.0, 0.0), (100.0, 0.0), (0.0, 100.0)];
        let mut features = Vec::new();
        let mut labels = Vec::new();
        for (class, (cx, cy)) in centres.iter().enumerate() {
            for i in 0..per_class {
                let jitter = (i as f64 / per_class as f64 - 0.5) * 10.0;
                features.extend([cx + jitter, cy - jitter, 7.0]);
                labels.push(class as u8);
            }
        }
        (features, labels)
    }

    #[test]
    fn separable_classes_are_learned_and_shuffled_labels_are_not() {
        let device = Device::flex();
        let (features, labels) = clusters(30);
        let probe = LinearProbe::fit(&features, &labels, 3, 3, 200, 1, &device);
        assert_eq!(probe.accuracy(&features, &labels, &device).unwrap(), 1.0);

        // Labels that do not follow the features: the probe cannot do much better than chance
        // on fresh points of the same clusters.
        let scrambled: Vec<u8> = (0..labels.len()).map(|i| (i % 3) as u8).collect();
        let probe = LinearProbe::fit(&features, &scrambled, 3, 3, 200, 1, &device);
        let (fresh, fresh_labels) = clusters(7);
        let fresh_scrambled: Vec<u8> = (0..fresh_labels.len()).map(|i| (i % 3) as u8).collect();
        let accuracy = probe.accuracy(&fresh, &fresh_scrambled, &device).unwrap();
        assert!(
            accuracy < 0.7,
            "accuracy {accuracy} on labels unrelated to the features"
        );
    }

    #[test]
    fn standardized_features_have_mean_0_and_deviation_1_and_a_constant_one_is_centred() {
        // Feature 0: large mean, small spread (a one-pass variance in f32 would lose it);
        // feature 1: constant.
        let features: Vec<f64> = (0..1000)
            .flat_map(|i| [1e6 + (i % 10) as f64 * 1e-2, 7.0])
            .collect();
        let (mean, scale) = standardization(&features, 2);
        let probe = LinearProbe {
            linear: LinearConfig::new(2, 2).init(&Device::flex()),
            mean,
            scale,
        };
        let values = probe.standardized_values(&features);
        for column in 0..2 {
            let column_values: Vec<f64> = values
                .iter()
                .skip(column)
                .step_by(2)
                .map(|&v| f64::from(v))
                .collect();
            let m = column_values.iter().sum::<f64>() / column_values.len() as f64;
            let v = column_values.iter().map(|x| (x - m).powi(2)).sum::<f64>()
                / column_values.len() as f64;
            assert!(m.abs() < 1e-5, "column {column}: mean {m}");
            let expected = if column == 0 { 1.0 } else { 0.0 };
            assert!((v - expected).abs() < 1e-4, "column {column}: variance {v}");
        }
    }

    #[test]
    fn a_feature_count_that_does_not_fit_the_labels_is_an_error() {
        let device = Device::flex();
        let (features, labels) = clusters(5);
        let probe = LinearProbe::fit(&features, &labels, 3, 3, 5, 1, &device);
        let error = probe
            .accuracy(&features[..features.len() - 1], &labels, &device)
            .unwrap_err();
        assert!(error.to_string().contains("3 per image"), "{error}");
    }

    #[test]
    fn the_majority_share_is_the_most_frequent_label() {
        assert_eq!(majority_share(&[1, 1, 2, 3]), 0.5);
        assert_eq!(majority_share(&[]), 0.0);
    }
}
