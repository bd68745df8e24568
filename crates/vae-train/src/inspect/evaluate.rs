//! `vae evaluate`: the test-set ELBO, the importance-weighted estimate of -log p(x), the KL per
//! latent dimension and the number of active units (Burda et al. 2016).

use std::path::PathBuf;
use std::time::Instant;

use burn::prelude::*;
use serde::Serialize;

use crate::backend::Backend;
use crate::data::batcher::ImageBatcher;
use crate::inspect::sampling::Sampling;
use crate::inspect::sampling::log_importance_weights;
use crate::inspect::{InspectError, read_back};
use crate::run::trained_run::TrainedRun;
use vae_model::{Likelihood, ObjectiveConfig, log_mean_exp};

/// Threshold on the variance (over the test set) of a dimension's posterior mean above which the
/// dimension counts as active (Burda, Grosse & Salakhutdinov 2016, §5.2).
pub const ACTIVE_UNIT_THRESHOLD: f64 = 0.01;

/// What `vae evaluate` needs.
#[derive(Debug, Clone)]
pub struct EvaluateOptions {
    /// The run folder to evaluate.
    pub run_dir: PathBuf,
    /// Where the tensors live.
    pub backend: Backend,
    /// Dataset folder (`None`: the dataset's environment variable, then its default source).
    pub data_dir: Option<PathBuf>,
    /// Importance samples per image (K).
    pub samples: usize,
    /// Samples drawn at once per image; memory is `batch * chunk * 784` floats per tensor.
    pub chunk: usize,
    /// Images per batch.
    pub batch_size: usize,
    /// Evaluate only the first N test images (`None`: all).
    pub images: Option<usize>,
    /// Seeds the posterior samples.
    pub seed: u64,
    /// For a conditional model: give each image a wrong label (another class drawn at random,
    /// seeded by `seed`).
    pub shuffled_labels: bool,
}

/// The figures `vae evaluate` prints and writes as JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    /// What the likelihood is over.
    pub data: String,
    /// The likelihood the figures are under (not comparable across likelihoods).
    pub likelihood: String,
    /// The condition the images were given: `none`, `true labels` or `wrong labels`.
    pub condition: String,
    /// Test images evaluated.
    pub images: usize,
    /// Importance samples per image.
    pub samples: usize,
    /// Mean negative ELBO per image (one posterior sample), nats.
    pub negative_elbo: f64,
    /// Its standard error over images.
    pub negative_elbo_stderr: f64,
    /// Mean importance-weighted estimate of -log p(x) per image, nats.
    pub iw_nll: f64,
    /// Its standard error over images.
    pub iw_nll_stderr: f64,
    /// Mean KL(q(z|x) || p(z)) of each latent dimension, nats.
    pub kl_per_dim: Vec<f64>,
    /// Dimensions whose posterior mean varies over the test set by more than 0.01.
    pub active_units: usize,
    /// Variance over the test set of each dimension's posterior mean.
    pub posterior_mean_variance: Vec<f64>,
    /// Wall-clock seconds of the evaluation (data loaded).
    pub seconds: f64,
    /// The backend it ran on.
    pub backend: String,
}

fn mean_and_stderr(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, (var / n).sqrt())
}

fn to_f64(tensor: Tensor<1>) -> Result<Vec<f64>, InspectError> {
    Ok(read_back(tensor)?.into_iter().map(f64::from).collect())
}

/// Evaluates a trained run on the MNIST test set.
pub fn evaluate(options: &EvaluateOptions) -> Result<Evaluation, InspectError> {
    let device = options.backend.device()?;
    let mut run = TrainedRun::open(&options.run_dir, &device)?;
    // On flex, a tanh network's activations on the host too: the decoder runs on
    // `samples` codes per image (README, "Speed").
    run.model = crate::model::with_host_passes(run.model, options.backend == Backend::Flex);
    let sampling = Sampling::new(
        options.samples,
        options.chunk,
        options.batch_size,
        run.config.image_shape().elements(),
    )?
    .on_host(options.backend == Backend::Flex);
    let mut test = run.test_set(options.data_dir.as_deref())?;
    if let Some(count) = options.images {
        if count == 0 {
            return Err(InspectError::Argument(
                "--images is 0: evaluate at least one test image".into(),
            ));
        }
        test = test.truncate(count);
    }
    let count = test.labels().len();
    if options.shuffled_labels && !run.is_conditional() {
        return Err(InspectError::Argument(
            "--shuffled-labels needs a conditional model (\"condition\": \"label\")".into(),
        ));
    }
    let mut labels = test.labels().to_vec();
    if options.shuffled_labels {
        // Another class for every image (a random non-zero offset), so that no image keeps
        // its own class by chance.
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(options.seed);
        let classes = run.config.classes();
        for label in &mut labels {
            *label = ((usize::from(*label) + rng.random_range(1..classes)) % classes) as u8;
        }
    }
    let latent_dim = run.model.latent_dim();
    device.seed(options.seed);
    let start = Instant::now();

    let (mut elbo, mut iw) = (Vec::with_capacity(count), Vec::with_capacity(count));
    let mut kl_sum = vec![0.0; latent_dim];
    let mut means: Vec<f64> = Vec::with_capacity(count * latent_dim);
    for first in (0..count).step_by(options.batch_size) {
        let last = (first + options.batch_size).min(count);
        let x = ImageBatcher::images((first..last).map(|i| test.pixels(i)), &device);
        let c = run.condition(&labels[first..last], &device);
        // The true negative ELBO (weight 1), whatever `beta` the run trained with.
        let elbo_terms = run
            .model
            .objective(x.clone(), c.clone(), &ObjectiveConfig::new(), 1.0);
        elbo.extend(to_f64(elbo_terms.terms.loss)?);
        let weights = log_importance_weights(&run.model, x.clone(), c.clone(), sampling);
        iw.extend(to_f64(log_mean_exp(weights).neg())?);
        let posterior = run.model.encode(x, c);
        let kl = posterior
            .kl_to_standard_normal_per_dim()
            .sum_dim(0)
            .squeeze_dim::<1>(0);
        for (sum, value) in kl_sum.iter_mut().zip(to_f64(kl)?) {
            *sum += value;
        }
        means.extend(to_f64(posterior.mean.flatten::<1>(0, 1))?);
    }

    let n = count as f64;
    let posterior_mean_variance: Vec<f64> = (0..latent_dim)
        .map(|d| {
            let column: Vec<f64> = means.iter().skip(d).step_by(latent_dim).copied().collect();
            let mean = column.iter().sum::<f64>() / n;
            column.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n
        })
        .collect();
    let (negative_elbo, negative_elbo_stderr) = mean_and_stderr(&elbo);
    let (iw_nll, iw_nll_stderr) = mean_and_stderr(&iw);
    Ok(Evaluation {
        data: format!(
            "{}, {}",
            run.config.describe_split(crate::data::Split::Test),
            run.config.data_treatment.describe_test_set()
        ),
        likelihood: run.model.likelihood.describe(),
        condition: match (run.is_conditional(), options.shuffled_labels) {
            (false, _) => "none",
            (true, false) => "true labels",
            (true, true) => "wrong labels (each a random other class)",
        }
        .into(),
        images: count,
        samples: options.samples,
        negative_elbo,
        negative_elbo_stderr,
        iw_nll,
        iw_nll_stderr,
        kl_per_dim: kl_sum.iter().map(|s| s / n).collect(),
        active_units: posterior_mean_variance
            .iter()
            .filter(|&&v| v > ACTIVE_UNIT_THRESHOLD)
            .count(),
        posterior_mean_variance,
        seconds: start.elapsed().as_secs_f64(),
        backend: options.backend.to_string(),
    })
}

impl std::fmt::Display for Evaluation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "data: {}", self.data)?;
        writeln!(
            f,
            "likelihood: {} (figures under another likelihood are not comparable); condition: {}",
            self.likelihood, self.condition
        )?;
        writeln!(
            f,
            "images: {}, importance samples: {}, backend: {}",
            self.images, self.samples, self.backend
        )?;
        writeln!(f, "| figure | nats per image |")?;
        writeln!(f, "| --- | ---: |")?;
        writeln!(
            f,
            "| negative ELBO (1 sample) | {:.2} ± {:.2} |",
            self.negative_elbo, self.negative_elbo_stderr
        )?;
        writeln!(
            f,
            "| -log p(x), importance-weighted, K = {} | {:.2} ± {:.2} |",
            self.samples, self.iw_nll, self.iw_nll_stderr
        )?;
        writeln!(f, "| ELBO gap | {:.2} |", self.negative_elbo - self.iw_nll)?;
        writeln!(
            f,
            "active units (Var[mean] > {ACTIVE_UNIT_THRESHOLD}): {} of {}",
            self.active_units,
            self.kl_per_dim.len()
        )?;
        write!(f, "KL per dimension:")?;
        for (d, kl) in self.kl_per_dim.iter().enumerate() {
            write!(f, " {d}:{kl:.2}")?;
        }
        writeln!(f)?;
        write!(f, "took {:.1} s", self.seconds)
    }
}
