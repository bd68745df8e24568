use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2dConfig, ConvTranspose2dConfig};
use burn::tensor::Distribution;

use super::*;

fn device() -> Device {
    Device::flex().autodiff()
}

/// `a` and `b` agree within `2e-5` of `b`'s largest magnitude.
fn assert_close<const D: usize>(a: Tensor<D>, b: Tensor<D>, what: &str) {
    assert_eq!(a.dims(), b.dims(), "{what}: shapes");
    let a: Vec<f32> = a.into_data().try_to_vec().unwrap();
    let b: Vec<f32> = b.into_data().try_to_vec().unwrap();
    let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-6);
    let worst = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert!(
        worst <= 2e-5 * scale,
        "{what}: off by {worst} (scale {scale})"
    );
}

/// The output and the input and weight gradients of `forward` for the loss
/// `Σ forward(x) · upstream`.
fn output_and_grads<M: Module>(
    forward: impl Fn(&M, Tensor<4>) -> Tensor<4>,
    layer: &M,
    weight: impl Fn(&M) -> Tensor<4>,
    x: &Tensor<4>,
    upstream: &Tensor<4>,
) -> [Tensor<4>; 3] {
    let x = x.clone().detach().require_grad();
    let y = forward(layer, x.clone());
    let grads = (y.clone() * upstream.clone()).sum().backward();
    let dx = x.grad(&grads).expect("an input gradient");
    let dw = weight(layer).grad(&grads).expect("a weight gradient");
    [y.inner(), dx, dw]
}

#[test]
fn conv2d_matches_burns_values_and_gradients_for_even_and_odd_images() {
    let device = device();
    for (height, width) in [(8, 8), (7, 5)] {
        let layer = Conv2dConfig::new([2, 5], [4, 4])
            .with_stride([2, 2])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .init(&device);
        let x = Tensor::<4>::random(
            [3, 2, height, width],
            Distribution::Normal(0.0, 1.0),
            &device,
        );
        let grid = [(height - 2) / 2 + 1, (width - 2) / 2 + 1];
        let upstream = Tensor::<4>::random(
            [3, 5, grid[0], grid[1]],
            Distribution::Normal(0.0, 1.0),
            &device,
        );
        let weight = |l: &Conv2d| l.weight.val();
        assert!(on_flex_autodiff(&x), "the kernels' own path");
        let ours = output_and_grads(conv2d, &layer, weight, &x, &upstream);
        let burns = output_and_grads(Conv2d::forward, &layer, weight, &x, &upstream);
        for ((a, b), what) in
            ours.into_iter()
                .zip(burns)
                .zip(["output", "input grad", "weight grad"])
        {
            assert_close(a, b, &format!("{what}, {height}x{width}"));
        }
        // The bias gradient: Σ upstream per channel.
        let x = x.clone().detach().require_grad();
        let grads = (conv2d(&layer, x) * upstream.clone()).sum().backward();
        let db = layer.bias.as_ref().unwrap().grad(&grads).unwrap();
        let expected = upstream
            .inner()
            .sum_dim(0)
            .sum_dim(2)
            .sum_dim(3)
            .reshape([5]);
        assert_close(db, expected, "bias grad");
    }
}

#[test]
fn conv_transpose2d_matches_burns_values_and_gradients_with_and_without_output_padding() {
    let device = device();
    // 7 → 14 (no output padding) and 3 → 7 (output padding 1), as in the conv decoder.
    for (size, padding_out) in [(7, 0), (3, 1)] {
        let layer = ConvTranspose2dConfig::new([4, 3], [4, 4])
            .with_stride([2, 2])
            .with_padding([1, 1])
            .with_padding_out([padding_out, padding_out])
            .init(&device);
        let x = Tensor::<4>::random([2, 4, size, size], Distribution::Normal(0.0, 1.0), &device);
        let out = 2 * size + padding_out;
        let upstream =
            Tensor::<4>::random([2, 3, out, out], Distribution::Normal(0.0, 1.0), &device);
        let weight = |l: &ConvTranspose2d| l.weight.val();
        assert!(on_flex_autodiff(&x), "the kernels' own path");
        let ours = output_and_grads(conv_transpose2d, &layer, weight, &x, &upstream);
        let burns = output_and_grads(ConvTranspose2d::forward, &layer, weight, &x, &upstream);
        for ((a, b), what) in
            ours.into_iter()
                .zip(burns)
                .zip(["output", "input grad", "weight grad"])
        {
            assert_close(a, b, &format!("{what}, {size} -> {out}"));
        }
        let x = x.clone().detach().require_grad();
        let grads = (conv_transpose2d(&layer, x) * upstream.clone())
            .sum()
            .backward();
        let db = layer.bias.as_ref().unwrap().grad(&grads).unwrap();
        let expected = upstream
            .inner()
            .sum_dim(0)
            .sum_dim(2)
            .sum_dim(3)
            .reshape([3]);
        assert_close(db, expected, "bias grad");
    }
}

#[test]
fn other_devices_and_layers_run_burns_layer() {
    let plain = Device::flex();
    let x = Tensor::<4>::random([2, 3, 9, 7], Distribution::Normal(0.0, 1.0), &plain);
    // Without autodiff: flex's own convolution.
    assert!(!on_flex_autodiff(&x));
    let conv = Conv2dConfig::new([3, 4], [4, 4])
        .with_stride([2, 2])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(&plain);
    assert_close(
        conv2d(&conv, x.clone()),
        conv.forward(x.clone()),
        "no autodiff",
    );
    // With autodiff, a dilated convolution and one-sided padding are Burn's own.
    let device = device();
    let x = Tensor::<4>::from_data(x.to_data(), &device);
    assert!(on_flex_autodiff(&x));
    let dilated = Conv2dConfig::new([3, 2], [3, 3])
        .with_dilation([2, 2])
        .init(&device);
    assert_close(
        conv2d(&dilated, x.clone()).inner(),
        dilated.forward(x.clone()).inner(),
        "dilated",
    );
    let one_sided = Conv2dConfig::new([3, 2], [3, 3])
        .with_padding(PaddingConfig2d::Explicit(1, 0, 0, 1))
        .init(&device);
    assert_close(
        conv2d(&one_sided, x.clone()).inner(),
        one_sided.forward(x).inner(),
        "one-sided padding",
    );
}
