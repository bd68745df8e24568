//! Errors raised by [`VaeConfig`](crate::VaeConfig) validation and shape checks.

use thiserror::Error;

/// A configuration or input that cannot build or feed a [`Vae`](crate::Vae).
///
/// Every variant names the offending field or shape and the rule it breaks, so that a
/// user can fix the config file without reading the source.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum VaeError {
    /// A size field is zero.
    #[error("`{field}` is {value}, but it must be at least 1 (set a positive size in the config)")]
    ZeroSize {
        /// The config field, e.g. `latent_dim` or `hidden_dims[1]`.
        field: String,
        /// The value found.
        value: usize,
    },
    /// `beta` is negative or not finite.
    #[error("`beta` is {0}, but it must be a finite number >= 0 (1.0 gives the standard ELBO)")]
    InvalidBeta(f64),
    /// The activation changes the width of its input, which an MLP layer stack cannot use.
    #[error(
        "activation `{0}` changes the feature width and cannot be used between MLP layers; \
         choose an element-wise one such as Relu, Gelu, Tanh or LeakyRelu"
    )]
    UnsupportedActivation(String),
    /// The config describes a model too large to allocate.
    #[error(
        "the config describes {params} parameters, more than the {max} this crate builds (check \
         `input_dim`, `hidden_dims` and `latent_dim` for a typo)"
    )]
    TooLarge {
        /// Parameters the config describes.
        params: u128,
        /// The limit, [`crate::MAX_PARAMETERS`].
        max: u128,
    },
    /// A tensor given to the model does not have the shape the config expects.
    #[error("input has shape {found:?}, but the model expects [batch, {expected}] (batch >= 1)")]
    InputShape {
        /// The expected feature width (`input_dim` or `latent_dim`).
        expected: usize,
        /// The shape found.
        found: Vec<usize>,
    },
    /// An output bias of the wrong length for the decoder's output layer.
    #[error(
        "the output bias has shape {found:?}, but the decoder's output layer has {expected} biases"
    )]
    BiasShape {
        /// The output layer's bias count.
        expected: usize,
        /// The shape given.
        found: Vec<usize>,
    },
    /// A likelihood's configuration breaks a rule.
    #[error("invalid likelihood: {0}")]
    InvalidLikelihood(String),
    /// A network's configuration breaks a rule.
    #[error("invalid network: {0}")]
    InvalidNetwork(String),
    /// A training objective's configuration breaks a rule.
    #[error("invalid objective: {message}")]
    InvalidObjective {
        /// The field, e.g. `samples`, `free_bits` or `start`.
        field: &'static str,
        /// What is wrong and the fix.
        message: String,
    },
    /// A corruption's parameter is out of range or its name is unknown.
    #[error("invalid corruption: {0}")]
    InvalidCorruption(String),
    /// A condition was given to an unconditional model, or not given to a conditional one, or
    /// has the wrong shape.
    #[error(
        "the condition has shape {found:?}, but the model expects {expected} (condition_dim = \
         {condition_dim}; 0 means the model takes no condition)"
    )]
    Condition {
        /// What the model expects, in words.
        expected: String,
        /// The condition's shape (empty when none was given).
        found: Vec<usize>,
        /// The model's condition width.
        condition_dim: usize,
    },
}
