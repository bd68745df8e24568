//! How many posterior samples `evaluate`, `score` and the experiments draw per image, and how
//! many images and samples they decode at once, checked against the memory limit; and the log
//! importance weights those samples give, with the reconstruction term on the host where that
//! is faster.

use burn::prelude::*;
use vae_model::host_bce::bernoulli_log_importance_weights;

use crate::config::MAX_DECODED_BYTES;
use crate::inspect::InspectError;
use crate::model::CliVae;

/// Posterior samples per image, and the batch and chunk they are drawn in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sampling {
    /// Posterior samples per image (K).
    pub samples: usize,
    /// Samples decoded at once per image (at most `samples`).
    pub chunk: usize,
    /// Images per batch.
    pub batch_size: usize,
    /// Whether the Bernoulli reconstruction term of each sample is computed on the host (see
    /// [`log_importance_weights`]); off unless [`on_host`](Self::on_host) turns it on.
    pub host: bool,
}

impl Sampling {
    /// Checks `--samples`, `--chunk` and `--batch-size`: all at least 1, and `batch_size ×
    /// chunk` decoded images of `values_per_image` (784 for MNIST) within
    /// [`MAX_DECODED_BYTES`]. A chunk larger than `samples` is `samples` (samples beyond K are
    /// never drawn).
    pub fn new(
        samples: usize,
        chunk: usize,
        batch_size: usize,
        values_per_image: usize,
    ) -> Result<Self, InspectError> {
        if samples == 0 {
            return Err(InspectError::Argument(
                "--samples is 0: draw at least 1 posterior sample per image (the importance-\
                 weighted estimate usually takes 1000)"
                    .into(),
            ));
        }
        if chunk == 0 || batch_size == 0 {
            return Err(InspectError::Argument(
                "--chunk and --batch-size must be at least 1".into(),
            ));
        }
        let chunk = chunk.min(samples);
        let pixels = values_per_image.max(1);
        let bytes = batch_size.saturating_mul(chunk).saturating_mul(pixels * 4);
        if bytes > MAX_DECODED_BYTES {
            let fits = (MAX_DECODED_BYTES / batch_size.saturating_mul(pixels * 4)).max(1);
            return Err(InspectError::Argument(format!(
                "--batch-size {batch_size} × --chunk {chunk} decodes {} samples at once ({:.1} \
                 GiB per tensor), over the {} GiB limit on one chunk: lower --chunk to at most \
                 {fits} (the estimate is the same; only memory and speed change) or lower \
                 --batch-size",
                batch_size * chunk,
                bytes as f64 / f64::from(1u32 << 30),
                MAX_DECODED_BYTES >> 30,
            )));
        }
        Ok(Self {
            samples,
            chunk,
            batch_size,
            host: false,
        })
    }

    /// Computes the Bernoulli reconstruction term on the host when `enabled` (the flex backend:
    /// see [`log_importance_weights`]).
    pub fn on_host(self, enabled: bool) -> Self {
        Self {
            host: enabled,
            ..self
        }
    }
}

/// Log importance weights `[batch, samples]` of a batch (as [`vae_model::Vae`]'s own
/// `log_importance_weights`), `sampling.chunk` draws at a time.
///
/// With `sampling.host` and the Bernoulli likelihood, the reconstruction term of each decoded
/// sample is computed on the host by [`bernoulli_log_importance_weights`] (SIMD `exp`/`log1p`
/// on all cores, each image scored against its samples without being copied per sample); on
/// flex that is faster than the tensor formula, whose `exp` and `log1p` are scalar and
/// single-threaded. The weights equal the tensor formula's up to `f32` rounding (tested).
pub fn log_importance_weights(
    model: &CliVae,
    x: Tensor<2>,
    condition: Option<Tensor<2>>,
    sampling: Sampling,
) -> Tensor<2> {
    let Sampling { samples, chunk, .. } = sampling;
    if !(sampling.host && model.likelihood.is_bernoulli()) {
        return model.log_importance_weights(x, condition, samples, chunk);
    }
    bernoulli_log_importance_weights(model, x, condition, samples, chunk)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chunk_is_capped_at_the_samples_and_the_memory_limit_names_the_largest_chunk() {
        assert_eq!(Sampling::new(10, 250, 50, 784).unwrap().chunk, 10);
        let error = Sampling::new(5000, 5000, 1000, 784)
            .unwrap_err()
            .to_string();
        assert!(error.contains("lower --chunk to at most 342"), "{error}");
        assert!(
            Sampling::new(0, 1, 1, 784)
                .unwrap_err()
                .to_string()
                .contains("--samples is 0")
        );
        assert!(Sampling::new(1, 0, 1, 784).is_err() && Sampling::new(1, 1, 0, 784).is_err());
        // A 3×64×64 image is 15.7 times MNIST's: the largest chunk shrinks with it.
        let error = Sampling::new(5000, 5000, 1000, 3 * 64 * 64)
            .unwrap_err()
            .to_string();
        assert!(error.contains("lower --chunk to at most 21"), "{error}");
    }

    #[test]
    fn host_weights_equal_the_tensor_formulas_for_the_same_draws() {
        use crate::model::build_model;
        let device = Device::flex();
        let config = crate::config::TrainingConfig::default();
        let model = build_model(&config, &device).expect("the parity config builds");
        let pixels: Vec<f32> = (0..3 * 784).map(|i| (i % 13) as f32 / 12.0).collect();
        let x = Tensor::<2>::from_data(TensorData::new(pixels, [3, 784]), &device);
        let sampling = Sampling::new(7, 3, 3, 784).unwrap();
        let weights = |sampling: Sampling| {
            device.seed(5);
            log_importance_weights(&model, x.clone(), None, sampling)
                .into_data()
                .try_to_vec::<f32>()
                .unwrap()
        };
        // Burn initializes the weights lazily, from the random stream, at the first forward
        // pass: do that before the seeded runs, so that both draw the same noise.
        let _ = model.reconstruct(x.clone(), None).into_data();
        let tensor = weights(sampling);
        let host = weights(sampling.on_host(true));
        assert_eq!(tensor.len(), 3 * 7);
        for (a, b) in tensor.iter().zip(&host) {
            assert!((a - b).abs() < 1e-3 * a.abs().max(1.0), "{a} vs {b}");
        }
        // Not the same numbers by accident: the draws differ per sample.
        assert!(tensor.windows(2).any(|w| w[0] != w[1]));
    }
}
