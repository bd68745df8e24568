//! Glue for Burn's `Learner` (feature `train`): the batch and step-output types,
//! `TrainStep`/`InferenceStep` for every [`Vae`], and per-image metrics for the ELBO terms.
//!
//! These impls live here, not in the training crate, because of the orphan rule; the
//! feature keeps burn-train out of builds that only need the model.

use std::marker::PhantomData;
use std::sync::Arc;

use burn::prelude::*;
use burn::tensor::{ExecutionError, TensorReadError};
use burn::train::metric::state::{FormatOptions, NumericMetricState};
use burn::train::metric::{
    Adaptor, ItemLazy, LossInput, Metric, MetricAttributes, MetricMetadata, MetricName, Numeric,
    NumericAttributes, NumericEntry, SerializedEntry,
};
use burn::train::{InferenceStep, TrainOutput, TrainStep};

use crate::loss::ElboTerms;
use crate::objective::ObjectiveOutput;
use crate::parts::{Decoder, Encoder, Likelihood};
use crate::vae::Vae;

/// A batch of examples with intensities in `[0, 1]`, and their conditions for a conditional
/// model.
#[derive(Debug, Clone)]
pub struct VaeBatch<const X: usize = 2> {
    /// `[batch, ...]`: flat rows `[batch, features]` by default. The encoder's input.
    pub images: Tensor<X>,
    /// What the likelihood scores, `images`' shape; `None`: `images` themselves. A denoising
    /// VAE (Im et al. 2017) gets corrupted `images` and the clean ones here.
    pub targets: Option<Tensor<X>>,
    /// `[batch, condition_dim]`, or `None` for an unconditional model.
    pub condition: Option<Tensor<2>>,
}

/// What one training or validation step reports: the ELBO terms per image, and the
/// importance-weighted bound when the objective has one.
#[derive(Debug, Clone)]
pub struct VaeStepOutput {
    /// The loss per image, `[batch]`: `reconstruction + beta * kl` from [`Vae::loss`]; the
    /// true negative ELBO (weight 1, no floor) from an [`ObjectiveOutput`].
    pub loss: Tensor<1>,
    /// Reconstruction negative log-likelihood per image, `[batch]`.
    pub reconstruction: Tensor<1>,
    /// KL to the prior per image, `[batch]`.
    pub kl: Tensor<1>,
    /// `-log` of the `k`-sample importance-weighted bound per image, `[batch]`, when the
    /// objective has `k > 1` samples.
    pub bound: Option<Tensor<1>>,
    /// The step's loss was NaN or infinite and its update was not applied: metrics leave it out.
    pub skipped: bool,
}

impl From<ElboTerms> for VaeStepOutput {
    fn from(terms: ElboTerms) -> Self {
        Self {
            loss: terms.loss,
            reconstruction: terms.reconstruction,
            kl: terms.kl,
            bound: None,
            skipped: false,
        }
    }
}

impl From<ObjectiveOutput> for VaeStepOutput {
    fn from(output: ObjectiveOutput) -> Self {
        Self {
            bound: output.bound,
            ..output.terms.into()
        }
    }
}

/// One optimizer step's gradients are those of the batch **sum** of the negative ELBO, as in
/// PyTorch's `examples/vae`, so that Adam's `epsilon` means what it means there (with the
/// batch mean, PyTorch's settings gave a validation loss about 0.5 nats worse after epoch 1
/// over three seeds). The reported metrics are per image either way.
impl<E, D, L, const X: usize> TrainStep for Vae<E, D, L, X>
where
    E: Encoder<X> + 'static,
    D: Decoder<X> + 'static,
    L: Likelihood + 'static,
{
    type Input = VaeBatch<X>;
    type Output = VaeStepOutput;

    fn step(&self, batch: VaeBatch<X>) -> TrainOutput<VaeStepOutput> {
        let terms = batch_terms(self, batch);
        let grads = terms.sum_loss().backward();
        TrainOutput::new(self, grads, terms.into())
    }
}

impl<E, D, L, const X: usize> InferenceStep for Vae<E, D, L, X>
where
    E: Encoder<X> + 'static,
    D: Decoder<X> + 'static,
    L: Likelihood + 'static,
{
    type Input = VaeBatch<X>;
    type Output = VaeStepOutput;

    fn step(&self, batch: VaeBatch<X>) -> VaeStepOutput {
        batch_terms(self, batch).into()
    }
}

/// The ELBO terms of `batch`: its images encoded, its targets (or images) scored.
fn batch_terms<E, D, L, const X: usize>(vae: &Vae<E, D, L, X>, batch: VaeBatch<X>) -> ElboTerms
where
    E: Encoder<X>,
    D: Decoder<X>,
    L: Likelihood,
{
    match batch.targets {
        None => vae.loss(batch.images, batch.condition),
        Some(targets) => {
            let forward = vae.forward(batch.images, batch.condition);
            vae.terms(&forward, targets)
        }
    }
}

impl ItemLazy for VaeStepOutput {
    fn sync(self) -> Result<Self, ExecutionError> {
        self.loss.device().flush()?;
        Ok(Self {
            loss: self.loss.without_autodiff(),
            reconstruction: self.reconstruction.without_autodiff(),
            kl: self.kl.without_autodiff(),
            bound: self.bound.map(|b| b.without_autodiff()),
            skipped: self.skipped,
        })
    }
}

impl Adaptor<LossInput> for VaeStepOutput {
    fn adapt(&self) -> LossInput {
        LossInput::new(self.loss.clone())
    }
}

/// Names a per-image term of [`VaeStepOutput`] and how to read it, for [`PerImageMeanMetric`].
pub trait PerImageTerm: Send + Sync + 'static {
    /// The metric's name, also its log file name.
    const NAME: &'static str;
    /// Reads the term, `[batch]`.
    fn read(output: &VaeStepOutput) -> Tensor<1>;
}

/// The loss per image: [`VaeStepOutput::loss`] (the true negative ELBO under an objective).
#[derive(Debug, Clone, Copy)]
pub struct Loss;

impl PerImageTerm for Loss {
    const NAME: &'static str = "Loss";
    fn read(output: &VaeStepOutput) -> Tensor<1> {
        output.loss.clone()
    }
}

/// The reconstruction term (negative log-likelihood per image, under the model's likelihood).
#[derive(Debug, Clone, Copy)]
pub struct Reconstruction;

impl PerImageTerm for Reconstruction {
    const NAME: &'static str = "Reconstruction";
    fn read(output: &VaeStepOutput) -> Tensor<1> {
        output.reconstruction.clone()
    }
}

/// The KL term per image.
#[derive(Debug, Clone, Copy)]
pub struct Kl;

impl PerImageTerm for Kl {
    const NAME: &'static str = "KL";
    fn read(output: &VaeStepOutput) -> Tensor<1> {
        output.kl.clone()
    }
}

/// `-log` of the importance-weighted bound per image (equal to the loss with one sample).
#[derive(Debug, Clone, Copy)]
pub struct Bound;

impl PerImageTerm for Bound {
    const NAME: &'static str = "IWBound";
    fn read(output: &VaeStepOutput) -> Tensor<1> {
        output.bound.clone().unwrap_or_else(|| output.loss.clone())
    }
}

/// The input of a [`PerImageMeanMetric`]: one term, `[batch]`.
pub struct PerImageInput<K> {
    values: Tensor<1>,
    skipped: bool,
    term: PhantomData<K>,
}

impl<K: PerImageTerm> Adaptor<PerImageInput<K>> for VaeStepOutput {
    fn adapt(&self) -> PerImageInput<K> {
        PerImageInput {
            values: K::read(self),
            skipped: self.skipped,
            term: PhantomData,
        }
    }
}

/// Mean of a per-image term over the epoch, weighted by batch size (like Burn's
/// `LossMetric`); logged for train and valid under `K::NAME`. Steps skipped by the step guard
/// (non-finite loss) are left out.
#[derive(Clone)]
pub struct PerImageMeanMetric<K> {
    name: MetricName,
    state: NumericMetricState,
    term: PhantomData<K>,
}

impl<K: PerImageTerm> Default for PerImageMeanMetric<K> {
    fn default() -> Self {
        Self {
            name: Arc::new(K::NAME.to_string()),
            state: NumericMetricState::default(),
            term: PhantomData,
        }
    }
}

/// The loss metric, named "Loss" like Burn's `LossMetric`, which it replaces so that skipped
/// steps are left out.
pub type LossMeanMetric = PerImageMeanMetric<Loss>;
/// The reconstruction metric.
pub type ReconstructionMetric = PerImageMeanMetric<Reconstruction>;
/// The KL metric.
pub type KlMetric = PerImageMeanMetric<Kl>;
/// The importance-weighted bound metric (for objectives with `k > 1` samples).
pub type BoundMetric = PerImageMeanMetric<Bound>;

impl<K: PerImageTerm + Clone> Metric for PerImageMeanMetric<K> {
    type Input = PerImageInput<K>;

    fn name(&self) -> MetricName {
        self.name.clone()
    }

    fn attributes(&self) -> MetricAttributes {
        NumericAttributes {
            unit: Some("nats".to_string()),
            higher_is_better: false,
        }
        .into()
    }

    fn update(
        &mut self,
        input: &Self::Input,
        _metadata: &MetricMetadata,
    ) -> Result<SerializedEntry, TensorReadError> {
        if input.skipped {
            return Ok(self
                .state
                .compute_update(FormatOptions::new(self.name()).precision(2)));
        }
        let [batch_size] = input.values.dims();
        let mean = input.values.clone().mean().try_into_scalar::<f64>()?;
        self.state.update(mean, batch_size);
        Ok(self
            .state
            .compute_update(FormatOptions::new(self.name()).precision(2)))
    }

    fn compute(&mut self) -> Result<SerializedEntry, TensorReadError> {
        Ok(self
            .state
            .compute_final(FormatOptions::new(self.name()).precision(2)))
    }

    fn clear(&mut self) {
        self.state.reset();
    }
}

impl<K: PerImageTerm + Clone> Numeric for PerImageMeanMetric<K> {
    fn value(&self) -> Option<NumericEntry> {
        Some(self.state.current_value())
    }

    fn running_value(&self) -> Option<NumericEntry> {
        Some(self.state.running_value())
    }

    fn final_value(&self) -> NumericEntry {
        self.state.final_value()
    }
}
