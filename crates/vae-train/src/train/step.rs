//! The model the `Learner` trains: a [`Vae`] with its training objective (importance samples,
//! free bits, the KL warm-up's step count) and the training-only workarounds that do not belong
//! in the maths, the step guard and the host reconstruction term.
//!
//! [`TrainingVae`] is transparent to records: it visits and maps its model's parameters under
//! the model's own names, so its checkpoints are plain `Vae` records that every inspection
//! command (and any other program) loads into the `Vae` alone.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use burn::module::{
    Content, Devices, Module, ModuleDisplay, ModuleDisplayDefault, ModuleMapper, ModuleVisitor,
};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::train::{InferenceStep, TrainOutput, TrainStep};
use vae_model::likelihood::{AnyLikelihood, Bernoulli};
use vae_model::train::{VaeBatch, VaeStepOutput};
use vae_model::{
    Decoder, ElboTerms, Encoder, KlWarmupConfig, Likelihood, ObjectiveConfig, ObjectiveOutput, Vae,
    kl_penalty,
};

use crate::train::step_guard::StepGuard;

/// A likelihood that may be the plain Bernoulli one, which [`vae_model::host_bce`] computes.
pub trait MaybeBernoulli {
    /// Whether the host pass computes this likelihood.
    fn is_bernoulli(&self) -> bool;
}

impl MaybeBernoulli for Bernoulli {
    fn is_bernoulli(&self) -> bool {
        true
    }
}

impl MaybeBernoulli for AnyLikelihood {
    fn is_bernoulli(&self) -> bool {
        AnyLikelihood::is_bernoulli(self)
    }
}

/// A [`Vae`] as the `Learner` trains it: each step's loss is checked by an optional
/// [`StepGuard`] before its gradients reach the optimizer, and on the CPU the Bernoulli
/// reconstruction term and its gradient may come from one host pass.
#[derive(Debug, Clone)]
pub struct TrainingVae<M> {
    /// The model trained.
    pub model: M,
    guard: Option<StepGuard>,
    host_reconstruction: bool,
    objective: ObjectiveConfig,
    warmup: Option<KlWarmupConfig>,
    /// Training steps taken, counted across the clones the `Learner` makes.
    steps: Arc<AtomicUsize>,
}

impl<M> TrainingVae<M> {
    /// Wraps `model` with no guard, the tensor formula for the loss and the ELBO objective.
    pub fn new(model: M) -> Self {
        Self {
            model,
            guard: None,
            host_reconstruction: false,
            objective: ObjectiveConfig::new(),
            warmup: None,
            steps: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Trains on `objective` (importance samples, free bits) instead of the ELBO.
    pub fn with_objective(mut self, objective: ObjectiveConfig) -> Self {
        self.objective = objective;
        self
    }

    /// Raises the KL weight by `warmup`, counting from `steps_done` steps already taken (those
    /// of the epochs a resumed run has done).
    pub fn with_kl_warmup(mut self, warmup: Option<KlWarmupConfig>, steps_done: usize) -> Self {
        self.warmup = warmup;
        self.steps = Arc::new(AtomicUsize::new(steps_done));
        self
    }

    /// Training steps taken so far.
    pub fn steps(&self) -> usize {
        self.steps.load(Ordering::SeqCst)
    }

    /// Checks each training step's loss with `guard`: a NaN or infinite loss is not applied,
    /// and `guard` reports it.
    pub fn with_step_guard(mut self, guard: StepGuard) -> Self {
        self.guard = Some(guard);
        self
    }

    /// Computes the Bernoulli reconstruction term and its gradient in one pass on the host
    /// ([`vae_model::host_bce`]) when the likelihood is Bernoulli: faster on the CPU backends,
    /// a device-to-host copy per step on a GPU. The loss and gradients are those of
    /// [`Vae::loss`] up to `f32` rounding.
    pub fn with_host_reconstruction(mut self, enabled: bool) -> Self {
        self.host_reconstruction = enabled;
        self
    }

    fn map_model(self, f: impl FnOnce(M) -> M) -> Self {
        Self {
            model: f(self.model),
            ..self
        }
    }
}

impl<E, D, L> TrainingVae<Vae<E, D, L>>
where
    E: Encoder,
    D: Decoder,
    L: Likelihood + MaybeBernoulli,
{
    /// The KL weight of the next step: the warm-up's value, or the model's `beta`.
    pub fn beta_now(&self) -> f64 {
        let target = self.model.beta();
        self.warmup
            .as_ref()
            .map_or(target, |warmup| warmup.beta(target, self.steps()))
    }

    /// The batch under the objective at the current KL weight
    /// ([`Vae::objective_with_targets`]: its images encoded, its targets, or else its images,
    /// scored). With the host reconstruction (Bernoulli likelihood), the reconstruction term's
    /// gradient with respect to the logits is the analytic one (`sigmoid(logits) - x`): under
    /// the ELBO the scalar to differentiate is then a surrogate whose value is not the loss;
    /// under the importance-weighted bound (`samples > 1`) it is the bound itself.
    pub fn step_objective(&self, batch: VaeBatch) -> ObjectiveOutput {
        let beta = self.beta_now();
        let VaeBatch {
            images,
            targets,
            condition,
        } = batch;
        let targets = targets.unwrap_or_else(|| images.clone());
        if !(self.host_reconstruction && self.model.likelihood.is_bernoulli()) {
            return self.model.objective_with_targets(
                images,
                targets,
                condition,
                &self.objective,
                beta,
            );
        }
        if self.objective.samples > 1 {
            let targets = host(targets);
            return self.model.importance_weighted_objective(
                images,
                condition,
                self.objective.samples,
                beta,
                |logits, count| host_log_likelihood(logits, &targets, count),
            );
        }
        let forward = self.model.forward(images, condition);
        let device = forward.params.device();
        let [batch, width] = forward.params.dims();
        let (per_image, grad) = vae_model::host_bce::bernoulli_nll_and_grad(
            &host(forward.params.clone()),
            &host(targets),
            width,
        );
        let reconstruction = Tensor::<1>::from_data(TensorData::new(per_image, [batch]), &device);
        let grad = Tensor::<2>::from_data(TensorData::new(grad, [batch, width]), &device);
        let kl_per_dim = forward.posterior.kl_to_standard_normal_per_dim();
        let kl = kl_per_dim.clone().sum_dim(1).squeeze_dim::<1>(1);
        let surrogate =
            (forward.params * grad).sum() + kl_penalty(kl_per_dim, beta, self.objective.free_bits);
        ObjectiveOutput {
            terms: ElboTerms::new(reconstruction, kl, 1.0),
            bound: None,
            objective: surrogate,
        }
    }
}

/// A float tensor's values on the host.
fn host<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor
        .into_data()
        .try_into_vec_as::<f32>()
        .expect("float tensors read as f32")
}

/// `log p(x|z)` per row of `logits` (`[rows, width]`, each of `targets`' images scored by
/// `count` rows in a row) from one host pass, as a tensor whose value is the Bernoulli term
/// and whose gradient with respect to the logits is the analytic `x - sigmoid(logits)`:
/// `-nll + (s - detach(s))` with `s = Σ logits · (x - sigmoid(logits))`, where the bracket is
/// exactly 0 and carries the gradient.
fn host_log_likelihood(logits: Tensor<2>, targets: &[f32], count: usize) -> Tensor<1> {
    let device = logits.device();
    let [rows, width] = logits.dims();
    let (nll, grad) = vae_model::host_bce::bernoulli_nll_and_grad_rows(
        &host(logits.clone()),
        targets,
        width,
        count,
    );
    let nll = Tensor::<1>::from_data(TensorData::new(nll, [rows]), &device);
    let descent = Tensor::<2>::from_data(TensorData::new(grad, [rows, width]), &device).neg();
    let linear = (logits * descent).sum_dim(1).squeeze_dim::<1>(1);
    nll.neg() + (linear.clone() - linear.detach())
}

/// One optimizer step's gradients are those of the batch **sum** of the negative ELBO, as in
/// PyTorch's `examples/vae` (see [`vae_model::train`]).
impl<E, D, L> TrainStep for TrainingVae<Vae<E, D, L>>
where
    E: Encoder + 'static,
    D: Decoder + 'static,
    L: Likelihood + MaybeBernoulli + 'static,
{
    type Input = VaeBatch;
    type Output = VaeStepOutput;

    fn step(&self, batch: VaeBatch) -> TrainOutput<VaeStepOutput> {
        let output = self.step_objective(batch);
        self.steps.fetch_add(1, Ordering::SeqCst);
        if let Some(guard) = &self.guard {
            // One scalar read per step (the metrics read the loss anyway); a second when the
            // objective differentiated is not the reported loss (IWAE, free bits), so that a
            // non-finite objective beside a finite ELBO is not applied either.
            let mut value = output.terms.sum_loss().into_scalar::<f64>();
            if !self.objective.is_elbo() && value.is_finite() {
                let objective = output.objective.clone().into_scalar::<f64>();
                if !objective.is_finite() {
                    value = objective;
                }
            }
            if !guard.check(value) {
                let mut output = VaeStepOutput::from(output);
                output.skipped = true;
                // No gradients: the optimizer leaves every parameter and its state as they are.
                return TrainOutput {
                    grads: GradientsParams::new(),
                    item: output,
                };
            }
        }
        let grads = output.objective.clone().backward();
        TrainOutput::new(self, grads, output.into())
    }
}

impl<E, D, L> InferenceStep for TrainingVae<Vae<E, D, L>>
where
    E: Encoder + 'static,
    D: Decoder + 'static,
    L: Likelihood + 'static,
{
    type Input = VaeBatch;
    type Output = VaeStepOutput;

    fn step(&self, batch: VaeBatch) -> VaeStepOutput {
        let beta = self.model.beta();
        let targets = batch.targets.unwrap_or_else(|| batch.images.clone());
        self.model
            .objective_with_targets(
                batch.images,
                targets,
                batch.condition,
                &self.objective,
                beta,
            )
            .into()
    }
}

/// Every method forwards to the model without entering a sub-module, so parameter paths (and
/// so records) are the model's own.
impl<M: Module> Module for TrainingVae<M> {
    fn collect_devices(&self, devices: Devices) -> Devices {
        self.model.collect_devices(devices)
    }

    fn fork(self, device: &Device) -> Self {
        self.map_model(|m| m.fork(device))
    }

    fn to_device(self, device: &Device) -> Self {
        self.map_model(|m| m.to_device(device))
    }

    fn train(self) -> Self {
        self.map_model(|m| m.train())
    }

    fn valid(&self) -> Self {
        Self {
            model: self.model.valid(),
            guard: self.guard.clone(),
            host_reconstruction: self.host_reconstruction,
            objective: self.objective.clone(),
            warmup: self.warmup.clone(),
            steps: self.steps.clone(),
        }
    }

    fn materialize(self) -> Self {
        self.map_model(|m| m.materialize())
    }

    fn num_params(&self) -> usize {
        self.model.num_params()
    }

    fn visit<V: ModuleVisitor>(&self, visitor: &mut V) {
        self.model.visit(visitor);
    }

    fn map<Mapper: ModuleMapper>(self, mapper: &mut Mapper) -> Self {
        self.map_model(|m| m.map(mapper))
    }
}

impl<M: ModuleDisplay> fmt::Display for TrainingVae<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.model.format(Default::default()))
    }
}

impl<M: ModuleDisplay> ModuleDisplayDefault for TrainingVae<M> {
    fn content(&self, content: Content) -> Option<Content> {
        self.model.content(content)
    }

    fn num_params(&self) -> usize {
        ModuleDisplayDefault::num_params(&self.model)
    }
}

impl<M: ModuleDisplay> ModuleDisplay for TrainingVae<M> {}
