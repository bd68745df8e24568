//! Data augmentation with a conditional VAE: the reference CNN classifier trained on a few
//! labelled images (10 per class by default), with and without images that a conditional VAE
//! draws for each class. The conditional VAE learns from the same labelled images only
//! ([`Generator::Labelled`], the default) or from them and the whole training split as unlabelled
//! images (M2's, [`Generator::M2`]). Both classifiers take the
//! same number of optimizer steps with the same dropout and random shifts, and the labelled
//! images are repeated to make at least half of the augmented set. In the same number of steps
//! the augmented classifier meets each labelled image about half as often: the generated images
//! take the place of half the real ones. Repeated over several label draws (seeds).

use std::path::PathBuf;
use std::time::Instant;

use burn::optim::GradientsParams;
use burn::prelude::*;
use serde::Serialize;

use crate::classifier::{accuracy, fit_classifier};
use crate::config::{CLASSES, TrainingConfig};
use crate::data::batcher::{ImageBatcher, one_hot};
use crate::experiments::few_labels::{
    FewLabels, Prepared, classifier_settings, draw_labelled, mean_sd,
};
use crate::experiments::semi_supervised::{DEFAULT_UNLABELLED_BATCH, M2Training, fit_m2};
use crate::experiments::{ExperimentError, write_results};
use crate::inspect::pictures::Grid;
use crate::inspect::read_back;
use crate::model::{CliVae, build_model};

/// Generated images per class added to the labelled ones by default.
pub const DEFAULT_SYNTHETIC_PER_CLASS: usize = 100;
/// Label draws by default.
pub const DEFAULT_SEEDS: usize = 5;
/// Full-batch Adam steps of the conditional VAE on the labelled images by default
/// ([`Generator::Labelled`]).
pub const DEFAULT_CVAE_STEPS: usize = 2000;
/// The most generated images per class (all are generated in one pass).
pub const MAX_SYNTHETIC_PER_CLASS: usize = 10_000;
/// Optimizer steps of each classifier by default.
pub const DEFAULT_CLASSIFIER_STEPS: usize = 500;

/// Which conditional VAE generates the images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Generator {
    /// The config's network as a conditional VAE, trained full-batch on the labelled images only.
    Labelled,
    /// M2's conditional VAE (`vae experiment semi-supervised`'s model: 100 unlabelled images
    /// per step, its default α), trained on the labelled images and the whole training split as
    /// unlabelled images.
    M2,
}

impl Generator {
    /// Training steps of the generator by default: [`DEFAULT_CVAE_STEPS`] full-batch steps, or
    /// M2's default number of steps.
    pub fn default_steps(self) -> usize {
        match self {
            Self::Labelled => DEFAULT_CVAE_STEPS,
            Self::M2 => crate::experiments::semi_supervised::DEFAULT_STEPS,
        }
    }
}

impl std::fmt::Display for Generator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Labelled => "a conditional VAE trained on the same labelled images",
            Self::M2 => "M2's conditional VAE, trained on them and every training image unlabelled",
        })
    }
}

/// What the experiment needs.
#[derive(Debug, Clone)]
pub struct AugmentationOptions {
    /// The shared settings. The config's data treatment, epochs and batch size are not used:
    /// the conditional VAE trains full-batch on the labelled images' intensities. The results
    /// and the picture of generated images go to its `out_dir`.
    pub few: FewLabels,
    /// Generated images per class.
    pub synthetic_per_class: usize,
    /// Which conditional VAE generates them.
    pub generator: Generator,
    /// Adam steps of the conditional VAE (full-batch, or M2's steps).
    pub cvae_steps: usize,
    /// Optimizer steps of each classifier.
    pub classifier_steps: usize,
}

/// One label draw's figures.
#[derive(Debug, Clone, Serialize)]
pub struct DrawResult {
    /// Seeds the label draw, the VAE, the samples and both classifiers.
    pub seed: u64,
    /// Test accuracy of the classifier trained on the labelled images alone.
    pub labelled_only: f64,
    /// Test accuracy of the classifier trained on them and the generated images.
    pub augmented: f64,
    /// The conditional VAE's loss per image on the labelled images (its `beta`-weighted
    /// negative ELBO at one posterior sample) at its last step; with M2, its labelled bound.
    pub cvae_loss: f64,
}

/// The experiment's results.
#[derive(Debug, Clone, Serialize)]
pub struct AugmentationReport {
    /// The dataset.
    pub dataset: String,
    /// Labelled images per class.
    pub labels_per_class: usize,
    /// Generated images per class.
    pub synthetic_per_class: usize,
    /// Which conditional VAE generated them.
    pub generator: Generator,
    /// Steps of the conditional VAE.
    pub cvae_steps: usize,
    /// Steps of each classifier.
    pub classifier_steps: usize,
    /// One row per label draw.
    pub draws: Vec<DrawResult>,
    /// Mean and sample standard deviation of `labelled_only` over the draws.
    pub labelled_only: (f64, f64),
    /// Mean and sample standard deviation of `augmented` over the draws.
    pub augmented: (f64, f64),
    /// Mean of `augmented - labelled_only`, in accuracy points (percent).
    pub gain_points: f64,
    /// Generated images of the first draw, one row per class.
    pub picture: PathBuf,
    /// Wall-clock seconds of the whole experiment.
    pub seconds: f64,
}

/// Trains the conditional VAE full-batch on `rows` and `labels`; returns it for inference and
/// its final loss.
fn fit_cvae(
    config: &TrainingConfig,
    rows: &[&[u8]],
    labels: &[u8],
    steps: usize,
    seed: u64,
    device: &Device,
) -> Result<(CliVae, f64), ExperimentError> {
    device.seed(seed);
    let train_device = device.clone().autodiff();
    let mut model = build_model(config, &train_device)
        .map_err(|e| ExperimentError::Argument(format!("the conditional VAE: {e}")))?;
    let x = ImageBatcher::images(rows.iter().copied(), &train_device);
    let condition = one_hot(labels, CLASSES, &train_device);
    let mut optimizer = config.optimizer.init();
    let mut loss = f64::NAN;
    for step in 0..steps {
        let terms = model.loss(x.clone(), Some(condition.clone()));
        let mean = terms.mean_loss();
        if step + 1 == steps {
            loss = mean.clone().into_scalar::<f64>();
        }
        let grads = GradientsParams::from_grads(mean.backward(), &model);
        model = optimizer.step(config.learning_rate, model, grads);
    }
    Ok((model.valid(), loss))
}

/// `per_class` images of each class generated by `model` (the decoder's mean at prior draws),
/// as 8-bit rows with their labels.
fn generate(
    model: &CliVae,
    per_class: usize,
    seed: u64,
    device: &Device,
) -> Result<(Vec<Vec<u8>>, Vec<u8>), ExperimentError> {
    let labels: Vec<u8> = (0..CLASSES as u8)
        .flat_map(|class| std::iter::repeat_n(class, per_class))
        .collect();
    device.seed(seed);
    let images = model.generate(
        labels.len(),
        Some(one_hot(&labels, CLASSES, device)),
        device,
    );
    let [_, width] = images.dims();
    let values = read_back(images)?;
    let rows = values
        .chunks(width)
        .map(|row| {
            row.iter()
                .map(|&v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
                .collect()
        })
        .collect();
    Ok((rows, labels))
}

/// How many times the labelled images appear in the augmented training set: enough for them to
/// be at least as many as the generated ones.
fn real_copies(labels_per_class: usize, synthetic_per_class: usize) -> usize {
    synthetic_per_class.div_ceil(labels_per_class).max(1)
}

/// Runs every label draw and writes `results.md`, `results.json` and `synthetic.png`.
pub fn run_augmentation(
    options: &AugmentationOptions,
) -> Result<AugmentationReport, ExperimentError> {
    if options.synthetic_per_class > MAX_SYNTHETIC_PER_CLASS {
        return Err(ExperimentError::Argument(format!(
            "--synthetic-per-class {} is over {MAX_SYNTHETIC_PER_CLASS}: they are generated at \
             once; use fewer",
            options.synthetic_per_class
        )));
    }
    // M2's settings when it is the generator, checked before any data is read.
    let m2 = match options.generator {
        Generator::Labelled => None,
        Generator::M2 => {
            let training = M2Training {
                steps: options.cvae_steps,
                unlabelled_batch: DEFAULT_UNLABELLED_BATCH,
                alpha: None,
            };
            training.check(&options.few.base)?;
            Some(training)
        }
    };
    let start = Instant::now();
    let few = &options.few;
    let Prepared {
        config,
        dataset,
        device,
        train,
        test,
    } = few.prepare(
        "The augmentation experiment",
        &[
            ("--synthetic-per-class", options.synthetic_per_class),
            ("--cvae-steps", options.cvae_steps),
            ("--classifier-steps", options.classifier_steps),
        ],
    )?;
    let picture = few.out_dir.join("synthetic.png");
    let labelled_count = few.labels_per_class.saturating_mul(CLASSES);
    let m2 = m2
        .map(|training| {
            let alpha = training.alpha_for(train.labels().len(), labelled_count)?;
            Ok::<_, ExperimentError>((training, alpha))
        })
        .transpose()?;

    let mut draws = Vec::new();
    for seed in 0..few.seeds as u64 {
        let chosen = draw_labelled(train.labels(), CLASSES, few.labels_per_class, seed)?;
        let rows: Vec<&[u8]> = chosen.iter().map(|&i| train.pixels(i)).collect();
        let labels: Vec<u8> = chosen.iter().map(|&i| train.labels()[i]).collect();

        let settings =
            classifier_settings(&few.classifier, rows.len(), options.classifier_steps, seed);
        let steps = Some(options.classifier_steps);
        let alone = fit_classifier(&rows, &labels, CLASSES, &settings, steps, &device, false)?;
        let labelled_only = accuracy(&alone, &test, &device)?;

        let (cvae, cvae_loss) = match &m2 {
            None => fit_cvae(&config, &rows, &labels, options.cvae_steps, seed, &device)?,
            Some((training, alpha)) => {
                let fitted = fit_m2(
                    &config,
                    &few.classifier,
                    &rows,
                    &labels,
                    &train,
                    training,
                    *alpha,
                    seed,
                    &device,
                )?;
                (fitted.vae, fitted.last_terms[0])
            }
        };
        let (synthetic, synthetic_labels) =
            generate(&cvae, options.synthetic_per_class, seed, &device)?;
        if seed == 0 {
            let shown: Vec<&[u8]> = (0..CLASSES)
                .flat_map(|class| {
                    let first = class * options.synthetic_per_class;
                    (first..first + options.synthetic_per_class.min(10))
                        .map(|i| synthetic[i].as_slice())
                })
                .collect();
            let columns = options.synthetic_per_class.min(10);
            Grid::from_tensor(
                ImageBatcher::images(shown.into_iter(), &device),
                columns,
                config.image_shape(),
            )?
            .save(&picture)?;
        }
        // The labelled images are repeated so that they are at least half of every epoch: the
        // generated images add to what the classifier sees, they do not dilute the real ones.
        let copies = real_copies(few.labels_per_class, options.synthetic_per_class);
        let mut all_rows: Vec<&[u8]> = Vec::new();
        let mut all_labels: Vec<u8> = Vec::new();
        for _ in 0..copies {
            all_rows.extend_from_slice(&rows);
            all_labels.extend_from_slice(&labels);
        }
        all_rows.extend(synthetic.iter().map(Vec::as_slice));
        all_labels.extend_from_slice(&synthetic_labels);
        let settings = classifier_settings(
            &few.classifier,
            all_rows.len(),
            options.classifier_steps,
            seed,
        );
        let augmented = fit_classifier(
            &all_rows,
            &all_labels,
            CLASSES,
            &settings,
            steps,
            &device,
            false,
        )?;
        let augmented = accuracy(&augmented, &test, &device)?;
        println!(
            "seed {seed}: labelled only {:.2} %, with generated images {:.2} % (VAE loss {:.1})",
            100.0 * labelled_only,
            100.0 * augmented,
            cvae_loss
        );
        draws.push(DrawResult {
            seed,
            labelled_only,
            augmented,
            cvae_loss,
        });
    }
    let alone: Vec<f64> = draws.iter().map(|d| d.labelled_only).collect();
    let with: Vec<f64> = draws.iter().map(|d| d.augmented).collect();
    let report = AugmentationReport {
        dataset: dataset.name().to_string(),
        labels_per_class: few.labels_per_class,
        synthetic_per_class: options.synthetic_per_class,
        generator: options.generator,
        cvae_steps: options.cvae_steps,
        classifier_steps: options.classifier_steps,
        labelled_only: mean_sd(&alone),
        augmented: mean_sd(&with),
        gain_points: 100.0 * (mean_sd(&with).0 - mean_sd(&alone).0),
        draws,
        picture,
        seconds: start.elapsed().as_secs_f64(),
    };
    write_results(&few.out_dir, &report)?;
    Ok(report)
}

impl std::fmt::Display for AugmentationReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "Augmentation on {}: a classifier on {} labelled images per class, alone and with {} \
             images per class from {} ({} steps); each classifier {} steps",
            self.dataset,
            self.labels_per_class,
            self.synthetic_per_class,
            self.generator,
            self.cvae_steps,
            self.classifier_steps
        )?;
        writeln!(f)?;
        writeln!(f, "| seed | labelled only | with generated images | gain |")?;
        writeln!(f, "| ---: | ---: | ---: | ---: |")?;
        for draw in &self.draws {
            writeln!(
                f,
                "| {} | {:.2} % | {:.2} % | {:+.2} |",
                draw.seed,
                100.0 * draw.labelled_only,
                100.0 * draw.augmented,
                100.0 * (draw.augmented - draw.labelled_only)
            )?;
        }
        writeln!(
            f,
            "| **mean ± sd** | **{:.2} ± {:.2} %** | **{:.2} ± {:.2} %** | **{:+.2}** |",
            100.0 * self.labelled_only.0,
            100.0 * self.labelled_only.1,
            100.0 * self.augmented.0,
            100.0 * self.augmented.1,
            self.gain_points
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "generated images of seed 0 (one row per class): {}; took {:.0} s",
            self.picture.display(),
            self.seconds
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_labelled_images_are_at_least_half_of_the_augmented_set() {
        assert_eq!(real_copies(10, 100), 10);
        assert_eq!(real_copies(10, 5), 1);
        assert_eq!(real_copies(3, 10), 4);
    }
}
