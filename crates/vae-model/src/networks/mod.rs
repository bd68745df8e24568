//! The shipped networks: the fully connected pair ([`MlpEncoder`], [`MlpDecoder`]) and the
//! convolutional pair ([`ConvEncoder`], [`ConvDecoder`]). Each takes an optional condition,
//! concatenated to its input: the MLP encoder's input, the conv encoder's flattened features
//! (before its dense layers), and `z` in both decoders.

mod conv;
mod mlp;

pub use conv::{
    ConvDecoder, ConvDecoderConfig, ConvEncoder, ConvEncoderConfig, ConvKernels, ImageShape,
};
pub use mlp::{
    LinearKernels, Mlp, MlpConfig, MlpDecoder, MlpDecoderConfig, MlpEncoder, MlpEncoderConfig,
};

use burn::prelude::*;

/// `[input, condition]` along the features, or `input` when there is no condition.
pub(crate) fn with_condition(input: Tensor<2>, condition: Option<Tensor<2>>) -> Tensor<2> {
    match condition {
        Some(condition) => Tensor::cat(vec![input, condition], 1),
        None => input,
    }
}
