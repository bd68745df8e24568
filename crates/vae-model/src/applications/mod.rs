//! What VAEs are used for beyond sampling, as reusable maths: anomaly scores, the corruptions
//! of denoising experiments, the host-side figures that judge them (AUROC, PSNR), a small
//! CNN classifier that judges a conditional model's samples, and the semi-supervised M2
//! objective (Kingma et al. 2014).

mod anomaly;
mod classifier;
mod figures;
mod noise;
mod semi_supervised;

pub use anomaly::{AnomalyScore, AnomalyScores};
pub use classifier::{Classifier, ClassifierConfig};
pub use figures::{FigureError, auroc, psnr};
pub use noise::{Corruption, gaussian_noise, salt_and_pepper};
pub use semi_supervised::{M2Terms, m2_terms, per_class, unlabelled_bound};
