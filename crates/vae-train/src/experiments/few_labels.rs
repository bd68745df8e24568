//! What the few-label experiments (data augmentation, semi-supervised M2) share: their settings,
//! the seeded draw of a few labelled images per class, the classifier settings for a number of
//! steps, and the mean ± sd over draws.

use std::path::PathBuf;

use burn::prelude::Device;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use crate::backend::Backend;
use crate::classifier::ClassifierTraining;
use crate::config::{ConditionChoice, TrainingConfig};
use crate::data::{DatasetKind, ImageData, Split};
use crate::experiments::{ExperimentError, create_out_dir};

/// Labelled training images per class by default (Kingma et al. 2014's 100-label setting).
pub const DEFAULT_LABELS_PER_CLASS: usize = 10;
/// Images per classifier step.
pub(crate) const CLASSIFIER_BATCH: usize = 100;

/// The settings every few-label experiment takes.
#[derive(Debug, Clone)]
pub struct FewLabels {
    /// The conditional VAE's config (network, likelihood, latent size, learning rate, optimizer;
    /// the experiment sets `condition` to `label`).
    pub base: TrainingConfig,
    /// Labelled images per class.
    pub labels_per_class: usize,
    /// Label draws: seeds `0..seeds`.
    pub seeds: usize,
    /// Dropout, shifts and learning rate of the classifiers (epochs are set from the steps).
    pub classifier: ClassifierTraining,
    /// Where the tensors live.
    pub backend: Backend,
    /// Dataset folder (`None`: the dataset's environment variable, then its default source).
    pub data_dir: Option<PathBuf>,
    /// The results go here.
    pub out_dir: PathBuf,
}

/// What a few-label experiment works on once its settings are checked.
pub(crate) struct Prepared {
    /// The base config with the label as its condition.
    pub config: TrainingConfig,
    /// The dataset.
    pub dataset: DatasetKind,
    /// The device.
    pub device: Device,
    /// The training split (labelled draws and unlabelled images come from it).
    pub train: ImageData,
    /// The test split (accuracies are measured on all of it).
    pub test: ImageData,
}

impl FewLabels {
    /// Checks `counts` (flag and value, each at least 1) and every shared setting, then loads
    /// both splits and creates the output folder. `what` names the experiment in errors.
    pub(crate) fn prepare(
        &self,
        what: &str,
        counts: &[(&str, usize)],
    ) -> Result<Prepared, ExperimentError> {
        let shared = [
            ("--labels-per-class", self.labels_per_class),
            ("--seeds", self.seeds),
        ];
        if let Some((flag, _)) = shared.iter().chain(counts).find(|(_, value)| *value == 0) {
            return Err(ExperimentError::Argument(format!(
                "{flag} is 0: it must be at least 1"
            )));
        }
        self.classifier.validate()?;
        let mut config = self.base.clone();
        config.condition = ConditionChoice::Label;
        config.validate()?;
        let dataset = config.idx_dataset(what)?;
        let device = self
            .backend
            .device()
            .map_err(crate::inspect::InspectError::from)?;
        create_out_dir(&self.out_dir)?;
        let train = dataset.load(Split::Train, self.data_dir.as_deref())?;
        let test = dataset.load(Split::Test, self.data_dir.as_deref())?;
        Ok(Prepared {
            config,
            dataset,
            device,
            train,
            test,
        })
    }
}

/// `per_class` indices of each class of `labels`, drawn without replacement with `seed`, in
/// class order; an error names a class with too few images.
pub fn draw_labelled(
    labels: &[u8],
    classes: usize,
    per_class: usize,
    seed: u64,
) -> Result<Vec<usize>, ExperimentError> {
    let mut rng = StdRng::seed_from_u64(seed);
    // No capacity from `per_class` before it is checked: a huge value must be an error.
    let mut chosen = Vec::new();
    for class in 0..classes {
        let mut members: Vec<usize> = (0..labels.len())
            .filter(|&i| usize::from(labels[i]) == class)
            .collect();
        if members.len() < per_class {
            return Err(ExperimentError::Argument(format!(
                "--labels-per-class {per_class}: class {class} has only {} training images; \
                 ask for at most that many",
                members.len()
            )));
        }
        members.shuffle(&mut rng);
        chosen.extend_from_slice(&members[..per_class]);
    }
    Ok(chosen)
}

/// The mean and sample standard deviation (0 for one value).
pub(crate) fn mean_sd(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return (mean, 0.0);
    }
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, variance.sqrt())
}

/// The classifier settings for `images` training images and at least `steps` steps of
/// [`CLASSIFIER_BATCH`] (the fit stops at `steps`), at a constant learning rate.
pub(crate) fn classifier_settings(
    base: &ClassifierTraining,
    images: usize,
    steps: usize,
    seed: u64,
) -> ClassifierTraining {
    let steps_per_epoch = images.div_ceil(CLASSIFIER_BATCH);
    ClassifierTraining {
        epochs: steps.div_ceil(steps_per_epoch),
        batch_size: CLASSIFIER_BATCH,
        lr_decay_per_epoch: 1.0,
        seed,
        ..base.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_labelled_draw_takes_each_class_equally_and_depends_on_the_seed() {
        // Class c at indices c, c + 3, c + 6, ... (three classes, 10 images each).
        let labels: Vec<u8> = (0..30).map(|i| (i % 3) as u8).collect();
        let chosen = draw_labelled(&labels, 3, 4, 7).unwrap();
        assert_eq!(chosen.len(), 12);
        for (k, &index) in chosen.iter().enumerate() {
            assert_eq!(usize::from(labels[index]), k / 4, "{chosen:?}");
        }
        let mut unique = chosen.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), 12, "drawn twice: {chosen:?}");
        assert_eq!(draw_labelled(&labels, 3, 4, 7).unwrap(), chosen);
        assert_ne!(draw_labelled(&labels, 3, 4, 8).unwrap(), chosen);

        let error = draw_labelled(&labels, 3, 11, 7).unwrap_err().to_string();
        assert!(error.contains("class 0 has only 10"), "{error}");
    }

    #[test]
    fn mean_and_sample_deviation() {
        let (mean, sd) = mean_sd(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(mean, 2.5);
        assert!((sd - (5.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(mean_sd(&[0.7]), (0.7, 0.0));
    }

    #[test]
    fn both_classifiers_get_the_same_number_of_steps() {
        let base = ClassifierTraining::default();
        let alone = classifier_settings(&base, 100, 500, 3);
        let augmented = classifier_settings(&base, 1100, 500, 3);
        // Enough epochs for 500 steps (the fit stops there), and not one epoch more.
        for (settings, images) in [(&alone, 100usize), (&augmented, 1100)] {
            let per_epoch = images.div_ceil(CLASSIFIER_BATCH);
            assert!(settings.epochs * per_epoch >= 500);
            assert!((settings.epochs - 1) * per_epoch < 500);
        }
        assert_eq!((alone.lr_decay_per_epoch, alone.seed), (1.0, 3));
    }
}
