//! How the decoder's output bias starts: as the layer's own initialiser draws it, or at the
//! logit of the training images' mean (Burda et al. 2016's released code).

use serde::{Deserialize, Serialize};

use crate::error::InvalidConfig;

/// The mean intensity is clipped to `[CLIP, 1 - CLIP]` before its logit (as in the IWAE code).
pub const MEAN_CLIP: f64 = 1e-3;

/// The decoder's output bias at the start of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DecoderBiasChoice {
    /// Drawn by the layer's initialiser, like every other parameter.
    #[default]
    Default,
    /// The logit of the mean training image: per pixel for the MLP decoder, per channel (the
    /// logit of the channel's mean) for the conv decoder. Logit likelihoods only.
    DataLogit,
}

impl DecoderBiasChoice {
    /// `data-logit` needs a likelihood whose parameters are logits.
    pub fn validate(self, likelihood: &str) -> Result<(), InvalidConfig> {
        if self == Self::DataLogit && likelihood == "gaussian" {
            return Err(InvalidConfig::new(
                "decoder_output_bias",
                "`decoder_output_bias` is \"data-logit\", which starts the decoder at the logit of \
                 the mean training image, but the gaussian likelihood's parameters are means, not \
                 logits: use \"default\", or a bernoulli or continuous-bernoulli likelihood",
            ));
        }
        Ok(())
    }
}

/// `log(m / (1 - m))` of each mean intensity `m`, clipped to `[MEAN_CLIP, 1 - MEAN_CLIP]`.
pub fn logits_of_means(means: &[f64]) -> Vec<f32> {
    means
        .iter()
        .map(|m| {
            let m = m.clamp(MEAN_CLIP, 1.0 - MEAN_CLIP);
            (m / (1.0 - m)).ln() as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logits_invert_the_sigmoid_and_clip_the_ends() {
        let logits = logits_of_means(&[0.5, 0.25, 0.0, 1.0]);
        assert_eq!(logits[0], 0.0);
        assert!((1.0 / (1.0 + (-logits[1]).exp()) - 0.25).abs() < 1e-6);
        assert!((logits[2] - (MEAN_CLIP / (1.0 - MEAN_CLIP)).ln() as f32).abs() < 1e-6);
        assert_eq!(logits[3], -logits[2]);
        assert!(DecoderBiasChoice::DataLogit.validate("gaussian").is_err());
        assert!(DecoderBiasChoice::DataLogit.validate("bernoulli").is_ok());
    }
}
