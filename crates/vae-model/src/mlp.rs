//! A stack of linear layers with an activation after each: the body of the encoder and decoder.

use burn::nn::activation::{Activation, ActivationConfig};
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

/// Configuration of an [`Mlp`]: `input_dim -> widths[0] -> ... -> widths[n-1]`.
#[derive(Config, Debug)]
pub struct MlpConfig {
    /// Width of the input.
    pub input_dim: usize,
    /// Width of each layer's output, in order; empty gives the identity.
    pub widths: Vec<usize>,
    /// Activation applied after every layer.
    pub activation: ActivationConfig,
}

impl MlpConfig {
    /// Builds the layers on `device`.
    pub fn init(&self, device: &Device) -> Mlp {
        let mut input = self.input_dim;
        let layers = self
            .widths
            .iter()
            .map(|&width| {
                let layer = LinearConfig::new(input, width).init(device);
                input = width;
                layer
            })
            .collect();
        Mlp {
            layers,
            activation: self.activation.init(device),
        }
    }

    /// Width of the output: the last layer's width, or the input width when there are none.
    pub fn output_dim(&self) -> usize {
        self.widths.last().copied().unwrap_or(self.input_dim)
    }
}

/// Linear layers, each followed by the activation.
#[derive(Module, Debug)]
pub struct Mlp {
    /// The linear layers, input side first.
    pub layers: Vec<Linear>,
    /// The activation after each layer.
    pub activation: Activation,
}

impl Mlp {
    /// Applies every layer and its activation.
    ///
    /// # Shapes
    /// - input: `[batch, input_dim]`
    /// - output: `[batch, widths.last() or input_dim]`
    pub fn forward(&self, input: Tensor<2>) -> Tensor<2> {
        self.layers
            .iter()
            .fold(input, |x, layer| self.activation.forward(layer.forward(x)))
    }
}
