#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod config;
mod decoder;
mod distribution;
mod encoder;
mod error;
pub mod host_bce;
mod likelihood;
mod loss;
mod mlp;
mod step_guard;
mod vae;

#[cfg(feature = "train")]
pub mod train;

pub use burn::nn::activation::ActivationConfig;
pub use config::{MAX_PARAMETERS, VaeConfig};
pub use decoder::{Decoder, DecoderConfig};
pub use distribution::DiagonalGaussian;
pub use encoder::{Encoder, EncoderConfig};
pub use error::VaeError;
pub use likelihood::{log_mean_exp, standard_normal_log_prob};
pub use loss::{ElboTerms, bernoulli_nll_with_logits, negative_elbo};
pub use mlp::{Mlp, MlpConfig};
pub use step_guard::{GuardReport, NonFinitePolicy, NonFiniteStep, StepGuard};
pub use vae::{Vae, VaeForward};
