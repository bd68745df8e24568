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
        reason: String,
    },
    /// A command-line override breaks a rule.
    #[error("invalid command-line override: {0}")]
    Override(String),
}

/// MNIST files that are missing, damaged or not MNIST.
#[derive(Debug, Error)]
pub enum DataError {
    /// Neither a local folder nor the download gave the data.
    #[error(
        "MNIST is not available: {reason}. Either point the program at a folder holding the four \
         MNIST IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, \
         t10k-labels-idx1-ubyte, plain or .gz) with `--data-dir DIR` or the environment variable \
         VAE_MNIST_DIR, or run once with internet access so that Burn downloads MNIST into its cache"
    )]
    Unavailable {
        /// Why the download or lookup failed.
        reason: String,
    },
    /// A file is absent from the data folder.
    #[error(
        "MNIST file {name} (or {name}.gz) is missing from {dir}. Copy the four MNIST IDX files there, \
         or point --data-dir / VAE_MNIST_DIR at the folder that has them"
    )]
    Missing {
        /// The folder searched.
        dir: PathBuf,
        /// The file name expected.
        name: String,
    },
    /// A file cannot be read or decompressed.
    #[error("cannot read MNIST file {path}: {reason}. Replace it with an intact copy")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The I/O or gzip error.
        reason: String,
    },
    /// A file is readable but is not the expected MNIST IDX data.
    #[error(
        "MNIST file {path} is corrupt: {reason}. Replace it with an intact copy of the original file"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Which check failed (magic, size, length, checksum, counts).
        reason: String,
    },
}

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
