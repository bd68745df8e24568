//! The one-class anomaly-detection protocol (Ruff et al. 2018): for each class `c`, train a
//! VAE on the training images of `c` only, score the whole test set, and report how well each
//! score tells the test images of `c` (normal) from those of the other nine classes
//! (anomalous), as the area under the ROC curve.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;
use vae_model::applications::{AnomalyScore, auroc};

use crate::backend::Backend;
use crate::config::{TrainingConfig, classes_problem};
use crate::data::{DatasetKind, Split};
use crate::experiments::{ExperimentError, create_out_dir, train_or_reuse, write_results};
use crate::inspect::InspectError;
use crate::inspect::sampling::Sampling;
use crate::inspect::score::score_images;

/// Epochs per class by default (the PyTorch-parity MLP on about 6,000 images: seconds each).
pub const DEFAULT_EPOCHS: usize = 20;
/// Epochs per class with `--full`.
pub const FULL_EPOCHS: usize = 100;
/// Posterior samples per test image by default.
pub const DEFAULT_SAMPLES: usize = 100;
/// Posterior samples per test image with `--full`.
pub const FULL_SAMPLES: usize = 1000;

/// What the protocol needs.
#[derive(Debug, Clone)]
pub struct OneClassOptions {
    /// The dataset: its training images of one class train each model, its test set is scored.
    pub dataset: DatasetKind,
    /// The training config of every class's model; `dataset` and `train_classes` are set per
    /// class.
    pub base: TrainingConfig,
    /// The normal classes to run, one model each.
    pub classes: Vec<u8>,
    /// Where the tensors live.
    pub backend: Backend,
    /// Dataset folder (`None`: the dataset's environment variable, then its default source).
    pub data_dir: Option<PathBuf>,
    /// One run folder per class (`class-N`) and the results go here.
    pub out_dir: PathBuf,
    /// Posterior samples per test image.
    pub sampling: Sampling,
    /// Seeds the scores' posterior samples.
    pub seed: u64,
    /// Retrain a class whose run folder holds a run of another config instead of refusing.
    pub overwrite: bool,
}

/// One class's result.
#[derive(Debug, Clone, Serialize)]
pub struct ClassResult {
    /// The normal class.
    pub class: u8,
    /// Its name (a digit for MNIST).
    pub name: String,
    /// AUROC of each score, in [`AnomalyScore::ALL`]'s order.
    pub auroc: [f64; 3],
    /// Seconds spent training (0 when a finished run was reused).
    pub train_seconds: f64,
    /// Seconds spent scoring the test set.
    pub score_seconds: f64,
}

/// The protocol's results.
#[derive(Debug, Clone, Serialize)]
pub struct OneClassReport {
    /// The dataset.
    pub dataset: String,
    /// The test images scored per class.
    pub test_images: usize,
    /// Posterior samples per test image.
    pub samples: usize,
    /// Epochs each model trained.
    pub epochs: usize,
    /// One row per class.
    pub classes: Vec<ClassResult>,
    /// Mean AUROC over the classes, per score.
    pub mean: [f64; 3],
    /// Wall-clock seconds of the whole protocol.
    pub seconds: f64,
}

impl OneClassReport {
    /// The score with the highest mean AUROC, and its margin over the next best.
    pub fn best(&self) -> (AnomalyScore, f64) {
        let mut order: Vec<usize> = (0..3).collect();
        order.sort_by(|&a, &b| self.mean[b].total_cmp(&self.mean[a]));
        (
            AnomalyScore::ALL[order[0]],
            self.mean[order[0]] - self.mean[order[1]],
        )
    }
}

/// The config of class `class`'s model.
pub fn class_config(base: &TrainingConfig, dataset: DatasetKind, class: u8) -> TrainingConfig {
    let mut config = base.clone().with_dataset(dataset);
    config.train_classes = Some(vec![class]);
    config
}

/// Runs the protocol: trains (or reuses) one model per class, scores the test set with each.
pub fn run_one_class(options: &OneClassOptions) -> Result<OneClassReport, ExperimentError> {
    if let Some(problem) = classes_problem("--classes", &options.classes) {
        return Err(ExperimentError::Argument(problem));
    }
    options.base.idx_dataset("The one-class experiment")?;
    // Every config is checked before anything trains.
    let configs: Vec<TrainingConfig> = options
        .classes
        .iter()
        .map(|&c| {
            let config = class_config(&options.base, options.dataset, c);
            config.validate().map(|()| config)
        })
        .collect::<Result<_, _>>()?;
    let start = Instant::now();
    let device = options.backend.device().map_err(InspectError::from)?;
    let test = options.base.data_treatment.test_set(
        options
            .dataset
            .load(Split::Test, options.data_dir.as_deref())?,
    );
    create_out_dir(&options.out_dir)?;

    let mut classes = Vec::new();
    for (&class, config) in options.classes.iter().zip(configs) {
        let run_dir = options.out_dir.join(format!("class-{class}"));
        let started = Instant::now();
        print!("class {class}: ");
        let (run, trained) = train_or_reuse(
            &config,
            options.backend,
            options.data_dir.clone(),
            &run_dir,
            options.overwrite,
            &device,
        )?;
        let train_seconds = if trained {
            started.elapsed().as_secs_f64()
        } else {
            0.0
        };
        let scoring = Instant::now();
        device.seed(options.seed);
        let sampling = options.sampling.on_host(options.backend == Backend::Flex);
        let columns = score_images(&run, &test, sampling, &device)?;
        let anomalous: Vec<bool> = test.labels().iter().map(|&l| l != class).collect();
        let mut areas = [0.0; 3];
        for (area, column) in areas.iter_mut().zip(&columns) {
            *area = auroc(column, &anomalous).map_err(InspectError::from)?;
        }
        let result = ClassResult {
            class,
            name: options.dataset.class_names()[usize::from(class)].to_string(),
            auroc: areas,
            train_seconds,
            score_seconds: scoring.elapsed().as_secs_f64(),
        };
        println!(
            "class {class}: AUROC {:.4} / {:.4} / {:.4} (reconstruction error / negative ELBO / \
             negative IW bound)",
            areas[0], areas[1], areas[2]
        );
        classes.push(result);
    }
    let n = classes.len() as f64;
    let mut mean = [0.0; 3];
    for (i, m) in mean.iter_mut().enumerate() {
        *m = classes.iter().map(|c| c.auroc[i]).sum::<f64>() / n;
    }
    let report = OneClassReport {
        dataset: options.dataset.name().to_string(),
        test_images: test.labels().len(),
        samples: options.sampling.samples,
        epochs: options.base.num_epochs,
        classes,
        mean,
        seconds: start.elapsed().as_secs_f64(),
    };
    write_results(&options.out_dir, &report)?;
    Ok(report)
}

impl std::fmt::Display for OneClassReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "One-class anomaly detection on {}: AUROC of each score (one model per normal class, \
             {} epochs; {} test images, {} posterior samples each)",
            self.dataset, self.epochs, self.test_images, self.samples
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "| normal class | reconstruction error | negative ELBO | negative IW bound |"
        )?;
        writeln!(f, "| --- | ---: | ---: | ---: |")?;
        for row in &self.classes {
            let mut line = format!("| {} ({}) |", row.class, row.name);
            for area in row.auroc {
                let _ = write!(line, " {area:.4} |");
            }
            writeln!(f, "{line}")?;
        }
        writeln!(
            f,
            "| **mean** | **{:.4}** | **{:.4}** | **{:.4}** |",
            self.mean[0], self.mean[1], self.mean[2]
        )?;
        let (best, margin) = self.best();
        writeln!(f)?;
        writeln!(
            f,
            "best score: {} (mean AUROC {margin:+.4} over the next best); took {:.0} s",
            best.name(),
            self.seconds
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(mean: [f64; 3]) -> OneClassReport {
        OneClassReport {
            dataset: "MNIST".into(),
            test_images: 10,
            samples: 4,
            epochs: 1,
            classes: vec![ClassResult {
                class: 3,
                name: "3".into(),
                auroc: mean,
                train_seconds: 1.0,
                score_seconds: 1.0,
            }],
            mean,
            seconds: 2.0,
        }
    }

    #[test]
    fn the_best_score_and_its_margin_over_the_next() {
        let (best, margin) = report([0.9, 0.95, 0.97]).best();
        assert_eq!(best, AnomalyScore::NegativeIwBound);
        assert!((margin - 0.02).abs() < 1e-12);
        let (best, margin) = report([0.99, 0.95, 0.97]).best();
        assert_eq!(best, AnomalyScore::ReconstructionError);
        assert!((margin - 0.02).abs() < 1e-12);
        let table = report([0.99, 0.95, 0.97]).to_string();
        assert!(
            table.contains("| 3 (3) | 0.9900 | 0.9500 | 0.9700 |"),
            "{table}"
        );
        assert!(
            table.contains("best score: reconstruction_error"),
            "{table}"
        );
    }

    #[test]
    fn each_class_trains_on_itself_only() {
        let config = class_config(&TrainingConfig::default(), DatasetKind::FashionMnist, 7);
        assert_eq!(config.train_classes, Some(vec![7]));
        assert_eq!(config.dataset, DatasetKind::FashionMnist.into());
        assert!(config.validate().is_ok());
    }
}
