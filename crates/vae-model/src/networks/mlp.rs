//! The fully connected networks: [`Mlp`], the stack of layers they share, and the encoder and
//! decoder of PyTorch's `examples/vae` built from it.

use burn::nn::activation::{Activation, ActivationConfig};
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

use super::with_condition;
use crate::distribution::DiagonalGaussian;
use crate::error::VaeError;
use crate::host_tanh::host_tanh;
use crate::parts::{Decoder, Encoder};

/// Configuration of an [`Mlp`]: `input_dim -> widths[0] -> ... -> widths[n-1]`.
///
/// ```
/// use burn::prelude::*;
/// use vae_model::{ActivationConfig, MlpConfig};
///
/// let device = Device::flex();
/// let config = MlpConfig::new(6, vec![8, 4], ActivationConfig::Relu);
/// assert_eq!(config.output_dim(), 4);
/// let mlp = config.init(&device);
/// let out = mlp.forward(Tensor::<2>::ones([3, 6], &device));
/// assert_eq!(out.dims(), [3, 4]);
/// // ReLU after every layer, the last one included: nothing negative.
/// let out: Vec<f32> = out.into_data().try_to_vec::<f32>().unwrap();
/// assert!(out.iter().all(|&v| v >= 0.0));
/// ```
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
            host_tanh: false,
            kernels: None,
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
    /// Whether a `tanh` activation runs on the host ([`host_tanh()`]); not part of records.
    #[module(skip)]
    pub host_tanh: bool,
    /// The layers' kernel (`None`: Burn's [`Linear`] and the activation); not part of records.
    /// It also runs the encoder's heads and the decoder's output layer built on this body, and
    /// where set it takes the place of `host_tanh`.
    #[module(skip)]
    pub kernels: Option<LinearKernels>,
}

/// A replacement for a fully connected layer and the activation after it, for the
/// [`Mlp`] networks: `linear(layer, x, activation)` must return what
/// `activation.forward(layer.forward(x))` does (or `layer.forward(x)` without an activation),
/// with the same gradients. `vae-train` plugs in one that adds the bias and applies the
/// activation in the pass that reads the matrix product, forward and backward, on Burn's flex
/// backend; this crate stays free of any backend.
///
/// ```
/// use burn::nn::Linear;
/// use burn::nn::activation::Activation;
/// use burn::prelude::*;
/// use vae_model::{ActivationConfig, LinearKernels, MlpEncoderConfig, Encoder};
///
/// // A kernel that counts its calls, then runs Burn's layer.
/// static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
/// fn linear(layer: &Linear, x: Tensor<2>, activation: Option<&Activation>) -> Tensor<2> {
///     CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
///     let y = layer.forward(x);
///     activation.map_or(y.clone(), |a| a.forward(y))
/// }
/// let device = Device::flex();
/// let mut encoder = MlpEncoderConfig::new(6, vec![8], 2, ActivationConfig::Relu).init(&device);
/// encoder.body.kernels = Some(LinearKernels { linear });
/// let posterior = encoder.encode(Tensor::zeros([3, 6], &device), None);
/// assert_eq!(posterior.mean.dims(), [3, 2]);
/// // The hidden layer and the two heads.
/// assert_eq!(CALLS.load(std::sync::atomic::Ordering::Relaxed), 3);
/// ```
#[derive(Clone, Copy)]
pub struct LinearKernels {
    /// In place of [`Linear::forward`] followed by the activation, if any.
    pub linear: fn(&Linear, Tensor<2>, Option<&Activation>) -> Tensor<2>,
}

// By hand: the derived form would print function addresses, which change from run to run.
impl core::fmt::Debug for LinearKernels {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("LinearKernels")
    }
}

impl Mlp {
    /// Applies every layer and its activation.
    ///
    /// # Shapes
    /// - input: `[batch, input_dim]`
    /// - output: `[batch, widths.last() or input_dim]`
    ///
    /// ```
    /// use burn::prelude::*;
    /// use vae_model::{ActivationConfig, MlpConfig};
    ///
    /// let device = Device::flex();
    /// // No layers: the identity, activation and all.
    /// let identity = MlpConfig::new(3, vec![], ActivationConfig::Relu).init(&device);
    /// let x = Tensor::<2>::from_floats([[1.0, -2.0, 3.0]], &device);
    /// assert_eq!(identity.forward(x.clone()).into_data(), x.into_data());
    /// ```
    pub fn forward(&self, input: Tensor<2>) -> Tensor<2> {
        if let Some(kernels) = &self.kernels {
            return self.layers.iter().fold(input, |x, layer| {
                (kernels.linear)(layer, x, Some(&self.activation))
            });
        }
        let on_host = self.host_tanh && matches!(self.activation, Activation::Tanh(_));
        self.layers.iter().fold(input, |x, layer| {
            let x = layer.forward(x);
            if on_host {
                host_tanh(x)
            } else {
                self.activation.forward(x)
            }
        })
    }

    /// Computes a `tanh` activation on the host ([`host_tanh`]: SIMD on every core, the same
    /// values to 2.4e-7 and the same gradient) instead of the backend's kernel: faster on
    /// Burn's CPU backends, whose `tanh` is a scalar call on one core; a copy to the host and
    /// back on a GPU. Other activations are unaffected.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use vae_model::{ActivationConfig, MlpConfig};
    ///
    /// let device = Device::flex();
    /// let mlp = MlpConfig::new(3, vec![4], ActivationConfig::Tanh).init(&device);
    /// let x = Tensor::<2>::from_floats([[1.0, -2.0, 3.0]], &device);
    /// let libm: Vec<f32> = mlp.forward(x.clone()).into_data().try_to_vec::<f32>().unwrap();
    /// let host: Vec<f32> = mlp.with_host_tanh(true).forward(x).into_data().try_to_vec::<f32>().unwrap();
    /// assert!(libm.iter().zip(&host).all(|(a, b)| (a - b).abs() < 3e-7));
    /// ```
    pub fn with_host_tanh(mut self, enabled: bool) -> Self {
        self.host_tanh = enabled;
        self
    }

    /// `layer.forward(x)` (no activation) through this body's [`LinearKernels`], if any: the
    /// heads and output layers built on it.
    fn linear(&self, layer: &Linear, x: Tensor<2>) -> Tensor<2> {
        match &self.kernels {
            Some(kernels) => (kernels.linear)(layer, x, None),
            None => layer.forward(x),
        }
    }
}

/// Configuration of an [`MlpEncoder`].
#[derive(Config, Debug)]
pub struct MlpEncoderConfig {
    /// Number of input features.
    pub input_dim: usize,
    /// Hidden layer widths, input side first.
    pub hidden_dims: Vec<usize>,
    /// Dimension of the latent space.
    pub latent_dim: usize,
    /// Activation after each hidden layer.
    pub activation: ActivationConfig,
    /// Width of the condition concatenated to the input (0: unconditional).
    #[config(default = 0)]
    pub condition_dim: usize,
}

impl MlpEncoderConfig {
    /// Builds the encoder on `device`.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use vae_model::{ActivationConfig, Encoder, MlpEncoderConfig};
    ///
    /// let device = Device::flex();
    /// // 6 features and a 3-value condition in, a 2-dimensional posterior out.
    /// let encoder = MlpEncoderConfig::new(6, vec![8], 2, ActivationConfig::Relu)
    ///     .with_condition_dim(3)
    ///     .init(&device);
    /// let x = Tensor::<2>::ones([4, 6], &device);
    /// let labels = Tensor::<2>::zeros([4, 3], &device);
    /// let posterior = encoder.encode(x, Some(labels));
    /// assert_eq!(posterior.mean.dims(), [4, 2]);
    /// assert_eq!(posterior.log_var.dims(), [4, 2]);
    /// ```
    pub fn init(&self, device: &Device) -> MlpEncoder {
        let body = MlpConfig::new(
            self.input_dim + self.condition_dim,
            self.hidden_dims.clone(),
            self.activation.clone(),
        );
        let width = body.output_dim();
        MlpEncoder {
            body: body.init(device),
            mean: LinearConfig::new(width, self.latent_dim).init(device),
            log_var: LinearConfig::new(width, self.latent_dim).init(device),
        }
    }
}

/// Maps flat inputs (and an optional condition, concatenated to them) to a diagonal Gaussian
/// posterior: an [`Mlp`] and two linear heads.
#[derive(Module, Debug)]
pub struct MlpEncoder {
    /// Shared hidden layers.
    pub body: Mlp,
    /// Head giving the posterior mean (PyTorch's `fc21`).
    pub mean: Linear,
    /// Head giving the posterior log-variance (PyTorch's `fc22`).
    pub log_var: Linear,
}

impl Encoder for MlpEncoder {
    /// # Shapes
    /// - x: `[batch, input_dim]`; condition: `[batch, condition_dim]`
    /// - output: mean and log_var, each `[batch, latent_dim]`
    fn encode(&self, x: Tensor<2>, condition: Option<Tensor<2>>) -> DiagonalGaussian {
        let hidden = self.body.forward(with_condition(x, condition));
        DiagonalGaussian {
            mean: self.body.linear(&self.mean, hidden.clone()),
            log_var: self.body.linear(&self.log_var, hidden),
        }
    }
}

/// Configuration of an [`MlpDecoder`].
#[derive(Config, Debug)]
pub struct MlpDecoderConfig {
    /// Dimension of the latent space.
    pub latent_dim: usize,
    /// Hidden layer widths, latent side first.
    pub hidden_dims: Vec<usize>,
    /// Number of output features (pixels).
    pub output_dim: usize,
    /// Activation after each hidden layer.
    pub activation: ActivationConfig,
    /// Width of the condition concatenated to `z` (0: unconditional).
    #[config(default = 0)]
    pub condition_dim: usize,
}

impl MlpDecoderConfig {
    /// Builds the decoder on `device`.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use vae_model::{ActivationConfig, Decoder, MlpDecoderConfig};
    ///
    /// let device = Device::flex();
    /// let decoder = MlpDecoderConfig::new(2, vec![8], 6, ActivationConfig::Relu).init(&device);
    /// let z = Tensor::<2>::zeros([5, 2], &device);
    /// assert_eq!(decoder.decode(z, None).dims(), [5, 6]); // one likelihood parameter per feature
    /// ```
    pub fn init(&self, device: &Device) -> MlpDecoder {
        let body = MlpConfig::new(
            self.latent_dim + self.condition_dim,
            self.hidden_dims.clone(),
            self.activation.clone(),
        );
        let width = body.output_dim();
        MlpDecoder {
            body: body.init(device),
            output: LinearConfig::new(width, self.output_dim).init(device),
        }
    }
}

/// Maps latent codes (and an optional condition) to one likelihood parameter per feature.
#[derive(Module, Debug)]
pub struct MlpDecoder {
    /// Hidden layers.
    pub body: Mlp,
    /// Output layer, one parameter per feature (no activation: the likelihood takes it raw).
    pub output: Linear,
}

impl MlpDecoder {
    /// Sets the output layer's bias, one value per feature: e.g. the logit of the training
    /// images' mean for a Bernoulli likelihood (Burda et al. 2016's initialisation).
    ///
    /// # Shapes
    /// - bias: `[output_dim]`
    ///
    /// ```
    /// use burn::prelude::*;
    /// use vae_model::{ActivationConfig, MlpDecoderConfig, VaeError};
    ///
    /// let device = Device::flex();
    /// let config = MlpDecoderConfig::new(2, vec![8], 6, ActivationConfig::Relu);
    /// // Images whose mean intensity is 0.1: the bias is its logit, ln(0.1 / 0.9).
    /// let bias = Tensor::<1>::full([6], (0.1f32 / 0.9).ln(), &device);
    /// let decoder = config.init(&device).with_output_bias(bias.clone()).unwrap();
    /// assert_eq!(decoder.output.bias.unwrap().val().into_data(), bias.into_data());
    /// let wrong = config.init(&device).with_output_bias(Tensor::zeros([5], &device));
    /// assert_eq!(wrong.unwrap_err(), VaeError::BiasShape { expected: 6, found: vec![5] });
    /// ```
    pub fn with_output_bias(mut self, bias: Tensor<1>) -> Result<Self, VaeError> {
        let outputs = self.output.weight.dims()[1];
        if bias.dims() != [outputs] {
            return Err(VaeError::BiasShape {
                expected: outputs,
                found: bias.dims().to_vec(),
            });
        }
        self.output.bias = Some(burn::module::Param::from_tensor(bias));
        Ok(self)
    }
}

impl Decoder for MlpDecoder {
    /// # Shapes
    /// - z: `[batch, latent_dim]`; condition: `[batch, condition_dim]`
    /// - output: `[batch, output_dim]`
    fn decode(&self, z: Tensor<2>, condition: Option<Tensor<2>>) -> Tensor<2> {
        let hidden = self.body.forward(with_condition(z, condition));
        self.body.linear(&self.output, hidden)
    }
}
