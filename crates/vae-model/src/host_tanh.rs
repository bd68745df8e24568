//! `tanh` (with the gradient autodiff expects) and `sigmoid` (values only) in one pass over host
//! memory, vectorized for the CPU's SIMD ([`host_math`]) and split across threads.
//!
//! On Burn's CPU backends, `tanh` is a scalar libm call on one core (glibc's `tanhf`, which
//! calls `expm1f`): in a training step of the IWAE paper's 784-200-200-50 tanh VAE it took a
//! fifth of the time (`perf`, flex, this project's 2-core machine). Here each element costs
//! one vectorized `exp`: `tanh(x) = sign(x) (1 - e) / (1 + e)` with `e = exp(-2|x|)` in `(0, 1]`, within
//! 2.4e-7 of the exact value (absolute, tested every 2.5e-3 over [-10, 10] and beyond; f32's
//! spacing at 1 is 1.2e-7). Like [`host_bce`](crate::host_bce), it reads the tensor back from
//! the device, so it is for the CPU backends only:
//! [`Mlp::with_host_tanh`](crate::Mlp::with_host_tanh) turns it on.

use crate::host_math::{self, map_in_place};
use burn::prelude::*;
use burn::tensor::DType;

/// `tanh` of every element of `x`, computed on the host ([`tanh_in_place`]), with the gradient
/// `1 - tanh²` for autodiff: on an autodiff device the result is `t + (s - detach(s))` with `t`
/// the host values and `s = clamp(x, -20, 20) · (1 - t²)`, where the bracket is exactly 0 and
/// carries the gradient (the clamp keeps an infinite `x` from making it `inf · 0`; beyond ±20,
/// `t` is ±1 in `f32` and the derivative already 0). Without autodiff the result is `t`.
///
/// # Shapes
/// - x: any shape; output: the same (element-wise)
///
/// ```
/// use burn::prelude::*;
/// use vae_model::host_tanh::host_tanh;
///
/// let device = Device::flex();
/// let x = Tensor::<2>::from_floats([[-3.0, -0.5, 0.0], [1e-3, 0.5, 20.0]], &device);
/// let host: Vec<f32> = host_tanh(x.clone()).into_data().try_to_vec::<f32>().unwrap();
/// let libm: Vec<f32> = x.tanh().into_data().try_to_vec::<f32>().unwrap();
/// for (a, b) in host.iter().zip(&libm) {
///     assert!((a - b).abs() < 3e-7, "{a} vs {b}");
/// }
/// ```
pub fn host_tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if x.dtype() != DType::F32 {
        return x.tanh();
    }
    let device = x.device();
    let shape = x.shape();
    // f32, whatever the device's default float type.
    let f32_on = (&device, DType::F32);
    let mut values = x
        .clone()
        .into_data()
        .try_into_vec_as::<f32>()
        .expect("float tensors read as f32");
    tanh_in_place(&mut values);
    if !device.is_autodiff() {
        return Tensor::<D>::from_data(TensorData::new(values, shape), f32_on);
    }
    let derivative: Vec<f32> = values.iter().map(|t| 1.0 - t * t).collect();
    let t = Tensor::<D>::from_data(TensorData::new(values, shape.clone()), f32_on);
    let derivative = Tensor::<D>::from_data(TensorData::new(derivative, shape), f32_on);
    let linear = x.clamp(-20.0, 20.0) * derivative;
    t + (linear.clone() - linear.detach())
}

/// Replaces every value by its `tanh`, the values split evenly over the machine's cores.
///
/// ```
/// use vae_model::host_tanh::tanh_in_place;
///
/// let mut values = [0.0, 0.25, -1.0, 5.0, -40.0, f32::INFINITY, 1e-30, -2.0, 3.0];
/// let exact: Vec<f32> = values.iter().map(|v| v.tanh()).collect();
/// tanh_in_place(&mut values);
/// for (a, b) in values.iter().zip(&exact) {
///     assert!((a - b).abs() < 3e-7, "{a} vs {b}");
/// }
/// ```
pub fn tanh_in_place(values: &mut [f32]) {
    tanh_in_place_with(values, rayon::current_num_threads());
}

/// [`tanh_in_place`] in at most `tasks` parts.
fn tanh_in_place_with(values: &mut [f32], tasks: usize) {
    map_in_place(values, tasks, host_math::tanh);
}

/// `sigmoid` of every value, in place, the values split over rayon's pool:
/// `1 / (1 + e)` for `x ≥ 0` and `e / (1 + e)` below, with `e = exp(-|x|)` in `(0, 1]`, so
/// tiny probabilities keep their relative precision (within 3e-7 of the exact value, relative,
/// while it is a normal `f32`: down to `x ≈ -87`; below, subnormal, then 0 from `x ≈ -103.97`).
///
/// ```
/// use vae_model::host_tanh::sigmoid_in_place;
///
/// let mut values = [0.0, 0.25, -1.0, 5.0, -40.0, f32::INFINITY, -2.0, 3.0, 90.0];
/// let exact: Vec<f64> = values.iter().map(|&v| 1.0 / (1.0 + (-f64::from(v)).exp())).collect();
/// sigmoid_in_place(&mut values);
/// for (a, b) in values.iter().zip(&exact) {
///     assert!((f64::from(*a) - b).abs() <= 2e-7 * b, "{a} vs {b}");
/// }
/// ```
pub fn sigmoid_in_place(values: &mut [f32]) {
    map_in_place(values, rayon::current_num_threads(), host_math::sigmoid);
}

/// `sigmoid` of every element of `x`, computed on the host ([`sigmoid_in_place`]): the mean
/// of a Bernoulli likelihood for pictures and reconstructions, where flex's `sigmoid` is a
/// scalar `exp` on one core. Values only: on an autodiff device, where a gradient may be wanted,
/// and for a tensor that is not `f32`, it is Burn's `sigmoid`.
///
/// # Shapes
/// - x: any shape; output: the same (element-wise)
///
/// ```
/// use burn::prelude::*;
/// use burn::tensor::activation::sigmoid;
/// use vae_model::host_tanh::host_sigmoid;
///
/// let device = Device::flex();
/// let x = Tensor::<2>::from_floats([[-30.0, -0.5, 0.0], [1e-3, 0.5, 20.0]], &device);
/// let host: Vec<f32> = host_sigmoid(x.clone()).into_data().try_to_vec::<f32>().unwrap();
/// let burn: Vec<f32> = sigmoid(x).into_data().try_to_vec::<f32>().unwrap();
/// for (a, b) in host.iter().zip(&burn) {
///     assert!((a - b).abs() <= 2.5e-7 * b, "{a} vs {b}");
/// }
/// ```
pub fn host_sigmoid<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    let device = x.device();
    if device.is_autodiff() || x.dtype() != DType::F32 {
        return burn::tensor::activation::sigmoid(x);
    }
    let shape = x.shape();
    let mut values = x
        .into_data()
        .try_into_vec_as::<f32>()
        .expect("float tensors read as f32");
    sigmoid_in_place(&mut values);
    Tensor::<D>::from_data(TensorData::new(values, shape), (&device, DType::F32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_float64_tanh_across_the_range_and_keeps_nan() {
        let mut values: Vec<f32> = (-4000..=4000).map(|i| i as f32 * 2.5e-3).collect();
        values.extend([1e-7, -1e-7, 1e-20, 9.0, -9.0, 30.0, -88.0, 100.0, f32::MAX]);
        let exact: Vec<f64> = values.iter().map(|&v| f64::from(v).tanh()).collect();
        tanh_in_place(&mut values);
        let worst = values
            .iter()
            .zip(&exact)
            .map(|(&a, &b)| (f64::from(a) - b).abs())
            .fold(0.0, f64::max);
        assert!(worst < 2.4e-7, "worst absolute error {worst}");
        // Odd, bounded, and exactly ±1 far out.
        assert!(values.iter().all(|v| v.abs() <= 1.0));
        let mut far = [f32::INFINITY, f32::NEG_INFINITY, 50.0, f32::NAN];
        tanh_in_place(&mut far);
        assert_eq!(&far[..3], &[1.0, -1.0, 1.0]);
        assert!(far[3].is_nan());
    }

    #[test]
    fn sigmoid_keeps_relative_precision_across_the_range_and_nan() {
        let mut values: Vec<f32> = (-3000..=3000).map(|i| i as f32 * 1e-2).collect();
        values.extend([-80.0, -50.0, 1e-30, -1e-30, -0.0, 60.0, f32::MAX, f32::MIN]);
        let exact: Vec<f64> = values
            .iter()
            .map(|&v| 1.0 / (1.0 + (-f64::from(v)).exp()))
            .collect();
        sigmoid_in_place(&mut values);
        // A few units in the last place of f32 (1.2e-7 relative), even at sigmoid(-80) ≈ 1.8e-35;
        // f32::MIN's exact value underflows to 0 in both.
        for (&a, &b) in values.iter().zip(&exact) {
            let relative = (f64::from(a) - b).abs() / b;
            assert!(relative < 3e-7 || (a == 0.0 && b < 1e-45), "{a} vs {b}");
        }
        let mut ends = [f32::INFINITY, f32::NEG_INFINITY, f32::NAN];
        sigmoid_in_place(&mut ends);
        assert_eq!(&ends[..2], &[1.0, 0.0]);
        assert!(ends[2].is_nan());
    }

    #[test]
    fn threads_split_a_long_slice_without_changing_a_value() {
        // Three tasks' shares, none a whole number of SIMD lanes at the end.
        let long: Vec<f32> = (0..100_003)
            .map(|i| (i as f32 * 0.37).sin() * 6.0)
            .collect();
        let mut one_by_one = long.clone();
        one_by_one.iter_mut().for_each(|v| *v = host_math::tanh(*v));
        for tasks in [1, 2, 3] {
            let mut split = long.clone();
            tanh_in_place_with(&mut split, tasks);
            assert_eq!(split, one_by_one, "{tasks} tasks");
        }
    }

    /// A tanh VAE's loss and gradients with both networks' activations on the host equal those
    /// with Burn's `tanh` (same noise), up to `f32` rounding.
    #[test]
    fn a_tanh_vae_trains_with_the_gradients_of_burns_tanh() {
        use crate::{ActivationConfig, ObjectiveConfig, VaeConfig};
        use burn::optim::GradientsParams;

        let device = Device::flex().autodiff();
        let vae = VaeConfig::new()
            .with_hidden_dims(vec![16, 8])
            .with_latent_dim(3)
            .with_activation(ActivationConfig::Tanh)
            .init(&device);
        let images = Tensor::<2>::random([5, 784], burn::tensor::Distribution::Default, &device);
        // One pass before the two seeded runs: without it the first run's noise differs from
        // the second's after the same `device.seed(3)` (the losses then differ by 0.6 nats).
        let _ = vae.reconstruct(images.clone(), None).into_data();
        let run = |host: bool| {
            let mut vae = vae.clone();
            vae.encoder.body = vae.encoder.body.with_host_tanh(host);
            vae.decoder.body = vae.decoder.body.with_host_tanh(host);
            device.seed(3);
            let out = vae.objective(images.clone(), None, &ObjectiveConfig::new(), 1.0);
            let loss = out.terms.loss.into_data().try_to_vec::<f32>().unwrap();
            let grads = GradientsParams::from_grads(out.objective.backward(), &vae);
            let weight = |id| -> Vec<f32> {
                let grad = grads.get::<2>(id).expect("a gradient for every weight");
                grad.into_data().try_to_vec::<f32>().unwrap()
            };
            let first = weight(vae.encoder.body.layers[0].weight.id);
            let decoder = weight(vae.decoder.body.layers[1].weight.id);
            (loss, first, decoder)
        };
        // The flag routes each layer's activation through `host_tanh`, value for value.
        let x = Tensor::<2>::random(
            [5, 784],
            burn::tensor::Distribution::Default,
            &Device::flex(),
        );
        let body = vae.encoder.body.clone().with_host_tanh(true).valid();
        let by_hand = body
            .layers
            .iter()
            .fold(x.clone(), |x, layer| host_tanh(layer.forward(x)));
        assert_eq!(body.forward(x).into_data(), by_hand.into_data());
        let (libm, host) = (run(false), run(true));
        for (a, b, what) in [
            (&libm.0, &host.0, "loss"),
            (&libm.1, &host.1, "first encoder layer"),
            (&libm.2, &host.2, "last decoder hidden layer"),
        ] {
            let scale = a.iter().map(|v| v.abs()).fold(1e-3, f32::max);
            assert!(a.iter().any(|v| *v != 0.0), "{what}: all zero");
            for (x, y) in a.iter().zip(b) {
                assert!((x - y).abs() <= 1e-4 * scale, "{what}: {x} vs {y}");
            }
        }
    }

    #[test]
    fn gradient_is_one_minus_tanh_squared() {
        let device = Device::flex().autodiff();
        let x =
            Tensor::<2>::from_floats([[-2.0, -0.3, 0.0], [0.4, 1.5, 4.0]], &device).require_grad();
        let weights = Tensor::<2>::from_floats([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]], &device);
        let host = host_tanh(x.clone());
        let libm = x.clone().tanh();
        let host_grad = (host.clone() * weights.clone()).sum().backward();
        let libm_grad = (libm.clone() * weights).sum().backward();
        let grad = |g| -> Vec<f32> { x.grad(&g).unwrap().into_data().try_to_vec::<f32>().unwrap() };
        let (a, b) = (grad(host_grad), grad(libm_grad));
        for (a, b) in a.iter().zip(&b) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
        assert!(a.iter().all(|g| *g != 0.0));
        // Infinite inputs: ±1 with a zero gradient, not `inf · 0`.
        let far =
            Tensor::<2>::from_floats([[f32::NEG_INFINITY, f32::INFINITY]], &device).require_grad();
        let out = host_tanh(far.clone());
        let grads = out.clone().sum().backward();
        let values: Vec<f32> = out.into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(values, [-1.0, 1.0]);
        let far_grad: Vec<f32> = far
            .grad(&grads)
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert_eq!(far_grad, [0.0, 0.0]);
        // The value is the host's tanh, not moved by the gradient's bracket.
        let values: Vec<f32> = host.into_data().try_to_vec::<f32>().unwrap();
        let mut expected: Vec<f32> = x.into_data().try_to_vec::<f32>().unwrap();
        tanh_in_place(&mut expected);
        assert_eq!(values, expected);
    }
}
