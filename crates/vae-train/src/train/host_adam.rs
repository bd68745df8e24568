//! Adam in one vectorized pass over host memory, split across threads.
//!
//! Burn's [`Adam`] updates a parameter with about a dozen tensor operations (`mul_scalar`,
//! `add`, `square`, `sqrt`, `div`, `sub`), each a separate pass over the parameter's memory, and
//! on flex each a single-threaded loop. In a training step of the 784-400-20 model at batch 128
//! they took about a quarter of the time (`perf`, this project's 2-core machine), more than the
//! matmuls of the backward pass. [`HostAdam`] reads the parameter, its gradient and both moments
//! into host memory, updates them in one pass with the same `f32` arithmetic in the same order
//! (the weights and moments are bit-identical to Burn's Adam; tested), and hands them back. Its
//! state is Burn's [`AdamState`], so checkpoints written by either optimizer load into the
//! other.
//!
//! Like `host_bce` it reads tensors back from the device, so it is for the CPU backends (on a
//! GPU it would still compute the same update, but copy every parameter to the host and back):
//! [`adam_optimizer`] chooses it where `vae` runs its host passes (local flex).

use burn::optim::{
    Adam, AdamConfig, AdamState, AdaptiveMomentumState, LearningRate, ModuleOptimizer, Optimizer,
};
use burn::prelude::*;
use burn::tensor::DType;
use rayon::prelude::*;
use serde_json::Value;
use vae_model::host_math::vectorized;

/// Below this many values per task, a task costs more than it saves.
const MIN_PER_TASK: usize = 1 << 14;

/// The optimizer a training run uses for `config`: [`HostAdam`] when `host` is on and the
/// config is plain Adam (no AMSGrad, no weight decay), Burn's [`Adam`] otherwise; gradient
/// clipping as `config` sets it either way.
pub fn adam_optimizer(config: &AdamConfig, host: bool) -> ModuleOptimizer {
    let burn_optimizer = config.init();
    if host && let Some(host_adam) = HostAdam::from_config(config) {
        let optimizer = ModuleOptimizer::from(host_adam);
        match burn_optimizer.grad_clipping() {
            Some(clipping) => optimizer.with_grad_clipping(clipping.clone()),
            None => optimizer,
        }
    } else {
        burn_optimizer
    }
}

/// Adam (Kingma & Ba 2015) as Burn's [`Adam`] computes it on flex, updated in one
/// multi-threaded SIMD pass over host memory per parameter. A parameter, gradient or state this
/// pass does not take (not `f32`, or moments of another shape) goes to Burn's [`Adam`].
#[derive(Clone)]
pub struct HostAdam {
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    burn_adam: Adam,
}

impl HostAdam {
    /// The host version of `config`, or `None` when it uses what this one does not implement
    /// (AMSGrad or weight decay). Gradient clipping is the module optimizer's
    /// ([`adam_optimizer`] carries it over).
    pub fn from_config(config: &AdamConfig) -> Option<Self> {
        // Adam's fields are private to Burn: read them back from their serialized form.
        let fields = serde_json::to_value(config).ok()?;
        let number = |field: &str| fields.get(field).and_then(Value::as_f64).map(|v| v as f32);
        let plain = fields.get("amsgrad").and_then(Value::as_bool) == Some(false)
            && fields.get("weight_decay").is_none_or(Value::is_null);
        if !plain {
            return None;
        }
        Some(Self {
            beta_1: number("beta_1")?,
            beta_2: number("beta_2")?,
            epsilon: number("epsilon")?,
            burn_adam: config.build(),
        })
    }
}

impl Optimizer for HostAdam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let shape = tensor.shape();
        let fits = |t: &Tensor<D>| t.dtype() == DType::F32 && t.shape() == shape;
        let state_fits = state
            .as_ref()
            .is_none_or(|s| fits(&s.momentum.moment_1) && fits(&s.momentum.moment_2));
        if !(fits(&tensor) && fits(&grad) && state_fits) {
            return self.burn_adam.step(lr, tensor, grad, state);
        }
        let device = tensor.device();
        let mut param = tensor.into_data();
        let grad = grad.into_data();
        let (time, mut moment_1, mut moment_2) = match state {
            Some(state) => (
                state.momentum.time + 1,
                state.momentum.moment_1.into_data(),
                state.momentum.moment_2.into_data(),
            ),
            None => (1, zeros(&shape), zeros(&shape)),
        };
        let constants = StepConstants::new(self, lr, time);
        update(
            &constants,
            slice_mut(&mut param),
            grad.as_slice::<f32>().expect("the gradient reads as f32"),
            slice_mut(&mut moment_1),
            slice_mut(&mut moment_2),
        );
        // f32, whatever the device's default float type: as Burn's Adam keeps it.
        let back = |data: TensorData| Tensor::<D>::from_data(data, (&device, DType::F32));
        let state = AdamState::new(AdaptiveMomentumState::new(
            time,
            back(moment_1),
            back(moment_2),
        ));
        (back(param), Some(state))
    }

    fn to_device<const D: usize>(mut state: Self::State<D>, device: &Device) -> Self::State<D> {
        state.momentum = state.momentum.to_device(device);
        state
    }
}

fn zeros(shape: &Shape) -> TensorData {
    TensorData::new(vec![0.0f32; shape.num_elements()], shape.clone())
}

fn slice_mut(data: &mut TensorData) -> &mut [f32] {
    data.as_mut_slice::<f32>()
        .expect("Adam's tensors read as f32")
}

/// The scalars of one step, computed as Burn's Adam computes them (in `f32`).
#[derive(Clone, Copy, Debug)]
struct StepConstants {
    beta_1: f32,
    beta_2: f32,
    /// `1 - beta_1`.
    factor_1: f32,
    /// `1 - beta_2`.
    factor_2: f32,
    /// `sqrt(1 - beta_2^t) / (1 - beta_1^t)`.
    combined: f32,
    /// `epsilon · sqrt(1 - beta_2^t)`.
    epsilon: f32,
    lr: f32,
    /// The first step (`t = 1`): the moments start from the gradient alone.
    first: bool,
}

impl StepConstants {
    fn new(adam: &HostAdam, lr: LearningRate, time: usize) -> Self {
        let time = time as i32;
        let bias_correction2_sqrt = (1.0 - adam.beta_2.powi(time)).sqrt();
        Self {
            beta_1: adam.beta_1,
            beta_2: adam.beta_2,
            factor_1: 1.0 - adam.beta_1,
            factor_2: 1.0 - adam.beta_2,
            combined: bias_correction2_sqrt / (1.0 - adam.beta_1.powi(time)),
            // Burn adds this as a scalar that flex applies as f32: the same value.
            epsilon: adam.epsilon * bias_correction2_sqrt,
            lr: lr as f32,
            first: time == 1,
        }
    }
}

/// Updates `param`, `moment_1` and `moment_2` in place, split over the machine's cores.
fn update(
    constants: &StepConstants,
    param: &mut [f32],
    grad: &[f32],
    moment_1: &mut [f32],
    moment_2: &mut [f32],
) {
    assert!(
        grad.len() == param.len() && moment_1.len() == param.len() && moment_2.len() == param.len(),
        "Adam's parameter, gradient and moments have the same number of values"
    );
    // Rayon's pool: the one Burn's flex backend already runs its matmuls on, so its threads are
    // awake during a training step (a fresh thread per parameter cost more than the pass).
    let per_task = param
        .len()
        .div_ceil(rayon::current_num_threads())
        .max(MIN_PER_TASK)
        .next_multiple_of(16);
    if param.len() <= per_task {
        return update_slice(constants, param, grad, moment_1, moment_2);
    }
    param
        .par_chunks_mut(per_task)
        .zip(grad.par_chunks(per_task))
        .zip(moment_1.par_chunks_mut(per_task))
        .zip(moment_2.par_chunks_mut(per_task))
        .for_each(|(((param, grad), moment_1), moment_2)| {
            update_slice(constants, param, grad, moment_1, moment_2)
        });
}

fn update_slice(
    constants: &StepConstants,
    param: &mut [f32],
    grad: &[f32],
    moment_1: &mut [f32],
    moment_2: &mut [f32],
) {
    // The loop, compiled for AVX-512 or AVX2 and chosen at run time (`host_math::vectorized`),
    // lets the compiler vectorize it: it only multiplies, adds, divides and takes square roots,
    // element by element, so each lane rounds as the scalar code would.
    vectorized(
        #[inline(always)]
        || update_values(constants, param, grad, moment_1, moment_2),
    )
}

/// The scalar loop [`update_slice`] compiles for the CPU's SIMD.
#[inline(always)]
fn update_values(
    constants: &StepConstants,
    param: &mut [f32],
    grad: &[f32],
    moment_1: &mut [f32],
    moment_2: &mut [f32],
) {
    let values = param
        .iter_mut()
        .zip(grad)
        .zip(moment_1.iter_mut())
        .zip(moment_2.iter_mut());
    for (((param, &grad), moment_1), moment_2) in values {
        (*param, *moment_1, *moment_2) =
            update_value(constants, *param, grad, *moment_1, *moment_2);
    }
}

/// One Adam update, operation for operation as Burn's `AdaptiveMomentum::transform` and
/// `Adam::step` compute it (no fused multiply-add, so every rounding is the same).
#[inline(always)]
fn update_value(
    c: &StepConstants,
    param: f32,
    grad: f32,
    moment_1: f32,
    moment_2: f32,
) -> (f32, f32, f32) {
    let (moment_1, moment_2) = if c.first {
        (grad * c.factor_1, (grad * grad) * c.factor_2)
    } else {
        (
            moment_1 * c.beta_1 + grad * c.factor_1,
            moment_2 * c.beta_2 + (grad * grad) * c.factor_2,
        )
    };
    let step = (moment_1 * c.combined) / (moment_2.sqrt() + c.epsilon);
    (param - step * c.lr, moment_1, moment_2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Param;
    use burn::nn::Linear;
    use burn::optim::GradientsParams;
    use burn::optim::decay::WeightDecayConfig;
    use burn::optim::grad_clipping::GradientClippingConfig;

    fn values(linear: &Linear) -> Vec<f32> {
        let mut all = linear.weight.val().into_data().try_to_vec::<f32>().unwrap();
        let bias = linear.bias.as_ref().unwrap().val();
        all.extend(bias.into_data().try_to_vec::<f32>().unwrap());
        all
    }

    /// Trains `linear` for `steps` steps with `optimizer` on a fixed regression problem.
    fn train(mut linear: Linear, mut optimizer: ModuleOptimizer, steps: usize) -> Linear {
        let x = wave([64, 300], 0.37, 1.0);
        let target = wave([64, 70], 0.53, 1.0);
        for step in 0..steps {
            let loss = (linear.forward(x.clone()) - target.clone())
                .powi_scalar(2)
                .sum();
            let grads = GradientsParams::from_grads(loss.backward(), &linear);
            let lr = if step < 3 { 1e-2 } else { 3e-3 };
            linear = optimizer.step(lr, linear, grads);
        }
        linear
    }

    /// `scale · sin(k · i)` over the elements, on flex with autodiff: fixed data that no
    /// concurrent test can change (the tests run in parallel, and a seeded random draw shares one
    /// stream with theirs).
    fn wave<const D: usize>(shape: [usize; D], k: f32, scale: f32) -> Tensor<D> {
        let count = shape.iter().product::<usize>();
        let values: Vec<f32> = (0..count).map(|i| scale * (k * i as f32).sin()).collect();
        Tensor::from_data(TensorData::new(values, shape), &Device::flex().autodiff())
    }

    fn model() -> Linear {
        // 300 × 70 = 21,000 weights: more than one task's share, so the pass splits in two.
        Linear {
            weight: Param::from_tensor(wave([300, 70], 0.013, 0.05)),
            bias: Some(Param::from_tensor(wave([70], 0.7, 0.1))),
        }
    }

    #[test]
    fn host_adam_matches_burns_adam_bit_for_bit() {
        let config = AdamConfig::new().with_epsilon(1e-8).with_beta_2(0.99);
        let host = train(model(), adam_optimizer(&config, true), 6);
        let burn = train(model(), adam_optimizer(&config, false), 6);
        let (host, burn) = (values(&host), values(&burn));
        assert_eq!(host.len(), 300 * 70 + 70);
        let before = values(&model());
        assert_ne!(host, before, "the steps changed the weights");
        assert_eq!(host, burn);
    }

    /// Two steps with `first`, its record through bytes (as a checkpoint stores it), then one
    /// more step with `second` loading that record: the weights of that step.
    fn continue_in(first: ModuleOptimizer, second: ModuleOptimizer) -> Vec<f32> {
        let x = wave([8, 300], 0.29, 0.5);
        let grads =
            |l: &Linear| GradientsParams::from_grads(l.forward(x.clone()).sum().backward(), l);
        let mut first = first;
        let mut linear = model();
        for _ in 0..2 {
            let g = grads(&linear);
            linear = first.step(1e-3, linear, g);
        }
        let bytes = first.into_bytes().expect("the record serializes");
        let mut second = second.from_bytes(bytes).expect("the record loads");
        let g = grads(&linear);
        let after = second.step(1e-3, linear.clone(), g);
        assert_ne!(
            values(&after),
            values(&linear),
            "the step changed the weights"
        );
        values(&after)
    }

    #[test]
    fn records_load_either_way_and_continue_bit_for_bit() {
        let config = AdamConfig::new();
        let burn_only = continue_in(
            adam_optimizer(&config, false),
            adam_optimizer(&config, false),
        );
        let host_then_burn = continue_in(
            adam_optimizer(&config, true),
            adam_optimizer(&config, false),
        );
        let burn_then_host = continue_in(
            adam_optimizer(&config, false),
            adam_optimizer(&config, true),
        );
        assert_eq!(host_then_burn, burn_only);
        assert_eq!(burn_then_host, burn_only);
    }

    #[test]
    fn gradient_clipping_is_kept() {
        let clipped =
            AdamConfig::new().with_grad_clipping(Some(GradientClippingConfig::Norm(1e-3)));
        assert!(adam_optimizer(&clipped, true).has_gradient_clipping());
        assert!(!adam_optimizer(&AdamConfig::new(), true).has_gradient_clipping());
        // And it clips: the host optimizer gives Burn's clipped weights.
        let host = train(model(), adam_optimizer(&clipped, true), 3);
        let burn = train(model(), adam_optimizer(&clipped, false), 3);
        assert_eq!(values(&host), values(&burn));
    }

    #[test]
    fn a_float64_parameter_goes_to_burns_adam() {
        let device = Device::flex();
        let adam = HostAdam::from_config(&AdamConfig::new()).unwrap();
        let data = |v: Vec<f64>| TensorData::new(v, [2, 2]);
        let tensor = Tensor::<2>::from_data(data(vec![1.0, 2.0, 3.0, 4.0]), (&device, DType::F64));
        let grad = Tensor::<2>::from_data(data(vec![0.5, -0.5, 1.0, 0.0]), (&device, DType::F64));
        let (host, state) = adam.step(0.1, tensor.clone(), grad.clone(), None);
        let (burn, _) = adam.burn_adam.step(0.1, tensor, grad, None);
        assert_eq!(host.dtype(), DType::F64);
        assert_eq!(state.unwrap().momentum.moment_1.dtype(), DType::F64);
        assert_eq!(host.into_data(), burn.into_data());
    }

    #[test]
    fn only_plain_adam_runs_on_the_host() {
        assert!(HostAdam::from_config(&AdamConfig::new()).is_some());
        assert!(HostAdam::from_config(&AdamConfig::new().with_amsgrad(true)).is_none());
        let decay = AdamConfig::new().with_weight_decay(Some(WeightDecayConfig::new(1e-4)));
        assert!(HostAdam::from_config(&decay).is_none());
    }

    /// Updates parameters and moments in place (the gradient is fixed).
    type Updater<'a> = dyn Fn(&mut [f32], &mut [f32], &mut [f32]) + 'a;

    /// AVX2 and what `vectorized` picks (AVX-512 where the CPU has it) give the plain scalar
    /// loop's values exactly, tail included.
    #[test]
    fn every_instruction_set_rounds_as_the_scalar_loop() {
        let adam = HostAdam::from_config(&AdamConfig::new()).unwrap();
        let constants = StepConstants::new(&adam, 3e-3, 7);
        let n = 1003;
        let wave = |k: f32| -> Vec<f32> { (0..n).map(|i| (i as f32 * k).sin()).collect() };
        let grad = wave(0.37);
        let start = (
            wave(0.11),
            wave(0.23),
            wave(0.05).iter().map(|v| v * v).collect::<Vec<_>>(),
        );
        let run = |how: &Updater| {
            let (mut p, mut m, mut v) = start.clone();
            how(&mut p, &mut m, &mut v);
            (p, m, v)
        };
        let scalar = run(&|p, m, v| update_values(&constants, p, &grad, m, v));
        let picked = run(&|p, m, v| update_slice(&constants, p, &grad, m, v));
        assert_eq!(picked, scalar);
        assert_ne!(scalar.0, start.0, "the update moved the values");
        #[cfg(target_arch = "x86_64")]
        if let Some(simd) = pulp::x86::V3::try_new() {
            let avx2 = run(&|p, m, v| {
                pulp::Simd::vectorize(simd, || update_values(&constants, p, &grad, m, v))
            });
            assert_eq!(avx2, scalar);
        }
    }

    #[test]
    fn a_short_tail_and_several_tasks_update_every_value() {
        let adam = HostAdam::from_config(&AdamConfig::new()).unwrap();
        let constants = StepConstants::new(&adam, 0.1, 1);
        let n = 2 * MIN_PER_TASK + 5;
        let mut param = vec![1.0f32; n];
        let grad: Vec<f32> = (0..n)
            .map(|i| if i % 2 == 0 { 2.0 } else { -2.0 })
            .collect();
        let (mut m, mut v) = (vec![0.0; n], vec![0.0; n]);
        update(&constants, &mut param, &grad, &mut m, &mut v);
        // The first bias-corrected step moves each value by lr in the gradient's opposite
        // direction, up to epsilon.
        for (i, p) in param.iter().enumerate() {
            let expected = if i % 2 == 0 { 0.9 } else { 1.1 };
            assert!((p - expected).abs() < 1e-5, "value {i}: {p}");
        }
    }
}
