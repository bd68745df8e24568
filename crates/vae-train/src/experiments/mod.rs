//! The application experiments, each one command that trains what it needs, measures, and
//! prints a Markdown table: the one-class anomaly-detection protocol, its cross-dataset case,
//! denoising, conditional generation judged by a reference classifier, data augmentation with
//! a conditional VAE's images, and semi-supervised classification with M2.

pub mod augmentation;
pub mod conditional;
pub mod cross_dataset;
pub mod denoising;
pub mod few_labels;
pub mod one_class;
pub mod semi_supervised;

use std::path::{Path, PathBuf};

use burn::prelude::Device;
use serde::Serialize;

use crate::backend::Backend;
use crate::config::TrainingConfig;
use crate::error::{DataError, InvalidConfig};
use crate::inspect::InspectError;
use crate::run::trained_run::{OpenRunError, TrainedRun};
use crate::train::{TrainError, TrainOptions, train};

/// Why an experiment stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    /// A command-line value outside its range; the message names the option and the fix.
    #[error("{0}")]
    Argument(String),
    /// The config an experiment derives for one of its runs breaks a rule.
    #[error("invalid training config: {0}")]
    Config(#[from] InvalidConfig),
    /// The dataset cannot be loaded.
    #[error(transparent)]
    Data(#[from] DataError),
    /// One of its training runs failed.
    #[error(transparent)]
    Train(#[from] TrainError),
    /// A trained run cannot be opened.
    #[error(transparent)]
    Run(#[from] OpenRunError),
    /// Scoring or a figure failed.
    #[error(transparent)]
    Inspect(#[from] InspectError),
    /// The reference classifier could not be trained or opened.
    #[error("reference classifier: {0}")]
    Classifier(#[from] crate::classifier::ClassifierError),
    /// The results cannot be written.
    #[error("cannot write {}: {source}. Check that the folder is writable", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Opens the finished run in `run_dir` if it was trained with `config`; otherwise trains it
/// there (refusing a folder that holds another run unless `overwrite`). Returns the run and
/// whether it was trained now.
pub(crate) fn train_or_reuse(
    config: &TrainingConfig,
    backend: Backend,
    data_dir: Option<PathBuf>,
    run_dir: &Path,
    overwrite: bool,
    device: &Device,
) -> Result<(TrainedRun, bool), ExperimentError> {
    let same = |run: &TrainedRun| {
        serde_json::to_value(&run.config).ok() == serde_json::to_value(config).ok()
    };
    if let Ok(run) = TrainedRun::open(run_dir, device)
        && same(&run)
    {
        println!("reusing the finished run in {}", run_dir.display());
        return Ok((run, false));
    }
    println!("training into {}", run_dir.display());
    train(TrainOptions {
        config: config.clone(),
        backend,
        data_dir,
        run_dir: run_dir.to_owned(),
        overwrite,
        plain: true,
        devices: None,
        init_from: None,
        remote: None,
    })?;
    Ok((TrainedRun::open(run_dir, device)?, true))
}

/// Creates an experiment's output folder (and its parents).
pub(crate) fn create_out_dir(out_dir: &Path) -> Result<(), ExperimentError> {
    std::fs::create_dir_all(out_dir).map_err(|source| ExperimentError::Write {
        path: out_dir.to_owned(),
        source,
    })
}

/// Writes `results.md` (the report as printed) and `results.json` into `out_dir`.
pub(crate) fn write_results<R: Serialize + std::fmt::Display>(
    out_dir: &Path,
    report: &R,
) -> Result<(), ExperimentError> {
    let json = serde_json::to_string_pretty(report).map_err(|e| ExperimentError::Write {
        path: out_dir.join("results.json"),
        source: std::io::Error::other(e),
    })? + "\n";
    for (name, text) in [("results.md", report.to_string()), ("results.json", json)] {
        let path = out_dir.join(name);
        std::fs::write(&path, text).map_err(|source| ExperimentError::Write { path, source })?;
    }
    Ok(())
}
