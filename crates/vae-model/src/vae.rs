//! [`Vae`]: encoder, reparameterized sampling, decoder and the ELBO.

use burn::prelude::*;
use burn::tensor::Distribution;

use crate::decoder::Decoder;
use crate::distribution::DiagonalGaussian;
use crate::encoder::Encoder;
use crate::error::VaeError;
use crate::loss::{ElboTerms, negative_elbo};
use crate::step_guard::StepGuard;

/// A variational autoencoder with a diagonal Gaussian posterior, a standard normal prior
/// and a Bernoulli decoder (Kingma & Welling 2014). Build it with
/// [`VaeConfig::init`](crate::VaeConfig::init).
#[derive(Module, Debug)]
pub struct Vae {
    /// `x -> q(z|x)`.
    pub encoder: Encoder,
    /// `z -> logits of p(x|z)`.
    pub decoder: Decoder,
    #[module(skip)]
    input_dim: usize,
    #[module(skip)]
    latent_dim: usize,
    #[module(skip)]
    beta: f64,
    #[module(skip)]
    step_guard: Option<StepGuard>,
    #[module(skip)]
    host_reconstruction: bool,
}

/// Everything one stochastic forward pass computes.
#[derive(Debug, Clone)]
pub struct VaeForward {
    /// The posterior `q(z|x)`.
    pub posterior: DiagonalGaussian,
    /// The reparameterized sample, `[batch, latent_dim]`.
    pub z: Tensor<2>,
    /// Decoder logits for `z`, `[batch, input_dim]`.
    pub logits: Tensor<2>,
}

impl Vae {
    pub(crate) fn new(encoder: Encoder, decoder: Decoder, latent_dim: usize, beta: f64) -> Self {
        let input_dim = decoder.output.weight.dims()[1];
        Self {
            encoder,
            decoder,
            input_dim,
            latent_dim,
            beta,
            step_guard: None,
            host_reconstruction: false,
        }
    }

    /// The same model, whose training steps (`TrainStep`, feature `train`) check each loss with
    /// `guard`: a NaN or infinite loss is not applied, and `guard` reports it.
    pub fn with_step_guard(mut self, guard: StepGuard) -> Self {
        self.step_guard = Some(guard);
        self
    }

    /// The same model, whose training steps (`TrainStep`, feature `train`) compute the
    /// reconstruction term and its gradient in one pass on the host ([`crate::host_bce`]):
    /// faster on the CPU backends, a device-to-host copy per step on a GPU. The loss and the
    /// gradients are those of [`Vae::loss`], up to `f32` rounding.
    pub fn with_host_reconstruction(mut self, enabled: bool) -> Self {
        self.host_reconstruction = enabled;
        self
    }

    /// Whether [`Vae::with_host_reconstruction`] is on.
    pub fn host_reconstruction(&self) -> bool {
        self.host_reconstruction
    }

    /// The guard set by [`Vae::with_step_guard`].
    pub fn step_guard(&self) -> Option<&StepGuard> {
        self.step_guard.as_ref()
    }

    /// Number of input features.
    pub fn input_dim(&self) -> usize {
        self.input_dim
    }

    /// Dimension of the latent space.
    pub fn latent_dim(&self) -> usize {
        self.latent_dim
    }

    /// Weight of the KL term in [`loss`](Self::loss).
    pub fn beta(&self) -> f64 {
        self.beta
    }

    /// Checks that `input` is `[batch >= 1, input_dim]`, naming both shapes if not.
    pub fn check_input(&self, input: &Tensor<2>) -> Result<(), VaeError> {
        let dims = input.dims();
        if dims[0] == 0 || dims[1] != self.input_dim {
            return Err(VaeError::InputShape {
                expected: self.input_dim,
                found: dims.to_vec(),
            });
        }
        Ok(())
    }

    /// The posterior `q(z|x)`.
    ///
    /// # Shapes
    /// - input: `[batch, input_dim]`, pixel intensities in `[0, 1]`
    /// - output: mean and log_var, `[batch, latent_dim]`
    pub fn encode(&self, input: Tensor<2>) -> DiagonalGaussian {
        self.encoder.forward(input)
    }

    /// Decoder logits for latent codes.
    ///
    /// # Shapes
    /// - input: `[batch, latent_dim]`
    /// - output: `[batch, input_dim]`
    pub fn decode(&self, z: Tensor<2>) -> Tensor<2> {
        self.decoder.forward(z)
    }

    /// Encode, sample `z` by the reparameterization trick, decode.
    ///
    /// # Shapes
    /// - input: `[batch, input_dim]`
    /// - output: see [`VaeForward`]
    pub fn forward(&self, input: Tensor<2>) -> VaeForward {
        let posterior = self.encode(input);
        let z = posterior.sample();
        let logits = self.decode(z.clone());
        VaeForward {
            posterior,
            z,
            logits,
        }
    }

    /// The beta-weighted negative ELBO of a batch with one posterior sample per image,
    /// per image, in nats. Differentiate `loss(x).mean_loss()`.
    ///
    /// # Shapes
    /// - input: `[batch, input_dim]`, values in `[0, 1]`
    /// - output terms: `[batch]`
    pub fn loss(&self, input: Tensor<2>) -> ElboTerms {
        self.loss_and_surrogate(input).0
    }

    /// [`Vae::loss`], and the scalar whose gradient is that of the batch sum of the loss: the
    /// sum itself, or with [`Vae::with_host_reconstruction`] a surrogate whose gradient with
    /// respect to the logits is the analytic one (`sigmoid(logits) - input`).
    pub fn loss_and_surrogate(&self, input: Tensor<2>) -> (ElboTerms, Tensor<1>) {
        let forward = self.forward(input.clone());
        if !self.host_reconstruction {
            let terms = negative_elbo(forward.logits, input, &forward.posterior, self.beta);
            let total = terms.sum_loss();
            return (terms, total);
        }
        let device = forward.logits.device();
        let [batch, width] = forward.logits.dims();
        let host = |t: Tensor<2>| {
            t.into_data()
                .try_into_vec_as::<f32>()
                .expect("float tensors read as f32")
        };
        let (per_image, grad) = crate::host_bce::bernoulli_nll_and_grad(
            &host(forward.logits.clone()),
            &host(input),
            width,
        );
        let reconstruction = Tensor::<1>::from_data(TensorData::new(per_image, [batch]), &device);
        let grad = Tensor::<2>::from_data(TensorData::new(grad, [batch, width]), &device);
        let kl = forward.posterior.kl_to_standard_normal();
        let surrogate = (forward.logits * grad).sum() + kl.clone().sum().mul_scalar(self.beta);
        (ElboTerms::new(reconstruction, kl, self.beta), surrogate)
    }

    /// Deterministic reconstruction: decode the posterior mean, return pixel means in `[0, 1]`.
    ///
    /// # Shapes
    /// - input: `[batch, input_dim]`
    /// - output: `[batch, input_dim]`
    pub fn reconstruct(&self, input: Tensor<2>) -> Tensor<2> {
        self.decoder.probabilities(self.encode(input).mode())
    }

    /// Draws `count` latent codes from the prior `N(0, I)` on `device` and decodes them to
    /// pixel means in `[0, 1]`. Seed with `device.seed(..)` for reproducible samples.
    ///
    /// # Shapes
    /// - output: `[count, input_dim]`
    pub fn generate(&self, count: usize, device: &Device) -> Tensor<2> {
        let z = Tensor::random(
            [count, self.latent_dim],
            Distribution::Normal(0.0, 1.0),
            device,
        );
        self.decoder.probabilities(z)
    }
}
