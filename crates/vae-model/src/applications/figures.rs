//! Host-side figures that judge an application: the area under the ROC curve of a score, and
//! the peak signal-to-noise ratio of an image against its clean original.

/// Why a figure cannot be computed from the values given.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FigureError {
    /// The two inputs have different lengths.
    #[error("{what}: {left} values against {right}; give one per example")]
    LengthMismatch {
        /// Which inputs.
        what: &'static str,
        /// The first input's length.
        left: usize,
        /// The second's.
        right: usize,
    },
    /// There are no values.
    #[error("{what} is empty")]
    Empty {
        /// Which input.
        what: &'static str,
    },
    /// AUROC needs examples of both kinds.
    #[error(
        "AUROC needs both normal and anomalous examples, but there are {normal} normal and \
         {anomalous} anomalous"
    )]
    OneClass {
        /// Normal examples.
        normal: usize,
        /// Anomalous examples.
        anomalous: usize,
    },
    /// A value is NaN or infinite.
    #[error("{what} holds a value that is not finite (at index {index})")]
    NotFinite {
        /// Which input.
        what: &'static str,
        /// Where.
        index: usize,
    },
}

fn check_finite(values: &[f64], what: &'static str) -> Result<(), FigureError> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(FigureError::NotFinite { what, index }),
        None => Ok(()),
    }
}

/// The area under the ROC curve of `scores` (higher = more anomalous) for separating the
/// examples with `anomalous[i] = true` from the rest: the probability that a random anomalous
/// example scores above a random normal one, ties counting one half (the Mann-Whitney U
/// statistic over the product of the two counts, with average ranks for ties).
///
/// ```
/// use vae_model::applications::auroc;
///
/// // One of the four (anomalous, normal) pairs is ordered wrongly: 3/4.
/// let area = auroc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]).unwrap();
/// assert!((area - 0.75).abs() < 1e-12);
/// ```
pub fn auroc(scores: &[f64], anomalous: &[bool]) -> Result<f64, FigureError> {
    if scores.len() != anomalous.len() {
        return Err(FigureError::LengthMismatch {
            what: "AUROC scores and labels",
            left: scores.len(),
            right: anomalous.len(),
        });
    }
    check_finite(scores, "the scores")?;
    let positives = anomalous.iter().filter(|&&a| a).count();
    let negatives = anomalous.len() - positives;
    if positives == 0 || negatives == 0 {
        return Err(FigureError::OneClass {
            normal: negatives,
            anomalous: positives,
        });
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Sum of the (1-based, tie-averaged) ranks of the anomalous examples.
    let mut rank_sum = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && scores[order[end]] == scores[order[start]] {
            end += 1;
        }
        let average_rank = (start + 1 + end) as f64 / 2.0;
        let tied_anomalous = order[start..end].iter().filter(|&&i| anomalous[i]).count();
        rank_sum += average_rank * tied_anomalous as f64;
        start = end;
    }
    let (p, n) = (positives as f64, negatives as f64);
    Ok((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// The peak signal-to-noise ratio of `image` against `clean`, in dB, for values in `[0, 1]`:
/// `10 log10(1 / MSE)`; infinite when the two are equal.
///
/// ```
/// use vae_model::applications::psnr;
///
/// // Every pixel off by 0.1: MSE 0.01, 20 dB.
/// let db = psnr(&[0.1, 0.6, 1.0], &[0.0, 0.5, 0.9]).unwrap();
/// assert!((db - 20.0).abs() < 1e-9);
/// ```
pub fn psnr(image: &[f64], clean: &[f64]) -> Result<f64, FigureError> {
    if image.is_empty() {
        return Err(FigureError::Empty { what: "the image" });
    }
    if image.len() != clean.len() {
        return Err(FigureError::LengthMismatch {
            what: "PSNR image and clean image",
            left: image.len(),
            right: clean.len(),
        });
    }
    check_finite(image, "the image")?;
    check_finite(clean, "the clean image")?;
    let mse = image
        .iter()
        .zip(clean)
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        / image.len() as f64;
    Ok(-10.0 * mse.log10())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auroc_of_a_perfect_a_reversed_and_a_useless_score() {
        let labels = [false, false, true, true];
        assert_eq!(auroc(&[0.0, 1.0, 2.0, 3.0], &labels), Ok(1.0));
        assert_eq!(auroc(&[3.0, 2.0, 1.0, 0.0], &labels), Ok(0.0));
        assert_eq!(auroc(&[5.0; 4], &labels), Ok(0.5));
    }

    #[test]
    fn auroc_counts_ties_across_the_classes_as_one_half() {
        // Pairs (anomalous, normal): (2,1) right, (2,2) tie, (3,1) right, (3,2) right,
        // (2,4) wrong, (3,4) wrong: (3 + 0.5) / 6.
        let scores = [1.0, 2.0, 4.0, 2.0, 3.0];
        let labels = [false, false, false, true, true];
        let area = auroc(&scores, &labels).unwrap();
        assert!((area - 3.5 / 6.0).abs() < 1e-12, "{area}");
    }

    #[test]
    fn auroc_does_not_depend_on_the_order_of_the_examples() {
        let scores = [0.3, 0.9, 0.1, 0.5, 0.5, 0.7, 0.2];
        let labels = [false, true, false, true, false, true, false];
        let forward = auroc(&scores, &labels).unwrap();
        let reversed_scores: Vec<f64> = scores.iter().rev().copied().collect();
        let reversed_labels: Vec<bool> = labels.iter().rev().copied().collect();
        assert_eq!(auroc(&reversed_scores, &reversed_labels).unwrap(), forward);
        // By hand: 3 anomalous x 4 normal = 12 pairs; 0.9 and 0.7 beat all 4, 0.5 beats 0.3,
        // 0.1, 0.2 and ties 0.5: (4 + 4 + 3.5) / 12.
        assert!((forward - 11.5 / 12.0).abs() < 1e-12, "{forward}");
    }

    #[test]
    fn auroc_refuses_one_class_mismatched_lengths_and_nan() {
        assert_eq!(
            auroc(&[1.0, 2.0], &[true, true]),
            Err(FigureError::OneClass {
                normal: 0,
                anomalous: 2
            })
        );
        assert!(matches!(
            auroc(&[1.0], &[true, false]),
            Err(FigureError::LengthMismatch { .. })
        ));
        assert_eq!(
            auroc(&[1.0, f64::NAN], &[true, false]),
            Err(FigureError::NotFinite {
                what: "the scores",
                index: 1
            })
        );
    }

    #[test]
    fn psnr_by_hand_and_of_identical_images() {
        // Errors 0.5 and 0: MSE 0.125, 10 log10(8) dB.
        let db = psnr(&[0.5, 1.0], &[0.0, 1.0]).unwrap();
        assert!((db - 10.0 * 8f64.log10()).abs() < 1e-12, "{db}");
        assert_eq!(psnr(&[0.2, 0.3], &[0.2, 0.3]), Ok(f64::INFINITY));
        assert_eq!(
            psnr(&[], &[]),
            Err(FigureError::Empty { what: "the image" })
        );
        assert!(psnr(&[0.1], &[0.1, 0.2]).is_err());
    }
}
