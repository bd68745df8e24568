//! Training for [`vae_model`] on MNIST with Burn's `Learner`, and the `vae` command.
//!
//! The binary is a thin layer over [`training::train`]; the pieces are public so that other
//! programs can reuse the data pipeline ([`mnist`], [`batcher`]), the backend selection
//! ([`backend`]) and the run folder layout ([`run_dir`]).
#![warn(missing_docs)]

pub mod backend;
pub mod batcher;
pub mod checkpoints;
pub mod cli;
pub mod commands;
pub mod config;
pub mod epoch_artifacts;
pub mod error;
pub mod evaluate;
pub mod images;
pub mod interrupt;
pub mod mnist;
pub mod model;
pub mod pictures;
pub mod plots;
pub mod renderer;
pub mod resumable_loader;
pub mod run_dir;
pub mod step_guard;
pub mod stop;
pub mod trained_run;
pub mod training;
pub mod training_model;
