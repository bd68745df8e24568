//! The conv networks' convolutions on flex as matrix products over the whole batch, forward and
//! backward: [`KERNELS`], plugged into [`ConvEncoder`](vae_model::ConvEncoder) and
//! [`ConvDecoder`](vae_model::ConvDecoder) by [`with_host_passes`](crate::model::with_host_passes).
//!
//! Burn 0.22.1 computes a convolution's weight gradient as a convolution whose kernel is the whole
//! output gradient (the batch as channels) and its input gradient as a transposed convolution,
//! which flex runs as one small matrix product per image followed by a scalar scatter; a conv
//! VAE's training step ran at half PyTorch's pace (README, Speed). Here each convolution is a
//! custom operation (Burn's backend-extension API) with a hand-written backward pass for
//! autodiff. The windows of the images become rows ([`host::im2col`]), and a convolution is one
//! matrix product of those rows with the weight; its weight gradient is one product of the same
//! rows (kept from the forward pass) with the output gradient, its input gradient one product
//! whose rows go back onto the pixels ([`host::col2im`]). A transposed convolution is the adjoint
//! of a convolution, so the same two loops serve it the other way round.
//!
//! Only for `f32` tensors on a flex device with autodiff and layers with one group, no dilation,
//! symmetric padding and a bias (every conv network of `vae_model`); anything else runs Burn's
//! layer. Without autodiff (validation, `evaluate`) that is flex's own convolution: for the
//! thousands of samples `evaluate` decodes at once, the window rows of a whole batch outgrow
//! the caches, and flex's per-image products were faster (45.6 s against 25.8 s for
//! `evaluate --samples 1000 --images 500` of the conv model, 2026-12-05).

mod autodiff;
pub mod host;

use burn::backend::ops::ModuleOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Dispatch, DispatchDevice, Flex, backend_extension};
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::prelude::*;
use burn::tensor::DType;
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use vae_model::ConvKernels;

/// The kernels to plug into the conv networks on flex.
pub const KERNELS: ConvKernels = ConvKernels {
    conv2d,
    conv_transpose2d,
};

/// Convolutions (one group, no dilation, symmetric padding, with a bias) whose forward and
/// backward passes are matrix products over the whole batch.
#[backend_extension(Flex, Autodiff)]
pub trait ConvGrads: burn::backend::Backend {
    /// `conv2d(x, weight, bias)` as one matrix product; with autodiff, its gradients as two.
    fn conv2d_matmul_grads(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self>;

    /// `conv_transpose2d(x, weight, bias)` as one matrix product; with autodiff, its gradients
    /// as two.
    fn conv_transpose2d_matmul_grads(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvTransposeOptions<2>,
    ) -> FloatTensor<Self>;
}

impl ConvGrads for Flex {
    fn conv2d_matmul_grads(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Flex::conv2d(x, weight, Some(bias), options)
    }

    fn conv_transpose2d_matmul_grads(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvTransposeOptions<2>,
    ) -> FloatTensor<Self> {
        Flex::conv_transpose2d(x, weight, Some(bias), options)
    }
}

/// Whether `x` is an `f32` tensor on a flex device with autodiff: where the kernels here run.
fn on_flex_autodiff(x: &Tensor<4>) -> bool {
    let device = x.device();
    device.is_autodiff()
        && x.dtype() == DType::F32
        && matches!(device.inner().as_dispatch(), DispatchDevice::Flex(_))
}

/// [`Conv2d::forward`] as one matrix product on flex with autodiff, with the gradients as
/// matrix products.
pub fn conv2d(layer: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let Some(bias) = layer.bias.as_ref().filter(|_| on_flex_autodiff(&x)) else {
        return layer.forward(x);
    };
    let padding = match layer.padding {
        PaddingConfig2d::Valid => [0, 0],
        PaddingConfig2d::Explicit(top, left, bottom, right) if top == bottom && left == right => {
            [top, left]
        }
        // `Same` and one-sided padding.
        _ => return layer.forward(x),
    };
    let [_, _, height, width] = x.dims();
    let fits = |size: usize, axis: usize| size + 2 * padding[axis] >= layer.kernel_size[axis];
    if layer.groups != 1 || layer.dilation != [1, 1] || !fits(height, 0) || !fits(width, 1) {
        return layer.forward(x);
    }
    let options = ConvOptions::new(layer.stride, padding, [1, 1], 1);
    Tensor::from_dispatch(<Dispatch as ConvGrads>::conv2d_matmul_grads(
        x.into_dispatch(),
        layer.weight.val().into_dispatch(),
        bias.val().into_dispatch(),
        options,
    ))
}

/// [`ConvTranspose2d::forward`] as one matrix product on flex with autodiff, with the
/// gradients as matrix products.
pub fn conv_transpose2d(layer: &ConvTranspose2d, x: Tensor<4>) -> Tensor<4> {
    let Some(bias) = layer.bias.as_ref().filter(|_| on_flex_autodiff(&x)) else {
        return layer.forward(x);
    };
    if layer.groups != 1 || layer.dilation != [1, 1] {
        return layer.forward(x);
    }
    let options =
        ConvTransposeOptions::new(layer.stride, layer.padding, layer.padding_out, [1, 1], 1);
    Tensor::from_dispatch(<Dispatch as ConvGrads>::conv_transpose2d_matmul_grads(
        x.into_dispatch(),
        layer.weight.val().into_dispatch(),
        bias.val().into_dispatch(),
        options,
    ))
}

#[cfg(test)]
mod tests;
