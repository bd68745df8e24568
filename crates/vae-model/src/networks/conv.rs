//! The convolutional networks, as in the Keras VAE example and PyTorch-VAE's vanilla model:
//! stride-2 convolutions down, a dense layer to the posterior; a dense layer up, stride-2
//! transposed convolutions back to the image.
//!
//! Every layer uses a 4×4 kernel, stride 2 and padding 1, so each halves the height and width
//! (rounding down: 28 → 14 → 7 → 3); the decoder's transposed convolutions retrace those sizes
//! exactly (an output padding of 1 where the encoder rounded down).

use burn::nn::activation::{Activation, ActivationConfig};
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;

use super::with_condition;
use crate::config::MAX_PARAMETERS;
use crate::distribution::DiagonalGaussian;
use crate::error::VaeError;
use crate::parts::{Decoder, Encoder};

const KERNEL: usize = 4;
const STRIDE: usize = 2;
const PADDING: usize = 1;

/// The shape of one image: `[channels, height, width]`.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub struct ImageShape {
    /// Channels (1 for MNIST, 3 for RGB).
    pub channels: usize,
    /// Height in pixels.
    pub height: usize,
    /// Width in pixels.
    pub width: usize,
}

impl ImageShape {
    /// Values per image: `channels * height * width`.
    ///
    /// ```
    /// use vae_model::ImageShape;
    ///
    /// assert_eq!(ImageShape::new(1, 28, 28).elements(), 784);
    /// assert_eq!(ImageShape { channels: 3, height: 32, width: 32 }.elements(), 3072);
    /// ```
    pub fn elements(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Height and width after each of `layers` stride-2 convolutions, input first.
    fn sizes(&self, layers: usize) -> Vec<[usize; 2]> {
        let down = |n: usize| (n + 2 * PADDING - KERNEL) / STRIDE + 1;
        let mut sizes = vec![[self.height, self.width]];
        for _ in 0..layers {
            let [h, w] = *sizes.last().expect("starts non-empty");
            sizes.push([down(h), down(w)]);
        }
        sizes
    }

    /// Checks that the image survives `layers` halvings with at least 1×1 left.
    fn validate(&self, layers: usize) -> Result<(), VaeError> {
        if self.elements() == 0 {
            return Err(VaeError::InvalidNetwork(format!(
                "the image shape is {}x{}x{}; every size must be at least 1",
                self.channels, self.height, self.width
            )));
        }
        let min = u32::try_from(layers)
            .ok()
            .and_then(|l| 1usize.checked_shl(l))
            .unwrap_or(usize::MAX);
        if self.height < min || self.width < min {
            return Err(VaeError::InvalidNetwork(format!(
                "{layers} stride-2 convolutions need images of at least {min}x{min} pixels, but \
                 the image is {}x{}; use fewer `conv_channels`",
                self.height, self.width
            )));
        }
        Ok(())
    }
}

/// Configuration of a [`ConvEncoder`].
#[derive(Config, Debug)]
pub struct ConvEncoderConfig {
    /// The input images' shape.
    pub image: ImageShape,
    /// Output channels of each stride-2 convolution, input side first.
    #[config(default = "vec![32, 64]")]
    pub conv_channels: Vec<usize>,
    /// Width of a dense layer between the convolutions and the posterior heads (0: none).
    #[config(default = 0)]
    pub hidden_dim: usize,
    /// Dimension of the latent space.
    pub latent_dim: usize,
    /// Activation after each convolution and the dense layer.
    #[config(default = "ActivationConfig::Relu")]
    pub activation: ActivationConfig,
    /// Width of the condition concatenated to the convolutional features (0: unconditional).
    #[config(default = 0)]
    pub condition_dim: usize,
}

impl ConvEncoderConfig {
    /// Checks the sizes; the error names the field.
    ///
    /// ```
    /// use vae_model::{ConvEncoderConfig, ImageShape};
    ///
    /// let config = ConvEncoderConfig::new(ImageShape::new(1, 28, 28), 16);
    /// assert!(config.validate().is_ok()); // 28 -> 14 -> 7
    /// // Three halvings need at least 8x8 pixels.
    /// let small = ConvEncoderConfig::new(ImageShape::new(1, 4, 4), 16)
    ///     .with_conv_channels(vec![8, 8, 8]);
    /// assert!(small.validate().unwrap_err().to_string().contains("at least 8x8"));
    /// ```
    pub fn validate(&self) -> Result<(), VaeError> {
        validate_conv(
            &self.image,
            &self.conv_channels,
            self.hidden_dim,
            self.latent_dim,
            self.condition_dim,
        )
    }

    /// The config of the decoder that mirrors this encoder: the same image, channels, dense
    /// layer, latent and condition widths, and activation.
    ///
    /// ```
    /// use vae_model::{ConvEncoderConfig, ImageShape};
    ///
    /// let encoder = ConvEncoderConfig::new(ImageShape::new(3, 32, 32), 16).with_hidden_dim(128);
    /// let decoder = encoder.decoder();
    /// assert_eq!(decoder.image, encoder.image);
    /// assert_eq!((decoder.latent_dim, decoder.hidden_dim), (16, 128));
    /// // The decoder runs the same channels in reverse.
    /// assert_eq!(decoder.conv_channels, encoder.conv_channels);
    /// ```
    pub fn decoder(&self) -> ConvDecoderConfig {
        ConvDecoderConfig::new(self.image, self.latent_dim)
            .with_conv_channels(self.conv_channels.clone())
            .with_hidden_dim(self.hidden_dim)
            .with_activation(self.activation.clone())
            .with_condition_dim(self.condition_dim)
    }

    /// Parameters of this encoder and the mirroring [`ConvDecoder`] (same sizes) together.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use vae_model::{ConvEncoderConfig, ImageShape};
    ///
    /// let device = Device::flex();
    /// let image = ImageShape::new(1, 8, 8);
    /// let config = ConvEncoderConfig::new(image, 2).with_conv_channels(vec![4, 8]);
    /// let encoder = config.try_init(&device).unwrap();
    /// let decoder = config.decoder().try_init(&device).unwrap();
    /// let built = encoder.num_params() + decoder.num_params();
    /// assert_eq!(config.pair_num_params(), built as u128);
    /// ```
    pub fn pair_num_params(&self) -> u128 {
        conv_pair_params(
            &self.image,
            &self.conv_channels,
            self.hidden_dim,
            self.latent_dim,
            self.condition_dim,
        )
    }

    /// Builds the encoder on `device` after [`validate`](Self::validate).
    ///
    /// ```
    /// use burn::prelude::*;
    /// use burn::tensor::Distribution;
    /// use vae_model::{ConvEncoderConfig, Encoder, ImageShape};
    ///
    /// let device = Device::flex();
    /// let image = ImageShape::new(1, 8, 8);
    /// let config = ConvEncoderConfig::new(image, 2).with_conv_channels(vec![4, 8]);
    /// let encoder = config.try_init(&device).unwrap();
    /// let images = Tensor::<4>::random([3, 1, 8, 8], Distribution::Default, &device);
    /// let from_images = Encoder::<4>::encode(&encoder, images.clone(), None);
    /// assert_eq!(from_images.mean.dims(), [3, 2]);
    /// // Rows of 64 pixels are reshaped to the configured image: the same posterior.
    /// let from_rows = Encoder::<2>::encode(&encoder, images.reshape([3, 64]), None);
    /// assert_eq!(from_images.mean.into_data(), from_rows.mean.into_data());
    /// ```
    pub fn try_init(&self, device: &Device) -> Result<ConvEncoder, VaeError> {
        self.validate()?;
        let mut channels = self.image.channels;
        let convs = self
            .conv_channels
            .iter()
            .map(|&out| {
                let conv = Conv2dConfig::new([channels, out], [KERNEL, KERNEL])
                    .with_stride([STRIDE, STRIDE])
                    .with_padding(PaddingConfig2d::Explicit(
                        PADDING, PADDING, PADDING, PADDING,
                    ))
                    .init(device);
                channels = out;
                conv
            })
            .collect();
        let [h, w] = *self
            .image
            .sizes(self.conv_channels.len())
            .last()
            .expect("non-empty");
        let mut width = channels * h * w + self.condition_dim;
        let hidden = (self.hidden_dim > 0).then(|| {
            let layer = LinearConfig::new(width, self.hidden_dim).init(device);
            width = self.hidden_dim;
            layer
        });
        Ok(ConvEncoder {
            convs,
            hidden,
            mean: LinearConfig::new(width, self.latent_dim).init(device),
            log_var: LinearConfig::new(width, self.latent_dim).init(device),
            activation: self.activation.init(device),
            kernels: None,
            image: [self.image.channels, self.image.height, self.image.width],
        })
    }
}

/// Checks the sizes shared by both conv configs, and that the encoder and decoder they describe
/// together stay under [`MAX_PARAMETERS`].
fn validate_conv(
    image: &ImageShape,
    conv_channels: &[usize],
    hidden_dim: usize,
    latent_dim: usize,
    condition_dim: usize,
) -> Result<(), VaeError> {
    image.validate(conv_channels.len())?;
    let params = conv_pair_params(image, conv_channels, hidden_dim, latent_dim, condition_dim);
    if params > MAX_PARAMETERS {
        return Err(VaeError::TooLarge {
            params,
            max: MAX_PARAMETERS,
        });
    }
    if let Some(i) = conv_channels.iter().position(|&c| c == 0) {
        return Err(VaeError::ZeroSize {
            field: format!("conv_channels[{i}]"),
            value: 0,
        });
    }
    if latent_dim == 0 {
        return Err(VaeError::ZeroSize {
            field: "latent_dim".into(),
            value: 0,
        });
    }
    Ok(())
}

/// Weights and biases of the encoder and decoder these sizes describe (exact, even for absurd
/// sizes).
fn conv_pair_params(
    image: &ImageShape,
    conv_channels: &[usize],
    hidden_dim: usize,
    latent_dim: usize,
    condition_dim: usize,
) -> u128 {
    let n = |v: usize| v as u128;
    let linear = |a: u128, b: u128| a * b + b;
    let kernel = n(KERNEL * KERNEL);
    let mut channels = vec![n(image.channels)];
    channels.extend(conv_channels.iter().map(|&c| n(c)));
    // Each convolution and its transposed mirror: in * out * k² weights, plus their biases.
    let convs: u128 = channels
        .windows(2)
        .map(|w| 2 * w[0] * w[1] * kernel + w[0] + w[1])
        .sum();
    let [h, w] = *image.sizes(conv_channels.len()).last().expect("non-empty");
    let flat = channels.last().copied().unwrap_or(0) * n(h) * n(w);
    let (latent, condition, hidden) = (n(latent_dim), n(condition_dim), n(hidden_dim));
    let dense = if hidden > 0 {
        linear(flat + condition, hidden)
            + 2 * linear(hidden, latent)
            + linear(latent + condition, hidden)
            + linear(hidden, flat)
    } else {
        2 * linear(flat + condition, latent) + linear(latent + condition, flat)
    };
    convs + dense
}

/// Convolutions a backend-specific crate plugs into [`ConvEncoder`] and [`ConvDecoder`] in place
/// of Burn's `Conv2d::forward` and `ConvTranspose2d::forward`: each takes the layer (its weight,
/// bias, stride and padding) and the input, and must return what the layer's own `forward` does,
/// with the same gradients. `vae-train` plugs in convolutions whose gradients are single matrix
/// products over the batch on Burn's flex backend; this crate stays free of any backend.
///
/// ```
/// use burn::nn::conv::{Conv2d, ConvTranspose2d};
/// use burn::prelude::*;
/// use vae_model::{ConvEncoderConfig, ConvKernels, Encoder, ImageShape};
///
/// // Kernels that only count their calls, then run Burn's layer.
/// static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
/// fn conv(layer: &Conv2d, x: Tensor<4>) -> Tensor<4> {
///     CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
///     layer.forward(x)
/// }
/// fn deconv(layer: &ConvTranspose2d, x: Tensor<4>) -> Tensor<4> {
///     layer.forward(x)
/// }
/// let device = Device::flex();
/// let config = ConvEncoderConfig::new(ImageShape::new(1, 8, 8), 2).with_conv_channels(vec![4, 8]);
/// let mut encoder = config.try_init(&device).unwrap();
/// encoder.kernels = Some(ConvKernels { conv2d: conv, conv_transpose2d: deconv });
/// let posterior = Encoder::<4>::encode(&encoder, Tensor::zeros([3, 1, 8, 8], &device), None);
/// assert_eq!(posterior.mean.dims(), [3, 2]);
/// assert_eq!(CALLS.load(std::sync::atomic::Ordering::Relaxed), 2);
/// ```
#[derive(Clone, Copy)]
pub struct ConvKernels {
    /// In place of [`Conv2d::forward`].
    pub conv2d: fn(&Conv2d, Tensor<4>) -> Tensor<4>,
    /// In place of [`ConvTranspose2d::forward`].
    pub conv_transpose2d: fn(&ConvTranspose2d, Tensor<4>) -> Tensor<4>,
}

// By hand: the derived form would print function addresses, which change from run to run.
impl core::fmt::Debug for ConvKernels {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ConvKernels")
    }
}

/// Stride-2 convolutions, then (with the condition concatenated) an optional dense layer and
/// the two posterior heads.
#[derive(Module, Debug)]
pub struct ConvEncoder {
    /// The convolutions, input side first.
    pub convs: Vec<Conv2d>,
    /// The optional dense layer after them.
    pub hidden: Option<Linear>,
    /// Head giving the posterior mean.
    pub mean: Linear,
    /// Head giving the posterior log-variance.
    pub log_var: Linear,
    /// The activation after each convolution and the dense layer.
    pub activation: Activation,
    /// Convolutions to run instead of Burn's (`None`: Burn's).
    #[module(skip)]
    pub kernels: Option<ConvKernels>,
    #[module(skip)]
    image: [usize; 3],
}

impl Encoder<4> for ConvEncoder {
    /// # Shapes
    /// - x: `[batch, channels, height, width]`; condition: `[batch, condition_dim]`
    /// - output: mean and log_var, each `[batch, latent_dim]`
    fn encode(&self, x: Tensor<4>, condition: Option<Tensor<2>>) -> DiagonalGaussian {
        let features = self.convs.iter().fold(x, |x, conv| {
            let y = match &self.kernels {
                Some(kernels) => (kernels.conv2d)(conv, x),
                None => conv.forward(x),
            };
            self.activation.forward(y)
        });
        let mut hidden = with_condition(features.flatten::<2>(1, 3), condition);
        if let Some(layer) = &self.hidden {
            hidden = self.activation.forward(layer.forward(hidden));
        }
        DiagonalGaussian {
            mean: self.mean.forward(hidden.clone()),
            log_var: self.log_var.forward(hidden),
        }
    }
}

impl Encoder for ConvEncoder {
    /// Rows of `channels * height * width` values (row-major, channels first), reshaped to
    /// images; see the rank-4 implementation.
    fn encode(&self, x: Tensor<2>, condition: Option<Tensor<2>>) -> DiagonalGaussian {
        let [c, h, w] = self.image;
        let batch = x.dims()[0];
        Encoder::<4>::encode(self, x.reshape([batch, c, h, w]), condition)
    }
}

/// Configuration of a [`ConvDecoder`]: the mirror of a [`ConvEncoderConfig`].
#[derive(Config, Debug)]
pub struct ConvDecoderConfig {
    /// The output images' shape.
    pub image: ImageShape,
    /// Channels of the encoder's convolutions, input side first; the decoder runs them in reverse.
    #[config(default = "vec![32, 64]")]
    pub conv_channels: Vec<usize>,
    /// Width of a dense layer between `z` and the first transposed convolution (0: none).
    #[config(default = 0)]
    pub hidden_dim: usize,
    /// Dimension of the latent space.
    pub latent_dim: usize,
    /// Activation after the dense layers and each transposed convolution but the last.
    #[config(default = "ActivationConfig::Relu")]
    pub activation: ActivationConfig,
    /// Width of the condition concatenated to `z` (0: unconditional).
    #[config(default = 0)]
    pub condition_dim: usize,
}

impl ConvDecoderConfig {
    /// Checks the sizes; the error names the field.
    pub fn validate(&self) -> Result<(), VaeError> {
        validate_conv(
            &self.image,
            &self.conv_channels,
            self.hidden_dim,
            self.latent_dim,
            self.condition_dim,
        )
    }

    /// Builds the decoder on `device` after [`validate`](Self::validate).
    ///
    /// ```
    /// use burn::prelude::*;
    /// use vae_model::{ConvDecoderConfig, Decoder, ImageShape};
    ///
    /// let device = Device::flex();
    /// // 7x7 images: the encoder goes 7 -> 3 -> 1, and the decoder retraces 1 -> 3 -> 7.
    /// let image = ImageShape::new(1, 7, 7);
    /// let config = ConvDecoderConfig::new(image, 2).with_conv_channels(vec![4, 8]);
    /// let decoder = config.try_init(&device).unwrap();
    /// let z = Tensor::<2>::zeros([3, 2], &device);
    /// let images: Tensor<4> = decoder.decode(z.clone(), None);
    /// assert_eq!(images.dims(), [3, 1, 7, 7]);
    /// // Or rows of 49 values, the same numbers.
    /// let rows: Tensor<2> = decoder.decode(z, None);
    /// assert_eq!(rows.into_data(), images.reshape([3, 49]).into_data());
    /// ```
    pub fn try_init(&self, device: &Device) -> Result<ConvDecoder, VaeError> {
        self.validate()?;
        let layers = self.conv_channels.len();
        let sizes = self.image.sizes(layers);
        let [h, w] = sizes[layers];
        let deepest = self
            .conv_channels
            .last()
            .copied()
            .unwrap_or(self.image.channels);
        let mut width = self.latent_dim + self.condition_dim;
        let hidden = (self.hidden_dim > 0).then(|| {
            let layer = LinearConfig::new(width, self.hidden_dim).init(device);
            width = self.hidden_dim;
            layer
        });
        let project = LinearConfig::new(width, deepest * h * w).init(device);
        // Channels going up: the encoder's, reversed, ending at the image's.
        let mut channels: Vec<usize> = self.conv_channels.iter().rev().copied().collect();
        channels.push(self.image.channels);
        let deconvs = (0..layers)
            .map(|i| {
                let [from_h, from_w] = sizes[layers - i];
                let [to_h, to_w] = sizes[layers - i - 1];
                ConvTranspose2dConfig::new([channels[i], channels[i + 1]], [KERNEL, KERNEL])
                    .with_stride([STRIDE, STRIDE])
                    .with_padding([PADDING, PADDING])
                    .with_padding_out([to_h - STRIDE * from_h, to_w - STRIDE * from_w])
                    .init(device)
            })
            .collect();
        Ok(ConvDecoder {
            hidden,
            project,
            deconvs,
            activation: self.activation.init(device),
            kernels: None,
            start: [deepest, h, w],
        })
    }
}

/// A dense layer (or two) from `z` (with the condition concatenated) to a small feature map,
/// then stride-2 transposed convolutions up to one likelihood parameter per pixel.
#[derive(Module, Debug)]
pub struct ConvDecoder {
    /// The optional dense layer after `z`.
    pub hidden: Option<Linear>,
    /// The dense layer giving the smallest feature map.
    pub project: Linear,
    /// The transposed convolutions, smallest map first; the last gives the image's channels.
    pub deconvs: Vec<ConvTranspose2d>,
    /// The activation between layers (not after the last).
    pub activation: Activation,
    /// Transposed convolutions to run instead of Burn's (`None`: Burn's).
    #[module(skip)]
    pub kernels: Option<ConvKernels>,
    #[module(skip)]
    start: [usize; 3],
}

impl ConvDecoder {
    /// Sets the last transposed convolution's bias, one value per image channel (with no
    /// transposed convolution, the projection's, one per output value): e.g. the logit of the
    /// training images' mean for a Bernoulli likelihood.
    ///
    /// # Shapes
    /// - bias: `[channels]` (or the projection's width)
    ///
    /// ```
    /// use burn::prelude::*;
    /// use vae_model::{ConvDecoderConfig, Decoder, ImageShape, VaeError};
    ///
    /// let device = Device::flex();
    /// let image = ImageShape::new(1, 8, 8);
    /// let config = ConvDecoderConfig::new(image, 2).with_conv_channels(vec![4]);
    /// // One bias per image channel.
    /// let decoder = config.try_init(&device).unwrap();
    /// let decoder = decoder.with_output_bias(Tensor::from_floats([-2.0], &device)).unwrap();
    /// let images = Decoder::<4>::decode(&decoder, Tensor::zeros([2, 2], &device), None);
    /// assert_eq!(images.dims(), [2, 1, 8, 8]);
    /// let wrong = config.try_init(&device).unwrap().with_output_bias(Tensor::zeros([3], &device));
    /// assert_eq!(wrong.unwrap_err(), VaeError::BiasShape { expected: 1, found: vec![3] });
    /// ```
    pub fn with_output_bias(mut self, bias: Tensor<1>) -> Result<Self, VaeError> {
        let slot = match self.deconvs.last_mut() {
            Some(deconv) => &mut deconv.bias,
            None => &mut self.project.bias,
        };
        let expected = slot.as_ref().map_or(0, |b| b.dims()[0]);
        if bias.dims() != [expected] {
            return Err(VaeError::BiasShape {
                expected,
                found: bias.dims().to_vec(),
            });
        }
        *slot = Some(burn::module::Param::from_tensor(bias));
        Ok(self)
    }
}

impl Decoder<4> for ConvDecoder {
    /// # Shapes
    /// - z: `[batch, latent_dim]`; condition: `[batch, condition_dim]`
    /// - output: `[batch, channels, height, width]`
    fn decode(&self, z: Tensor<2>, condition: Option<Tensor<2>>) -> Tensor<4> {
        let mut x = with_condition(z, condition);
        if let Some(layer) = &self.hidden {
            x = self.activation.forward(layer.forward(x));
        }
        let batch = x.dims()[0];
        let [c, h, w] = self.start;
        let mut map = self.project.forward(x);
        if !self.deconvs.is_empty() {
            // Without transposed convolutions the projection is the output: no activation.
            map = self.activation.forward(map);
        }
        let mut map = map.reshape([batch, c, h, w]);
        let last = self.deconvs.len().saturating_sub(1);
        for (i, deconv) in self.deconvs.iter().enumerate() {
            map = match &self.kernels {
                Some(kernels) => (kernels.conv_transpose2d)(deconv, map),
                None => deconv.forward(map),
            };
            if i < last {
                map = self.activation.forward(map);
            }
        }
        map
    }
}

impl Decoder for ConvDecoder {
    /// The rank-4 output flattened to rows of `channels * height * width` values.
    fn decode(&self, z: Tensor<2>, condition: Option<Tensor<2>>) -> Tensor<2> {
        Decoder::<4>::decode(self, z, condition).flatten::<2>(1, 3)
    }
}
