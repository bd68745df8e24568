//! Conditional generation, measured: a reference CNN classifier (trained here, or reused) labels
//! the samples a conditional VAE draws for each class; the share it labels as the class asked
//! for is the per-class accuracy.

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

use crate::backend::Backend;
use crate::classifier::{ClassifierTraining, TrainedClassifier, predictions, train_classifier};
use crate::config::{ConditionChoice, TrainingConfig};
use crate::experiments::{ExperimentError, create_out_dir, train_or_reuse, write_results};
use crate::inspect::InspectError;
use crate::inspect::pictures::sample;

/// Epochs of the conditional VAE by default.
pub const DEFAULT_EPOCHS: usize = 20;
/// Samples drawn per class by default.
pub const DEFAULT_SAMPLES: usize = 1000;
/// Samples decoded at once.
const SAMPLE_BATCH: usize = 500;

/// What the experiment needs.
#[derive(Debug, Clone)]
pub struct ConditionalOptions {
    /// The conditional VAE's training config (`condition` is set to `label`).
    pub base: TrainingConfig,
    /// How the reference classifier is trained when `classifier_dir` holds none (or another).
    pub classifier: ClassifierTraining,
    /// Samples drawn per class.
    pub samples_per_class: usize,
    /// Where the tensors live.
    pub backend: Backend,
    /// Dataset folder (`None`: the dataset's environment variable, then its default source).
    pub data_dir: Option<PathBuf>,
    /// The run folders (`cvae`, `classifier`), the picture and the results go here.
    pub out_dir: PathBuf,
    /// Seeds the samples.
    pub seed: u64,
    /// Retrain where a run folder holds a run of another config instead of refusing.
    pub overwrite: bool,
}

/// One class's figure.
#[derive(Debug, Clone, Serialize)]
pub struct ClassAccuracy {
    /// The class asked for.
    pub class: u8,
    /// Its name.
    pub name: String,
    /// The share of its samples the classifier labels as it.
    pub accuracy: f64,
}

/// The experiment's results.
#[derive(Debug, Clone, Serialize)]
pub struct ConditionalReport {
    /// The dataset.
    pub dataset: String,
    /// Epochs the conditional VAE trained.
    pub epochs: usize,
    /// Samples per class.
    pub samples_per_class: usize,
    /// The reference classifier's accuracy on the real test images.
    pub classifier_test_accuracy: f64,
    /// One row per class.
    pub classes: Vec<ClassAccuracy>,
    /// The mean over classes.
    pub mean: f64,
    /// The picture of samples (one row per class).
    pub picture: PathBuf,
    /// Wall-clock seconds of the whole experiment.
    pub seconds: f64,
}

/// Opens the classifier in `dir` if it was trained with `training`, else trains it there.
fn classifier_for(
    training: &ClassifierTraining,
    options: &ConditionalOptions,
    device: &burn::prelude::Device,
) -> Result<TrainedClassifier, ExperimentError> {
    let dir = options.out_dir.join("classifier");
    if let Ok(found) = TrainedClassifier::open(&dir, device)
        && &found.summary.training == training
    {
        println!("reusing the classifier in {}", dir.display());
        return Ok(found);
    }
    println!("training the reference classifier into {}", dir.display());
    let summary = train_classifier(training, options.backend, options.data_dir.as_deref(), &dir)?;
    print!("{summary}");
    Ok(TrainedClassifier::open(&dir, device)?)
}

/// Trains (or reuses) the classifier and the conditional VAE, then labels the samples.
pub fn run_conditional(options: &ConditionalOptions) -> Result<ConditionalReport, ExperimentError> {
    if options.samples_per_class == 0 {
        return Err(ExperimentError::Argument(
            "--samples-per-class is 0: draw at least one sample per class".into(),
        ));
    }
    let mut config = options.base.clone();
    config.condition = ConditionChoice::Label;
    config.validate()?;
    let mut training = options.classifier.clone();
    training.dataset = config.idx_dataset("The conditional experiment")?;
    let start = Instant::now();
    let device = options.backend.device().map_err(InspectError::from)?;
    create_out_dir(&options.out_dir)?;
    let reference = classifier_for(&training, options, &device)?;
    print!("conditional VAE: ");
    let (run, _) = train_or_reuse(
        &config,
        options.backend,
        options.data_dir.clone(),
        &options.out_dir.join("cvae"),
        options.overwrite,
        &device,
    )?;

    let names = training.dataset.class_names();
    let mut classes = Vec::new();
    for class in 0..names.len() as u8 {
        device.seed(options.seed.wrapping_add(u64::from(class)));
        let mut correct = 0usize;
        let mut left = options.samples_per_class;
        while left > 0 {
            let count = left.min(SAMPLE_BATCH);
            let condition = run.condition(&vec![class; count], &device);
            let images = run.model.generate(count, condition, &device);
            correct += predictions(&reference.classifier, images)?
                .into_iter()
                .filter(|&p| p == i64::from(class))
                .count();
            left -= count;
        }
        let accuracy = correct as f64 / options.samples_per_class as f64;
        println!("class {class}: {:.2} %", 100.0 * accuracy);
        classes.push(ClassAccuracy {
            class,
            name: names[usize::from(class)].to_string(),
            accuracy,
        });
    }
    let mean = classes.iter().map(|c| c.accuracy).sum::<f64>() / classes.len() as f64;
    device.seed(options.seed);
    let picture = options.out_dir.join("samples.png");
    // A conditional model without a label draws one row of 10 per class.
    sample(&run, 100, 10, None, &device)?.save(&picture)?;
    let report = ConditionalReport {
        dataset: config.dataset.name().to_string(),
        epochs: config.num_epochs,
        samples_per_class: options.samples_per_class,
        classifier_test_accuracy: reference.summary.test_accuracy,
        classes,
        mean,
        picture,
        seconds: start.elapsed().as_secs_f64(),
    };
    write_results(&options.out_dir, &report)?;
    Ok(report)
}

impl std::fmt::Display for ConditionalReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "Conditional generation on {}: the share of {} samples per class that the reference \
             classifier ({:.2} % on the real test images) labels as the class asked for \
             (conditional VAE trained {} epochs)",
            self.dataset,
            self.samples_per_class,
            100.0 * self.classifier_test_accuracy,
            self.epochs
        )?;
        writeln!(f)?;
        writeln!(f, "| class | accuracy |")?;
        writeln!(f, "| --- | ---: |")?;
        for row in &self.classes {
            writeln!(
                f,
                "| {} ({}) | {:.2} % |",
                row.class,
                row.name,
                100.0 * row.accuracy
            )?;
        }
        writeln!(f, "| **mean** | **{:.2} %** |", 100.0 * self.mean)?;
        writeln!(f)?;
        writeln!(
            f,
            "samples (one row per class): {}; took {:.0} s",
            self.picture.display(),
            self.seconds
        )
    }
}
