//! PNG grids of images (greyscale or RGB), in the layout of torchvision's `save_image`.

use std::path::Path;

use image::{Rgb, RgbImage};
use vae_model::ImageShape;

/// Padding between tiles, in pixels (torchvision's default is 2).
const PADDING: u32 = 2;

/// Writes `images` (each `shape.elements()` intensities in `[0, 1]`, channel by channel,
/// each row-major) as a grid with `columns` tiles per row, each pixel drawn as a `scale` x
/// `scale` block: a greyscale PNG for one channel, RGB for three.
pub fn save_grid(
    path: &Path,
    images: &[f32],
    shape: ImageShape,
    columns: usize,
    scale: u32,
) -> Result<(), image::ImageError> {
    let values = shape.elements().max(1);
    let plane = shape.height * shape.width;
    let count = images.len() / values;
    // No empty columns: a wide `columns` for few images would only widen the canvas.
    let columns = columns.clamp(1, count.max(1));
    let rows = count.div_ceil(columns);
    let (tile_width, tile_height) = (shape.width as u32 * scale, shape.height as u32 * scale);
    let width = columns as u32 * (tile_width + PADDING) + PADDING;
    let height = rows as u32 * (tile_height + PADDING) + PADDING;
    let mut canvas = RgbImage::from_pixel(width, height, Rgb([0, 0, 0]));
    let level = |value: f32| (value.clamp(0.0, 1.0) * 255.0).round() as u8;
    for (index, image) in images.chunks_exact(values).enumerate() {
        let left = PADDING + (index % columns) as u32 * (tile_width + PADDING);
        let top = PADDING + (index / columns) as u32 * (tile_height + PADDING);
        for offset in 0..plane {
            let channel = |c: usize| level(image[(c.min(shape.channels - 1)) * plane + offset]);
            let colour = Rgb([channel(0), channel(1), channel(2)]);
            let (x, y) = ((offset % shape.width) as u32, (offset / shape.width) as u32);
            for dy in 0..scale {
                for dx in 0..scale {
                    canvas.put_pixel(left + x * scale + dx, top + y * scale + dy, colour);
                }
            }
        }
    }
    if shape.channels == 1 {
        image::DynamicImage::ImageRgb8(canvas).to_luma8().save(path)
    } else {
        canvas.save(path)
    }
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
        save_grid(&path, &images, crate::config::IDX_IMAGE_SHAPE, 2, 2).unwrap();
        let grid = image::open(&path).unwrap();
        assert_eq!(grid.color(), image::ColorType::L8);
        let grid = grid.to_luma8();
        assert_eq!(grid.dimensions(), (2 * 58 + 2, 2 * 58 + 2));
        assert_eq!(grid.get_pixel(2, 2)[0], 0);
        assert_eq!(grid.get_pixel(2 + 58 + 10, 2 + 10)[0], 255);
    }

    #[test]
    fn rgb_tiles_keep_their_channels() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rgb.png");
        let shape = ImageShape {
            channels: 3,
            height: 2,
            width: 3,
        };
        // One tile: red plane 1, green 0, blue 0.5.
        let mut image = vec![1.0f32; 6];
        image.extend([0.0; 6]);
        image.extend([0.5; 6]);
        save_grid(&path, &image, shape, 1, 1).unwrap();
        let grid = image::open(&path).unwrap();
        assert_eq!(grid.color(), image::ColorType::Rgb8);
        let grid = grid.to_rgb8();
        assert_eq!(grid.dimensions(), (3 + 4, 2 + 4));
        assert_eq!(grid.get_pixel(2 + 2, 2 + 1).0, [255, 0, 128]);
        assert_eq!(grid.get_pixel(0, 0).0, [0, 0, 0]);
    }
}
