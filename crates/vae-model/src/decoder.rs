//! The decoder `z -> p(x|z)`: an MLP whose last layer gives Bernoulli logits.

use burn::nn::activation::ActivationConfig;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::sigmoid;

use crate::mlp::{Mlp, MlpConfig};

/// Configuration of a [`Decoder`].
#[derive(Config, Debug)]
pub struct DecoderConfig {
    /// Dimension of the latent space.
    pub latent_dim: usize,
    /// Hidden layer widths, latent side first.
    pub hidden_dims: Vec<usize>,
    /// Number of output features (pixels).
    pub output_dim: usize,
    /// Activation after each hidden layer.
    pub activation: ActivationConfig,
}

impl DecoderConfig {
    /// Builds the decoder on `device`.
    pub fn init(&self, device: &Device) -> Decoder {
        let body = MlpConfig::new(
            self.latent_dim,
            self.hidden_dims.clone(),
            self.activation.clone(),
        );
        let width = body.output_dim();
        Decoder {
            body: body.init(device),
            output: LinearConfig::new(width, self.output_dim).init(device),
        }
    }
}

/// Maps latent codes to the logits of independent Bernoulli pixels.
#[derive(Module, Debug)]
pub struct Decoder {
    /// Hidden layers.
    pub body: Mlp,
    /// Output layer, one logit per pixel (no sigmoid: the loss works on logits).
    pub output: Linear,
}

impl Decoder {
    /// Decodes latent codes to logits.
    ///
    /// # Shapes
    /// - input: `[batch, latent_dim]`
    /// - output: `[batch, output_dim]`
    pub fn forward(&self, z: Tensor<2>) -> Tensor<2> {
        self.output.forward(self.body.forward(z))
    }

    /// Decodes latent codes to pixel means in `[0, 1]` (`sigmoid` of the logits).
    ///
    /// # Shapes
    /// - input: `[batch, latent_dim]`
    /// - output: `[batch, output_dim]`
    pub fn probabilities(&self, z: Tensor<2>) -> Tensor<2> {
        sigmoid(self.forward(z))
    }
}
