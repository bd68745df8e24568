//! `vae denoise`: how much a trained run cleans corrupted test images. Each image is corrupted
//! ([`Corruption`]), encoded, and decoded at the posterior mean ([`vae_model::Vae::reconstruct`]);
//! the mean PSNR of the noisy and of the denoised images against the clean ones is reported,
//! with a picture of noisy / denoised / clean rows.

use std::path::PathBuf;
use std::time::Instant;

use burn::prelude::*;
use vae_model::applications::{Corruption, psnr};

use crate::backend::Backend;
use crate::data::batcher::ImageBatcher;
use crate::data::{ImageData, image_shape};
use crate::inspect::pictures::Grid;
use crate::inspect::{InspectError, read_back};
use crate::run::trained_run::TrainedRun;

/// Test images per batch when denoising.
pub const DENOISE_BATCH: usize = 500;

/// What `vae denoise` needs.
#[derive(Debug, Clone)]
pub struct DenoiseOptions {
    /// The trained run.
    pub run_dir: PathBuf,
    /// Where the tensors live.
    pub backend: Backend,
    /// Dataset folder (`None`: the dataset's environment variable, then its default source).
    pub data_dir: Option<PathBuf>,
    /// The corruption applied to the test images.
    pub corruption: Corruption,
    /// Denoise only the first N test images (`None`: all).
    pub images: Option<usize>,
    /// Seeds the corruption.
    pub seed: u64,
    /// Columns of the picture (its first test images).
    pub columns: usize,
    /// The picture to write.
    pub out: PathBuf,
}

/// Mean PSNR, in dB, of the corrupted inputs and of a model's outputs.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct DenoisingPsnr {
    /// The noisy inputs against the clean images.
    pub noisy: f64,
    /// The denoised outputs against the clean images.
    pub denoised: f64,
}

impl DenoisingPsnr {
    /// How many dB the model adds.
    pub fn gain(&self) -> f64 {
        self.denoised - self.noisy
    }
}

/// What `vae denoise` measured.
#[derive(Debug, Clone)]
pub struct DenoiseReport {
    /// The corruption.
    pub corruption: Corruption,
    /// The test images, in words.
    pub data: String,
    /// How many were denoised.
    pub images: usize,
    /// Mean PSNR of the noisy inputs and of the outputs.
    pub psnr: DenoisingPsnr,
    /// The picture written.
    pub out: PathBuf,
    /// Wall-clock seconds of the denoising (data loaded).
    pub seconds: f64,
}

/// Each row's PSNR against the same row of `clean` (`[batch, values]` each, read back once).
fn row_psnrs(image: Tensor<2>, clean: Tensor<2>) -> Result<Vec<f64>, InspectError> {
    let [_, values] = image.dims();
    let values = values.max(1);
    let image = read_back(image)?;
    let clean = read_back(clean)?;
    image
        .chunks_exact(values)
        .zip(clean.chunks_exact(values))
        .map(|(a, b)| {
            let a: Vec<f64> = a.iter().map(|&v| f64::from(v)).collect();
            let b: Vec<f64> = b.iter().map(|&v| f64::from(v)).collect();
            Ok(psnr(&a, &b)?)
        })
        .collect()
}

/// The mean PSNR of the corrupted images of `data` and of each run's denoised outputs, in
/// `runs`' order. Every run sees the same corrupted images: the corruption is drawn once per
/// batch from `device`'s stream, seeded with `seed`.
pub fn denoising_psnr(
    runs: &[&TrainedRun],
    data: &ImageData,
    corruption: Corruption,
    seed: u64,
    device: &Device,
) -> Result<Vec<DenoisingPsnr>, InspectError> {
    let labels = data.labels();
    let count = labels.len();
    if count == 0 {
        return Err(InspectError::Argument("no test images to denoise".into()));
    }
    device.seed(seed);
    let mut noisy_sum = 0.0;
    let mut denoised_sums = vec![0.0; runs.len()];
    for first in (0..count).step_by(DENOISE_BATCH) {
        let last = (first + DENOISE_BATCH).min(count);
        let clean = ImageBatcher::images((first..last).map(|i| data.pixels(i)), device);
        let noisy = corruption.apply(clean.clone());
        noisy_sum += row_psnrs(noisy.clone(), clean.clone())?.iter().sum::<f64>();
        for (sum, run) in denoised_sums.iter_mut().zip(runs) {
            let condition = run.condition(&labels[first..last], device);
            let denoised = run.model.reconstruct(noisy.clone(), condition);
            *sum += row_psnrs(denoised, clean.clone())?.iter().sum::<f64>();
        }
    }
    let n = count as f64;
    Ok(denoised_sums
        .into_iter()
        .map(|sum| DenoisingPsnr {
            noisy: noisy_sum / n,
            denoised: sum / n,
        })
        .collect())
}

/// The first `columns` images of `data`: a row of them corrupted, one row per run of their
/// denoised outputs, and a row of the clean images.
pub fn denoising_picture(
    runs: &[&TrainedRun],
    data: &ImageData,
    corruption: Corruption,
    columns: usize,
    seed: u64,
    device: &Device,
) -> Result<Grid, InspectError> {
    let columns = columns.min(data.labels().len());
    if columns == 0 {
        return Err(InspectError::Argument(
            "--columns is 0 (or there are no test images): draw at least one".into(),
        ));
    }
    device.seed(seed);
    let clean = ImageBatcher::images((0..columns).map(|i| data.pixels(i)), device);
    let noisy = corruption.apply(clean.clone());
    let mut rows = vec![noisy.clone()];
    for run in runs {
        let condition = run.condition(&data.labels()[..columns], device);
        rows.push(run.model.reconstruct(noisy.clone(), condition));
    }
    rows.push(clean);
    Grid::from_tensor(Tensor::cat(rows, 0), columns, image_shape(data))
}

/// Denoises the test set with the run and writes the picture.
pub fn denoise(options: &DenoiseOptions) -> Result<DenoiseReport, InspectError> {
    options
        .corruption
        .validate()
        .map_err(|e| InspectError::Argument(format!("--noise: {e}")))?;
    let device = options.backend.device()?;
    let mut run = TrainedRun::open(&options.run_dir, &device)?;
    // On flex, the host passes (a tanh network's activations, the reconstructions' means).
    run.model = crate::model::with_host_passes(run.model, options.backend == Backend::Flex);
    let mut data = run.test_set(options.data_dir.as_deref())?;
    if let Some(count) = options.images {
        if count == 0 {
            return Err(InspectError::Argument(
                "--images is 0: denoise at least one image".into(),
            ));
        }
        data = data.truncate(count);
    }
    let start = Instant::now();
    let psnr = denoising_psnr(&[&run], &data, options.corruption, options.seed, &device)?[0];
    let seconds = start.elapsed().as_secs_f64();
    denoising_picture(
        &[&run],
        &data,
        options.corruption,
        options.columns,
        options.seed,
        &device,
    )?
    .save(&options.out)?;
    Ok(DenoiseReport {
        corruption: options.corruption,
        data: format!(
            "{}, {}",
            run.config.describe_split(crate::data::Split::Test),
            run.config.data_treatment.describe_test_set()
        ),
        images: data.labels().len(),
        psnr,
        out: options.out.clone(),
        seconds,
    })
}

impl std::fmt::Display for DenoiseReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "data: {}", self.data)?;
        writeln!(
            f,
            "corruption: {}; denoised {} images in {:.1} s (encode the noisy image, decode at the \
             posterior mean)",
            self.corruption, self.images, self.seconds
        )?;
        writeln!(f, "| images | mean PSNR (dB) |")?;
        writeln!(f, "| --- | ---: |")?;
        writeln!(f, "| noisy input | {:.2} |", self.psnr.noisy)?;
        writeln!(f, "| denoised | {:.2} |", self.psnr.denoised)?;
        writeln!(f, "gain: {:+.2} dB", self.psnr.gain())?;
        writeln!(
            f,
            "picture (rows: noisy, denoised, clean): {}",
            self.out.display()
        )
    }
}
