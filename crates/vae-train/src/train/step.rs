//! The model the `Learner` trains: a [`Vae`] with the training-only workarounds that do not
//! belong in the maths, the step guard and the host reconstruction term.
//!
//! [`TrainingVae`] is transparent to records: it visits and maps its model's parameters under
//! the model's own names, so its checkpoints are plain `Vae` records that every inspection
//! command (and any other program) loads into the `Vae` alone.

use std::fmt;

use burn::module::{
    Content, Devices, Module, ModuleDisplay, ModuleDisplayDefault, ModuleMapper, ModuleVisitor,
};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::train::{InferenceStep, TrainOutput, TrainStep};
use vae_model::likelihood::{AnyLikelihood, Bernoulli};
use vae_model::train::{VaeBatch, VaeStepOutput};
use vae_model::{Decoder, ElboTerms, Encoder, Likelihood, Vae};

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
}

impl<M> TrainingVae<M> {
    /// Wraps `model` with no guard and the tensor formula for the loss.
    pub fn new(model: M) -> Self {
        Self {
            model,
            guard: None,
            host_reconstruction: false,
        }
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
            guard: self.guard,
            host_reconstruction: self.host_reconstruction,
        }
    }
}

impl<E, D, L> TrainingVae<Vae<E, D, L>>
where
    E: Encoder,
    D: Decoder,
    L: Likelihood + MaybeBernoulli,
{
    /// The model's loss, and the scalar whose gradient is that of the batch sum of the loss:
    /// the sum itself, or with the host reconstruction a surrogate whose gradient with respect
    /// to the logits is the analytic one (`sigmoid(logits) - x`).
    pub fn loss_and_surrogate(
        &self,
        images: Tensor<2>,
        condition: Option<Tensor<2>>,
    ) -> (ElboTerms, Tensor<1>) {
        let forward = self.model.forward(images.clone(), condition);
        if !(self.host_reconstruction && self.model.likelihood.is_bernoulli()) {
            let terms = self.model.terms(&forward, images);
            let total = terms.sum_loss();
            return (terms, total);
        }
        let device = forward.params.device();
        let [batch, width] = forward.params.dims();
        let host = |t: Tensor<2>| {
            t.into_data()
                .try_into_vec_as::<f32>()
                .expect("float tensors read as f32")
        };
        let (per_image, grad) = vae_model::host_bce::bernoulli_nll_and_grad(
            &host(forward.params.clone()),
            &host(images),
            width,
        );
        let reconstruction = Tensor::<1>::from_data(TensorData::new(per_image, [batch]), &device);
        let grad = Tensor::<2>::from_data(TensorData::new(grad, [batch, width]), &device);
        let kl = forward.posterior.kl_to_standard_normal();
        let beta = self.model.beta();
        let surrogate = (forward.params * grad).sum() + kl.clone().sum().mul_scalar(beta);
        (ElboTerms::new(reconstruction, kl, beta), surrogate)
    }
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
        let (terms, surrogate) = self.loss_and_surrogate(batch.images, batch.condition);
        if let Some(guard) = &self.guard {
            // One scalar read per step (the metrics read the loss anyway).
            let value = terms.sum_loss().into_scalar::<f64>();
            if !guard.check(value) {
                let mut output = VaeStepOutput::from(terms);
                output.skipped = true;
                // No gradients: the optimizer leaves every parameter and its state as they are.
                return TrainOutput {
                    grads: GradientsParams::new(),
                    item: output,
                };
            }
        }
        let grads = surrogate.backward();
        TrainOutput::new(self, grads, terms.into())
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
        self.model.loss(batch.images, batch.condition).into()
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
