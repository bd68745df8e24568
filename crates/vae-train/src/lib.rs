//! Training for [`vae_model`] on MNIST, Fashion-MNIST and folders of images with Burn's
//! `Learner`, and the `vae` command. The folders show the architecture:
//!
//! - [`data`]: the datasets (through `vae-data`) and the batcher;
//! - [`devices`]: the `--devices` list of data-parallel training;
//! - [`run`]: the run folder, its checkpoints and opening a trained run;
//! - [`train`]: training and resuming ([`train::train`]), the step the `Learner` runs, the data
//!   order, the per-epoch checkpointer, progress, interrupts and stop reasons;
//! - [`inspect`]: pictures, plots, evaluation and anomaly scores of a trained run;
//! - [`experiments`]: the application experiments, one command each (one-class and
//!   cross-dataset anomaly detection, denoising, conditional generation);
//! - [`classifier`]: the reference classifier those experiments judge samples with;
//! - [`interop`]: weights in and out (safetensors, PyTorch state_dicts) through burn-store;
//! - [`web`]: `vae web`, the page that explores a trained run in the browser;
//! - [`model`]: the model a config describes; [`config`], [`backend`], [`cli`], [`commands`]
//!   (the glue between the command line and the rest).
#![warn(missing_docs)]

pub mod backend;
pub mod classifier;
pub mod cli;
pub mod commands;
pub mod config;
pub mod data;
pub mod devices;
pub mod error;
pub mod experiments;
#[cfg(feature = "flex")]
pub mod flex_conv;
#[cfg(feature = "flex")]
pub mod flex_linear;
pub mod inspect;
pub mod interop;
pub mod model;
pub mod remote;
pub mod run;
#[cfg(test)]
mod test_support;
pub mod train;
pub mod web;
