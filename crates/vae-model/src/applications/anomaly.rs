//! Per-example anomaly scores from any trained VAE: higher means the model explains the input
//! worse.

use burn::prelude::*;

use crate::iwae::log_mean_exp;
use crate::parts::{Decoder, Encoder, Likelihood, sum_per_example};
use crate::vae::Vae;

/// One of the three scores [`Vae::anomaly_scores`] computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AnomalyScore {
    /// Squared error between the input and the mean of `p(x|z)` at the posterior mean, summed
    /// over the data's elements (any likelihood).
    ReconstructionError,
    /// The negative ELBO (weight 1), averaged over the `K` posterior samples.
    NegativeElbo,
    /// The negative importance-weighted bound with `K` samples, an estimate of `-log p(x)`.
    NegativeIwBound,
}

impl AnomalyScore {
    /// All three, in the order of [`AnomalyScores`]' fields.
    pub const ALL: [Self; 3] = [
        Self::ReconstructionError,
        Self::NegativeElbo,
        Self::NegativeIwBound,
    ];

    /// `reconstruction_error`, `negative_elbo` or `negative_iw_bound` (CSV column names).
    ///
    /// ```
    /// use vae_model::applications::AnomalyScore;
    ///
    /// let header: Vec<&str> = AnomalyScore::ALL.iter().map(|score| score.name()).collect();
    /// assert_eq!(header, ["reconstruction_error", "negative_elbo", "negative_iw_bound"]);
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Self::ReconstructionError => "reconstruction_error",
            Self::NegativeElbo => "negative_elbo",
            Self::NegativeIwBound => "negative_iw_bound",
        }
    }
}

/// The anomaly scores of a batch, each `[batch]`; higher means more anomalous.
#[derive(Debug, Clone)]
pub struct AnomalyScores {
    /// See [`AnomalyScore::ReconstructionError`].
    pub reconstruction_error: Tensor<1>,
    /// See [`AnomalyScore::NegativeElbo`], in nats.
    pub negative_elbo: Tensor<1>,
    /// See [`AnomalyScore::NegativeIwBound`], in nats.
    pub negative_iw_bound: Tensor<1>,
}

impl AnomalyScores {
    /// One score's values.
    pub fn get(&self, score: AnomalyScore) -> &Tensor<1> {
        match score {
            AnomalyScore::ReconstructionError => &self.reconstruction_error,
            AnomalyScore::NegativeElbo => &self.negative_elbo,
            AnomalyScore::NegativeIwBound => &self.negative_iw_bound,
        }
    }
}

impl<E, D, L, const X: usize> Vae<E, D, L, X>
where
    E: Encoder<X>,
    D: Decoder<X>,
    L: Likelihood,
{
    /// The three anomaly scores of each example, with `samples` posterior draws (`chunk` at a
    /// time) shared by the ELBO and the importance-weighted bound, so both come from one set
    /// of decodes. Seed the device for reproducible scores.
    ///
    /// # Shapes
    /// - x: `[batch, ...]`; every score: `[batch]`
    ///
    /// # Panics
    /// If `samples` or `chunk` is zero.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use burn::tensor::Distribution;
    /// use vae_model::VaeConfig;
    /// use vae_model::applications::AnomalyScore;
    ///
    /// let device = Device::flex();
    /// let config = VaeConfig::new().with_input_dim(6).with_hidden_dims(vec![8]);
    /// let vae = config.with_latent_dim(2).init(&device);
    /// let x = Tensor::<2>::random([4, 6], Distribution::Default, &device);
    /// let scores = vae.anomaly_scores(x, None, 32, 8); // 32 posterior draws, 8 at a time
    /// for score in AnomalyScore::ALL {
    ///     assert_eq!(scores.get(score).dims(), [4]);
    /// }
    /// let values = |t: &Tensor<1>| t.clone().into_data().to_vec::<f32>().unwrap();
    /// // From the same draws, the importance-weighted bound is the tighter: -IW <= -ELBO.
    /// let (elbo, iw) = (values(&scores.negative_elbo), values(&scores.negative_iw_bound));
    /// assert!(iw.iter().zip(&elbo).all(|(iw, elbo)| *iw <= elbo + 1e-4));
    /// assert!(values(&scores.reconstruction_error).iter().all(|&e| e >= 0.0));
    /// ```
    pub fn anomaly_scores(
        &self,
        x: Tensor<X>,
        condition: Option<Tensor<2>>,
        samples: usize,
        chunk: usize,
    ) -> AnomalyScores {
        let log_weights = self.log_importance_weights(x.clone(), condition.clone(), samples, chunk);
        self.anomaly_scores_from_weights(x, condition, log_weights)
    }

    /// The three anomaly scores of each example from its log importance weights computed
    /// elsewhere (`[batch, K]`, as [`Vae::log_importance_weights`] returns them; a faster path
    /// for one backend can compute them its own way).
    ///
    /// # Shapes
    /// - x: `[batch, ...]`; log_weights: `[batch, K]`; every score: `[batch]`
    ///
    /// ```
    /// use burn::prelude::*;
    /// use burn::tensor::Distribution;
    /// use vae_model::VaeConfig;
    /// use vae_model::host_bce::bernoulli_log_importance_weights;
    ///
    /// let device = Device::flex();
    /// let config = VaeConfig::new().with_input_dim(6).with_hidden_dims(vec![8]);
    /// let vae = config.with_latent_dim(2).init(&device);
    /// let x = Tensor::<2>::random([4, 6], Distribution::Default, &device);
    /// let _ = vae.loss(x.clone(), None); // parameters initialize on first use, before the seed
    /// // The weights from the host's Bernoulli term (faster on the CPU backends)...
    /// device.seed(3);
    /// let log_weights = bernoulli_log_importance_weights(&vae, x.clone(), None, 16, 8);
    /// let fast = vae.anomaly_scores_from_weights(x.clone(), None, log_weights);
    /// // ... give the scores of the tensor path, from the same draws, up to f32 rounding.
    /// device.seed(3);
    /// let reference = vae.anomaly_scores(x, None, 16, 8);
    /// let values = |t: Tensor<1>| t.into_data().to_vec::<f32>().unwrap();
    /// let fast = values(fast.negative_iw_bound);
    /// let reference = values(reference.negative_iw_bound);
    /// assert!(fast.iter().zip(&reference).all(|(a, b)| (a - b).abs() < 1e-3));
    /// ```
    pub fn anomaly_scores_from_weights(
        &self,
        x: Tensor<X>,
        condition: Option<Tensor<2>>,
        log_weights: Tensor<2>,
    ) -> AnomalyScores {
        let reconstruction = self.reconstruct(x.clone(), condition);
        let difference = x - reconstruction;
        let reconstruction_error = sum_per_example(difference.clone() * difference);
        let negative_elbo = log_weights.clone().mean_dim(1).squeeze_dim::<1>(1).neg();
        let negative_iw_bound = log_mean_exp(log_weights).neg();
        AnomalyScores {
            reconstruction_error,
            negative_elbo,
            negative_iw_bound,
        }
    }
}
