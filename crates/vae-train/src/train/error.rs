//! Why a run could not be trained or resumed; every message names the problem and the fix.

use std::path::PathBuf;

use crate::backend::BackendError;
use crate::error::DataError;
use crate::error::{ConfigError, InvalidConfig, RunDirError};
use crate::run::metrics_csv::MetricsCsvError;
use crate::train::StopReason;

/// A training run that could not start, or stopped before its last epoch.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The config breaks a rule.
    #[error("invalid training config: {0}")]
    InvalidConfig(#[from] InvalidConfig),
    /// `--epochs` breaks a rule.
    #[error("invalid --epochs: {0}")]
    InvalidEpochs(InvalidConfig),
    /// The run's `config.json` cannot be read or is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The backend gives no device.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The remote device cannot be used (`--remote`).
    #[error(transparent)]
    Remote(#[from] crate::remote::RemoteError),
    /// The remote device went away during training.
    #[error("{advice} (Burn: {reason})")]
    RemoteLost {
        /// The remote client's panic message.
        reason: String,
        /// What happened and what to do, naming the server and the run folder.
        advice: String,
    },
    /// The dataset cannot be loaded.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The run folder cannot be used.
    #[error(transparent)]
    RunDir(#[from] RunDirError),
    /// The config describes no model that can be built.
    #[error(transparent)]
    Model(#[from] vae_model::VaeError),
    /// `metrics.csv` cannot be cut back for a resumed run.
    #[error(transparent)]
    Metrics(#[from] MetricsCsvError),
    /// The folder given to `--resume` holds no run.
    #[error(
        "{} has no config.json, so it is not a run folder written by `vae train`. Pass the \
         folder given to `vae train --run-dir`",
        .0.display()
    )]
    NotARun(PathBuf),
    /// The folder was made by `vae import`: weights, but no training state.
    #[error(
        "{} was made by `vae import` (see its import.json): it holds weights but no training \
         state (optimizer, epochs) to resume. To train the weights further, start a new run \
         from them: `vae train --config {} --init-from {} --run-dir NEW_RUN`",
        .0.display(),
        .0.join("config.json").display(),
        .0.display()
    )]
    ImportedRun(PathBuf),
    /// The run given to `--init-from` cannot be opened.
    #[error("--init-from: {0}")]
    InitFrom(#[from] crate::run::trained_run::OpenRunError),
    /// `--init-from` names the folder the new run would be written to, or one inside it.
    #[error(
        "--init-from {} is the run folder {} or inside it: the new run would delete the weights \
         it starts from. Give the new run a folder of its own (--run-dir)",
        source_dir.display(),
        run_dir.display()
    )]
    InitIntoItself {
        /// The run folder given to `--init-from`.
        source_dir: PathBuf,
        /// The new run's folder.
        run_dir: PathBuf,
    },
    /// The run given to `--init-from` holds another network than the config describes.
    #[error(
        "--init-from: the weights in {} do not fit the model the config describes ({parts}): \
         {reason}. Train with the config the weights were trained with ({}), changing only what \
         does not shape the network (learning rate, epochs, batch size, data)",
        source_dir.join("model.bpk").display(),
        source_dir.join("config.json").display()
    )]
    InitMismatch {
        /// The run folder given to `--init-from`.
        source_dir: PathBuf,
        /// The parts the new config names: network, likelihood and condition.
        parts: String,
        /// Burn's reason.
        reason: String,
    },
    /// No checkpoint of the run is complete and loads.
    #[error(
        "{} has no complete, loadable checkpoint to resume from{}. Start it again with `vae \
         train --config {} --run-dir {} --overwrite{}`",
        crate::run::RunDir::open(run_dir).checkpoints().display(),
        if skipped.is_empty() { String::new() } else { format!(" ({})", skipped.join("; ")) },
        crate::run::RunDir::open(run_dir).config().display(),
        run_dir.display(),
        init_from.as_ref().map_or(String::new(), |p| format!(" --init-from {}", p.display()))
    )]
    NoCheckpoint {
        /// Why each checkpoint was passed over.
        skipped: Vec<String>,
        /// The run it started from (`init.json`), to start from again.
        init_from: Option<PathBuf>,
        /// The run folder.
        run_dir: PathBuf,
    },
    /// The run already has the epochs asked for.
    #[error(
        "{} already has {done} of {epochs} epochs: nothing to resume. Pass `--epochs N` with N > \
         {done} to train it further",
        run_dir.display()
    )]
    NothingToResume {
        /// The run folder.
        run_dir: PathBuf,
        /// Epochs completed.
        done: usize,
        /// Epochs asked for.
        epochs: usize,
    },
    /// A batch larger than the training set.
    #[error(
        "`batch_size` is {batch_size}, larger than the {train_images} training images: lower it \
         to at most {train_images} (or raise `train_images`)"
    )]
    BatchTooLarge {
        /// The config's batch size.
        batch_size: usize,
        /// Training images available.
        train_images: usize,
    },
    /// A file of the run cannot be written or moved.
    #[error("cannot write {}: {source}. Check that the run folder is writable", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A record cannot be loaded or saved.
    #[error("{action} {}: {reason}", path.display())]
    Record {
        /// `cannot load` or `cannot write`.
        action: &'static str,
        /// The record file.
        path: PathBuf,
        /// Burn's reason.
        reason: String,
    },
    /// Ctrl-C and SIGTERM cannot be caught.
    #[error("cannot listen for Ctrl-C: {0}")]
    Signals(std::io::Error),
    /// Burn's training loop returned an error.
    #[error(
        "training stopped with an error: {error}. The checkpoints already written in {} are kept",
        checkpoints.display()
    )]
    Failed {
        /// The error.
        error: String,
        /// The run's `checkpoint/` folder.
        checkpoints: PathBuf,
    },
    /// The run stopped before its last epoch: divergence, Ctrl-C, or another stop.
    #[error(
        "training stopped early: {reason}{advice}. The checkpoints of the completed epochs \
         before it are kept in {}",
        checkpoints.display()
    )]
    Stopped {
        /// Why.
        reason: StopReason,
        /// What to do next (starts with ". ", or empty).
        advice: String,
        /// The run's `checkpoint/` folder.
        checkpoints: PathBuf,
    },
}
