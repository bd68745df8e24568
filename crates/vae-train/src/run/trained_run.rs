//! Opening a finished run folder: its config and trained model, with errors that say which
//! file is missing or does not match.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::prelude::*;

use crate::config::TrainingConfig;
use crate::error::ConfigError;
use crate::model::{CliVae, build_model};
use crate::run::RunDir;
use crate::run::checkpoints::CheckpointError;

/// A run folder whose trained model cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenRunError {
    /// The folder has no `config.json`.
    #[error(
        "{} has no config.json, so it is not a run folder written by `vae train`. Pass the \
         folder given to `vae train --run-dir`",
        .0.display()
    )]
    NotARun(PathBuf),
    /// `config.json` cannot be read or is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The folder has no `model.bpk`.
    #[error(
        "{} has no model.bpk: its training did not finish. Train it to the end (`vae train \
         --resume {}`), or copy a checkpoint (checkpoint/model-N.bpk) to model.bpk",
        .0.display(),
        .0.display()
    )]
    Unfinished(PathBuf),
    /// `model.bpk` does not match its digest, or the model cannot be built.
    #[error("{0}. Copy the last checkpoint (checkpoint/model-N.bpk) to model.bpk, or train again")]
    Damaged(#[from] CheckpointError),
    /// `config.json` describes no model that can be built.
    #[error("{} describes no model that can be built: {source}", config.display())]
    Model {
        /// The run's `config.json`.
        config: PathBuf,
        /// Why.
        source: vae_model::VaeError,
    },
    /// `model.bpk` is intact but is not the model `config.json` describes.
    #[error(
        "{} does not match the model described by {} ({parts}; was one of them replaced?): \
         {reason}. Use the config.json the model was trained with",
        run_dir.join("model.bpk").display(),
        run_dir.join("config.json").display()
    )]
    Mismatch {
        /// The run folder.
        run_dir: PathBuf,
        /// The parts the config names: network, likelihood and condition.
        parts: String,
        /// Burn's reason.
        reason: String,
    },
}

/// A trained model and the config it was trained with.
pub struct TrainedRun {
    /// The run's `config.json`.
    pub config: TrainingConfig,
    /// The run's `model.bpk`, on the requested device.
    pub model: CliVae,
}

impl TrainedRun {
    /// Whether the model takes a condition (the class label).
    pub fn is_conditional(&self) -> bool {
        self.config.condition_dim() > 0
    }

    /// One-hot conditions for `labels`, or `None` for an unconditional model.
    pub fn condition(&self, labels: &[u8], device: &Device) -> Option<Tensor<2>> {
        self.is_conditional()
            .then(|| crate::data::batcher::one_hot(labels, self.config.classes(), device))
    }

    /// The test split of the run's dataset as the run was validated on it: binarized (once,
    /// with [`crate::config::TEST_BINARIZATION_SEED`]) when the run trained on binary images.
    pub fn test_set(
        &self,
        data_dir: Option<&Path>,
    ) -> Result<crate::data::ImageData, crate::error::DataError> {
        let test = self.config.load_split(crate::data::Split::Test, data_dir)?;
        Ok(self.config.data_treatment.test_set(test))
    }

    /// Loads `run_dir/config.json` and `run_dir/model.bpk` onto `device`.
    pub fn open(run_dir: &Path, device: &Device) -> Result<Self, OpenRunError> {
        let run = RunDir::open(run_dir);
        if !run.config().is_file() {
            return Err(OpenRunError::NotARun(run_dir.to_owned()));
        }
        let config = TrainingConfig::load(&run.config())?;
        if !run.model().is_file() {
            return Err(OpenRunError::Unfinished(run_dir.to_owned()));
        }
        crate::run::checkpoints::verify(&run.model())?;
        let model = build_model(&config, device)
            .map_err(|source| OpenRunError::Model {
                config: run.config(),
                source,
            })?
            .try_load_file(run.model())
            .map_err(|e| OpenRunError::Mismatch {
                run_dir: run_dir.to_owned(),
                parts: format!(
                    "network `{}`, likelihood `{}`, condition `{}`",
                    config.network.name(),
                    config.likelihood.to_config().name(),
                    config.condition.name()
                ),
                reason: e.to_string(),
            })?;
        Ok(Self { config, model })
    }
}
