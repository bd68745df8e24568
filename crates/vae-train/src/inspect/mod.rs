//! Looking at a trained run: pictures, plots and the test-set evaluation.

pub mod evaluate;
pub mod images;
pub mod pictures;
pub mod plots;
