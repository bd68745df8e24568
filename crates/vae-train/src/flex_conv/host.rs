//! The host loops of the convolution gradients: `im2col` (each window of an image as one row),
//! its adjoint `col2im` (each row added back into the window it came from), and the per-image
//! transposes between `[channels, pixels]` planes and rows of pixels. Images are split across
//! rayon's pool, the one flex's matrix products run on.

use rayon::prelude::*;

/// Where a convolution's windows lie on an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Windows {
    /// The image's height and width.
    pub image: [usize; 2],
    /// The kernel's height and width.
    pub kernel: [usize; 2],
    /// The step between windows, per axis.
    pub stride: [usize; 2],
    /// Zeros added before the first row and column (and as needed after the last).
    pub padding: [usize; 2],
    /// The grid of window positions: a convolution's output height and width (a transposed
    /// convolution's input).
    pub grid: [usize; 2],
}

impl Windows {
    /// Window positions per image.
    pub fn positions(&self) -> usize {
        self.grid[0] * self.grid[1]
    }

    /// Values per window and channel.
    pub fn taps(&self) -> usize {
        self.kernel[0] * self.kernel[1]
    }

    /// Calls `f(row, tap, pixel, len)` for every run of taps of one kernel row that lies inside
    /// the image: window position `row` (row-major over the grid), its taps `tap..tap + len`
    /// (within one channel's `kernel` taps) and the image's pixels `pixel..pixel + len` (within
    /// one channel's plane). Taps on the padding are skipped.
    #[inline]
    fn for_each_run(&self, mut f: impl FnMut(usize, usize, usize, usize)) {
        let [height, width] = self.image.map(|v| v as isize);
        let [kh, kw] = self.kernel;
        for oy in 0..self.grid[0] {
            let y0 = (oy * self.stride[0]) as isize - self.padding[0] as isize;
            for ox in 0..self.grid[1] {
                let x0 = (ox * self.stride[1]) as isize - self.padding[1] as isize;
                let kx_lo = (-x0).clamp(0, kw as isize) as usize;
                let kx_hi = (width - x0).clamp(0, kw as isize) as usize;
                if kx_lo >= kx_hi {
                    continue;
                }
                let row = oy * self.grid[1] + ox;
                for ky in 0..kh {
                    let y = y0 + ky as isize;
                    if y < 0 || y >= height {
                        continue;
                    }
                    let pixel = y as usize * self.image[1] + (x0 + kx_lo as isize) as usize;
                    f(row, ky * kw + kx_lo, pixel, kx_hi - kx_lo);
                }
            }
        }
    }
}

/// The windows of `batch` images of `channels` planes (`[batch, channels, height, width]`,
/// row-major) as rows: `[batch * positions, channels * taps]`, row `(n, oy, ox)`, column
/// `(c, ky, kx)`, zero where a tap falls on the padding.
pub fn im2col(images: &[f32], batch: usize, channels: usize, windows: &Windows) -> Vec<f32> {
    let pixels = windows.image[0] * windows.image[1];
    let row_len = channels * windows.taps();
    let per_image = windows.positions() * row_len;
    let mut cols = vec![0.0; batch * per_image];
    if per_image == 0 || pixels == 0 {
        return cols;
    }
    cols.par_chunks_mut(per_image)
        .zip(images.par_chunks(channels * pixels))
        .for_each(|(out, image)| {
            let taps = windows.taps();
            windows.for_each_run(|row, tap, pixel, len| {
                let out = &mut out[row * row_len + tap..];
                for c in 0..channels {
                    copy_run(
                        &mut out[c * taps..][..len],
                        &image[c * pixels + pixel..][..len],
                    );
                }
            });
        });
    cols
}

/// `dst = src` for a run of a kernel row: four values (the conv networks' 4×4 kernels) as one
/// fixed-size copy instead of a call to `memcpy` for 16 bytes.
#[inline(always)]
fn copy_run(dst: &mut [f32], src: &[f32]) {
    match (
        <&mut [f32; 4]>::try_from(&mut *dst),
        <&[f32; 4]>::try_from(src),
    ) {
        (Ok(dst), Ok(src)) => *dst = *src,
        _ => dst.iter_mut().zip(src).for_each(|(d, s)| *d = *s),
    }
}

/// The adjoint of [`im2col`]: every row's values added back onto the pixels their window
/// covers, `[batch, channels, height, width]`.
pub fn col2im(cols: &[f32], batch: usize, channels: usize, windows: &Windows) -> Vec<f32> {
    let pixels = windows.image[0] * windows.image[1];
    let row_len = channels * windows.taps();
    let per_image = windows.positions() * row_len;
    let mut images = vec![0.0; batch * channels * pixels];
    if per_image == 0 || pixels == 0 {
        return images;
    }
    images
        .par_chunks_mut(channels * pixels)
        .zip(cols.par_chunks(per_image))
        .for_each(|(image, rows)| {
            let taps = windows.taps();
            windows.for_each_run(|row, tap, pixel, len| {
                let rows = &rows[row * row_len + tap..];
                for c in 0..channels {
                    let target = &mut image[c * pixels + pixel..][..len];
                    for (t, v) in target.iter_mut().zip(&rows[c * taps..][..len]) {
                        *t += v;
                    }
                }
            });
        });
    images
}

/// `[batch, channels, pixels]` planes to rows of pixels, `[batch * pixels, channels]`.
pub fn planes_to_rows(planes: &[f32], batch: usize, channels: usize, pixels: usize) -> Vec<f32> {
    let mut rows = vec![0.0; batch * channels * pixels];
    if channels * pixels == 0 {
        return rows;
    }
    rows.par_chunks_mut(channels * pixels)
        .zip(planes.par_chunks(channels * pixels))
        .for_each(|(out, image)| {
            for (c, plane) in image.chunks_exact(pixels).enumerate() {
                for (p, &value) in plane.iter().enumerate() {
                    out[p * channels + c] = value;
                }
            }
        });
    rows
}

/// The inverse of [`planes_to_rows`]: `[batch * pixels, channels]` to `[batch, channels, pixels]`.
pub fn rows_to_planes(rows: &[f32], batch: usize, channels: usize, pixels: usize) -> Vec<f32> {
    let mut planes = vec![0.0; batch * channels * pixels];
    if channels * pixels == 0 {
        return planes;
    }
    planes
        .par_chunks_mut(channels * pixels)
        .zip(rows.par_chunks(channels * pixels))
        .for_each(|(out, image)| {
            for (p, row) in image.chunks_exact(channels).enumerate() {
                for (c, &value) in row.iter().enumerate() {
                    out[c * pixels + p] = value;
                }
            }
        });
    planes
}

/// Adds `bias[c]` to every pixel of channel `c` in `[batch, channels, pixels]`.
pub fn add_channel_bias(planes: &mut [f32], bias: &[f32], pixels: usize) {
    if pixels == 0 || bias.is_empty() {
        return;
    }
    planes
        .par_chunks_mut(bias.len() * pixels)
        .for_each(|image| {
            for (plane, &b) in image.chunks_exact_mut(pixels).zip(bias) {
                plane.iter_mut().for_each(|v| *v += b);
            }
        });
}

/// The sum of each channel over the batch and the pixels: a bias's gradient from
/// `[batch, channels, pixels]`.
pub fn channel_sums(planes: &[f32], batch: usize, channels: usize, pixels: usize) -> Vec<f32> {
    let mut sums = vec![0.0f64; channels];
    for image in planes.chunks_exact(channels * pixels).take(batch) {
        for (sum, plane) in sums.iter_mut().zip(image.chunks_exact(pixels)) {
            *sum += plane.iter().map(|&v| f64::from(v)).sum::<f64>();
        }
    }
    sums.into_iter().map(|s| s as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A direct 2-D convolution (no bias), `[batch, out, grid]` from `[batch, in, image]` and
    /// `[out, in, kh, kw]`: the reference the rows must reproduce.
    fn direct_conv(
        images: &[f32],
        weights: &[f32],
        batch: usize,
        cin: usize,
        cout: usize,
        w: &Windows,
    ) -> Vec<f32> {
        let [ih, iw] = w.image;
        let [kh, kw] = w.kernel;
        let [gh, gw] = w.grid;
        let mut out = vec![0.0; batch * cout * gh * gw];
        for n in 0..batch {
            for o in 0..cout {
                for oy in 0..gh {
                    for ox in 0..gw {
                        let mut sum = 0.0;
                        for c in 0..cin {
                            for ky in 0..kh {
                                for kx in 0..kw {
                                    let y =
                                        (oy * w.stride[0] + ky) as isize - w.padding[0] as isize;
                                    let x =
                                        (ox * w.stride[1] + kx) as isize - w.padding[1] as isize;
                                    if y < 0 || x < 0 || y >= ih as isize || x >= iw as isize {
                                        continue;
                                    }
                                    let (y, x) = (y as usize, x as usize);
                                    sum += images[((n * cin + c) * ih + y) * iw + x]
                                        * weights[((o * cin + c) * kh + ky) * kw + kx];
                                }
                            }
                        }
                        out[((n * cout + o) * gh + oy) * gw + ox] = sum;
                    }
                }
            }
        }
        out
    }

    fn values(len: usize, seed: u32) -> Vec<f32> {
        (0..len)
            .map(|i| {
                ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) % 1000) as f32 / 500.0
                    - 1.0
            })
            .collect()
    }

    fn windows(image: [usize; 2]) -> Windows {
        let grid = [(image[0] + 2 - 4) / 2 + 1, (image[1] + 2 - 4) / 2 + 1];
        Windows {
            image,
            kernel: [4, 4],
            stride: [2, 2],
            padding: [1, 1],
            grid,
        }
    }

    #[test]
    fn rows_times_weights_are_the_convolution_for_even_and_odd_images() {
        for image in [[8, 8], [7, 5]] {
            let w = windows(image);
            let (batch, cin, cout) = (3, 2, 4);
            let x = values(batch * cin * image[0] * image[1], 7);
            let weights = values(cout * cin * 16, 11);
            let cols = im2col(&x, batch, cin, &w);
            let row_len = cin * 16;
            assert_eq!(cols.len(), batch * w.positions() * row_len);
            // rows [batch * positions, cin * taps] times weightsᵀ, then back to planes.
            let mut rows_out = vec![0.0; batch * w.positions() * cout];
            for (r, row) in cols.chunks_exact(row_len).enumerate() {
                for o in 0..cout {
                    rows_out[r * cout + o] = row
                        .iter()
                        .zip(&weights[o * row_len..][..row_len])
                        .map(|(a, b)| a * b)
                        .sum();
                }
            }
            let planes = rows_to_planes(&rows_out, batch, cout, w.positions());
            let expected = direct_conv(&x, &weights, batch, cin, cout, &w);
            for (a, b) in planes.iter().zip(&expected) {
                assert!((a - b).abs() < 1e-4, "{a} vs {b} for {image:?}");
            }
        }
    }

    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        // <im2col(x), r> = <x, col2im(r)> for any x and r.
        for image in [[8, 8], [7, 5], [3, 3]] {
            let w = windows(image);
            let (batch, channels) = (2, 3);
            let x = values(batch * channels * image[0] * image[1], 3);
            let r = values(batch * w.positions() * channels * 16, 5);
            let lhs: f64 = im2col(&x, batch, channels, &w)
                .iter()
                .zip(&r)
                .map(|(a, b)| f64::from(a * b))
                .sum();
            let rhs: f64 = x
                .iter()
                .zip(&col2im(&r, batch, channels, &w))
                .map(|(a, b)| f64::from(a * b))
                .sum();
            assert!(
                (lhs - rhs).abs() < 1e-3 * lhs.abs().max(1.0),
                "{lhs} vs {rhs} for {image:?}"
            );
        }
    }

    #[test]
    fn planes_and_rows_round_trip_and_sum_per_channel() {
        let (batch, channels, pixels) = (2, 3, 5);
        let planes: Vec<f32> = (0..batch * channels * pixels).map(|i| i as f32).collect();
        let rows = planes_to_rows(&planes, batch, channels, pixels);
        // Image 1, pixel 2, channel 1 sits at planes[(1*3+1)*5+2] = 22.
        assert_eq!(rows[(5 + 2) * channels + 1], 22.0);
        assert_eq!(rows_to_planes(&rows, batch, channels, pixels), planes);
        // Channel 0: 0..5 and 15..20.
        assert_eq!(
            channel_sums(&planes, batch, channels, pixels)[0],
            (0..5).chain(15..20).sum::<i32>() as f32
        );
    }
}
