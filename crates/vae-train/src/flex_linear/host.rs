//! The host passes of the fused layer: the bias and the activation on the matrix product's
//! output, and backward the activation's derivative on the output gradient together with its
//! sum over the batch. Rows are split across rayon's pool, the one flex's matrix products run
//! on, where a tensor is large enough to repay it.

use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::backend::ops::FloatTensorOps;
use burn::tensor::TensorData;
use rayon::prelude::*;
use vae_model::host_math::{tanh, vectorized};

/// Below this many values a pass stays on the calling thread.
const PARALLEL_FROM: usize = 1 << 15;

/// The activation after a fused layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    /// None: the layer's output as it is.
    Identity,
    /// `max(y, 0)`, NaN kept (as flex's `relu`).
    Relu,
    /// `tanh(y)`, on the host ([`tanh`]).
    Tanh,
}

/// Row blocks of `values` (rows of `width`) for one task each: all of it below
/// [`PARALLEL_FROM`] values, otherwise one block per thread of rayon's pool.
fn block_len(len: usize, width: usize) -> usize {
    let rows = len / width.max(1);
    if len < PARALLEL_FROM {
        return len.max(1);
    }
    rows.div_ceil(rayon::current_num_threads()).max(1) * width.max(1)
}

/// `act(x · weight + bias)`: flex's matrix product, then one pass adding the bias and
/// applying the activation in place.
pub fn forward(x: &FlexTensor, weight: &FlexTensor, bias: &FlexTensor, act: Act) -> FlexTensor {
    let mut y = exclusive(Flex::float_matmul(x.clone(), weight.clone()));
    let bias = contiguous(bias.clone());
    let values: &mut [f32] = y.storage_mut();
    bias_activation_in_place(values, f32s(&bias), act);
    y
}

/// Adds `bias` to every row of `values` (rows of `bias.len()`) and applies `act`, in one pass
/// vectorized for the CPU's SIMD ([`vectorized`]).
pub fn bias_activation_in_place(values: &mut [f32], bias: &[f32], act: Act) {
    let width = bias.len();
    if width == 0 {
        return;
    }
    let block = block_len(values.len(), width);
    let add = |rows: &mut [f32]| {
        vectorized(
            #[inline(always)]
            || {
                for row in rows.chunks_exact_mut(width) {
                    let row = row.iter_mut().zip(bias);
                    match act {
                        Act::Relu => row.for_each(|(v, &b)| {
                            let s = *v + b;
                            *v = if s > 0.0 || s.is_nan() { s } else { 0.0 };
                        }),
                        Act::Tanh => row.for_each(|(v, &b)| *v = tanh(*v + b)),
                        Act::Identity => row.for_each(|(v, &b)| *v += b),
                    }
                }
            },
        )
    };
    if block >= values.len() {
        add(values);
    } else {
        values.par_chunks_mut(block).for_each(add);
    }
}

/// Multiplies each row of the output gradient `grad` by the activation's derivative, read from
/// the layer's output `output` (`None` for the identity), in place, and returns the sum of the
/// rows: the bias's gradient.
pub fn activation_backward_in_place(
    grad: &mut [f32],
    output: Option<&[f32]>,
    width: usize,
    act: Act,
) -> Vec<f32> {
    if width == 0 {
        return Vec::new();
    }
    let block = block_len(grad.len(), width);
    let pass = |(g, y): (&mut [f32], Option<&[f32]>)| {
        // Branch-free loops over whole blocks, vectorized for the CPU's SIMD.
        vectorized(
            #[inline(always)]
            || {
                match (act, y) {
                    // The gradient where the output is positive or NaN (as flex's
                    // `relu_backward`).
                    (Act::Relu, Some(y)) => g.iter_mut().zip(y).for_each(|(g, &o)| {
                        *g = if o > 0.0 || o.is_nan() { *g } else { 0.0 };
                    }),
                    (Act::Tanh, Some(y)) => {
                        g.iter_mut().zip(y).for_each(|(g, &t)| *g *= 1.0 - t * t)
                    }
                    _ => {}
                }
                let mut sums = vec![0.0f32; width];
                for row in g.chunks_exact(width) {
                    sums.iter_mut().zip(row).for_each(|(s, &g)| *s += g);
                }
                sums
            },
        )
    };
    if block >= grad.len() {
        return pass((grad, output));
    }
    let outputs: Vec<Option<&[f32]>> = match output {
        Some(y) => y.chunks(block).map(Some).collect(),
        None => vec![None; grad.len().div_ceil(block)],
    };
    // The blocks' sums added in the blocks' order, whichever thread ran which: the same bits
    // every run on the same number of threads (a resumed run repeats the one it continues).
    let partial: Vec<Vec<f32>> = grad.par_chunks_mut(block).zip(outputs).map(pass).collect();
    partial
        .into_iter()
        .reduce(|mut a, b| {
            a.iter_mut().zip(&b).for_each(|(a, b)| *a += b);
            a
        })
        .unwrap_or_else(|| vec![0.0; width])
}

/// `t` itself when its values are contiguous, else a contiguous copy: for reading.
pub fn contiguous(t: FlexTensor) -> FlexTensor {
    if t.as_slice::<f32>().is_some() {
        t
    } else {
        t.to_contiguous()
    }
}

/// `t` itself when its buffer holds exactly its values and nothing else holds the buffer, else
/// a copy that does: for writing in place.
pub fn exclusive(t: FlexTensor) -> FlexTensor {
    // A strided or broadcast tensor comes back from `contiguous` as a fresh buffer of its own.
    let t = contiguous(t);
    if t.is_unique() && f32s(&t).len() == t.storage::<f32>().len() {
        return t;
    }
    let values = f32s(&t).to_vec();
    FlexTensor::from_data(TensorData::new(values, t.layout().shape().clone()))
}

/// The values of a contiguous `f32` tensor.
pub fn f32s(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>()
        .expect("the fused layer runs on contiguous f32 tensors")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(len: usize, seed: u32) -> Vec<f32> {
        (0..len)
            .map(|i| {
                let h = (i as u32 ^ seed).wrapping_mul(2_654_435_761);
                (h >> 8) as f32 / (1u32 << 24) as f32 * 4.0 - 2.0
            })
            .collect()
    }

    #[test]
    fn bias_and_activation_match_the_separate_passes_on_one_thread_and_many() {
        for rows in [3, 200] {
            let width = 300;
            let bias = values(width, 7);
            let x = values(rows * width, 1);
            for act in [Act::Identity, Act::Relu, Act::Tanh] {
                let mut fused = x.clone();
                bias_activation_in_place(&mut fused, &bias, act);
                for (i, (&f, &v)) in fused.iter().zip(&x).enumerate() {
                    let s = v + bias[i % width];
                    let expected = match act {
                        Act::Identity => s,
                        Act::Relu => s.max(0.0),
                        Act::Tanh => s.tanh(),
                    };
                    assert!(
                        (f - expected).abs() <= 3e-7,
                        "{act:?} [{i}]: {f} vs {expected}"
                    );
                }
            }
        }
    }

    #[test]
    fn relu_keeps_nan_forward_and_backward() {
        let mut y = vec![f32::NAN, -1.0, 2.0];
        bias_activation_in_place(&mut y, &[0.0, 0.0, 0.0], Act::Relu);
        assert!(y[0].is_nan());
        assert_eq!(&y[1..], &[0.0, 2.0]);
        let mut grad = vec![5.0, 5.0, 5.0];
        let sums = activation_backward_in_place(&mut grad, Some(&y), 3, Act::Relu);
        assert_eq!(grad, vec![5.0, 0.0, 5.0]);
        assert_eq!(sums, grad);
    }

    #[test]
    fn backward_applies_the_derivative_and_sums_the_rows_on_one_thread_and_many() {
        for rows in [4, 300] {
            let width = 250;
            let output = values(rows * width, 3);
            let upstream = values(rows * width, 5);
            for act in [Act::Identity, Act::Relu, Act::Tanh] {
                let mut grad = upstream.clone();
                let out = (act != Act::Identity).then_some(output.as_slice());
                let sums = activation_backward_in_place(&mut grad, out, width, act);
                let mut expected_sums = vec![0.0f64; width];
                for (i, (&g, &u)) in grad.iter().zip(&upstream).enumerate() {
                    let o = output[i];
                    let expected = match act {
                        Act::Identity => u,
                        Act::Relu => {
                            if o > 0.0 {
                                u
                            } else {
                                0.0
                            }
                        }
                        Act::Tanh => u * (1.0 - o * o),
                    };
                    assert_eq!(g, expected, "{act:?} [{i}]");
                    expected_sums[i % width] += f64::from(expected);
                }
                for (s, e) in sums.iter().zip(&expected_sums) {
                    assert!(
                        (f64::from(*s) - e).abs() <= 1e-4 * (1.0 + e.abs()),
                        "{s} vs {e}"
                    );
                }
            }
        }
    }
}
