//! What VAEs are used for beyond sampling, as reusable maths: anomaly scores, and the
//! host-side figures that judge them (AUROC, PSNR).

mod anomaly;
mod figures;

pub use anomaly::{AnomalyScore, AnomalyScores};
pub use figures::{FigureError, auroc, psnr};
