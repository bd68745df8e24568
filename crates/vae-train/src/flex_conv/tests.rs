use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2dConfig, ConvTranspose2dConfig};
use burn::tensor::Distribution;

use super::*;
use crate::test_support;

fn device() -> Device {
    Device::flex().autodiff()
}

fn normal(shape: [usize; 4], device: &Device) -> Tensor<4> {
    Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), device)
}

/// `a` and `b` have the same shape and agree within `2e-5` of `b`'s largest magnitude.
fn assert_close<const D: usize>(a: Tensor<D>, b: Tensor<D>, what: &str) {
    assert_eq!(a.dims(), b.dims(), "{what}: shapes");
    let a: Vec<f32> = a.into_data().try_to_vec().unwrap();
    let b: Vec<f32> = b.into_data().try_to_vec().unwrap();
    test_support::assert_close(a, b, 2e-5, what);
}

/// The output and the gradients (input if `x_tracked`, weight, bias) of `forward` for the loss
/// `Σ forward(x) · upstream`.
fn output_and_grads<M: Module>(
    forward: impl Fn(&M, Tensor<4>) -> Tensor<4>,
    layer: &M,
    params: impl Fn(&M) -> (Tensor<4>, Tensor<1>),
    x: &Tensor<4>,
    x_tracked: bool,
    upstream: &Tensor<4>,
) -> (Tensor<4>, Option<Tensor<4>>, Tensor<4>, Tensor<1>) {
    let x = x.clone().detach();
    let x = if x_tracked { x.require_grad() } else { x };
    let y = forward(layer, x.clone());
    let grads = (y.clone() * upstream.clone()).sum().backward();
    let (weight, bias) = params(layer);
    let dx = x.grad(&grads);
    assert_eq!(
        dx.is_some(),
        x_tracked,
        "an input gradient only where tracked"
    );
    let dw = weight.grad(&grads).expect("a weight gradient");
    let db = bias.grad(&grads).expect("a bias gradient");
    (y.inner(), dx, dw, db)
}

/// Ours against `burns` for `layer` on `x`: output and every gradient, with `x` tracked and not.
fn assert_same_as_burns<M: Module>(
    ours: impl Fn(&M, Tensor<4>) -> Tensor<4>,
    burns: impl Fn(&M, Tensor<4>) -> Tensor<4>,
    layer: &M,
    params: impl Fn(&M) -> (Tensor<4>, Tensor<1>) + Copy,
    x: &Tensor<4>,
    what: &str,
) {
    let upstream = normal(burns(layer, x.clone()).dims(), &x.device());
    for x_tracked in [true, false] {
        let a = output_and_grads(&ours, layer, params, x, x_tracked, &upstream);
        let b = output_and_grads(&burns, layer, params, x, x_tracked, &upstream);
        let what = format!("{what}, input tracked {x_tracked}");
        assert_close(a.0, b.0, &format!("output, {what}"));
        if let (Some(da), Some(db)) = (a.1, b.1) {
            assert_close(da, db, &format!("input grad, {what}"));
        }
        assert_close(a.2, b.2, &format!("weight grad, {what}"));
        assert_close(a.3, b.3, &format!("bias grad, {what}"));
    }
}

#[test]
fn conv2d_matches_burns_values_and_gradients() {
    let device = device();
    // The conv networks' 4×4 stride-2 layer on even and odd images and a batch of one, then a
    // non-square kernel with per-axis stride and padding.
    let square = Conv2dConfig::new([2, 5], [4, 4])
        .with_stride([2, 2])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1));
    let odd = Conv2dConfig::new([3, 4], [3, 5])
        .with_stride([1, 2])
        .with_padding(PaddingConfig2d::Explicit(2, 0, 2, 0));
    let cases = [
        (&square, [3, 2, 8, 8]),
        (&square, [3, 2, 7, 5]),
        (&square, [1, 2, 6, 6]),
        (&odd, [2, 3, 6, 9]),
    ];
    for (config, shape) in cases {
        let layer = config.init(&device);
        let x = normal(shape, &device);
        assert!(
            conv2d_options(&layer, &x).is_some(),
            "the kernels' own path for {shape:?}"
        );
        let params = |l: &Conv2d| (l.weight.val(), l.bias.as_ref().unwrap().val());
        assert_same_as_burns(
            conv2d,
            Conv2d::forward,
            &layer,
            params,
            &x,
            &format!("{shape:?}"),
        );
    }
}

#[test]
fn conv_transpose2d_matches_burns_values_and_gradients() {
    let device = device();
    // 7 → 14 (no output padding) and 3 → 7 (output padding 1), as in the conv decoder, then a
    // non-square kernel with per-axis stride and padding on a non-square input.
    let layer = |out_padding: usize| {
        ConvTranspose2dConfig::new([4, 3], [4, 4])
            .with_stride([2, 2])
            .with_padding([1, 1])
            .with_padding_out([out_padding, out_padding])
            .init(&device)
    };
    let odd = ConvTranspose2dConfig::new([2, 3], [3, 4])
        .with_stride([2, 1])
        .with_padding([1, 0])
        .init(&device);
    let cases = [
        (layer(0), [2, 4, 7, 7]),
        (layer(1), [2, 4, 3, 3]),
        (layer(1), [1, 4, 3, 3]),
        (odd, [2, 2, 5, 3]),
    ];
    for (layer, shape) in cases {
        let x = normal(shape, &device);
        assert!(
            conv_transpose2d_options(&layer, &x).is_some(),
            "the kernels' own path for {shape:?}"
        );
        let params = |l: &ConvTranspose2d| (l.weight.val(), l.bias.as_ref().unwrap().val());
        let what = format!("{shape:?}");
        assert_same_as_burns(
            conv_transpose2d,
            ConvTranspose2d::forward,
            &layer,
            params,
            &x,
            &what,
        );
    }
}

#[test]
fn other_tensors_and_layers_run_burns_layer() {
    let plain = Device::flex();
    let x = normal([2, 4, 9, 7], &plain);
    let conv = Conv2dConfig::new([4, 4], [4, 4])
        .with_stride([2, 2])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1));
    // Without autodiff: flex's own convolution.
    assert!(conv2d_options(&conv.init(&plain), &x).is_none());
    let device = device();
    let x = Tensor::<4>::from_data(x.to_data(), &device);
    assert!(conv2d_options(&conv.init(&device), &x).is_some());
    // Groups, dilation, one-sided padding, `Same`, no bias, an image smaller than the kernel.
    let others = [
        conv.clone().with_groups(2),
        conv.clone().with_dilation([2, 2]),
        conv.clone()
            .with_padding(PaddingConfig2d::Explicit(1, 0, 0, 1)),
        conv.clone()
            .with_padding(PaddingConfig2d::Same)
            .with_stride([1, 1]),
        conv.clone().with_bias(false),
        Conv2dConfig::new([4, 4], [12, 3]),
    ];
    for config in others {
        let layer = config.init(&device);
        assert!(conv2d_options(&layer, &x).is_none(), "{config:?}");
    }
    let deconv = ConvTranspose2dConfig::new([4, 2], [4, 4]).with_stride([2, 2]);
    assert!(conv_transpose2d_options(&deconv.init(&device), &x).is_some());
    for config in [
        deconv.clone().with_groups(2),
        deconv.clone().with_bias(false),
        // (1 - 1) · 2 + 4 - 2 · 2 = 0: an empty output.
        deconv.clone().with_padding([2, 2]),
    ] {
        let x = if config.padding == [2, 2] {
            x.clone().slice([0..2, 0..4, 0..1, 0..1])
        } else {
            x.clone()
        };
        assert!(
            conv_transpose2d_options(&config.init(&device), &x).is_none(),
            "{config:?}"
        );
    }
}
