//! Errors a user can cause, each naming the problem and the fix.

use std::path::PathBuf;

use thiserror::Error;

/// A config file that cannot be used.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error(
        "cannot read config file {path}: {source}. Check the path, or write a complete one \
         with `vae print-config > my-config.json`"
    )]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a complete, valid training config.
    #[error(
        "config file {path} is invalid: {reason}. Fix that field; `vae print-config` prints a \
         complete config with every field"
    )]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the field.
        reason: InvalidConfig,
    },
    /// A command-line override breaks a rule.
    #[error("invalid command-line override: {0}")]
    Override(InvalidConfig),
}

/// A config value that breaks a rule: the message names the field, the value and the fix.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct InvalidConfig {
    /// The field's dotted path, e.g. `model.latent_dim` or `optimizer.beta_2` (empty when the
    /// file as a whole is wrong, e.g. not JSON).
    pub field: String,
    /// One sentence naming the field, the value found, the rule and the fix.
    pub message: String,
}

impl InvalidConfig {
    /// An error about `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Dataset files that are missing, damaged or of the other dataset (from `vae-data`).
pub use vae_data::DataError;

/// A run folder that cannot be used without losing or mixing results.
#[derive(Debug, Error)]
pub enum RunDirError {
    /// The folder already holds a run.
    #[error(
        "run folder {0} already holds a run (it is not empty). Choose another --run-dir, or pass \
         --overwrite to delete its contents and start again"
    )]
    NotEmpty(PathBuf),
    /// The folder cannot be created or written.
    #[error("cannot write to run folder {path}: {source}. Choose a --run-dir you can write to")]
    Unwritable {
        /// The folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}
