//! PNG grids of 28x28 images, in the layout of torchvision's `save_image`.

use std::path::Path;

use image::{GrayImage, Luma};

use crate::data::IMAGE_SIDE;

/// Padding between tiles, in pixels (torchvision's default is 2).
const PADDING: u32 = 2;

/// Writes `images` (each 784 intensities in `[0, 1]`, row-major) as a grid with `columns`
/// tiles per row, each pixel drawn as a `scale` x `scale` block.
pub fn save_grid(
    path: &Path,
    images: &[f32],
    columns: usize,
    scale: u32,
) -> Result<(), image::ImageError> {
    let pixels = IMAGE_SIDE * IMAGE_SIDE;
    let count = images.len() / pixels;
    let rows = count.div_ceil(columns);
    let tile = IMAGE_SIDE as u32 * scale;
    let width = columns as u32 * (tile + PADDING) + PADDING;
    let height = rows as u32 * (tile + PADDING) + PADDING;
    let mut canvas = GrayImage::from_pixel(width, height, Luma([0]));
    for (index, image) in images.chunks_exact(pixels).enumerate() {
        let left = PADDING + (index % columns) as u32 * (tile + PADDING);
        let top = PADDING + (index / columns) as u32 * (tile + PADDING);
        for (offset, &value) in image.iter().enumerate() {
            let level = Luma([(value.clamp(0.0, 1.0) * 255.0).round() as u8]);
            let (x, y) = ((offset % IMAGE_SIDE) as u32, (offset / IMAGE_SIDE) as u32);
            for dy in 0..scale {
                for dx in 0..scale {
                    canvas.put_pixel(left + x * scale + dx, top + y * scale + dy, level);
                }
            }
        }
    }
    canvas.save(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_has_the_documented_size_and_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grid.png");
        let mut images = vec![0.0f32; 3 * 784];
        images[784..2 * 784].fill(1.0); // the second tile is white
        save_grid(&path, &images, 2, 2).unwrap();
        let grid = image::open(&path).unwrap().to_luma8();
        assert_eq!(grid.dimensions(), (2 * 58 + 2, 2 * 58 + 2));
        assert_eq!(grid.get_pixel(2, 2)[0], 0);
        assert_eq!(grid.get_pixel(2 + 58 + 10, 2 + 10)[0], 255);
    }
}
