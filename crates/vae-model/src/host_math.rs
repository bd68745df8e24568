//! Element-wise maths for the host passes (`exp`, `sigmoid`, `tanh`, `ln(1 + t)`), written as
//! branch-free scalar functions that the compiler vectorizes, and [`vectorized`], which runs a
//! loop over them compiled for the best SIMD the CPU has, chosen at run time (AVX-512 or AVX2
//! with FMA on x86-64, through `pulp`; the portable build otherwise).
//!
//! A binary built for the baseline x86-64 target has only SSE2 at compile time: a SIMD type
//! such as `wide`'s `f32x8` then runs as two 4-lane halves, and in the inference of a 784-400-20
//! VAE at batch 1024 the Bernoulli mean's `sigmoid` took a tenth of the time (`perf`, flex, this
//! project's 2-core AMD EPYC). Compiled for AVX-512 the same loop does 16 lanes at a time.
//!
//! The functions only add, multiply, divide, compare and move bits, and never fuse a multiply
//! with an add, so each lane rounds as the scalar code does: a value is the same bits whichever
//! SIMD ran it, and however a slice is split across threads.
//!
//! ```
//! use vae_model::host_math::{exp, sigmoid, tanh, vectorized};
//!
//! let mut values: Vec<f32> = (-40..=40).map(|i| i as f32 * 0.25).collect();
//! let scalar: Vec<f32> = values.iter().map(|&v| sigmoid(v)).collect();
//! vectorized(|| values.iter_mut().for_each(|v| *v = sigmoid(*v)));
//! assert_eq!(values, scalar);
//! assert!((exp(1.0) - std::f32::consts::E).abs() < 3e-7);
//! assert!((tanh(0.5) - 0.5f32.tanh()).abs() < 3e-7);
//! ```

use rayon::prelude::*;

/// Runs `f` compiled for AVX-512 where the CPU has it, else AVX2 with FMA, else as it is (`pulp`
/// decides at run time; other architectures get what `pulp` knows for them). The loops in `f`
/// are vectorized for that SIMD when they are inlined into it, so `f` and what it calls should
/// be `#[inline(always)]`, as the functions of this module are.
#[inline(always)]
pub fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if let Some(simd) = pulp::x86::V4::try_new() {
            return pulp::Simd::vectorize(simd, f);
        }
        if let Some(simd) = pulp::x86::V3::try_new() {
            return pulp::Simd::vectorize(simd, f);
        }
        f()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        pulp::Arch::new().dispatch(f)
    }
}

/// Replaces each value `v` by `f(v)` under [`vectorized`], in at most `tasks` parts on rayon's
/// pool (the one Burn's flex backend runs its matmuls on, awake during a training step).
#[inline(always)]
pub fn map_in_place<F>(values: &mut [f32], tasks: usize, f: F)
where
    F: Fn(f32) -> f32 + Sync + Copy,
{
    let tasks = tasks.max(1);
    // Below about 16k values a task costs more than it saves.
    let per_task = values.len().div_ceil(tasks).max(1 << 14);
    let slice = |values: &mut [f32]| {
        vectorized(
            #[inline(always)]
            || values.iter_mut().for_each(|v| *v = f(*v)),
        )
    };
    if values.len() <= per_task {
        return slice(values);
    }
    values.par_chunks_mut(per_task).for_each(slice);
}

/// `1.5 · 2^23`: adding it to `|y| < 2^22` rounds `y` to an integer (ties to even) held in the
/// low bits of the sum's representation.
const ROUNDER: f32 = 12_582_912.0;

/// `ln 2`'s first 9 bits (0.693359375) ...
const LN_2_HIGH: f32 = 355.0 / 512.0;
/// ... and the rest, to `f32`'s precision.
const LN_2_LOW: f32 = -2.121_944_4e-4;

/// `e^x`, within 2 units in the last place over the normal range (Cephes' `expf`: `x = n ln 2
/// + r`, `|r| ≤ ln 2 / 2`, and a degree-7 polynomial for `e^r`), gradually underflowing to 0 below
/// `x ≈ -87.3`, `inf` above `x ≈ 88.72`, NaN for NaN.
///
/// ```
/// use vae_model::host_math::exp;
///
/// for x in [-80.0f32, -20.0, -1.0, 0.0, 0.3, 10.0, 88.0] {
///     let exact = f64::from(x).exp();
///     assert!((f64::from(exp(x)) - exact).abs() <= 3e-7 * exact, "{x}");
/// }
/// assert_eq!(exp(f32::NEG_INFINITY), 0.0);
/// assert_eq!(exp(f32::INFINITY), f32::INFINITY);
/// assert!(exp(f32::NAN).is_nan());
/// ```
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    // Clamped to where e^x is neither 0 nor inf in f32 and a little beyond; NaN passes (the
    // comparisons are false) and makes every later step NaN.
    let x = if x < -104.0 { -104.0 } else { x };
    let x = if x > 89.0 { 89.0 } else { x };
    // n = round(x / ln 2), in [-150, 128], as a float and as an integer.
    let shifted = x * std::f32::consts::LOG2_E + ROUNDER;
    let n = shifted - ROUNDER;
    let n_bits = (shifted.to_bits() as i32).wrapping_sub(ROUNDER.to_bits() as i32);
    // r = x - n ln 2, with ln 2 in two parts so that n · (first part, 9 bits) is exact.
    let r = x - n * LN_2_HIGH - n * LN_2_LOW;
    let mut p = 1.987_569_1e-4;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 0.166_666_65;
    p = p * r + 0.5;
    let e_r = p * (r * r) + r + 1.0;
    // 2^n as two normal powers of two (2^n alone is not one below n = -126): the product rounds
    // once into the subnormals, or overflows to inf.
    let half = n_bits >> 1;
    e_r * pow2(half) * pow2(n_bits.wrapping_sub(half))
}

/// `2^n` for `n` in `[-126, 127]`, from its bits.
#[inline(always)]
fn pow2(n: i32) -> f32 {
    f32::from_bits((n.wrapping_add(127) as u32).wrapping_shl(23))
}

/// `1 / (1 + e^-x)`: `1 / (1 + e)` for `x ≥ 0` and `e / (1 + e)` below, with `e = e^-|x|` in
/// `(0, 1]`, so tiny probabilities keep their relative precision (within 3e-7 of the exact
/// value, relative, while it is a normal `f32`: down to `x ≈ -87`; below, subnormal, then 0 from
/// `x ≈ -103.97`). NaN stays NaN.
///
/// ```
/// use vae_model::host_math::sigmoid;
///
/// assert_eq!(sigmoid(0.0), 0.5);
/// assert_eq!(sigmoid(f32::INFINITY), 1.0);
/// assert_eq!(sigmoid(f32::NEG_INFINITY), 0.0);
/// let exact = 1.0 / (1.0 + 40f64.exp());
/// assert!((f64::from(sigmoid(-40.0)) - exact).abs() < 3e-7 * exact);
/// ```
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    let e = exp(-x.abs());
    (if x >= 0.0 { 1.0 } else { e }) / (1.0 + e)
}

/// `tanh(x) = sign(x) (1 - e) / (1 + e)` with `e = e^(-2|x|)` in `(0, 1]`: within 2.4e-7 of
/// the exact value (absolute; f32's spacing at 1 is 1.2e-7), exactly ±1 far out, `tanh(-0) =
/// -0`, NaN for NaN.
///
/// ```
/// use vae_model::host_math::tanh;
///
/// for x in [-3.0f32, -0.5, 1e-3, 0.5, 20.0] {
///     assert!((tanh(x) - x.tanh()).abs() < 3e-7, "{x}");
/// }
/// assert_eq!(tanh(f32::NEG_INFINITY), -1.0);
/// ```
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let e = exp(-2.0 * x.abs());
    ((1.0 - e) / (1.0 + e)).copysign(x)
}

/// `ln(1 + t)` for `t` in `[0, 1]`: `2 atanh(s)` with `s = t / (2 + t)` in `[0, 1/3]`, by its
/// series to `s^15` (the first term left out is about 1.3e-9 of the sum): within 2.3e-7 of the
/// exact value, relative, for a normal `t`. For `softplus(l) = max(l, 0) + ln(1 + e^-|l|)`.
///
/// ```
/// use vae_model::host_math::ln_1p_unit;
///
/// for t in [0.0f32, 1e-6, 0.1, 0.5, 1.0] {
///     let exact = f64::from(t).ln_1p();
///     assert!((f64::from(ln_1p_unit(t)) - exact).abs() <= 2.3e-7 * exact, "{t}");
/// }
/// ```
#[inline(always)]
pub fn ln_1p_unit(t: f32) -> f32 {
    let s = t / (2.0 + t);
    let s2 = s * s;
    let mut series = 1.0 / 15.0;
    for coefficient in [
        1.0 / 13.0,
        1.0 / 11.0,
        1.0 / 9.0,
        1.0 / 7.0,
        1.0 / 5.0,
        1.0 / 3.0,
        1.0,
    ] {
        series = series * s2 + coefficient;
    }
    (s + s) * series
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `f32` in `[lo, hi]` at `count` even steps, and the ends.
    fn grid(lo: f32, hi: f32, count: usize) -> Vec<f32> {
        (0..=count)
            .map(|i| lo + (hi - lo) * i as f32 / count as f32)
            .collect()
    }

    #[test]
    fn exp_is_within_two_ulps_over_the_normal_range() {
        let mut worst = 0.0f64;
        for x in grid(-87.3, 88.7, 200_000) {
            let exact = f64::from(x).exp();
            // The spacing of f32 at the exact value.
            let near = exact as f32;
            let ulp = f64::from(f32::from_bits(near.to_bits() + 1)) - f64::from(near);
            worst = worst.max((f64::from(exp(x)) - exact).abs() / ulp);
        }
        assert!(worst <= 2.0, "worst error {worst} ulp");
    }

    #[test]
    fn exp_underflows_gradually_and_overflows_to_inf() {
        // Subnormal results: within one subnormal step (1.4e-45) of the exact value.
        for x in grid(-103.0, -87.5, 5_000) {
            let exact = f64::from(x).exp();
            let step = f64::from(f32::from_bits(1));
            assert!((f64::from(exp(x)) - exact).abs() <= step, "{x}");
        }
        assert_eq!(exp(-104.0), 0.0);
        assert_eq!(exp(-1e30), 0.0);
        assert!(exp(88.72) < f32::INFINITY && exp(88.72) > 3.3e38);
        assert_eq!(exp(88.8), f32::INFINITY);
        assert_eq!(exp(1e30), f32::INFINITY);
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(f32::NAN).is_nan());
    }

    /// `f` mapped by [`map_in_place`] (monomorphized for `f` itself, so that the loop inlines
    /// it under the SIMD dispatch) gives, on 1, 2 and 3 tasks, the bits of `f` on each value.
    fn assert_simd_gives_the_scalar_bits<F: Fn(f32) -> f32 + Sync + Copy>(values: &[f32], f: F) {
        let scalar: Vec<u32> = values.iter().map(|&v| f(v).to_bits()).collect();
        for tasks in [1, 2, 3] {
            let mut simd = values.to_vec();
            map_in_place(&mut simd, tasks, f);
            let bits: Vec<u32> = simd.iter().map(|v| v.to_bits()).collect();
            assert_eq!(bits, scalar, "{tasks} tasks");
        }
    }

    #[test]
    fn the_vectorized_loop_gives_the_scalar_bits() {
        // Odd length: the vector body and its scalar tail; values from every branch's range:
        // the clamps, the subnormal results, both infinities, NaN and -0.
        let values: Vec<f32> = (0..100_003)
            .map(|i| (i as f32 * 0.37).sin() * 120.0)
            .chain([f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0, 1e-30])
            .collect();
        assert_simd_gives_the_scalar_bits(&values, exp);
        assert_simd_gives_the_scalar_bits(&values, sigmoid);
        assert_simd_gives_the_scalar_bits(&values, tanh);
        assert_simd_gives_the_scalar_bits(&values, |t: f32| ln_1p_unit(t.abs().min(1.0)));
    }

    #[test]
    fn the_log1p_series_is_within_three_ulp_on_the_unit_interval() {
        let mut worst = 0.0f64;
        for i in 0..=100_000 {
            let t = (i as f32 / 100_000.0).powi(3);
            let series = f64::from(ln_1p_unit(t));
            let exact = f64::from(t).ln_1p();
            if exact > 0.0 {
                worst = worst.max(((series - exact) / exact).abs());
            } else {
                assert_eq!(series, 0.0);
            }
        }
        assert!(
            worst < 3.0 * f64::from(f32::EPSILON),
            "worst relative error {worst:e}"
        );
    }
}
