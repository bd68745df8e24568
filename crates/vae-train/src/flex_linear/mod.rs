//! The MLP networks' fully connected layers on flex with the bias and the activation in the
//! pass that reads the matrix product, forward and backward: [`KERNELS`], plugged into
//! [`Mlp`](vae_model::Mlp) (and the heads built on it) by
//! [`with_host_passes`](crate::model::with_host_passes).
//!
//! Burn 0.22.1 runs `activation(linear(x))` on flex as a matrix product, a broadcast add of the
//! bias (one pass over the output, on one core), the activation (another) and, backward, the
//! activation's derivative (a third) and the bias gradient as a sum over the batch (a fourth):
//! single-threaded passes over a layer's output, fourteen of them in a training step of the
//! PyTorch-parity 784-400-20 VAE (five layers, two of them with a ReLU). A `tanh` on the host
//! ([`vae_model::host_tanh`]) cost more: a copy to the host and back and half a dozen tensor
//! operations to carry its gradient. Here the layer and its activation are one custom
//! operation (Burn's backend-extension API): forward, the matrix product (flex's, the same
//! kernel), then one pass adds the bias and applies the activation in place (`tanh` is
//! [`vae_model::host_math::tanh`]), split over rayon's pool for large outputs; backward, one pass
//! multiplies the output gradient by the activation's derivative in place and sums it over the
//! batch, then two matrix products give the weight's and the input's gradient as Burn's layer
//! computes them. The values are Burn's, bit for bit, except the bias
//! gradient's order of summation and a `tanh` within 2.4e-7 of libm's.
//!
//! Only for `f32` tensors on a flex device, layers with a bias and no activation, ReLU or `tanh`
//! (the activations `vae` configs use most); anything else runs Burn's layer and activation.

mod autodiff;
pub(crate) mod host;

use burn::backend::tensor::FloatTensor;
use burn::backend::{Dispatch, DispatchDevice, Flex, backend_extension};
use burn::nn::Linear;
use burn::nn::activation::Activation;
use burn::prelude::*;
use burn::tensor::DType;
use vae_model::LinearKernels;

pub use host::Act;

/// The kernel to plug into the MLP networks on flex.
pub const KERNELS: LinearKernels = LinearKernels { linear };

/// A fully connected layer with a bias and the activation after it as one operation on flex
/// (plain and with autodiff).
#[backend_extension(Flex, Autodiff)]
pub trait FusedLinear: burn::backend::Backend {
    /// `act(x · weight + bias)`, `x: [batch, in]`, `weight: [in, out]`, `bias: [out]`.
    fn linear_activation(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        act: Act,
    ) -> FloatTensor<Self>;
}

impl FusedLinear for Flex {
    fn linear_activation(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        act: Act,
    ) -> FloatTensor<Self> {
        host::forward(&x, &weight, &bias, act)
    }
}

/// Which [`Act`] runs `activation` (`None`: the identity); `None` for one it does not cover.
fn act_of(activation: Option<&Activation>) -> Option<Act> {
    match activation {
        None => Some(Act::Identity),
        Some(Activation::Relu(_)) => Some(Act::Relu),
        Some(Activation::Tanh(_)) => Some(Act::Tanh),
        Some(_) => None,
    }
}

/// `activation(layer.forward(x))` (or `layer.forward(x)`) as one operation on flex for `f32`
/// tensors and a layer with a bias; Burn's layer and activation elsewhere.
pub fn linear(layer: &Linear, x: Tensor<2>, activation: Option<&Activation>) -> Tensor<2> {
    let weight = layer.weight.val();
    let bias = layer.bias.as_ref().map(|b| b.val());
    let on_flex = matches!(x.device().inner().as_dispatch(), DispatchDevice::Flex(_));
    let f32s = x.dtype() == DType::F32
        && weight.dtype() == DType::F32
        && bias.as_ref().is_some_and(|b| b.dtype() == DType::F32);
    let [_, inputs] = x.dims();
    let [weight_in, weight_out] = weight.dims();
    let shapes_fit = |bias: &Tensor<1>| inputs == weight_in && bias.dims() == [weight_out];
    match (act_of(activation), bias) {
        (Some(act), Some(bias)) if on_flex && f32s && shapes_fit(&bias) => {
            Tensor::from_dispatch(<Dispatch as FusedLinear>::linear_activation(
                x.into_dispatch(),
                weight.into_dispatch(),
                bias.into_dispatch(),
                act,
            ))
        }
        _ => {
            let y = layer.forward(x);
            match activation {
                Some(activation) => activation.forward(y),
                None => y,
            }
        }
    }
}

#[cfg(test)]
mod tests;
