//! What VAEs are used for beyond sampling, as reusable maths: anomaly scores, the corruptions
//! of denoising experiments, the host-side figures that judge them (AUROC, PSNR), and a small
//! CNN classifier that judges a conditional model's samples.

mod anomaly;
mod classifier;
mod figures;
mod noise;

pub use anomaly::{AnomalyScore, AnomalyScores};
pub use classifier::{Classifier, ClassifierConfig};
pub use figures::{FigureError, auroc, psnr};
pub use noise::{Corruption, gaussian_noise, salt_and_pepper};
