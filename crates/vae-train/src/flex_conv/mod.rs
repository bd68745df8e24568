//! The conv networks' convolutions on flex as matrix products over the whole batch, forward and
//! backward: [`KERNELS`], plugged into [`ConvEncoder`](vae_model::ConvEncoder) and
//! [`ConvDecoder`](vae_model::ConvDecoder) by [`with_host_passes`](crate::model::with_host_passes).
//!
//! Burn 0.22.1 computes a convolution's weight gradient as a convolution whose kernel is the whole
//! output gradient (the batch as channels) and its input gradient as a transposed convolution,
//! which flex runs as one small matrix product per image followed by a scalar scatter; a conv
//! VAE's training step ran at half PyTorch's pace (README, Speed). Here each convolution is a
//! custom operation (Burn's backend-extension API) with a hand-written backward pass for
//! autodiff. The windows of the images become rows (`host::im2col`), and a convolution is one
//! matrix product of those rows with the weight; its weight gradient is one product of the same
//! rows (kept from the forward pass) with the output gradient, its input gradient one product
//! whose rows go back onto the pixels (`host::col2im`). A transposed convolution is the adjoint
//! of a convolution, so the same two loops serve it the other way round.
//!
//! Only for `f32` tensors on a flex device with autodiff and layers with one group, no dilation,
//! symmetric padding and a bias (every conv network of `vae_model`); anything else runs Burn's
//! layer. Without autodiff (validation, `evaluate`) that is flex's own convolution. A version
//! that also ran those as window rows and products, 256 images at a time, was tried and not
//! kept: for the thousands of samples `evaluate` decodes at once the rows outgrow the caches,
//! and flex's per-image products were faster (25.8 s against 45.6 s for
//! `evaluate --samples 1000 --images 500` of the conv model, 2026-12-05).

mod autodiff;
pub(crate) mod host;

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
/// backward passes are matrix products over the whole batch on `Autodiff<Flex>`. The plain
/// `Flex` implementation, which the extension macro requires, is flex's own convolution: the
/// kernels call these operations only with autodiff.
#[backend_extension(Flex, Autodiff)]
pub trait MatmulConv: burn::backend::Backend {
    /// `conv2d(x, weight, bias)`: one matrix product and its gradients as two with autodiff.
    fn conv2d_as_matmuls(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self>;

    /// `conv_transpose2d(x, weight, bias)`: one matrix product and its gradients as two with
    /// autodiff.
    fn conv_transpose2d_as_matmuls(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvTransposeOptions<2>,
    ) -> FloatTensor<Self>;
}

impl MatmulConv for Flex {
    fn conv2d_as_matmuls(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Flex::conv2d(x, weight, Some(bias), options)
    }

    fn conv_transpose2d_as_matmuls(
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

/// Whether the layer's weight and bias are `f32`, the bias present.
fn f32_params(weight: &Tensor<4>, bias: Option<&Tensor<1>>) -> bool {
    weight.dtype() == DType::F32 && bias.is_some_and(|b| b.dtype() == DType::F32)
}

/// The options under which [`conv2d`] runs `layer` on `x` as matrix products; `None` where it
/// runs Burn's layer: not a flex device with autodiff, a tensor that is not `f32`, no bias,
/// groups, dilation, `Same` or one-sided padding, or an image smaller than the kernel.
fn conv2d_options(layer: &Conv2d, x: &Tensor<4>) -> Option<ConvOptions<2>> {
    let bias = layer.bias.as_ref().map(|b| b.val());
    if !on_flex_autodiff(x) || !f32_params(&layer.weight.val(), bias.as_ref()) {
        return None;
    }
    let padding = match layer.padding {
        PaddingConfig2d::Valid => [0, 0],
        PaddingConfig2d::Explicit(top, left, bottom, right) if top == bottom && left == right => {
            [top, left]
        }
        PaddingConfig2d::Same | PaddingConfig2d::Explicit(..) => return None,
    };
    let [_, _, height, width] = x.dims();
    let fits = |size: usize, axis: usize| size + 2 * padding[axis] >= layer.kernel_size[axis];
    let plain = layer.groups == 1 && layer.dilation == [1, 1];
    (plain && fits(height, 0) && fits(width, 1))
        .then(|| ConvOptions::new(layer.stride, padding, [1, 1], 1))
}

/// The options under which [`conv_transpose2d`] runs `layer` on `x` as matrix products; `None`
/// where it runs Burn's layer: not a flex device with autodiff, a tensor that is not `f32`, no
/// bias, groups, dilation, or sizes whose output would be empty.
fn conv_transpose2d_options(
    layer: &ConvTranspose2d,
    x: &Tensor<4>,
) -> Option<ConvTransposeOptions<2>> {
    let bias = layer.bias.as_ref().map(|b| b.val());
    if !on_flex_autodiff(x) || !f32_params(&layer.weight.val(), bias.as_ref()) {
        return None;
    }
    let [_, _, height, width] = x.dims();
    // (input - 1) · stride + kernel + output padding - 2 · padding, at least 1.
    let output = |input: usize, axis: usize| {
        ((input.checked_sub(1)? * layer.stride[axis])
            + layer.kernel_size[axis]
            + layer.padding_out[axis])
            .checked_sub(2 * layer.padding[axis])
            .filter(|&size| size > 0)
    };
    let plain = layer.groups == 1 && layer.dilation == [1, 1];
    (plain && output(height, 0).is_some() && output(width, 1).is_some()).then(|| {
        ConvTransposeOptions::new(layer.stride, layer.padding, layer.padding_out, [1, 1], 1)
    })
}

/// [`Conv2d::forward`] as one matrix product on flex with autodiff, with the gradients as
/// matrix products; Burn's layer elsewhere (see `conv2d_options`).
pub fn conv2d(layer: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let (Some(options), Some(bias)) = (conv2d_options(layer, &x), &layer.bias) else {
        return layer.forward(x);
    };
    Tensor::from_dispatch(<Dispatch as MatmulConv>::conv2d_as_matmuls(
        x.into_dispatch(),
        layer.weight.val().into_dispatch(),
        bias.val().into_dispatch(),
        options,
    ))
}

/// [`ConvTranspose2d::forward`] as one matrix product on flex with autodiff, with the
/// gradients as matrix products; Burn's layer elsewhere (see `conv_transpose2d_options`).
pub fn conv_transpose2d(layer: &ConvTranspose2d, x: Tensor<4>) -> Tensor<4> {
    let (Some(options), Some(bias)) = (conv_transpose2d_options(layer, &x), &layer.bias) else {
        return layer.forward(x);
    };
    Tensor::from_dispatch(<Dispatch as MatmulConv>::conv_transpose2d_as_matmuls(
        x.into_dispatch(),
        layer.weight.val().into_dispatch(),
        bias.val().into_dispatch(),
        options,
    ))
}

#[cfg(test)]
mod tests;
