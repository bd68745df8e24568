//! Opening a finished run folder: its config and trained model, with errors that say which
//! file is missing or does not match.

use std::path::Path;

use anyhow::{Context, bail};
use burn::module::Module;
use burn::prelude::*;

use crate::config::{CLASSES, TrainingConfig};
use crate::model::{CliVae, build_model};
use crate::run::RunDir;

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
        self.config.condition.dim() > 0
    }

    /// One-hot conditions for `labels`, or `None` for an unconditional model.
    pub fn condition(&self, labels: &[u8], device: &Device) -> Option<Tensor<2>> {
        self.is_conditional()
            .then(|| crate::data::batcher::one_hot(labels, CLASSES, device))
    }

    /// Loads `run_dir/config.json` and `run_dir/model.bpk` onto `device`.
    pub fn open(run_dir: &Path, device: &Device) -> anyhow::Result<Self> {
        let run = RunDir::open(run_dir);
        if !run.config().is_file() {
            bail!(
                "{} has no config.json, so it is not a run folder written by `vae train`. \
                 Pass the folder given to `vae train --run-dir`",
                run_dir.display()
            );
        }
        let config = TrainingConfig::load(&run.config())?;
        if !run.model().is_file() {
            bail!(
                "{} has no model.bpk: its training did not finish. Train it to the end, or copy a \
                 checkpoint (checkpoint/model-N.bpk) to model.bpk",
                run_dir.display()
            );
        }
        crate::run::checkpoints::verify(&run.model()).map_err(|reason| {
            anyhow::anyhow!(
                "{reason}. Copy the last checkpoint (checkpoint/model-N.bpk) to model.bpk, or train again"
            )
        })?;
        let model = build_model(&config, device)?
            .try_load_file(run.model())
            .map_err(|e| anyhow::anyhow!("{e}"))
            .with_context(|| {
                format!(
                    "{} does not match the model described by {} (network `{}`, likelihood `{}`, \
                     condition `{:?}`; was one of them replaced?). Use the config.json the model \
                     was trained with",
                    run.model().display(),
                    run.config().display(),
                    config.network.name(),
                    config.likelihood.to_config().name(),
                    config.condition
                )
            })?;
        Ok(Self { config, model })
    }
}
