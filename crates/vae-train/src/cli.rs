//! The `vae` command line (clap).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::backend::Backend;

/// Train and inspect variational autoencoders on MNIST with Burn, on CPU or any GPU.
#[derive(Debug, Parser)]
#[command(name = "vae", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a VAE on MNIST and write a run folder (config, model, checkpoints, metrics, pictures).
    Train(TrainArgs),
    /// Print a complete training config (PyTorch examples/vae settings) to start from.
    PrintConfig(PrintConfigArgs),
}

/// Arguments of `vae train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Training config (JSON, every field present). Default: PyTorch examples/vae settings.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Override `num_epochs`.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Override `batch_size`.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Override `learning_rate`.
    #[arg(long)]
    pub learning_rate: Option<f64>,
    /// Override `seed`.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Compute backend; must be compiled in (cargo features flex, ndarray, wgpu).
    /// Default: the first compiled of flex, ndarray, wgpu.
    #[arg(long, value_enum)]
    pub backend: Option<Backend>,
    /// Folder with the four MNIST IDX files (plain or .gz). Default: $VAE_MNIST_DIR, else
    /// Burn's download cache.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Run folder to create. Default: runs/CONFIG, CONFIG being the config file name without .json.
    #[arg(long, value_name = "DIR")]
    pub run_dir: Option<PathBuf>,
    /// Delete the contents of a run folder that already holds a run.
    #[arg(long)]
    pub overwrite: bool,
    /// Print one plain line per epoch and split instead of the terminal dashboard.
    #[arg(long)]
    pub plain: bool,
}

/// Arguments of `vae print-config`.
#[derive(Debug, Args)]
pub struct PrintConfigArgs {
    /// Write to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}
