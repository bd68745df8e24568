//! What VAEs are used for beyond sampling, as reusable maths: anomaly scores, the corruptions
//! of denoising experiments, and the host-side figures that judge them (AUROC, PSNR).

mod anomaly;
mod figures;
mod noise;

pub use anomaly::{AnomalyScore, AnomalyScores};
pub use figures::{FigureError, auroc, psnr};
pub use noise::{gaussian_noise, salt_and_pepper};
