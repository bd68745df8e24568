#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod applications;
mod config;
mod distribution;
mod error;
pub mod host_bce;
pub mod host_math;
pub mod host_tanh;
mod iwae;
pub mod likelihood;
mod loss;
pub mod networks;
mod objective;
mod parts;
mod vae;

#[cfg(feature = "train")]
pub mod train;

pub use burn::nn::activation::ActivationConfig;
pub use config::{MAX_PARAMETERS, VaeConfig};
pub use distribution::DiagonalGaussian;
pub use error::VaeError;
pub use iwae::{log_importance_weights, log_mean_exp, repeat_each, standard_normal_log_prob};
pub use likelihood::{AnyLikelihood, Bernoulli, ContinuousBernoulli, Gaussian, LikelihoodConfig};
pub use loss::{ElboTerms, bernoulli_nll_with_logits, negative_elbo};
pub use networks::{
    ConvDecoder, ConvDecoderConfig, ConvEncoder, ConvEncoderConfig, ConvKernels, ImageShape,
    LinearKernels, Mlp, MlpConfig, MlpDecoder, MlpDecoderConfig, MlpEncoder, MlpEncoderConfig,
};
pub use objective::{KlWarmupConfig, ObjectiveConfig, ObjectiveOutput, kl_penalty};
pub use parts::{Decoder, Encoder, Likelihood};
pub use vae::{Vae, VaeForward};
