//! The encoder `x -> q(z|x)`: an MLP followed by two linear heads.

use burn::nn::activation::ActivationConfig;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

use crate::distribution::DiagonalGaussian;
use crate::mlp::{Mlp, MlpConfig};

/// Configuration of an [`Encoder`].
#[derive(Config, Debug)]
pub struct EncoderConfig {
    /// Number of input features.
    pub input_dim: usize,
    /// Hidden layer widths, input side first.
    pub hidden_dims: Vec<usize>,
    /// Dimension of the latent space.
    pub latent_dim: usize,
    /// Activation after each hidden layer.
    pub activation: ActivationConfig,
}

impl EncoderConfig {
    /// Builds the encoder on `device`.
    pub fn init(&self, device: &Device) -> Encoder {
        let body = MlpConfig::new(
            self.input_dim,
            self.hidden_dims.clone(),
            self.activation.clone(),
        );
        let width = body.output_dim();
        Encoder {
            body: body.init(device),
            mean: LinearConfig::new(width, self.latent_dim).init(device),
            log_var: LinearConfig::new(width, self.latent_dim).init(device),
        }
    }
}

/// Maps inputs to the parameters of a diagonal Gaussian posterior.
#[derive(Module, Debug)]
pub struct Encoder {
    /// Shared hidden layers.
    pub body: Mlp,
    /// Head giving the posterior mean (PyTorch's `fc21`).
    pub mean: Linear,
    /// Head giving the posterior log-variance (PyTorch's `fc22`).
    pub log_var: Linear,
}

impl Encoder {
    /// Encodes a batch.
    ///
    /// # Shapes
    /// - input: `[batch, input_dim]`
    /// - output: mean and log_var, each `[batch, latent_dim]`
    pub fn forward(&self, input: Tensor<2>) -> DiagonalGaussian {
        let hidden = self.body.forward(input);
        DiagonalGaussian {
            mean: self.mean.forward(hidden.clone()),
            log_var: self.log_var.forward(hidden),
        }
    }
}
