//! The denoising experiment: a VAE trained on clean images and one trained with each
//! corruption (noisy inputs against clean targets, Im et al. 2017) denoise the corrupted test
//! set; the mean PSNR of the noisy inputs and of each model's outputs is reported, with a
//! picture per corruption (rows: noisy, clean-trained, denoising-trained, clean).

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;
use vae_model::applications::Corruption;

use crate::backend::Backend;
use crate::config::TrainingConfig;
use crate::experiments::{ExperimentError, create_out_dir, train_or_reuse, write_results};
use crate::inspect::InspectError;
use crate::inspect::denoise::{denoising_picture, denoising_psnr};

/// Epochs per model by default (the PyTorch-parity MLP on MNIST: about 4 s each).
pub const DEFAULT_EPOCHS: usize = 20;
/// Epochs per model with `--full`.
pub const FULL_EPOCHS: usize = 100;
/// Columns of each picture.
pub const PICTURE_COLUMNS: usize = 10;

/// The corruptions of the protocol: Gaussian noise of σ = 0.5 clipped to `[0, 1]` (Chollet's
/// Keras blog) and 20 % salt-and-pepper noise.
pub const PROTOCOL_CORRUPTIONS: [Corruption; 2] = [
    Corruption::Gaussian { sigma: 0.5 },
    Corruption::SaltAndPepper { fraction: 0.2 },
];

/// What the experiment needs.
#[derive(Debug, Clone)]
pub struct DenoisingOptions {
    /// The training config of every model; `denoising` is set per model.
    pub base: TrainingConfig,
    /// One denoising-trained model per corruption, each measured on its own corruption.
    pub corruptions: Vec<Corruption>,
    /// Where the tensors live.
    pub backend: Backend,
    /// Dataset folder (`None`: the dataset's environment variable, then its default source).
    pub data_dir: Option<PathBuf>,
    /// Measure on the first N test images only (`None`: all).
    pub images: Option<usize>,
    /// One run folder per model (`clean`, then one per corruption's name), the pictures and
    /// the results go here.
    pub out_dir: PathBuf,
    /// Seeds the corruption of the test images.
    pub seed: u64,
    /// Retrain where a run folder holds a run of another config instead of refusing.
    pub overwrite: bool,
}

/// One corruption's figures.
#[derive(Debug, Clone, Serialize)]
pub struct DenoisingRow {
    /// The corruption, as `--corruptions` writes it.
    pub corruption: String,
    /// Mean PSNR of the noisy test images, dB.
    pub noisy: f64,
    /// Mean PSNR of the outputs of the model trained on clean images.
    pub clean_trained: f64,
    /// Mean PSNR of the outputs of the model trained with this corruption.
    pub denoising_trained: f64,
    /// The picture written.
    pub picture: PathBuf,
}

/// The experiment's results.
#[derive(Debug, Clone, Serialize)]
pub struct DenoisingReport {
    /// The dataset.
    pub dataset: String,
    /// The test images measured.
    pub test_images: usize,
    /// Epochs each model trained.
    pub epochs: usize,
    /// One row per corruption.
    pub rows: Vec<DenoisingRow>,
    /// Wall-clock seconds of the whole experiment.
    pub seconds: f64,
}

/// Trains (or reuses) the clean model and one per corruption, and measures each corruption.
pub fn run_denoising(options: &DenoisingOptions) -> Result<DenoisingReport, ExperimentError> {
    if options.corruptions.is_empty() {
        return Err(ExperimentError::Argument(
            "--corruptions is empty: name at least one, e.g. gaussian:0.5".into(),
        ));
    }
    let mut names: Vec<&str> = options.corruptions.iter().map(|c| c.name()).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        return Err(ExperimentError::Argument(
            "--corruptions names one kind twice: each kind trains one model (run folder named \
             after the kind), so give each kind once"
                .into(),
        ));
    }
    if options.images == Some(0) {
        return Err(ExperimentError::Argument(
            "--images is 0: measure at least one test image".into(),
        ));
    }
    let mut clean = options.base.clone();
    clean.denoising = None;
    let mut configs = vec![("clean".to_string(), clean)];
    for &corruption in &options.corruptions {
        let mut config = options.base.clone();
        config.denoising = Some(corruption);
        configs.push((corruption.name().to_string(), config));
    }
    // Every config is checked before anything trains.
    for (_, config) in &configs {
        config.validate()?;
    }
    let start = Instant::now();
    let device = options.backend.device().map_err(InspectError::from)?;
    create_out_dir(&options.out_dir)?;
    let mut runs = Vec::new();
    for (name, config) in &configs {
        print!("{name}: ");
        let (run, _) = train_or_reuse(
            config,
            options.backend,
            options.data_dir.clone(),
            &options.out_dir.join(name),
            options.overwrite,
            &device,
        )?;
        runs.push(run);
    }
    let mut test = runs[0]
        .test_set(options.data_dir.as_deref())
        .map_err(InspectError::from)?;
    if let Some(count) = options.images {
        test = test.truncate(count);
    }

    let mut rows = Vec::new();
    for (corruption, trained) in options.corruptions.iter().zip(&runs[1..]) {
        let pair = [&runs[0], trained];
        let figures = denoising_psnr(&pair, &test, *corruption, options.seed, &device)?;
        let picture = options
            .out_dir
            .join(format!("denoising-{}.png", corruption.name()));
        denoising_picture(
            &pair,
            &test,
            *corruption,
            PICTURE_COLUMNS,
            options.seed,
            &device,
        )?
        .save(&picture)?;
        let row = DenoisingRow {
            corruption: corruption.to_string(),
            noisy: figures[0].noisy,
            clean_trained: figures[0].denoised,
            denoising_trained: figures[1].denoised,
            picture,
        };
        println!(
            "{}: noisy {:.2} dB, clean-trained {:.2} dB, denoising-trained {:.2} dB",
            row.corruption, row.noisy, row.clean_trained, row.denoising_trained
        );
        rows.push(row);
    }
    let report = DenoisingReport {
        dataset: options.base.dataset.name().to_string(),
        test_images: test.labels().len(),
        epochs: options.base.num_epochs,
        rows,
        seconds: start.elapsed().as_secs_f64(),
    };
    write_results(&options.out_dir, &report)?;
    Ok(report)
}

impl std::fmt::Display for DenoisingReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "Denoising on the {} test set ({} images): mean PSNR in dB against the clean images \
             (models trained {} epochs; outputs decoded at the posterior mean)",
            self.dataset, self.test_images, self.epochs
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "| corruption | noisy input | clean-trained VAE | denoising VAE | gain of the \
             denoising VAE |"
        )?;
        writeln!(f, "| --- | ---: | ---: | ---: | ---: |")?;
        for row in &self.rows {
            writeln!(
                f,
                "| {} | {:.2} | {:.2} | {:.2} | {:+.2} |",
                row.corruption,
                row.noisy,
                row.clean_trained,
                row.denoising_trained,
                row.denoising_trained - row.noisy
            )?;
        }
        writeln!(f)?;
        for row in &self.rows {
            writeln!(
                f,
                "picture ({}; rows: noisy, clean-trained, denoising-trained, clean): {}",
                row.corruption,
                row.picture.display()
            )?;
        }
        writeln!(f, "took {:.0} s", self.seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_shows_each_models_psnr_and_the_gain() {
        let report = DenoisingReport {
            dataset: "MNIST".into(),
            test_images: 10,
            epochs: 2,
            rows: vec![DenoisingRow {
                corruption: "gaussian:0.5".into(),
                noisy: 9.0,
                clean_trained: 14.5,
                denoising_trained: 17.25,
                picture: PathBuf::from("x.png"),
            }],
            seconds: 1.0,
        };
        let table = report.to_string();
        assert!(
            table.contains("| gaussian:0.5 | 9.00 | 14.50 | 17.25 | +8.25 |"),
            "{table}"
        );
    }

    #[test]
    fn one_kind_twice_and_no_corruption_are_refused_before_training() {
        let options = |corruptions: Vec<Corruption>| DenoisingOptions {
            base: TrainingConfig::default(),
            corruptions,
            backend: Backend::Flex,
            data_dir: None,
            images: None,
            out_dir: PathBuf::from("/nonexistent/denoising"),
            seed: 0,
            overwrite: false,
        };
        let twice = run_denoising(&options(vec![
            Corruption::Gaussian { sigma: 0.5 },
            Corruption::Gaussian { sigma: 0.3 },
        ]))
        .unwrap_err();
        assert!(twice.to_string().contains("one kind twice"), "{twice}");
        let none = run_denoising(&options(vec![])).unwrap_err();
        assert!(none.to_string().contains("at least one"), "{none}");
    }
}
