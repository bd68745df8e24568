#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod config;
mod decoder;
mod distribution;
mod encoder;
mod error;
mod likelihood;
mod loss;
mod mlp;
mod vae;

#[cfg(feature = "train")]
pub mod train;

pub use burn::nn::activation::ActivationConfig;
pub use config::VaeConfig;
pub use decoder::{Decoder, DecoderConfig};
pub use distribution::DiagonalGaussian;
pub use encoder::{Encoder, EncoderConfig};
pub use error::VaeError;
pub use likelihood::{log_mean_exp, standard_normal_log_prob};
pub use loss::{ElboTerms, bernoulli_nll_with_logits, negative_elbo};
pub use mlp::{Mlp, MlpConfig};
pub use vae::{Vae, VaeForward};
