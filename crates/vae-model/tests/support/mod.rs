//! What vae-model's integration tests share: the lock on Flex's process-wide random number
//! generator, reading tensors back, and comparing with reference values. Each test binary uses
//! a part of it.
#![allow(dead_code)]

use std::sync::{Mutex, MutexGuard};

use burn::prelude::*;

/// Flex's random number generator is global to the process and tests run in parallel threads:
/// every test that draws random numbers holds this lock.
static RNG: Mutex<()> = Mutex::new(());

/// Takes the RNG lock, then gives a Flex device seeded with `seed`.
pub fn seeded_flex(seed: u64) -> (MutexGuard<'static, ()>, Device) {
    let guard = lock_rng();
    let device = Device::flex();
    device.seed(seed);
    (guard, device)
}

/// Takes the RNG lock.
pub fn lock_rng() -> MutexGuard<'static, ()> {
    RNG.lock().unwrap_or_else(|e| e.into_inner())
}

/// A float tensor's values, as `f64`.
pub fn values<const D: usize>(tensor: Tensor<D>) -> Vec<f64> {
    tensor
        .into_data()
        .try_to_vec::<f32>()
        .expect("f32 data")
        .into_iter()
        .map(f64::from)
        .collect()
}

/// Asserts `|actual - expected| <= relative * |expected| + absolute` element by element.
pub fn assert_close(
    actual: &[f64],
    expected: impl IntoIterator<Item = f64>,
    relative: f64,
    absolute: f64,
    what: &str,
) {
    let expected: Vec<f64> = expected.into_iter().collect();
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    for (i, (a, e)) in actual.iter().zip(&expected).enumerate() {
        let tolerance = relative * e.abs() + absolute;
        assert!(
            (a - e).abs() <= tolerance,
            "{what}[{i}]: got {a}, reference {e} (tolerance {tolerance})"
        );
    }
}
