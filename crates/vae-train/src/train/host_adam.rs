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
//! Like `host_bce` it reads tensors back from the device, so it is for the CPU backends:
//! [`adam_optimizer`] chooses it where `vae` runs its host passes (local flex).

use burn::optim::{
    Adam, AdamConfig, AdamState, AdaptiveMomentumState, LearningRate, ModuleOptimizer, Optimizer,
};
use burn::prelude::*;
use burn::tensor::DType;
use rayon::prelude::*;
use serde_json::Value;

/// Below this many values per thread, a thread costs more than it saves.
const MIN_PER_THREAD: usize = 1 << 14;

/// The optimizer a training run uses for `config`: [`HostAdam`] when `host` is on and the
/// config is plain Adam (no AMSGrad, no weight decay), Burn's [`Adam`] otherwise; gradient
/// clipping as `config` sets it either way.
pub fn adam_optimizer(config: &AdamConfig, host: bool) -> ModuleOptimizer {
    let burn_optimizer = config.init();
    match host.then(|| HostAdam::from_config(config)).flatten() {
        Some(host_adam) => {
            let optimizer = ModuleOptimizer::from(host_adam);
            match burn_optimizer.grad_clipping() {
                Some(clipping) => optimizer.with_grad_clipping(clipping.clone()),
                None => optimizer,
            }
        }
        None => burn_optimizer,
    }
}

/// Adam (Kingma & Ba 2015) as Burn's [`Adam`] computes it, updated in one multi-threaded SIMD
/// pass over host memory per parameter. A parameter that is not `f32` goes to Burn's [`Adam`].
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
        plain.then_some(())?;
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
        let float32 = |t: &Tensor<D>| t.dtype() == DType::F32;
        let state_float32 = state
            .as_ref()
            .is_none_or(|s| float32(&s.momentum.moment_1) && float32(&s.momentum.moment_2));
        if !(float32(&tensor) && float32(&grad) && state_float32) {
            return self.burn_adam.step(lr, tensor, grad, state);
        }
        let device = tensor.device();
        let shape = tensor.shape();
        let mut param = tensor.into_data();
        let grad = grad.into_data();
        let (time, mut moment_1, mut moment_2) = match state {
            Some(state) => (
                state.momentum.time + 1,
                Some(state.momentum.moment_1.into_data()),
                Some(state.momentum.moment_2.into_data()),
            ),
            None => (1, None, None),
        };
        let first = moment_1.is_none();
        let values = param.num_elements();
        let mut moment_1 = moment_1.take().unwrap_or_else(|| zeros(values, &shape));
        let mut moment_2 = moment_2.take().unwrap_or_else(|| zeros(values, &shape));
        let constants = StepConstants::new(self, lr, time, first);
        update(
            &constants,
            slice_mut(&mut param),
            grad.as_slice::<f32>().expect("the gradient reads as f32"),
            slice_mut(&mut moment_1),
            slice_mut(&mut moment_2),
        );
        let back = |data: TensorData| Tensor::<D>::from_data(data, &device);
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

fn zeros(values: usize, shape: &Shape) -> TensorData {
    TensorData::new(vec![0.0f32; values], shape.clone())
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
    /// `1 - beta_1` and `1 - beta_2`.
    factor_1: f32,
    factor_2: f32,
    /// `sqrt(1 - beta_2^t) / (1 - beta_1^t)`.
    combined: f32,
    /// `epsilon · sqrt(1 - beta_2^t)`.
    epsilon: f32,
    lr: f32,
    /// The first step: the moments start from the gradient alone.
    first: bool,
}

impl StepConstants {
    fn new(adam: &HostAdam, lr: LearningRate, time: usize, first: bool) -> Self {
        let time = time as i32;
        let bias_correction2_sqrt = (1.0 - adam.beta_2.powi(time)).sqrt();
        Self {
            beta_1: adam.beta_1,
            beta_2: adam.beta_2,
            factor_1: 1.0 - adam.beta_1,
            factor_2: 1.0 - adam.beta_2,
            combined: bias_correction2_sqrt / (1.0 - adam.beta_1.powi(time)),
            // Burn adds this as a scalar (f64) that flex applies as f32: the same value.
            epsilon: ((adam.epsilon * bias_correction2_sqrt) as f64) as f32,
            lr: lr as f32,
            first,
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
        .max(MIN_PER_THREAD)
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
    // The loop below, compiled for the widest SIMD the CPU has (AVX-512 or AVX2 where present,
    // chosen at run time), lets the compiler vectorize it: it only multiplies, adds, divides and
    // takes square roots, element by element, so each lane rounds as the scalar code would.
    pulp::Arch::new().dispatch(
        #[inline(always)]
        || {
            let values = param
                .iter_mut()
                .zip(grad)
                .zip(moment_1.iter_mut())
                .zip(moment_2.iter_mut());
            for (((param, &grad), moment_1), moment_2) in values {
                (*param, *moment_1, *moment_2) =
                    update_value(constants, *param, grad, *moment_1, *moment_2);
            }
        },
    );
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
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::GradientsParams;
    use burn::optim::decay::WeightDecayConfig;
    use burn::tensor::Distribution;

    fn values(linear: &Linear) -> Vec<f32> {
        let mut all = linear.weight.val().into_data().try_to_vec::<f32>().unwrap();
        let bias = linear.bias.as_ref().unwrap().val();
        all.extend(bias.into_data().try_to_vec::<f32>().unwrap());
        all
    }

    /// Trains `linear` for `steps` steps with `optimizer` on a fixed regression problem.
    fn train(mut linear: Linear, mut optimizer: ModuleOptimizer, steps: usize) -> Linear {
        let device = Device::flex().autodiff();
        device.seed(3);
        let x = Tensor::<2>::random([64, 300], Distribution::Normal(0.0, 1.0), &device);
        let target = Tensor::<2>::random([64, 70], Distribution::Normal(0.0, 1.0), &device);
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

    fn model() -> Linear {
        let device = Device::flex().autodiff();
        device.seed(7);
        // 300 × 70 = 21,000 weights: more than one thread's share on two cores.
        LinearConfig::new(300, 70).init(&device)
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

    #[test]
    fn host_adam_state_saves_and_loads_as_burns_adam_state() {
        let config = AdamConfig::new();
        let mut host = adam_optimizer(&config, true);
        let linear = train(model(), host.clone(), 0);
        // Two steps with the host optimizer, then its record loads into Burn's and on.
        let device = Device::flex().autodiff();
        let x = Tensor::<2>::random([8, 300], Distribution::Default, &device);
        let mut linear_host = linear.clone();
        for _ in 0..2 {
            let grads = GradientsParams::from_grads(
                linear_host.forward(x.clone()).sum().backward(),
                &linear_host,
            );
            linear_host = host.step(1e-3, linear_host, grads);
        }
        let mut burn = adam_optimizer(&config, false).load_record(host.to_record());
        let mut host_again = adam_optimizer(&config, true).load_record(host.to_record());
        let grads =
            |l: &Linear| GradientsParams::from_grads(l.forward(x.clone()).sum().backward(), l);
        let via_burn = burn.step(1e-3, linear_host.clone(), grads(&linear_host));
        let via_host = host_again.step(1e-3, linear_host.clone(), grads(&linear_host));
        assert_ne!(values(&via_host), values(&linear_host));
        assert_eq!(values(&via_host), values(&via_burn));
    }

    #[test]
    fn only_plain_adam_runs_on_the_host() {
        assert!(HostAdam::from_config(&AdamConfig::new()).is_some());
        assert!(HostAdam::from_config(&AdamConfig::new().with_amsgrad(true)).is_none());
        let decay = AdamConfig::new().with_weight_decay(Some(WeightDecayConfig::new(1e-4)));
        assert!(HostAdam::from_config(&decay).is_none());
    }

    #[test]
    fn a_short_tail_and_many_threads_update_every_value() {
        let adam = HostAdam::from_config(&AdamConfig::new()).unwrap();
        let constants = StepConstants::new(&adam, 0.1, 1, true);
        let n = 2 * MIN_PER_THREAD + 5;
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
