//! How many posterior samples `evaluate`, `score` and the experiments draw per image, and how
//! many images and samples they decode at once, checked against the memory limit.

use crate::config::MAX_DECODED_BYTES;
use crate::inspect::InspectError;

/// Posterior samples per image, and the batch and chunk they are drawn in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sampling {
    /// Posterior samples per image (K).
    pub samples: usize,
    /// Samples decoded at once per image (at most `samples`).
    pub chunk: usize,
    /// Images per batch.
    pub batch_size: usize,
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
        })
    }
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
}
