use burn::nn::LinearConfig;
use burn::nn::activation::ActivationConfig;
use burn::tensor::Distribution;

use super::*;
use crate::test_support::assert_close;

fn normal(shape: [usize; 2], device: &Device) -> Tensor<2> {
    Tensor::<2>::random(shape, Distribution::Normal(0.0, 1.0), device)
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec().unwrap()
}

/// The output and the gradients (input if tracked, weight, bias) of `forward` for the loss
/// `Σ forward(x) · upstream`.
type OutputAndGrads = (Vec<f32>, Option<Vec<f32>>, Vec<f32>, Vec<f32>);

fn output_and_grads(
    forward: impl Fn(Tensor<2>) -> Tensor<2>,
    layer: &Linear,
    x: &Tensor<2>,
    x_tracked: bool,
    upstream: &Tensor<2>,
) -> OutputAndGrads {
    let x = x.clone().detach();
    let x = if x_tracked { x.require_grad() } else { x };
    let y = forward(x.clone());
    let grads = (y.clone() * upstream.clone()).sum().backward();
    let dx = x.grad(&grads).map(values);
    assert_eq!(
        dx.is_some(),
        x_tracked,
        "an input gradient only where tracked"
    );
    let dw = layer.weight.val().grad(&grads).expect("a weight gradient");
    let db = layer
        .bias
        .as_ref()
        .unwrap()
        .val()
        .grad(&grads)
        .expect("a bias gradient");
    (values(y.inner()), dx, values(dw), values(db))
}

#[test]
fn the_fused_layer_gives_burns_values_and_gradients() {
    let device = Device::flex().autodiff();
    device.seed(3);
    // 300 rows of 200: the passes split across threads; 5 rows: they do not.
    for rows in [5, 300] {
        let layer = LinearConfig::new(40, 200).init(&device);
        let x = normal([rows, 40], &device);
        // Some outputs below zero and some above, so that ReLU masks some gradients.
        let upstream = normal([rows, 200], &device);
        for activation in [
            None,
            Some(ActivationConfig::Relu),
            Some(ActivationConfig::Tanh),
        ] {
            let activation = activation.map(|a| a.init(&device));
            let burns = |x: Tensor<2>| {
                let y = layer.forward(x);
                match &activation {
                    Some(a) => a.forward(y),
                    None => y,
                }
            };
            let ours = |x: Tensor<2>| linear(&layer, x, activation.as_ref());
            for x_tracked in [true, false] {
                let what = format!("{activation:?}, {rows} rows, x tracked: {x_tracked}");
                let (y, dx, dw, db) = output_and_grads(ours, &layer, &x, x_tracked, &upstream);
                let (by, bdx, bdw, bdb) = output_and_grads(burns, &layer, &x, x_tracked, &upstream);
                if matches!(activation, Some(Activation::Tanh(_))) {
                    // The host tanh: within 2.4e-7 of libm's but not equal to it everywhere,
                    // which shows that the fused operation ran rather than Burn's layer.
                    assert_ne!(y, by, "{what}: the fused path did not run");
                    assert_close(y, by, 3e-7, &format!("{what}: output"));
                    assert_close(dw, bdw, 1e-5, &format!("{what}: weight gradient"));
                    if let (Some(dx), Some(bdx)) = (dx, bdx) {
                        assert_close(dx, bdx, 1e-5, &format!("{what}: input gradient"));
                    }
                } else {
                    // The same product, bias and mask: the same bits.
                    assert_eq!(y, by, "{what}: output");
                    assert_eq!(dw, bdw, "{what}: weight gradient");
                    assert_eq!(dx, bdx, "{what}: input gradient");
                }
                // Summed in another order.
                assert_close(db, bdb, 1e-5, &format!("{what}: bias gradient"));
            }
        }
    }
}

#[test]
fn without_autodiff_the_fused_layer_gives_burns_values() {
    let device = Device::flex();
    device.seed(4);
    let layer = LinearConfig::new(30, 70).init(&device);
    let x = normal([9, 30], &device);
    let relu = ActivationConfig::Relu.init(&device);
    let ours = values(linear(&layer, x.clone(), Some(&relu)));
    let burns = values(relu.forward(layer.forward(x.clone())));
    assert_eq!(ours, burns);
    assert!(ours.contains(&0.0) && ours.iter().any(|&v| v > 0.0));
    // The host tanh differs from libm's somewhere: the fused operation ran on plain flex too.
    let tanh = ActivationConfig::Tanh.init(&device);
    let ours = values(linear(&layer, x.clone(), Some(&tanh)));
    let burns = values(tanh.forward(layer.forward(x)));
    assert_ne!(ours, burns, "the fused path did not run");
    assert_close(ours, burns, 3e-7, "tanh without autodiff");
}

#[test]
fn activations_it_does_not_cover_and_layers_without_a_bias_run_burns_layer() {
    let device = Device::flex().autodiff();
    device.seed(5);
    let x = normal([4, 6], &device);
    let gelu = ActivationConfig::Gelu.init(&device);
    let layer = LinearConfig::new(6, 3).init(&device);
    assert_eq!(
        values(linear(&layer, x.clone(), Some(&gelu))),
        values(gelu.forward(layer.forward(x.clone())))
    );
    let no_bias = LinearConfig::new(6, 3).with_bias(false).init(&device);
    assert_eq!(
        values(linear(&no_bias, x.clone(), None)),
        values(no_bias.forward(x))
    );
}

#[test]
fn an_output_gradient_the_layer_does_not_own_is_copied_before_it_is_written() {
    let device = Device::flex().autodiff();
    device.seed(6);
    let layer = LinearConfig::new(8, 5).init(&device);
    let relu = ActivationConfig::Relu.init(&device);
    let x = normal([4, 8], &device).require_grad();
    // `sum`'s gradient reaches the layer as one value broadcast over its output: not a buffer of
    // its own that the backward pass may write into.
    let ours = linear(&layer, x.clone(), Some(&relu)).sum().backward();
    let burns = relu.forward(layer.forward(x.clone())).sum().backward();
    assert_eq!(
        values(x.grad(&ours).unwrap()),
        values(x.grad(&burns).unwrap())
    );
    let weight = layer.weight.val();
    assert_eq!(
        values(weight.grad(&ours).unwrap()),
        values(weight.grad(&burns).unwrap())
    );
}
