//! Looking at a trained run: pictures, plots, the test-set evaluation, anomaly scores and the
//! label probe.

pub mod denoise;
pub mod evaluate;
pub mod images;
pub mod pictures;
pub mod plots;
pub mod probe;
pub mod sampling;
pub mod score;

use std::path::PathBuf;

use burn::prelude::*;

use crate::backend::BackendError;
use crate::error::DataError;
use crate::run::metrics_csv::MetricsCsvError;
use crate::run::trained_run::OpenRunError;

/// Why a picture, plot or evaluation could not be made.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// The backend asked for gives no device.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The run folder cannot be opened.
    #[error(transparent)]
    Run(#[from] OpenRunError),
    /// The dataset cannot be loaded.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The run's `metrics.csv` cannot be read.
    #[error(transparent)]
    Metrics(#[from] MetricsCsvError),
    /// A command-line value outside its range; the message names the option and the fix.
    #[error("{0}")]
    Argument(String),
    /// A test image index past the end of the test set.
    #[error(
        "test image index {index} is out of range: the test set has {count} images (0..={})",
        count.saturating_sub(1)
    )]
    IndexOutOfRange {
        /// The index asked for.
        index: usize,
        /// Images in the test set.
        count: usize,
    },
    /// A result could not be read back from the device.
    #[error("cannot read a result back from the device: {0}")]
    ReadBack(String),
    /// A checkpoint written this epoch does not reload (to draw its pictures).
    #[error("cannot reload {}: {reason}", path.display())]
    Reload {
        /// The record file.
        path: PathBuf,
        /// Burn's reason.
        reason: String,
    },
    /// A picture cannot be written.
    #[error("cannot write {}: {source}. Check that its folder exists and is writable", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The image crate's error.
        source: image::ImageError,
    },
    /// A file (not a picture) cannot be written.
    #[error("cannot write {}: {source}. Check that its folder exists and is writable", path.display())]
    WriteFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A figure cannot be computed from the scores (one class only, a non-finite score).
    #[error(transparent)]
    Figure(#[from] vae_model::applications::FigureError),
    /// A plot cannot be drawn.
    #[error("cannot draw {}: {message}", path.display())]
    Plot {
        /// The file.
        path: PathBuf,
        /// The plotting library's error.
        message: String,
    },
}

/// The values of `tensor`, read back to the host as `f32`.
pub(crate) fn read_back<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>, InspectError> {
    tensor
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|e| InspectError::ReadBack(format!("{e:?}")))
}
