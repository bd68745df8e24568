//! The config's data treatment (continuous pixels, or dynamic or static binarization) and
//! training objective (importance samples, free bits, KL warm-up).

use serde::{Deserialize, Serialize};
use vae_model::{KlWarmupConfig, ObjectiveConfig};

use crate::data::ImageData;
use crate::error::InvalidConfig;

/// The seed of the one binary copy of the test set that every binarized run validates and is
/// evaluated on (so that figures of different runs are over the same binary images).
pub const TEST_BINARIZATION_SEED: u64 = 2016;

/// Training images in either dataset's training split.
pub const TRAINING_SPLIT_IMAGES: usize = 60_000;

/// What the likelihood sees of the pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum DataTreatment {
    /// Intensities in `[0, 1]` as they are (PyTorch's `examples/vae`).
    #[default]
    Continuous,
    /// Each time a training image is used, every pixel is drawn anew as Bernoulli(intensity)
    /// on the device, from the run's random stream (Burda et al. 2016).
    Dynamic,
    /// The training images are binarized once, with `seed`: the same binary images in every
    /// epoch and every run with that seed.
    Static {
        /// Seeds the one draw (required).
        seed: Option<u64>,
    },
}

impl DataTreatment {
    /// `continuous`, `dynamic` or `static`, as the config spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Continuous => "continuous",
            Self::Dynamic => "dynamic",
            Self::Static { .. } => "static",
        }
    }

    /// Whether the batcher draws binary images at each use.
    pub fn is_dynamic(self) -> bool {
        self == Self::Dynamic
    }

    /// The training split as training sees it: binarized once for `static`, else unchanged
    /// (dynamic binarization happens per batch).
    pub fn training_set(self, data: ImageData) -> ImageData {
        match self {
            Self::Static { seed: Some(seed) } => data.binarized(seed),
            _ => data,
        }
    }

    /// The test split as validation, pictures and `vae evaluate` see it: for a binarized run,
    /// binarized once with [`TEST_BINARIZATION_SEED`].
    pub fn test_set(self, data: ImageData) -> ImageData {
        match self {
            Self::Continuous => data,
            _ => data.binarized(TEST_BINARIZATION_SEED),
        }
    }

    /// What the test figures are over, in words.
    pub fn describe_test_set(self) -> String {
        match self {
            Self::Continuous => "continuous pixels in [0, 1] (not binarized)".into(),
            _ => format!(
                "binarized once with seed {TEST_BINARIZATION_SEED} (trained with {} binarization)",
                self.name()
            ),
        }
    }

    /// Static binarization names its seed.
    pub fn validate(self) -> Result<(), InvalidConfig> {
        if let Self::Static { seed: None } = self {
            return Err(InvalidConfig::new(
                "data_treatment.seed",
                "`data_treatment` is static, which draws the binary images once from a seed, but \
                 `data_treatment.seed` is missing: add one, e.g. {\"kind\": \"static\", \"seed\": \
                 1}, or use {\"kind\": \"dynamic\"}",
            ));
        }
        Ok(())
    }
}

/// What each training step minimises (see [`vae_model::ObjectiveConfig`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectiveChoice {
    /// Importance samples `k`: 1 trains on the ELBO, `k > 1` on the IWAE bound.
    #[serde(default = "one")]
    pub samples: usize,
    /// Free bits `λ`, nats per latent dimension (0: off).
    #[serde(default)]
    pub free_bits: f64,
    /// A linear KL warm-up from `start` to `model.beta`, over `epochs` or `steps` (`null`:
    /// none).
    #[serde(default)]
    pub kl_warmup: Option<WarmupChoice>,
}

fn one() -> usize {
    1
}

impl Default for ObjectiveChoice {
    fn default() -> Self {
        Self {
            samples: 1,
            free_bits: 0.0,
            kl_warmup: None,
        }
    }
}

/// A linear KL warm-up: give exactly one of `epochs` and `steps`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WarmupChoice {
    /// The KL weight at the first step.
    #[serde(default)]
    pub start: f64,
    /// Epochs to reach `model.beta`.
    #[serde(default)]
    pub epochs: Option<usize>,
    /// Optimizer steps to reach `model.beta`.
    #[serde(default)]
    pub steps: Option<usize>,
}

impl ObjectiveChoice {
    /// The model crate's objective.
    pub fn to_model(&self) -> ObjectiveConfig {
        ObjectiveConfig::new()
            .with_samples(self.samples)
            .with_free_bits(self.free_bits)
    }

    /// The warm-up in optimizer steps, for epochs of `steps_per_epoch` steps.
    pub fn warmup(&self, steps_per_epoch: usize) -> Option<KlWarmupConfig> {
        let warmup = self.kl_warmup.as_ref()?;
        let steps = match (warmup.epochs, warmup.steps) {
            (Some(epochs), _) => epochs * steps_per_epoch,
            (None, Some(steps)) => steps,
            (None, None) => 0,
        };
        Some(KlWarmupConfig::new(steps).with_start(warmup.start))
    }

    /// Checks the objective and that a warm-up fits in a run of `num_epochs` epochs of
    /// `steps_per_epoch` steps.
    pub fn validate(&self, num_epochs: usize, steps_per_epoch: usize) -> Result<(), InvalidConfig> {
        self.to_model().validate().map_err(|e| match e {
            vae_model::VaeError::InvalidObjective { field, message } => InvalidConfig::new(
                format!("objective.{field}"),
                format!("objective: {message}"),
            ),
            other => InvalidConfig::new("objective", format!("objective: {other}")),
        })?;
        let Some(warmup) = &self.kl_warmup else {
            return Ok(());
        };
        let field = "objective.kl_warmup";
        match (warmup.epochs, warmup.steps) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(InvalidConfig::new(
                    field,
                    "`objective.kl_warmup` needs exactly one of `epochs` and `steps` (how long \
                     the KL weight takes to rise from `start` to `model.beta`)",
                ));
            }
            (Some(0), _) | (_, Some(0)) => {
                return Err(InvalidConfig::new(
                    field,
                    "`objective.kl_warmup` lasts 0 epochs or steps: give a length >= 1, or set \
                     `kl_warmup` to null for no warm-up",
                ));
            }
            (Some(epochs), None) if epochs > num_epochs => {
                return Err(InvalidConfig::new(
                    "objective.kl_warmup.epochs",
                    format!(
                        "`objective.kl_warmup.epochs` is {epochs}, longer than the run \
                         (`num_epochs` = {num_epochs}): the KL weight would not reach \
                         `model.beta` before the run ends. Shorten the warm-up or train longer"
                    ),
                ));
            }
            (None, Some(steps)) if steps > num_epochs.saturating_mul(steps_per_epoch) => {
                return Err(InvalidConfig::new(
                    "objective.kl_warmup.steps",
                    format!(
                        "`objective.kl_warmup.steps` is {steps}, longer than the run ({num_epochs} \
                         epochs of {steps_per_epoch} steps = {} steps): the KL weight would not \
                         reach `model.beta` before the run ends. Shorten the warm-up or train \
                         longer",
                        num_epochs.saturating_mul(steps_per_epoch)
                    ),
                ));
            }
            _ => {}
        }
        KlWarmupConfig::new(1)
            .with_start(warmup.start)
            .validate()
            .map_err(|_| {
                InvalidConfig::new(
                    "objective.kl_warmup.start",
                    format!(
                        "`objective.kl_warmup.start` is {}, but it must be a finite number >= 0 \
                         (the KL weight at the first step; 0 is usual)",
                        warmup.start
                    ),
                )
            })
    }
}
