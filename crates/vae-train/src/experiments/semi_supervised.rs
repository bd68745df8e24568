//! Semi-supervised classification with the M2 model (Kingma et al. 2014): a few labelled
//! training images per class (10 by default: the paper's 100-label setting), the whole training
//! split as unlabelled images, and the test accuracy of M2's classifier `q(y|x)` beside the same
//! classifier trained on the labelled images alone for as many steps, over several label draws.
//!
//! Where it deviates from the paper: `q(y|x)` is the reference CNN
//! ([`vae_model::applications::Classifier`], with dropout and random shifts of the labelled
//! images) instead of an MLP; the VAE is the config's network with the one-hot class as its
//! condition; Adam instead of RMSProp; far fewer steps.
//!
//! Its M2 training is also the augmentation experiment's generator that learns from unlabelled
//! images.

use std::time::Instant;

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use vae_model::applications::{Classifier, m2_terms};

use crate::classifier::{
    ClassifierTraining, accuracy, classifier_config, fit_classifier, shifted_batch,
};
use crate::config::{CLASSES, TrainingConfig};
use crate::data::ImageData;
use crate::data::batcher::{ImageBatcher, one_hot};
use crate::experiments::few_labels::{
    FewLabels, Prepared, classifier_settings, draw_labelled, mean_sd,
};
use crate::experiments::{ExperimentError, write_results};
use crate::model::{CliVae, build_model};

/// Label draws by default (the issue asks for at least 3).
pub const DEFAULT_SEEDS: usize = 3;
/// Training steps of M2 (and of the classifier alone) by default: three draws take about half an
/// hour on a 2-core machine.
pub const DEFAULT_STEPS: usize = 1000;
/// Training steps with `--full`.
pub const FULL_STEPS: usize = 2000;
/// Unlabelled images per M2 step by default.
pub const DEFAULT_UNLABELLED_BATCH: usize = 100;
/// How often the terms are printed.
const REPORT_EVERY: usize = 100;

/// What the experiment needs.
#[derive(Debug, Clone)]
pub struct SemiSupervisedOptions {
    /// The shared settings; the whole training split is the unlabelled data.
    pub few: FewLabels,
    /// How M2 trains; its steps are also the classifier-alone's.
    pub m2: M2Training,
}

/// How M2 trains.
#[derive(Debug, Clone)]
pub struct M2Training {
    /// Optimizer steps.
    pub steps: usize,
    /// Unlabelled images per step (every labelled image takes part in every step).
    pub unlabelled_batch: usize,
    /// Weight of the classification term; `None`: `0.1 × unlabelled / labelled` images.
    pub alpha: Option<f64>,
}

impl M2Training {
    /// Checks the settings against `config` before any data is read.
    pub(crate) fn check(&self, config: &TrainingConfig) -> Result<(), ExperimentError> {
        if let Some(alpha) = self.alpha
            && !(alpha.is_finite() && alpha >= 0.0)
        {
            return Err(ExperimentError::Argument(format!(
                "--alpha is {alpha}: it must be a finite number >= 0 (leave it out for 0.1 × \
                 unlabelled / labelled images)"
            )));
        }
        if config.model.beta != 1.0 {
            return Err(ExperimentError::Argument(format!(
                "the config's model.beta is {}: M2's bounds are negative ELBOs, so set it to 1",
                config.model.beta
            )));
        }
        Ok(())
    }

    /// Checks the unlabelled batch against a pool of `pool` images, and returns the
    /// classification weight for `labelled` labelled images.
    pub(crate) fn alpha_for(&self, pool: usize, labelled: usize) -> Result<f64, ExperimentError> {
        if self.unlabelled_batch > pool {
            return Err(ExperimentError::Argument(format!(
                "--unlabelled-batch {} is more than the {pool} training images: use at most \
                 that many (100 is usual)",
                self.unlabelled_batch
            )));
        }
        Ok(self
            .alpha
            .unwrap_or(0.1 * pool.saturating_sub(labelled) as f64 / labelled.max(1) as f64))
    }
}

/// A trained M2, ready for inference.
pub(crate) struct FittedM2 {
    /// The conditional VAE `p(x|y,z) q(z|x,y)`.
    pub vae: CliVae,
    /// The classifier `q(y|x)`.
    pub classifier: Classifier,
    /// The last step's mean labelled bound, unlabelled bound and cross-entropy.
    pub last_terms: [f64; 3],
}

/// One label draw's figures.
#[derive(Debug, Clone, Serialize)]
pub struct SemiSupervisedDraw {
    /// Seeds the label draw, the weights and the batches.
    pub seed: u64,
    /// Test accuracy of M2's classifier.
    pub m2: f64,
    /// Test accuracy of the classifier trained on the labelled images alone.
    pub labelled_only: f64,
    /// M2's last step: mean labelled bound, unlabelled bound, classification cross-entropy.
    pub last_terms: [f64; 3],
    /// Seconds M2 trained.
    pub m2_seconds: f64,
}

/// The experiment's results.
#[derive(Debug, Clone, Serialize)]
pub struct SemiSupervisedReport {
    /// The dataset.
    pub dataset: String,
    /// Labelled images per class.
    pub labels_per_class: usize,
    /// Steps of each model.
    pub steps: usize,
    /// Unlabelled images per step.
    pub unlabelled_batch: usize,
    /// The classification weight used.
    pub alpha: f64,
    /// One row per draw.
    pub draws: Vec<SemiSupervisedDraw>,
    /// Mean and sample standard deviation of M2's accuracy.
    pub m2: (f64, f64),
    /// Mean and sample standard deviation of the labelled-only accuracy.
    pub labelled_only: (f64, f64),
    /// Wall-clock seconds of the whole experiment.
    pub seconds: f64,
}

/// M2's two networks, trained as one module by one optimizer.
#[derive(Module, Debug)]
struct M2 {
    vae: CliVae,
    classifier: Classifier,
}

/// Trains M2 (the config's network as the conditional VAE, the reference CNN as `q(y|x)`) on the
/// labelled `rows`/`labels` and `unlabelled` images with classification weight `alpha`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn fit_m2(
    config: &TrainingConfig,
    classifier: &ClassifierTraining,
    rows: &[&[u8]],
    labels: &[u8],
    unlabelled: &ImageData,
    training: &M2Training,
    alpha: f64,
    seed: u64,
    device: &Device,
) -> Result<FittedM2, ExperimentError> {
    device.seed(seed);
    let train_device = device.clone().autodiff();
    let vae = build_model(config, &train_device)
        .map_err(|e| ExperimentError::Argument(format!("the M2 VAE: {e}")))?;
    let network = classifier_config(CLASSES)
        .with_dropout(classifier.dropout)
        .try_init(&train_device)
        .map_err(|e| ExperimentError::Argument(e.to_string()))?;
    let mut model = M2 {
        vae,
        classifier: network,
    };
    let mut optimizer = config.optimizer.init();
    let mut rng = StdRng::seed_from_u64(seed);
    let targets = one_hot(labels, CLASSES, &train_device);
    let pool = unlabelled.labels().len();
    let mut last = [f64::NAN; 3];
    for step in 1..=training.steps {
        let labelled_x = shifted_batch(rows, classifier.shift_pixels, &mut rng, &train_device);
        let picks: Vec<&[u8]> = (0..training.unlabelled_batch)
            .map(|_| unlabelled.pixels(rng.random_range(0..pool)))
            .collect();
        let unlabelled_x = ImageBatcher::images(picks.into_iter(), &train_device);
        let labelled_logits = model.classifier.forward(labelled_x.clone());
        let unlabelled_logits = model.classifier.forward(unlabelled_x.clone());
        let terms = m2_terms(
            &model.vae,
            labelled_x,
            targets.clone(),
            labelled_logits,
            unlabelled_x,
            unlabelled_logits,
            alpha,
        );
        if step % REPORT_EVERY == 0 || step == training.steps {
            last = [
                terms.labelled.clone().into_scalar::<f64>(),
                terms.unlabelled.clone().into_scalar::<f64>(),
                terms.classification.clone().into_scalar::<f64>(),
            ];
            if !last.iter().all(|v| v.is_finite()) {
                return Err(ExperimentError::Argument(format!(
                    "M2's loss is not finite at step {step} ({last:?}): lower the config's \
                     learning_rate or --alpha"
                )));
            }
            println!(
                "  step {step}/{}: labelled {:.2}, unlabelled {:.2}, cross-entropy {:.4}",
                training.steps, last[0], last[1], last[2]
            );
        }
        let grads = GradientsParams::from_grads(terms.total.backward(), &model);
        model = optimizer.step(config.learning_rate, model, grads);
    }
    Ok(FittedM2 {
        vae: model.vae.valid(),
        classifier: model.classifier.valid(),
        last_terms: last,
    })
}

/// Runs every label draw and writes `results.md` and `results.json`.
pub fn run_semi_supervised(
    options: &SemiSupervisedOptions,
) -> Result<SemiSupervisedReport, ExperimentError> {
    options.m2.check(&options.few.base)?;
    let start = Instant::now();
    let few = &options.few;
    let Prepared {
        config,
        dataset,
        device,
        train,
        test,
    } = few.prepare(
        "The semi-supervised experiment",
        &[
            ("--steps", options.m2.steps),
            ("--unlabelled-batch", options.m2.unlabelled_batch),
        ],
    )?;
    let labelled_count = few.labels_per_class.saturating_mul(CLASSES);
    let alpha = options.m2.alpha_for(train.labels().len(), labelled_count)?;

    let mut draws = Vec::new();
    for seed in 0..few.seeds as u64 {
        let chosen = draw_labelled(train.labels(), CLASSES, few.labels_per_class, seed)?;
        let rows: Vec<&[u8]> = chosen.iter().map(|&i| train.pixels(i)).collect();
        let labels: Vec<u8> = chosen.iter().map(|&i| train.labels()[i]).collect();

        let alone = classifier_settings(&few.classifier, rows.len(), options.m2.steps, seed);
        let alone = fit_classifier(
            &rows,
            &labels,
            CLASSES,
            &alone,
            Some(options.m2.steps),
            &device,
            false,
        )?;
        let labelled_only = accuracy(&alone, &test, &device)?;
        println!(
            "seed {seed}: the classifier alone: {:.2} %",
            100.0 * labelled_only
        );

        let m2_start = Instant::now();
        let fitted = fit_m2(
            &config,
            &few.classifier,
            &rows,
            &labels,
            &train,
            &options.m2,
            alpha,
            seed,
            &device,
        )?;
        let m2_seconds = m2_start.elapsed().as_secs_f64();
        let m2 = accuracy(&fitted.classifier, &test, &device)?;
        println!(
            "seed {seed}: M2 {:.2} % ({m2_seconds:.0} s), the classifier alone {:.2} %",
            100.0 * m2,
            100.0 * labelled_only
        );
        draws.push(SemiSupervisedDraw {
            seed,
            m2,
            labelled_only,
            last_terms: fitted.last_terms,
            m2_seconds,
        });
    }
    let m2: Vec<f64> = draws.iter().map(|d| d.m2).collect();
    let alone: Vec<f64> = draws.iter().map(|d| d.labelled_only).collect();
    let report = SemiSupervisedReport {
        dataset: dataset.name().to_string(),
        labels_per_class: few.labels_per_class,
        steps: options.m2.steps,
        unlabelled_batch: options.m2.unlabelled_batch,
        alpha,
        m2: mean_sd(&m2),
        labelled_only: mean_sd(&alone),
        draws,
        seconds: start.elapsed().as_secs_f64(),
    };
    write_results(&few.out_dir, &report)?;
    Ok(report)
}

impl std::fmt::Display for SemiSupervisedReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "Semi-supervised {} with {} labels ({} per class): M2 (α = {:.1}, {} unlabelled \
             images per step) and its classifier trained on the labels alone, {} steps each",
            self.dataset,
            self.labels_per_class * CLASSES,
            self.labels_per_class,
            self.alpha,
            self.unlabelled_batch,
            self.steps
        )?;
        writeln!(f)?;
        writeln!(f, "| seed | M2 | labelled images only |")?;
        writeln!(f, "| ---: | ---: | ---: |")?;
        for draw in &self.draws {
            writeln!(
                f,
                "| {} | {:.2} % | {:.2} % |",
                draw.seed,
                100.0 * draw.m2,
                100.0 * draw.labelled_only
            )?;
        }
        writeln!(
            f,
            "| **mean ± sd** | **{:.2} ± {:.2} %** | **{:.2} ± {:.2} %** |",
            100.0 * self.m2.0,
            100.0 * self.m2.1,
            100.0 * self.labelled_only.0,
            100.0 * self.labelled_only.1
        )?;
        writeln!(f)?;
        writeln!(f, "took {:.0} s", self.seconds)
    }
}
