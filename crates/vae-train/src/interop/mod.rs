//! Weights in and out of the project: `vae export` writes a trained run's parameters as a
//! safetensors file (Burn's parameter paths, or the names and layout of PyTorch's
//! `examples/vae`), and `vae import` makes a run folder from a safetensors file or a PyTorch
//! `state_dict` (`.pt`/`.pth`), through burn-store.
//!
//! # Names and layouts
//! - **Burn** ([`Naming::Burn`]): every parameter under its module path
//!   (`encoder.body.layers.0.weight`, ...), linear weights `[in, out]` as Burn holds them. It
//!   serves every model a config describes.
//! - **PyTorch `examples/vae`** ([`Naming::PytorchExamplesVae`]): `fc1`, `fc21`, `fc22`,
//!   `fc3`, `fc4`, linear weights `[out, in]`, so that
//!   `VAE().load_state_dict(safetensors.torch.load_file(FILE))` works unchanged. It fits that
//!   class's model only: the unconditional MLP with one ReLU hidden layer on each side and the
//!   Bernoulli likelihood.
//!
//! A file's layout follows its names, except that a `.pt`/`.pth` file always holds PyTorch's
//! `[out, in]` layout.

pub mod export;
pub mod import;
mod names;

use std::path::PathBuf;

pub use export::{ExportOptions, export_run};
pub use import::{ImportOptions, ImportReport, Location, import_weights, load_weights};
pub use names::Naming;

impl WeightsError {
    /// A file that cannot be written, and why.
    pub(crate) fn write(path: &std::path::Path, reason: impl std::fmt::Display) -> Self {
        Self::Write {
            path: path.to_owned(),
            reason: reason.to_string(),
        }
    }
}

/// Why weights cannot be exported or imported.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    /// The file's extension names no format this project reads.
    #[error(
        "{}: unknown weights format. Pass a .safetensors file, or a PyTorch state_dict saved \
         with torch.save as .pt or .pth",
        .0.display()
    )]
    UnknownFormat(PathBuf),
    /// `--entry` names a part of a PyTorch checkpoint, which a safetensors file does not have.
    #[error(
        "{}: --entry names an entry of a PyTorch checkpoint (.pt/.pth); a safetensors file is \
         flat: leave --entry out",
        .0.display()
    )]
    EntryInSafetensors(PathBuf),
    /// The weights file does not exist.
    #[error("{} does not exist: check --from", .0.display())]
    NotFound(PathBuf),
    /// The file cannot be read as the format its extension names.
    #[error(
        "cannot read {} as {format}: {reason}. A .safetensors file is written by safetensors \
         (e.g. safetensors.torch.save_file), a .pt/.pth file by torch.save(model.state_dict(), \
         FILE)",
        path.display()
    )]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The format its extension names.
        format: &'static str,
        /// The reader's reason.
        reason: String,
    },
    /// The config describes no model that can be built.
    #[error("{} describes no model that can be built: {reason}", config.display())]
    Config {
        /// The config file.
        config: PathBuf,
        /// Why.
        reason: String,
    },
    /// The file passed the tensor check but burn-store did not load it.
    #[error(
        "{} passed the check of names and shapes, but burn-store did not load it: {reason}. \
         This is a bug in `vae import`: please report it with the file's key names",
        path.display()
    )]
    LoadFailed {
        /// The file.
        path: PathBuf,
        /// burn-store's report.
        reason: String,
    },
    /// The weights file lies inside the run folder that `--overwrite` would empty.
    #[error(
        "{} is inside the run folder {} that --overwrite would empty first: move it out, or \
         choose another --run-dir",
        file.display(),
        run_dir.display()
    )]
    InsideRunDir {
        /// The weights or config file.
        file: PathBuf,
        /// The run folder.
        run_dir: PathBuf,
    },
    /// The file's tensors are not the model's: missing, extra or mis-shaped ones.
    #[error(
        "{} does not hold the weights of the model {} describes ({naming} names):\n{}\nUse the \
         config the weights were trained with, or fix the file",
        path.display(),
        config.display(),
        problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n")
    )]
    Mismatch {
        /// The weights file.
        path: PathBuf,
        /// The config describing the model.
        config: PathBuf,
        /// The names the file was read with.
        naming: Naming,
        /// One line per problem, naming the tensor and both shapes.
        problems: Vec<String>,
    },
    /// The model has parameters PyTorch's `examples/vae` has no name for.
    #[error(
        "PyTorch's examples/vae names (fc1, fc21, fc22, fc3, fc4) fit only its own model: the \
         unconditional MLP with one ReLU hidden layer on each side and the Bernoulli \
         likelihood; this model has {0}. Export it with Burn's names (leave out \
         --pytorch-names)"
    )]
    NotExamplesVae(String),
    /// The output file exists.
    #[error("{} already exists. Choose another --out, or pass --overwrite to replace it", .0.display())]
    OutExists(PathBuf),
    /// The output file cannot be written.
    #[error("cannot write {}: {reason}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}
