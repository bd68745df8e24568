//! The model a config describes ([`build_model`]), and the networks it may choose, as one type each ([`AnyEncoder`], [`AnyDecoder`]), so that
//! the `Learner`, the checkpoints and the inspection commands serve every model with one
//! [`CliVae`] type.
//!
//! Unlike a derived enum module, these enums are transparent to records: an MLP's parameters
//! keep the paths `encoder.body.layers.0.weight`, ..., so run folders written before networks
//! could be chosen load unchanged. A record of one network kind does not load into the other
//! (its paths differ), which the inspection commands report as a mismatch with `config.json`.

use std::fmt;

use burn::module::{
    Content, Devices, Module, ModuleDisplay, ModuleDisplayDefault, ModuleMapper, ModuleVisitor,
};
use burn::prelude::*;
use vae_model::likelihood::AnyLikelihood;
use vae_model::{
    ConvDecoder, ConvEncoder, ConvEncoderConfig, Decoder, DiagonalGaussian, Encoder, MlpDecoder,
    MlpEncoder, Vae, VaeError,
};

use crate::config::{NetworkChoice, TrainingConfig, logits_of_means};

/// The VAE the `vae` command trains and opens: any shipped network pair and likelihood.
pub type CliVae = Vae<AnyEncoder, AnyDecoder, AnyLikelihood>;

/// The encoder a config chose.
#[derive(Debug, Clone)]
pub enum AnyEncoder {
    /// The fully connected encoder.
    Mlp(MlpEncoder),
    /// The convolutional encoder.
    Conv(ConvEncoder),
}

/// The decoder a config chose.
#[derive(Debug, Clone)]
pub enum AnyDecoder {
    /// The fully connected decoder.
    Mlp(MlpDecoder),
    /// The convolutional decoder.
    Conv(ConvDecoder),
}

impl Encoder for AnyEncoder {
    fn encode(&self, x: Tensor<2>, condition: Option<Tensor<2>>) -> DiagonalGaussian {
        match self {
            Self::Mlp(m) => m.encode(x, condition),
            Self::Conv(m) => Encoder::<2>::encode(m, x, condition),
        }
    }
}

impl Decoder for AnyDecoder {
    fn decode(&self, z: Tensor<2>, condition: Option<Tensor<2>>) -> Tensor<2> {
        match self {
            Self::Mlp(m) => m.decode(z, condition),
            Self::Conv(m) => Decoder::<2>::decode(m, z, condition),
        }
    }
}

/// `Module` for an enum of modules, forwarding to the variant without entering a sub-module,
/// so that parameter paths are the variant's own.
macro_rules! transparent_enum_module {
    ($name:ident { $($variant:ident),+ }) => {
        impl Module for $name {
            fn collect_devices(&self, devices: Devices) -> Devices {
                match self { $(Self::$variant(m) => m.collect_devices(devices)),+ }
            }
            fn fork(self, device: &Device) -> Self {
                match self { $(Self::$variant(m) => Self::$variant(m.fork(device))),+ }
            }
            fn to_device(self, device: &Device) -> Self {
                match self { $(Self::$variant(m) => Self::$variant(m.to_device(device))),+ }
            }
            fn train(self) -> Self {
                match self { $(Self::$variant(m) => Self::$variant(m.train())),+ }
            }
            fn valid(&self) -> Self {
                match self { $(Self::$variant(m) => Self::$variant(m.valid())),+ }
            }
            fn materialize(self) -> Self {
                match self { $(Self::$variant(m) => Self::$variant(m.materialize())),+ }
            }
            fn num_params(&self) -> usize {
                match self { $(Self::$variant(m) => Module::num_params(m)),+ }
            }
            fn visit<V: ModuleVisitor>(&self, visitor: &mut V) {
                match self { $(Self::$variant(m) => m.visit(visitor)),+ }
            }
            fn map<M: ModuleMapper>(self, mapper: &mut M) -> Self {
                match self { $(Self::$variant(m) => Self::$variant(m.map(mapper))),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.format(Default::default()))
            }
        }

        impl ModuleDisplayDefault for $name {
            fn content(&self, content: Content) -> Option<Content> {
                match self { $(Self::$variant(m) => m.content(content)),+ }
            }
            fn num_params(&self) -> usize {
                Module::num_params(self)
            }
        }

        impl ModuleDisplay for $name {}
    };
}

transparent_enum_module!(AnyEncoder { Mlp, Conv });
transparent_enum_module!(AnyDecoder { Mlp, Conv });

impl AnyDecoder {
    /// Sets the output bias from the training images' mean intensity per pixel (`means`, one
    /// per value, `channels` planes): the logit of each (MLP), or of each channel's mean (conv).
    pub fn with_output_bias_from_means(
        self,
        means: &[f64],
        channels: usize,
        device: &Device,
    ) -> Result<Self, VaeError> {
        let tensor = |values: Vec<f32>| {
            let count = values.len();
            Tensor::<1>::from_data(TensorData::new(values, [count]), device)
        };
        Ok(match self {
            Self::Mlp(decoder) => {
                Self::Mlp(decoder.with_output_bias(tensor(logits_of_means(means)))?)
            }
            // Without transposed convolutions the projection gives every pixel: one bias each.
            Self::Conv(decoder) if decoder.deconvs.is_empty() => {
                Self::Conv(decoder.with_output_bias(tensor(logits_of_means(means)))?)
            }
            Self::Conv(decoder) => {
                let per_channel = means.len() / channels.max(1);
                let channel_means: Vec<f64> = means
                    .chunks(per_channel.max(1))
                    .map(|c| c.iter().sum::<f64>() / c.len() as f64)
                    .collect();
                Self::Conv(decoder.with_output_bias(tensor(logits_of_means(&channel_means)))?)
            }
        })
    }
}

/// `vae` with its host passes on or off: its MLP networks' layers with their bias and
/// activation in one pass (`flex_linear::KERNELS`, with the `flex` feature; on a flex device,
/// Burn's layers and activations elsewhere) or, without that feature, their `tanh` on the host
/// ([`Mlp::with_host_tanh`](vae_model::Mlp::with_host_tanh)), the conv networks' convolution
/// gradients as matrix products (`flex_conv::KERNELS`, with the `flex` feature; they act only on
/// a flex device with autodiff) and the likelihood's mean
/// ([`Vae::with_host_mean`](vae_model::Vae::with_host_mean)) computed on the host. Faster on the
/// CPU backends.
pub fn with_host_passes(mut vae: CliVae, enabled: bool) -> CliVae {
    #[cfg(feature = "flex")]
    let kernels = enabled.then_some(crate::flex_conv::KERNELS);
    #[cfg(not(feature = "flex"))]
    let kernels = None;
    let linear = mlp_kernels(enabled);
    match &mut vae.encoder {
        AnyEncoder::Mlp(encoder) => {
            encoder.body.host_tanh = enabled;
            encoder.body.kernels = linear;
        }
        AnyEncoder::Conv(encoder) => encoder.kernels = kernels,
    }
    match &mut vae.decoder {
        AnyDecoder::Mlp(decoder) => {
            decoder.body.host_tanh = enabled;
            decoder.body.kernels = linear;
        }
        AnyDecoder::Conv(decoder) => decoder.kernels = kernels,
    }
    vae.with_host_mean(enabled)
}

/// The MLP networks' fused layer (`flex_linear::KERNELS`) where `enabled` and built with the
/// `flex` feature, for [`Mlp::kernels`](vae_model::Mlp::kernels); `None` otherwise.
pub fn mlp_kernels(enabled: bool) -> Option<vae_model::LinearKernels> {
    #[cfg(feature = "flex")]
    return enabled.then_some(crate::flex_linear::KERNELS);
    #[cfg(not(feature = "flex"))]
    {
        let _ = enabled;
        None
    }
}

/// Builds the model `config` describes on `device`: its network pair, likelihood and
/// condition. The MLP with the Bernoulli likelihood and no condition is exactly
/// [`VaeConfig::try_init`](vae_model::VaeConfig::try_init)'s model, with the same weights for
/// a seed.
pub fn build_model(config: &TrainingConfig, device: &Device) -> Result<CliVae, VaeError> {
    let model = &config.model;
    model.validate()?;
    let condition_dim = config.condition_dim();
    let (encoder, decoder) = match &config.network {
        NetworkChoice::Mlp => {
            let (encoder, decoder) = model.try_init_networks(condition_dim, device)?;
            (AnyEncoder::Mlp(encoder), AnyDecoder::Mlp(decoder))
        }
        NetworkChoice::Conv {
            conv_channels,
            hidden_dim,
        } => {
            let conv = ConvEncoderConfig::new(config.image_shape(), model.latent_dim)
                .with_conv_channels(conv_channels.clone())
                .with_hidden_dim(*hidden_dim)
                .with_activation(model.activation.clone())
                .with_condition_dim(condition_dim);
            let encoder = conv.try_init(device)?;
            let decoder = conv.decoder().try_init(device)?;
            (AnyEncoder::Conv(encoder), AnyDecoder::Conv(decoder))
        }
    };
    let likelihood = config
        .likelihood
        .to_config()
        .try_init(config.image_shape().elements(), device)?;
    Ok(Vae::new(encoder, decoder, likelihood, model.latent_dim)
        .with_beta(model.beta)
        .with_condition_dim(condition_dim))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn host_passes_reach_both_mlp_networks_and_the_mean_and_can_be_turned_off() {
        let device = Device::flex();
        let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
        let config = TrainingConfig::load(&configs.join("mnist-iwae-vae.json")).unwrap();
        let vae = build_model(&config, &device).unwrap();
        let flags = |vae: &CliVae| match (&vae.encoder, &vae.decoder) {
            (AnyEncoder::Mlp(e), AnyDecoder::Mlp(d)) => {
                let fused = e.body.kernels.is_some() && d.body.kernels.is_some();
                assert_eq!(fused, e.body.host_tanh && cfg!(feature = "flex"));
                (e.body.host_tanh, d.body.host_tanh, vae.host_mean())
            }
            _ => panic!("an MLP config built another network"),
        };
        assert_eq!(flags(&vae), (false, false, false));
        let vae = with_host_passes(vae, true);
        assert_eq!(flags(&vae), (true, true, true));
        // A clone for another device keeps the flags (the Learner forks its model), and so
        // does the model without autodiff (`valid`).
        assert_eq!(flags(&vae.clone().fork(&device)), (true, true, true));
        let autodiff = vae.clone().fork(&device.clone().autodiff());
        assert_eq!(flags(&autodiff.valid()), (true, true, true));
        assert_eq!(flags(&with_host_passes(vae, false)), (false, false, false));
    }

    #[test]
    fn host_passes_plug_the_flex_convolutions_into_both_conv_networks() {
        let device = Device::flex();
        let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
        let config = TrainingConfig::load(&configs.join("mnist-conv.json")).unwrap();
        let vae = build_model(&config, &device).unwrap();
        let plugged = |vae: &CliVae| match (&vae.encoder, &vae.decoder) {
            (AnyEncoder::Conv(e), AnyDecoder::Conv(d)) => {
                (e.kernels.is_some(), d.kernels.is_some())
            }
            _ => panic!("a conv config built another network"),
        };
        assert_eq!(plugged(&vae), (false, false));
        let vae = with_host_passes(vae, true);
        assert_eq!(
            plugged(&vae),
            (cfg!(feature = "flex"), cfg!(feature = "flex"))
        );
        // The Learner's fork to the autodiff device and its validation model keep them.
        let autodiff = vae.clone().fork(&device.clone().autodiff());
        assert_eq!(plugged(&autodiff), plugged(&vae));
        assert_eq!(plugged(&autodiff.valid()), plugged(&vae));
        assert_eq!(plugged(&with_host_passes(vae, false)), (false, false));
    }
}
