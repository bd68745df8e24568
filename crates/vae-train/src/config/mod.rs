//! [`TrainingConfig`]: everything one run needs, loaded from a JSON file, validated in one
//! place and saved as `config.json` in the run folder (which replays the run).

mod dataset;
mod decoder_bias;
mod lr_schedule;
mod objective;

use std::path::Path;

use burn::optim::AdamConfig;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use vae_model::applications::Corruption;
use vae_model::likelihood::{GaussianConfig, LearnedSigma};
use vae_model::{ConvEncoderConfig, LikelihoodConfig, VaeConfig};

/// `torch.optim.Adam`'s default epsilon.
pub const PYTORCH_ADAM_EPSILON: f32 = 1e-8;

use crate::data::{ImageFolderConfig, NUM_CLASSES};
use crate::error::{ConfigError, InvalidConfig};
pub use dataset::{DatasetChoice, IDX_IMAGE_SHAPE};
pub use decoder_bias::{DecoderBiasChoice, MEAN_CLIP, logits_of_means};
pub use lr_schedule::{IWAE_STAGES, LrScheduleChoice};
pub use objective::{
    DataTreatment, ObjectiveChoice, TEST_BINARIZATION_SEED, TRAINING_SPLIT_IMAGES, WarmupChoice,
};

/// A complete training run: model, optimizer, schedule and data limits.
///
/// Every field must be present in the file: Burn's config loader does not fill defaults,
/// so `vae print-config` writes a complete one to start from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainingConfig {
    /// The model (Burn config: sizes, activation, beta).
    pub model: VaeConfig,
    /// Adam's settings (Burn config). The default `epsilon` is PyTorch's 1e-8, not Burn's 1e-5:
    /// it matters early in training, when the gradients' second moments are small.
    pub optimizer: AdamConfig,
    /// Number of passes over the training set.
    pub num_epochs: usize,
    /// Images per optimizer step.
    pub batch_size: usize,
    /// Adam's learning rate (at the start of the `lr_schedule`).
    pub learning_rate: f64,
    /// Seeds the weights, the posterior noise, the shuffling and the picture noise.
    pub seed: u64,
    /// Data-loader worker threads. 0 (the default) batches on the training thread, which keeps
    /// the batch order, and so the whole run, reproducible; more workers do not keep the order.
    pub num_workers: usize,
    /// Use only the first N training images (`null`: all; 60,000 for MNIST). For smoke tests.
    pub train_images: Option<usize>,
    /// Use only the first N test images for validation (`null`: all; 10,000 for MNIST).
    pub valid_images: Option<usize>,
    /// A training step whose loss is NaN or infinite is never applied; then `"stop"` ends the
    /// run (keeping the checkpoints of the completed epochs) and `"skip"` goes on with the next
    /// batch. Optional in the file (default `"stop"`).
    #[serde(default)]
    pub on_non_finite_loss: OnNonFiniteLoss,
    /// The network pair: `{"kind": "mlp"}` (sizes from `model`, the default) or
    /// `{"kind": "conv", "conv_channels": [32, 64], "hidden_dim": 0}`. Optional in the file.
    #[serde(default)]
    pub network: NetworkChoice,
    /// The likelihood `p(x|z)`: `{"kind": "bernoulli"}` (the default),
    /// `{"kind": "continuous-bernoulli"}` or `{"kind": "gaussian", "sigma": 0.1}` /
    /// `{"kind": "gaussian", "learned_sigma": "shared" | "per-pixel"}`. Optional in the file.
    #[serde(default)]
    pub likelihood: LikelihoodChoice,
    /// `"none"` (the default) or `"label"`: a conditional VAE given the one-hot class label.
    /// Optional in the file.
    #[serde(default)]
    pub condition: ConditionChoice,
    /// `"mnist"` (the default), `"fashion-mnist"` or `"image-folder"` (read as `image_folder`
    /// says). Optional in the file.
    #[serde(default)]
    pub dataset: DatasetChoice,
    /// Where and how to read a folder of PNG/JPEG files when `dataset` is `"image-folder"`:
    /// `{"path": "my-images", "channels": 1, "height": 28, "width": 28}`, optionally with
    /// `"resize"` (default true), `"validation_fraction"` (0.1) and `"split_seed"` (0).
    /// `null` (the default) otherwise. Optional in the file.
    #[serde(default)]
    pub image_folder: Option<ImageFolderConfig>,
    /// `{"kind": "continuous"}` (the default: intensities in `[0, 1]`), `{"kind": "dynamic"}`
    /// or `{"kind": "static", "seed": 1}` binarization. Optional in the file.
    #[serde(default)]
    pub data_treatment: DataTreatment,
    /// What each step minimises: `{"samples": 1, "free_bits": 0.0, "kl_warmup": null}` (the
    /// default, the ELBO); `samples` > 1 trains on the IWAE bound; `kl_warmup` is
    /// `{"start": 0.0, "epochs": N}` or `{"start": 0.0, "steps": N}`. Optional in the file.
    #[serde(default)]
    pub objective: ObjectiveChoice,
    /// `{"kind": "constant"}` (the default), `{"kind": "exponential", "gamma_per_epoch": 0.95}`,
    /// `{"kind": "step", "every_epochs": 10, "gamma": 0.5}` or `{"kind": "iwae"}` (Burda et
    /// al.: `3^i` epochs at `learning_rate * 10^(-i/7)`). Optional in the file.
    #[serde(default)]
    pub lr_schedule: LrScheduleChoice,
    /// `"default"` (the layer's initialiser) or `"data-logit"`: the decoder's output bias
    /// starts at the logit of the mean training image (the IWAE paper's code). Optional.
    #[serde(default)]
    pub decoder_output_bias: DecoderBiasChoice,
    /// How many epochs' checkpoints stay in `checkpoint/` (the last N; `null`: every epoch).
    /// Each epoch's model, Adam state and scheduler take about 3× the model's size, so a long
    /// run keeping every epoch fills a disk. Optional in the file (default
    /// [`DEFAULT_KEPT_CHECKPOINTS`]).
    #[serde(default = "default_kept_checkpoints")]
    pub keep_checkpoints: Option<usize>,
    /// Train and validate on the images of these classes only (`null`, the default: every
    /// class); `[3]` is the one-class protocol of anomaly detection. Optional in the file.
    #[serde(default)]
    pub train_classes: Option<Vec<u8>>,
    /// Train a denoising VAE (Im et al. 2017): each training and validation batch is corrupted
    /// anew, e.g. `{"kind": "gaussian", "sigma": 0.5}` or `{"kind": "salt-and-pepper",
    /// "fraction": 0.2}`, and scored against the clean images (after any binarization).
    /// `null`, the default: the images as they are. Optional in the file.
    #[serde(default)]
    pub denoising: Option<Corruption>,
}

/// Checkpoints kept by default: the last epoch and two before it, so that resume can pass
/// over a damaged one.
pub const DEFAULT_KEPT_CHECKPOINTS: usize = 3;

fn default_kept_checkpoints() -> Option<usize> {
    Some(DEFAULT_KEPT_CHECKPOINTS)
}

/// What is wrong with a list of classes (`train_classes`, `--normal-classes`, `--classes`),
/// named `name` in the message: it must hold at least one class, each below [`CLASSES`], none
/// twice.
pub fn classes_problem(name: &str, classes: &[u8]) -> Option<String> {
    classes_problem_among(name, classes, CLASSES)
}

/// [`classes_problem`] for data of `count` classes (an image folder's may have any number).
pub fn classes_problem_among(name: &str, classes: &[u8], count: usize) -> Option<String> {
    let last = count.saturating_sub(1);
    if classes.is_empty() {
        return Some(format!(
            "{name} is empty: list at least one class (0 to {last})"
        ));
    }
    classes.iter().enumerate().find_map(|(i, &class)| {
        if usize::from(class) >= count {
            Some(format!(
                "{name} holds {class}, but the classes of the data are 0 to {last}"
            ))
        } else if classes[..i].contains(&class) {
            Some(format!("{name} lists {class} twice"))
        } else {
            None
        }
    })
}

/// The largest tensor of decoded images one training step (`batch_size * objective.samples`
/// images) or one `vae evaluate` chunk (`batch_size * chunk`) may make, in bytes (`f32`); a
/// few tensors that size are alive at once.
pub const MAX_DECODED_BYTES: usize = 1 << 30;

/// Classes of MNIST's and Fashion-MNIST's labels (10 each); an image folder's are
/// [`TrainingConfig::classes`].
pub const CLASSES: usize = NUM_CLASSES;

/// Which network pair a run trains.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum NetworkChoice {
    /// Fully connected encoder and decoder with `model.hidden_dims` (PyTorch's example).
    #[default]
    Mlp,
    /// Stride-2 convolutions down and transposed convolutions up (see
    /// [`vae_model::ConvEncoder`]); `model.hidden_dims` is not used.
    Conv {
        /// Output channels of each convolution, input side first.
        conv_channels: Vec<usize>,
        /// Width of a dense layer between the convolutions and the latent space (0: none).
        #[serde(default)]
        hidden_dim: usize,
    },
}

impl NetworkChoice {
    /// `mlp` or `conv`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Mlp => "mlp",
            Self::Conv { .. } => "conv",
        }
    }
}

/// Which likelihood a run trains under.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum LikelihoodChoice {
    /// Bernoulli on logits (PyTorch's example).
    #[default]
    Bernoulli,
    /// The continuous Bernoulli (Loaiza-Ganem & Cunningham 2019).
    ContinuousBernoulli,
    /// A Gaussian with a fixed `sigma` or a `learned_sigma` (exactly one of them).
    Gaussian {
        /// A fixed standard deviation.
        #[serde(default)]
        sigma: Option<f64>,
        /// `"shared"` or `"per-pixel"`: learn σ.
        #[serde(default)]
        learned_sigma: Option<SigmaChoice>,
        /// The floor of a learned σ (default 0.001); refused with a fixed `sigma`.
        #[serde(default)]
        min_sigma: Option<f64>,
    },
}

/// The floor of a learned σ when the config gives none.
pub const DEFAULT_MIN_SIGMA: f64 = 1e-3;

/// What a learned Gaussian σ covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SigmaChoice {
    /// One σ for all pixels.
    Shared,
    /// One σ per pixel.
    PerPixel,
}

impl LikelihoodChoice {
    /// The model crate's config for this choice.
    pub fn to_config(&self) -> LikelihoodConfig {
        match self {
            Self::Bernoulli => LikelihoodConfig::Bernoulli,
            Self::ContinuousBernoulli => LikelihoodConfig::ContinuousBernoulli,
            Self::Gaussian {
                sigma,
                learned_sigma,
                min_sigma,
            } => {
                let min_sigma = min_sigma.unwrap_or(DEFAULT_MIN_SIGMA);
                LikelihoodConfig::Gaussian(
                    GaussianConfig::new()
                        .with_sigma(*sigma)
                        .with_learned_sigma(learned_sigma.map(|s| match s {
                            SigmaChoice::Shared => LearnedSigma::Shared,
                            SigmaChoice::PerPixel => LearnedSigma::PerElement,
                        }))
                        .with_min_sigma(min_sigma)
                        .with_initial_sigma(1.0_f64.max(min_sigma)),
                )
            }
        }
    }
}

/// What a run's model is conditioned on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConditionChoice {
    /// Nothing: a plain VAE.
    #[default]
    None,
    /// The one-hot class label, given to encoder and decoder (a conditional VAE).
    Label,
}

impl ConditionChoice {
    /// `none` or `label`, as the config spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Label => "label",
        }
    }
}

/// What `vae train` does after a step with a NaN or infinite loss (never applied either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnNonFiniteLoss {
    /// Stop the run, naming the epoch and step.
    #[default]
    Stop,
    /// Skip that step's update and continue; the epoch's line says how many were skipped.
    Skip,
}

impl From<OnNonFiniteLoss> for crate::train::step_guard::NonFinitePolicy {
    fn from(value: OnNonFiniteLoss) -> Self {
        match value {
            OnNonFiniteLoss::Stop => Self::Stop,
            OnNonFiniteLoss::Skip => Self::Skip,
        }
    }
}

impl Default for TrainingConfig {
    /// PyTorch's `examples/vae`: 784-400-20, ReLU, Adam 1e-3, batch 128, 10 epochs, seed 1.
    fn default() -> Self {
        Self {
            model: VaeConfig::new(),
            optimizer: AdamConfig::new().with_epsilon(PYTORCH_ADAM_EPSILON),
            num_epochs: 10,
            batch_size: 128,
            learning_rate: 1e-3,
            seed: 1,
            num_workers: 0,
            train_images: None,
            valid_images: None,
            on_non_finite_loss: OnNonFiniteLoss::Stop,
            network: NetworkChoice::Mlp,
            likelihood: LikelihoodChoice::Bernoulli,
            condition: ConditionChoice::None,
            dataset: DatasetChoice::Mnist,
            image_folder: None,
            data_treatment: DataTreatment::Continuous,
            objective: ObjectiveChoice::default(),
            lr_schedule: LrScheduleChoice::Constant,
            decoder_output_bias: DecoderBiasChoice::Default,
            keep_checkpoints: default_kept_checkpoints(),
            train_classes: None,
            denoising: None,
        }
    }
}

impl TrainingConfig {
    /// Reads and validates a config file; every error names the file and the fix.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_json(&text).map_err(|reason| ConfigError::Invalid {
            path: path.to_owned(),
            reason,
        })
    }

    /// Parses and validates JSON text; the error is one sentence naming the field.
    pub fn from_json(text: &str) -> Result<Self, InvalidConfig> {
        let raw: Value = serde_json::from_str(text)
            .map_err(|e| InvalidConfig::new("", format!("not valid JSON: {e}")))?;
        let config: Self = serde_path_to_error::deserialize(raw.clone()).map_err(|e| {
            match e.path().to_string().as_str() {
                "." => InvalidConfig::new("", e.inner().to_string()),
                path => InvalidConfig::new(path, format!("at `{path}`: {}", e.inner())),
            }
        })?;
        // Serde ignores unknown keys (and Burn's configs cannot forbid them): find typos by
        // comparing the file with the config written back.
        let canonical =
            serde_json::to_value(&config).map_err(|e| InvalidConfig::new("", e.to_string()))?;
        if let Some(path) = unknown_key(&raw, &canonical, "") {
            return Err(InvalidConfig::new(
                path.clone(),
                format!("unknown field `{path}`"),
            ));
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks every rule; the message names the field, the value and the rule.
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        self.model
            .validate()
            .map_err(|e| InvalidConfig::new("model", format!("model: {e}")))?;
        self.validate_dataset()?;
        self.validate_parts()?;
        self.validate_optimizer()?;
        self.data_treatment.validate()?;
        self.lr_schedule.validate()?;
        self.decoder_output_bias
            .validate(self.likelihood.to_config().name())?;
        let positive = [
            ("num_epochs", self.num_epochs),
            ("batch_size", self.batch_size),
        ];
        for (field, value) in positive {
            if value == 0 {
                return Err(InvalidConfig::new(
                    field,
                    format!("`{field}` is 0, but it must be at least 1"),
                ));
            }
        }
        // An image folder's classes are known once it is read (`load_data` checks them).
        if let Some(problem) = self
            .train_classes
            .as_deref()
            .filter(|_| self.dataset != DatasetChoice::ImageFolder)
            .and_then(|classes| classes_problem("`train_classes`", classes))
        {
            return Err(InvalidConfig::new("train_classes", problem));
        }
        if let Some(corruption) = self.denoising
            && let Err(e) = corruption.validate()
        {
            return Err(InvalidConfig::new(
                "denoising",
                format!("`denoising`: {e}, or set `denoising` to null to train on clean images"),
            ));
        }
        if self.keep_checkpoints == Some(0) {
            return Err(InvalidConfig::new(
                "keep_checkpoints",
                "`keep_checkpoints` is 0, but resume needs at least the last epoch's: use a \
                 count >= 1 (default 3) or null to keep every epoch",
            ));
        }
        for (field, value) in [
            ("train_images", self.train_images),
            ("valid_images", self.valid_images),
        ] {
            if value == Some(0) {
                return Err(InvalidConfig::new(
                    field,
                    format!("`{field}` is 0: use null for the whole split or a count >= 1"),
                ));
            }
        }
        self.objective
            .validate(self.num_epochs, self.steps_per_epoch())?;
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(InvalidConfig::new(
                "learning_rate",
                format!(
                    "`learning_rate` is {}, but it must be a finite number > 0 (PyTorch's \
                     example uses 1e-3)",
                    self.learning_rate
                ),
            ));
        }
        // Burn's schedulers check their own inputs (an exponential decay refuses a learning
        // rate above 1): build one now, before any file is written.
        self.lr_schedule
            .build(self.learning_rate, self.steps_per_epoch())
            .map_err(|e| {
                InvalidConfig::new(
                    "learning_rate",
                    format!("{} (`learning_rate` is {})", e.message, self.learning_rate),
                )
            })?;
        let decoded = self
            .batch_size
            .saturating_mul(self.objective.samples)
            .saturating_mul(self.image_shape().elements() * 4);
        if decoded > MAX_DECODED_BYTES {
            return Err(InvalidConfig::new(
                "objective.samples",
                format!(
                    "`batch_size` {} × `objective.samples` {} decodes {} images per step ({:.1} \
                     GiB per tensor), over the {} GiB limit: lower `objective.samples` or \
                     `batch_size`",
                    self.batch_size,
                    self.objective.samples,
                    self.batch_size.saturating_mul(self.objective.samples),
                    decoded as f64 / f64::from(1u32 << 30),
                    MAX_DECODED_BYTES >> 30
                ),
            ));
        }
        Ok(())
    }

    /// The network and likelihood choices, and how they fit the data.
    fn validate_parts(&self) -> Result<(), InvalidConfig> {
        let shape = self.image_shape();
        let size = format!("{}x{}x{}", shape.channels, shape.height, shape.width);
        if let NetworkChoice::Conv {
            conv_channels,
            hidden_dim,
        } = &self.network
        {
            if self.model.input_dim != shape.elements() {
                return Err(InvalidConfig::new(
                    "model.input_dim",
                    format!(
                        "`network` is conv, which needs images of a known size: the data is {size} \
                     = {} values per image, but `model.input_dim` is {}. Set `model.input_dim` \
                     to {} or use {{\"kind\": \"mlp\"}}",
                        shape.elements(),
                        self.model.input_dim,
                        shape.elements()
                    ),
                ));
            }
            if !self.model.hidden_dims.is_empty() {
                return Err(InvalidConfig::new(
                    "model.hidden_dims",
                    format!(
                        "`model.hidden_dims` is {:?}, but it sizes the mlp network and `network` is \
                     conv: set it to [] (the conv network's dense layer is `network.hidden_dim`)",
                        self.model.hidden_dims
                    ),
                ));
            }
            ConvEncoderConfig::new(shape, self.model.latent_dim)
                .with_conv_channels(conv_channels.clone())
                .with_hidden_dim(*hidden_dim)
                .validate()
                .map_err(|e| InvalidConfig::new("network", format!("network: {e}")))?;
        } else if self.model.input_dim != shape.elements() {
            return Err(InvalidConfig::new(
                "model.input_dim",
                format!(
                    "`model.input_dim` is {}, but the images have {} values ({size}): set it to {}",
                    self.model.input_dim,
                    shape.elements(),
                    shape.elements()
                ),
            ));
        }
        if let LikelihoodChoice::Gaussian {
            sigma: Some(_),
            min_sigma: Some(_),
            ..
        } = self.likelihood
        {
            return Err(InvalidConfig::new(
                "likelihood.min_sigma",
                "`likelihood.min_sigma` bounds a learned σ, but `likelihood.sigma` fixes it: \
                 remove `min_sigma`, or replace `sigma` with `learned_sigma`",
            ));
        }
        self.likelihood
            .to_config()
            .validate()
            .map_err(|e| InvalidConfig::new("likelihood", format!("likelihood: {e}")))
    }

    /// Adam's fields are private to Burn: read them back from their serialized form.
    fn validate_optimizer(&self) -> Result<(), InvalidConfig> {
        let adam = serde_json::to_value(&self.optimizer)
            .map_err(|e| InvalidConfig::new("optimizer", e.to_string()))?;
        let number = |field: &str| adam.get(field).and_then(Value::as_f64).unwrap_or(f64::NAN);
        for beta in ["beta_1", "beta_2"] {
            let value = number(beta);
            if !(0.0..1.0).contains(&value) {
                return Err(InvalidConfig::new(
                    format!("optimizer.{beta}"),
                    format!("`optimizer.{beta}` is {value}, but it must be in [0, 1)"),
                ));
            }
        }
        let epsilon = number("epsilon");
        if epsilon.is_nan() || epsilon <= 0.0 {
            return Err(InvalidConfig::new(
                "optimizer.epsilon",
                format!("`optimizer.epsilon` is {epsilon}, but it must be > 0 (PyTorch uses 1e-8)"),
            ));
        }
        Ok(())
    }

    /// Optimizer steps per epoch: the training images used, in batches of `batch_size` (the
    /// last one may be smaller). For an image folder, whose size is known only once read,
    /// this is an upper bound (`train_images` or MNIST's 60,000) used to check the schedules;
    /// training counts the images it has.
    pub fn steps_per_epoch(&self) -> usize {
        self.train_images
            .unwrap_or(TRAINING_SPLIT_IMAGES)
            .min(TRAINING_SPLIT_IMAGES)
            .div_ceil(self.batch_size.max(1))
    }

    /// Writes the config as pretty JSON.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(path, json + "\n")
    }
}

/// The first key of `raw` (dotted path) that `canonical` does not have.
fn unknown_key(raw: &Value, canonical: &Value, prefix: &str) -> Option<String> {
    let (Value::Object(raw), Value::Object(canonical)) = (raw, canonical) else {
        return None;
    };
    raw.iter().find_map(|(key, value)| {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match canonical.get(key) {
            None => Some(path),
            Some(known) => unknown_key(value, known, &path),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seconds the fuzz test runs: `VAE_FUZZ_SECONDS`, default 2.
    fn fuzz_seconds() -> f64 {
        std::env::var("VAE_FUZZ_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(2.0)
    }

    fn json() -> Value {
        serde_json::to_value(TrainingConfig::default()).unwrap()
    }

    #[test]
    fn the_default_round_trips() {
        let text = serde_json::to_string(&TrainingConfig::default()).unwrap();
        let config = TrainingConfig::from_json(&text).unwrap();
        assert_eq!(config.model.hidden_dims, vec![400]);
        assert_eq!(config.batch_size, 128);
    }

    #[test]
    fn a_config_from_before_the_choices_loads_as_the_mlp_bernoulli_vae() {
        let mut old = json();
        for key in ["network", "likelihood", "condition"] {
            old.as_object_mut().unwrap().remove(key);
        }
        let config = TrainingConfig::from_json(&old.to_string()).unwrap();
        assert_eq!(config.network, NetworkChoice::Mlp);
        assert_eq!(config.likelihood, LikelihoodChoice::Bernoulli);
        assert_eq!(config.condition, ConditionChoice::None);
    }

    #[test]
    fn the_choices_load_and_inconsistent_ones_name_the_field_and_the_fix() {
        let with = |edit: &dyn Fn(&mut Value)| {
            let mut config = json();
            edit(&mut config);
            TrainingConfig::from_json(&config.to_string())
        };
        let conv = serde_json::json!({"kind": "conv", "conv_channels": [32, 64]});
        let ok = with(&|c| {
            c["network"] = conv.clone();
            c["model"]["hidden_dims"] = serde_json::json!([]);
            c["likelihood"] = serde_json::json!({"kind": "gaussian", "learned_sigma": "per-pixel"});
            c["condition"] = "label".into();
        })
        .unwrap();
        assert_eq!(ok.condition_dim(), CLASSES);
        type Case<'a> = (&'a dyn Fn(&mut Value), &'a str);
        let cases: [Case; 8] = [
            (
                &|c| {
                    c["likelihood"] =
                        serde_json::json!({"kind": "gaussian", "sigma": 0.1, "min_sigma": 0.01})
                },
                "remove `min_sigma`",
            ),
            (
                &|c| {
                    c["network"] = conv.clone();
                    c["model"]["hidden_dims"] = serde_json::json!([]);
                    c["model"]["input_dim"] = 100.into();
                },
                "`model.input_dim` to 784",
            ),
            (&|c| c["network"] = conv.clone(), "set it to []"),
            (
                &|c| {
                    c["network"] = serde_json::json!({"kind": "conv", "conv_channels": [8, 0]});
                    c["model"]["hidden_dims"] = serde_json::json!([]);
                },
                "conv_channels[1]",
            ),
            (
                &|c| c["network"] = serde_json::json!({"kind": "transformer"}),
                "unknown variant `transformer`",
            ),
            (
                &|c| c["likelihood"] = serde_json::json!({"kind": "gaussian", "sigma": 0.1, "learned_sigma": "shared"}),
                "keep one",
            ),
            (
                &|c| c["likelihood"] = serde_json::json!({"kind": "gaussian"}),
                "either a fixed `sigma`",
            ),
            (
                &|c| c["condition"] = "digit".into(),
                "unknown variant `digit`",
            ),
        ];
        for (edit, expected) in cases {
            let error = with(edit).unwrap_err().to_string();
            assert!(
                error.contains(expected),
                "expected `{expected}` in: {error}"
            );
        }
    }

    #[test]
    fn kept_checkpoints_training_classes_and_denoising_name_the_field_and_the_fix() {
        let with = |key: &str, value: Value| {
            let mut config = json();
            config[key] = value;
            TrainingConfig::from_json(&config.to_string())
        };
        let mut old = json();
        old.as_object_mut().unwrap().remove("keep_checkpoints");
        old.as_object_mut().unwrap().remove("train_classes");
        old.as_object_mut().unwrap().remove("denoising");
        let config = TrainingConfig::from_json(&old.to_string()).unwrap();
        assert_eq!(config.keep_checkpoints, Some(DEFAULT_KEPT_CHECKPOINTS));
        assert_eq!(config.train_classes, None);
        assert_eq!(config.denoising, None);
        assert_eq!(
            with(
                "denoising",
                serde_json::json!({"kind": "salt-and-pepper", "fraction": 0.2})
            )
            .unwrap()
            .denoising,
            Some(Corruption::SaltAndPepper { fraction: 0.2 })
        );
        assert_eq!(
            with("keep_checkpoints", Value::Null)
                .unwrap()
                .keep_checkpoints,
            None
        );
        assert_eq!(
            with("train_classes", serde_json::json!([3]))
                .unwrap()
                .train_classes,
            Some(vec![3])
        );
        let cases = [
            (
                "keep_checkpoints",
                serde_json::json!(0),
                "null to keep every epoch",
            ),
            ("train_classes", serde_json::json!([]), "at least one class"),
            ("train_classes", serde_json::json!([10]), "holds 10"),
            (
                "train_classes",
                serde_json::json!([2, 5, 2]),
                "lists 2 twice",
            ),
            (
                "denoising",
                serde_json::json!({"kind": "gaussian", "sigma": -0.5}),
                "must be a finite number > 0",
            ),
            (
                "denoising",
                serde_json::json!({"kind": "salt-and-pepper", "fraction": 1.2}),
                "must be in (0, 1]",
            ),
        ];
        for (key, value, expected) in cases {
            let error = with(key, value).unwrap_err();
            assert_eq!(error.field, key);
            assert!(error.to_string().contains(expected), "{error}");
        }
    }

    #[test]
    fn unknown_fields_are_named_at_any_depth() {
        let mut top = json();
        top["batchsize"] = 3.into();
        let error = TrainingConfig::from_json(&top.to_string()).unwrap_err();
        assert_eq!(error.to_string(), "unknown field `batchsize`");
        assert_eq!(error.field, "batchsize");
        let mut nested = json();
        nested["model"]["latentdim"] = 3.into();
        assert!(
            TrainingConfig::from_json(&nested.to_string())
                .unwrap_err()
                .to_string()
                .contains("`model.latentdim`")
        );
    }

    #[test]
    fn missing_fields_and_bad_values_are_named() {
        let mut missing = json();
        missing["model"]
            .as_object_mut()
            .unwrap()
            .remove("latent_dim");
        assert!(
            TrainingConfig::from_json(&missing.to_string())
                .unwrap_err()
                .to_string()
                .contains("latent_dim")
        );
        let cases = [
            ("batch_size", Value::from(0), "batch_size"),
            ("learning_rate", Value::from(-1.0), "learning_rate"),
            ("train_images", Value::from(0), "train_images"),
            ("num_epochs", Value::from("ten"), "invalid type"),
            (
                "optimizer",
                serde_json::json!({"beta_1": 0.9, "beta_2": 1.5, "epsilon": 1e-8,
                "amsgrad": false, "weight_decay": null, "grad_clipping": null}),
                "optimizer.beta_2",
            ),
        ];
        for (field, value, expected) in cases {
            let mut bad = json();
            bad[field] = value;
            let error = TrainingConfig::from_json(&bad.to_string()).unwrap_err();
            assert!(error.to_string().contains(expected), "{field}: {error}");
            assert!(error.field.starts_with(field), "{field}: {error:?}");
        }
        let mut negative = json();
        negative["model"]["latent_dim"] = Value::from(-3);
        let error = TrainingConfig::from_json(&negative.to_string())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("`model.latent_dim`") && error.contains("-3"),
            "{error}"
        );
        let mut zero = json();
        zero["model"]["hidden_dims"] = serde_json::json!([400, 0]);
        assert!(
            TrainingConfig::from_json(&zero.to_string())
                .unwrap_err()
                .to_string()
                .contains("hidden_dims[1]")
        );
    }

    /// Bounded fuzzing of the config loader: mutated JSON never panics, and whatever it accepts
    /// is valid and describes a model of bounded size.
    #[test]
    fn fuzz_config_loading_never_panics_and_accepts_only_valid_configs() {
        use rand::{Rng, SeedableRng};
        let seed_text = serde_json::to_string_pretty(&TrainingConfig::default()).unwrap();
        let pieces = [
            "0",
            "-1",
            "1e309",
            "NaN",
            "null",
            "[]",
            "{}",
            "\"x\"",
            "18446744073709551616",
            "4294967296",
            "true",
            "1.5",
            "\"skip\"",
            "[1e9, 1e9]",
        ];
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let start = std::time::Instant::now();
        let (mut runs, mut accepted) = (0usize, 0usize);
        while start.elapsed().as_secs_f64() < fuzz_seconds() {
            let mut text = seed_text.clone();
            for _ in 0..rng.random_range(1..3) {
                let chars: Vec<char> = text.chars().collect();
                let a = rng.random_range(0..chars.len());
                let b = (a + rng.random_range(0..8)).min(chars.len());
                let insert = if rng.random() {
                    pieces[rng.random_range(0..pieces.len())].to_string()
                } else {
                    char::from(rng.random_range(32u8..127)).to_string()
                };
                text = chars[..a].iter().collect::<String>()
                    + &insert
                    + &chars[b..].iter().collect::<String>();
            }
            if let Ok(config) = TrainingConfig::from_json(&text) {
                accepted += 1;
                assert!(config.validate().is_ok());
                assert!(config.model.num_params() <= vae_model::MAX_PARAMETERS);
            }
            runs += 1;
        }
        eprintln!(
            "fuzz config: {runs} inputs in {:.1} s, {accepted} accepted",
            start.elapsed().as_secs_f64()
        );
        assert!(
            runs >= 1000 && accepted > 0,
            "{runs} runs, {accepted} accepted"
        );
    }

    #[test]
    fn a_model_too_large_to_allocate_is_refused() {
        let mut config = TrainingConfig::default();
        config.model.hidden_dims = vec![4_000_000_000, 4_000_000_000];
        let error = config.validate().unwrap_err();
        assert!(error.to_string().contains("parameters"), "{error}");
        assert_eq!(error.field, "model");
    }
}
