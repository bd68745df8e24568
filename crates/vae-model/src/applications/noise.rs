//! Corruptions for denoising experiments (Im et al. 2017): additive Gaussian noise clipped to
//! `[0, 1]`, and salt-and-pepper noise. Both draw from the device's random stream: seed it with
//! `device.seed(..)` for reproducible corruptions.

use burn::prelude::*;
use burn::tensor::Distribution;

/// `clamp(x + sigma * N(0, 1), 0, 1)`, element by element, for data in `[0, 1]`.
///
/// # Shapes
/// - x, output: any
pub fn gaussian_noise<const D: usize>(x: Tensor<D>, sigma: f64) -> Tensor<D> {
    let noise = Tensor::random(x.shape(), Distribution::Normal(0.0, 1.0), &x.device());
    (x + noise.mul_scalar(sigma)).clamp(0.0, 1.0)
}

/// Each element, with probability `fraction`, replaced by 0 (pepper) or 1 (salt) with equal
/// odds; the others kept.
///
/// # Shapes
/// - x, output: any
pub fn salt_and_pepper<const D: usize>(x: Tensor<D>, fraction: f64) -> Tensor<D> {
    let device = x.device();
    let hit = Tensor::<D>::random(x.shape(), Distribution::Default, &device).lower_elem(fraction);
    let salt = Tensor::<D>::random(x.shape(), Distribution::Default, &device)
        .lower_elem(0.5)
        .float();
    x.mask_where(hit, salt)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn gaussian_noise_has_the_asked_spread_and_stays_in_range() {
        let device = Device::flex();
        device.seed(11);
        let x = Tensor::<2>::full([200, 500], 0.5, &device);
        let noisy = values(gaussian_noise(x, 0.1));
        assert!(noisy.iter().all(|v| (0.0..=1.0).contains(v)));
        let n = noisy.len() as f64;
        let mean = noisy.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let sd = (noisy
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n)
            .sqrt();
        // 100,000 draws: the mean within 0.002 of 0.5, the spread within 2 % of 0.1.
        assert!((mean - 0.5).abs() < 0.002, "{mean}");
        assert!((sd - 0.1).abs() < 0.002, "{sd}");
        // At sigma 0.5 around 0.9, clipping puts many pixels at exactly 1.
        let clipped = values(gaussian_noise(
            Tensor::<2>::full([100, 100], 0.9, &device),
            0.5,
        ));
        let ones = clipped.iter().filter(|&&v| v == 1.0).count() as f64 / 10_000.0;
        // P(N(0.9, 0.5) > 1) = P(Z > 0.2) = 0.42.
        assert!((ones - 0.42).abs() < 0.03, "{ones}");
    }

    #[test]
    fn salt_and_pepper_changes_the_asked_fraction_half_to_each_extreme() {
        let device = Device::flex();
        device.seed(12);
        let x = Tensor::<2>::full([200, 500], 0.5, &device);
        let noisy = values(salt_and_pepper(x, 0.2));
        let n = noisy.len() as f64;
        let salt = noisy.iter().filter(|&&v| v == 1.0).count() as f64 / n;
        let pepper = noisy.iter().filter(|&&v| v == 0.0).count() as f64 / n;
        let kept = noisy.iter().filter(|&&v| v == 0.5).count() as f64 / n;
        assert!((salt - 0.1).abs() < 0.005, "{salt}");
        assert!((pepper - 0.1).abs() < 0.005, "{pepper}");
        assert!((salt + pepper + kept - 1.0).abs() < 1e-12);
        // No corruption at fraction 0.
        let clean = values(salt_and_pepper(
            Tensor::<2>::full([10, 10], 0.3, &device),
            0.0,
        ));
        assert!(clean.iter().all(|&v| v == 0.3));
    }
}
