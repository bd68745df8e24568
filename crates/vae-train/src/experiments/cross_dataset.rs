//! The cross-dataset case of anomaly detection: train on every class of one dataset, then ask
//! whether each score ranks the test images of another dataset above the model's own test
//! images. Likelihood models are known to fail it in one direction (Nalisnick et al. 2019:
//! models of Fashion-MNIST give MNIST a *higher* likelihood), which an AUROC below 0.5 shows.

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;
use vae_model::applications::{AnomalyScore, auroc};

use crate::backend::Backend;
use crate::config::TrainingConfig;
use crate::data::{DatasetKind, Split};
use crate::experiments::{ExperimentError, create_out_dir, train_or_reuse, write_results};
use crate::inspect::InspectError;
use crate::inspect::sampling::Sampling;
use crate::inspect::score::score_images;

/// What the cross-dataset experiment needs.
#[derive(Debug, Clone)]
pub struct CrossDatasetOptions {
    /// The dataset the model trains on (every class); its test set is the normal data.
    pub normal: DatasetKind,
    /// The dataset whose test set is the anomalies.
    pub anomalies: DatasetKind,
    /// The training config (its `dataset` is set to `normal`, `train_classes` to all).
    pub base: TrainingConfig,
    /// Where the tensors live.
    pub backend: Backend,
    /// The run folder (`run`) and the results go here.
    pub out_dir: PathBuf,
    /// Posterior samples per test image.
    pub sampling: Sampling,
    /// Seeds the scores' posterior samples.
    pub seed: u64,
    /// Retrain when the run folder holds a run of another config instead of refusing.
    pub overwrite: bool,
}

/// The experiment's result.
#[derive(Debug, Clone, Serialize)]
pub struct CrossDatasetReport {
    /// The training (normal) dataset.
    pub normal: String,
    /// The anomalous dataset.
    pub anomalies: String,
    /// Epochs trained.
    pub epochs: usize,
    /// Posterior samples per test image.
    pub samples: usize,
    /// AUROC of each score, in [`AnomalyScore::ALL`]'s order (anomalous = the other dataset).
    pub auroc: [f64; 3],
    /// Mean of each score over the normal test set.
    pub normal_mean: [f64; 3],
    /// Mean of each score over the anomalous test set.
    pub anomalies_mean: [f64; 3],
    /// Wall-clock seconds in all.
    pub seconds: f64,
}

/// Trains (or reuses) the model of `normal`, scores both test sets, reports each score's AUROC.
pub fn run_cross_dataset(
    options: &CrossDatasetOptions,
) -> Result<CrossDatasetReport, ExperimentError> {
    if options.normal == options.anomalies {
        return Err(ExperimentError::Argument(format!(
            "--anomalies is {0}, the dataset the model trains on: name the other one",
            options.normal.id()
        )));
    }
    options.base.idx_dataset("The cross-dataset experiment")?;
    let mut config = options.base.clone().with_dataset(options.normal);
    config.train_classes = None;
    config.validate()?;
    let start = Instant::now();
    let device = options.backend.device().map_err(InspectError::from)?;
    let treatment = config.data_treatment;
    let normal = treatment.test_set(options.normal.load(Split::Test, None)?);
    let anomalies = treatment.test_set(options.anomalies.load(Split::Test, None)?);
    create_out_dir(&options.out_dir)?;
    let (run, _) = train_or_reuse(
        &config,
        options.backend,
        None,
        &options.out_dir.join("run"),
        options.overwrite,
        &device,
    )?;
    device.seed(options.seed);
    let sampling = options.sampling.on_host(options.backend == Backend::Flex);
    let normal_scores = score_images(&run, &normal, sampling, &device)?;
    let anomaly_scores = score_images(&run, &anomalies, sampling, &device)?;
    let labels: Vec<bool> = std::iter::repeat_n(false, normal.labels().len())
        .chain(std::iter::repeat_n(true, anomalies.labels().len()))
        .collect();
    let mean = |values: &[f64]| values.iter().sum::<f64>() / values.len().max(1) as f64;
    let mut report = CrossDatasetReport {
        normal: options.normal.name().into(),
        anomalies: options.anomalies.name().into(),
        epochs: config.num_epochs,
        samples: options.sampling.samples,
        auroc: [0.0; 3],
        normal_mean: [0.0; 3],
        anomalies_mean: [0.0; 3],
        seconds: 0.0,
    };
    for i in 0..3 {
        let both: Vec<f64> = normal_scores[i]
            .iter()
            .chain(&anomaly_scores[i])
            .copied()
            .collect();
        report.auroc[i] = auroc(&both, &labels).map_err(InspectError::from)?;
        report.normal_mean[i] = mean(&normal_scores[i]);
        report.anomalies_mean[i] = mean(&anomaly_scores[i]);
    }
    report.seconds = start.elapsed().as_secs_f64();
    write_results(&options.out_dir, &report)?;
    Ok(report)
}

impl std::fmt::Display for CrossDatasetReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "Trained on {} ({} epochs); anomalies: the {} test set ({} posterior samples per \
             image)",
            self.normal, self.epochs, self.anomalies, self.samples
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "| score | AUROC | mean on {} | mean on {} |",
            self.normal, self.anomalies
        )?;
        writeln!(f, "| --- | ---: | ---: | ---: |")?;
        for (i, score) in AnomalyScore::ALL.into_iter().enumerate() {
            writeln!(
                f,
                "| {} | {:.4} | {:.2} | {:.2} |",
                score.name(),
                self.auroc[i],
                self.normal_mean[i],
                self.anomalies_mean[i]
            )?;
        }
        writeln!(f)?;
        writeln!(f, "took {:.0} s", self.seconds)
    }
}
