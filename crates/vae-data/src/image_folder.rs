//! A folder of PNG/JPEG files as a dataset, the way torchvision's `ImageFolder` reads one:
//! one subfolder per class (sorted names give the labels) or, without subfolders, unlabelled
//! images; each converted to greyscale or RGB, resized to the configured size, and split into
//! training and validation images by a seeded shuffle.

use std::path::{Path, PathBuf};

use image::imageops::FilterType;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::dataset::ImageData;
use crate::error::DataError;
use crate::files::Split;

/// File extensions read as images (any case). Other files (a README, `.DS_Store`) are
/// skipped, as torchvision's `ImageFolder` skips them.
pub const IMAGE_EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

/// The most classes (subfolders) a folder may have: a label is one byte.
pub const MAX_CLASSES: usize = 256;

/// The largest `height` or `width` an image folder may be resized to.
pub const MAX_IMAGE_SIDE: usize = 1024;

/// The class name of an image folder without subfolders (every image has label 0).
pub const UNLABELLED_CLASS: &str = "unlabelled";

/// Where and how to read a folder of images: the `image_folder` section of a config.
///
/// ```rust
/// use vae_data::{Dataset, ImageFolderConfig, Split};
///
/// # let tmp = tempfile::tempdir()?;
/// # let photos = tmp.path().join("photos");
/// # for class in ["cats", "dogs"] {
/// #     std::fs::create_dir_all(photos.join(class))?;
/// #     for i in 0..10 {
/// #         let path = photos.join(class).join(format!("{i}.png"));
/// #         image::RgbImage::from_pixel(40, 30, image::Rgb([i * 20, 0, 0])).save(path)?;
/// #     }
/// # }
/// // photos/cats/*.png and photos/dogs/*.png, 10 each: labels 0 (cats) and 1 (dogs).
/// let folder = ImageFolderConfig::new(&photos, 3, 32, 32);
/// let train = folder.load(Split::Train)?;
/// let valid = folder.load(Split::Test)?; // 10 % of the images, the same ones every time
/// assert_eq!((train.len(), valid.len()), (18, 2));
/// assert_eq!(train.shape(), [3, 32, 32]); // resized from 40x30
/// assert_eq!(train.class_names(), ["cats", "dogs"]);
/// assert_eq!(folder.load(Split::Test)?.labels(), valid.labels());
///
/// // As a config section: only `path`, `height` and `width` are required.
/// let json = r#"{ "path": "photos", "height": 28, "width": 28 }"#;
/// let config: ImageFolderConfig = serde_json::from_str(json)?;
/// assert_eq!(config, ImageFolderConfig::new("photos", 1, 28, 28));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageFolderConfig {
    /// The folder: either one subfolder per class (any depth of files below each) or image
    /// files directly inside it (unlabelled). A relative path is resolved against the current
    /// directory.
    pub path: PathBuf,
    /// 1 (greyscale, ITU-R BT.709 luma) or 3 (RGB). An alpha channel is dropped.
    #[serde(default = "default_channels")]
    pub channels: usize,
    /// Height of every image after resizing, in pixels.
    pub height: usize,
    /// Width of every image after resizing, in pixels.
    pub width: usize,
    /// Resize images of another size to `height` × `width` (bilinear, aspect ratio not kept);
    /// `false` makes such an image an error instead. Optional (default `true`).
    #[serde(default = "default_resize")]
    pub resize: bool,
    /// The share of the images held out for validation ([`Split::Test`]), in `[0, 1)`.
    /// Optional (default 0.1).
    #[serde(default = "default_validation_fraction")]
    pub validation_fraction: f64,
    /// Seeds the shuffle that assigns images to the two splits: the same seed and files give
    /// the same split on every machine. Optional (default 0).
    #[serde(default)]
    pub split_seed: u64,
    /// How many class subfolders the folder must hold (a conditional model's one-hot size is
    /// fixed by it); [`load`](Self::load) refuses a folder with another count or without class
    /// subfolders. Optional (default `null`: any count).
    #[serde(default)]
    pub classes: Option<usize>,
}

fn default_channels() -> usize {
    1
}

fn default_resize() -> bool {
    true
}

fn default_validation_fraction() -> f64 {
    0.1
}

/// One image file and its label.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ImageFile {
    path: PathBuf,
    label: u8,
}

impl ImageFolderConfig {
    /// A folder read as `channels` (1 or 3) × `height` × `width` images, resized if needed,
    /// with 10 % held out for validation by seed 0.
    ///
    /// ```rust
    /// use vae_data::ImageFolderConfig;
    ///
    /// let folder = ImageFolderConfig::new("photos", 3, 64, 48);
    /// assert_eq!(folder.shape(), [3, 64, 48]); // [channels, height, width]
    /// assert!(folder.resize);
    /// assert_eq!((folder.validation_fraction, folder.split_seed), (0.1, 0));
    /// ```
    pub fn new(path: impl Into<PathBuf>, channels: usize, height: usize, width: usize) -> Self {
        Self {
            path: path.into(),
            channels,
            height,
            width,
            resize: default_resize(),
            validation_fraction: default_validation_fraction(),
            split_seed: 0,
            classes: None,
        }
    }

    /// `[channels, height, width]` of the images [`load`](Self::load) gives.
    pub fn shape(&self) -> [usize; 3] {
        [self.channels, self.height, self.width]
    }

    /// What is wrong with the settings, if anything (the folder itself is not read).
    ///
    /// ```rust
    /// use vae_data::ImageFolderConfig;
    ///
    /// assert_eq!(ImageFolderConfig::new("photos", 1, 28, 28).problem(), None);
    /// let two_channels = ImageFolderConfig::new("photos", 2, 28, 28).problem().unwrap();
    /// assert!(two_channels.contains("use 1 (greyscale) or 3 (RGB)"));
    /// let mut all_held_out = ImageFolderConfig::new("photos", 1, 28, 28);
    /// all_held_out.validation_fraction = 1.0;
    /// assert!(all_held_out.problem().unwrap().contains("use a share in [0, 1)"));
    /// ```
    pub fn problem(&self) -> Option<String> {
        if self.channels != 1 && self.channels != 3 {
            return Some(format!(
                "`image_folder.channels` is {}: use 1 (greyscale) or 3 (RGB)",
                self.channels
            ));
        }
        for (name, side) in [("height", self.height), ("width", self.width)] {
            if side == 0 || side > MAX_IMAGE_SIDE {
                return Some(format!(
                    "`image_folder.{name}` is {side}: use 1 to {MAX_IMAGE_SIDE} pixels"
                ));
            }
        }
        if !(0.0..1.0).contains(&self.validation_fraction) {
            return Some(format!(
                "`image_folder.validation_fraction` is {}: use a share in [0, 1), e.g. 0.1",
                self.validation_fraction
            ));
        }
        None
    }

    /// Reads the images of `split`: every image file of the folder is assigned to
    /// [`Split::Test`] (the first `validation_fraction` of a shuffle seeded by `split_seed`,
    /// at least one image when the fraction is above 0) or [`Split::Train`] (the rest), in
    /// the shuffled order; only that split's files are decoded. With a fraction of 0 every
    /// image is in [`Split::Train`], in the sorted order of the paths.
    ///
    /// ```rust
    /// use image::{GrayImage, Luma};
    /// use vae_data::{DataError, Dataset, ImageFolderConfig, Split, UNLABELLED_CLASS};
    ///
    /// // Four unlabelled 8x8 images, read as 4x4 (resized, bilinear).
    /// let dir = tempfile::tempdir()?;
    /// for (i, level) in [0, 60, 120, 180].into_iter().enumerate() {
    ///     GrayImage::from_pixel(8, 8, Luma([level])).save(dir.path().join(format!("{i}.png")))?;
    /// }
    /// let mut folder = ImageFolderConfig::new(dir.path(), 1, 4, 4);
    /// folder.validation_fraction = 0.25; // one of the four, chosen by `split_seed`
    /// let (train, valid) = (folder.load(Split::Train)?, folder.load(Split::Test)?);
    /// assert_eq!((train.len(), valid.len(), train.shape()), (3, 1, [1, 4, 4]));
    /// assert_eq!(train.class_names(), [UNLABELLED_CLASS]);
    ///
    /// // A file that is not an image, beside them: the error names it.
    /// std::fs::write(dir.path().join("broken.png"), "not a PNG")?;
    /// folder.validation_fraction = 0.0;
    /// let error = folder.load(Split::Train).unwrap_err();
    /// assert!(matches!(error, DataError::BadImage { .. }));
    /// assert!(error.to_string().contains("broken.png"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn load(&self, split: Split) -> Result<ImageData, DataError> {
        if let Some(reason) = self.problem() {
            return Err(DataError::FolderSettings { reason });
        }
        let Listing {
            class_names,
            mut files,
            labelled,
        } = list_images(&self.path)?;
        if let Some(expected) = self.classes {
            self.check_classes(expected, labelled, &class_names)?;
        }
        let held_out = if self.validation_fraction > 0.0 {
            files.shuffle(&mut StdRng::seed_from_u64(self.split_seed));
            ((files.len() as f64 * self.validation_fraction).round() as usize).max(1)
        } else {
            0
        };
        if held_out >= files.len() {
            return Err(DataError::FolderSettings {
                reason: format!(
                    "{} holds {} image(s): `image_folder.validation_fraction` {} leaves none for \
                     training. Add images or lower the fraction",
                    self.path.display(),
                    files.len(),
                    self.validation_fraction
                ),
            });
        }
        let chosen = match split {
            Split::Test => &files[..held_out],
            Split::Train => &files[held_out..],
        };
        let mut pixels = Vec::with_capacity(chosen.len() * self.shape().iter().product::<usize>());
        for file in chosen {
            self.decode_into(&file.path, &mut pixels)?;
        }
        let labels = chosen.iter().map(|file| file.label).collect();
        let paths = chosen.iter().map(|file| file.path.clone()).collect();
        Ok(ImageData::from_folder(
            self.shape(),
            labelled,
            class_names,
            pixels,
            labels,
            paths,
        ))
    }

    /// Refuses a folder that does not hold `expected` class subfolders.
    fn check_classes(
        &self,
        expected: usize,
        labelled: bool,
        class_names: &[String],
    ) -> Result<(), DataError> {
        let reason = if !labelled {
            format!(
                "`image_folder.classes` is {expected}, but {} has no class subfolders (its \
                 images are directly inside it): put each class's images in a subfolder of its \
                 own, or set `image_folder.classes` to null",
                self.path.display()
            )
        } else if class_names.len() != expected {
            format!(
                "{} holds {} class subfolders ({}), but `image_folder.classes` is {expected} (a \
                 conditional model's one-hot size): read a folder with {expected} classes, or \
                 set `image_folder.classes` to {} and train a new model",
                self.path.display(),
                class_names.len(),
                class_names.join(", "),
                class_names.len()
            )
        } else {
            return Ok(());
        };
        Err(DataError::FolderSettings { reason })
    }

    /// Decodes one file, converts and resizes it, and appends its pixels channel by channel.
    fn decode_into(&self, path: &Path, pixels: &mut Vec<u8>) -> Result<(), DataError> {
        let bad = |reason: String| DataError::BadImage {
            path: path.to_owned(),
            reason,
        };
        let image = image::ImageReader::open(path)
            .map_err(|e| bad(e.to_string()))?
            .with_guessed_format()
            .map_err(|e| bad(e.to_string()))?
            .decode()
            .map_err(|e| bad(e.to_string()))?;
        let (width, height) = (self.width as u32, self.height as u32);
        let image = if (image.width(), image.height()) == (width, height) {
            image
        } else if self.resize {
            image.resize_exact(width, height, FilterType::Triangle)
        } else {
            return Err(DataError::ImageSize {
                path: path.to_owned(),
                found: [image.height() as usize, image.width() as usize],
                expected: [self.height, self.width],
            });
        };
        if self.channels == 1 {
            pixels.extend_from_slice(image.to_luma8().as_raw());
        } else {
            let rgb = image.to_rgb8();
            for channel in 0..3 {
                pixels.extend(rgb.as_raw().iter().skip(channel).step_by(3));
            }
        }
        Ok(())
    }
}

/// What a folder holds.
struct Listing {
    class_names: Vec<String>,
    /// Every image file, sorted by path.
    files: Vec<ImageFile>,
    /// Whether the files are in class subfolders.
    labelled: bool,
}

/// The class names and every image file under `dir`, sorted by path: one class per
/// subfolder, or one unlabelled class when there are none.
fn list_images(dir: &Path) -> Result<Listing, DataError> {
    if !dir.is_dir() {
        return Err(DataError::FolderNotFound {
            dir: dir.to_owned(),
        });
    }
    let entries = sorted_entries(dir).map_err(|e| DataError::FolderUnreadable {
        dir: dir.to_owned(),
        reason: e.to_string(),
    })?;
    let (subfolders, loose): (Vec<PathBuf>, Vec<PathBuf>) =
        entries.into_iter().partition(|path| path.is_dir());
    let loose: Vec<PathBuf> = loose.into_iter().filter(|p| is_image(p)).collect();
    if subfolders.is_empty() {
        if loose.is_empty() {
            return Err(DataError::EmptyFolder {
                dir: dir.to_owned(),
            });
        }
        let files = loose
            .into_iter()
            .map(|path| ImageFile { path, label: 0 })
            .collect();
        return Ok(Listing {
            class_names: vec![UNLABELLED_CLASS.to_string()],
            files,
            labelled: false,
        });
    }
    if let Some(file) = loose.first() {
        return Err(DataError::MixedFolder {
            dir: dir.to_owned(),
            file: file.clone(),
        });
    }
    if subfolders.len() > MAX_CLASSES {
        return Err(DataError::FolderSettings {
            reason: format!(
                "{} has {} subfolders (classes), over the limit of {MAX_CLASSES}",
                dir.display(),
                subfolders.len()
            ),
        });
    }
    let mut names = Vec::with_capacity(subfolders.len());
    let mut files = Vec::new();
    for (label, folder) in subfolders.iter().enumerate() {
        let mut class_files = Vec::new();
        collect_images(folder, &mut class_files)?;
        if class_files.is_empty() {
            return Err(DataError::EmptyClass {
                dir: folder.clone(),
            });
        }
        let label = label as u8; // below MAX_CLASSES
        files.extend(
            class_files
                .into_iter()
                .map(|path| ImageFile { path, label }),
        );
        names.push(folder.file_name().map_or_else(
            || folder.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        ));
    }
    Ok(Listing {
        class_names: names,
        files,
        labelled: true,
    })
}

/// Every image file below `dir`, at any depth, in sorted order. Links to folders are not
/// followed (a link to a parent would never end); links to files are.
fn collect_images(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), DataError> {
    let entries = sorted_entries(dir).map_err(|e| DataError::FolderUnreadable {
        dir: dir.to_owned(),
        reason: e.to_string(),
    })?;
    for path in entries {
        let is_real_dir = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
        if is_real_dir {
            collect_images(&path, out)?;
        } else if is_image(&path) {
            out.push(path);
        }
    }
    Ok(())
}

/// The entries of `dir` that are not hidden (`.name`), sorted by name.
fn sorted_entries(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if !entry.file_name().to_string_lossy().starts_with('.') {
            entries.push(entry.path());
        }
    }
    entries.sort();
    Ok(entries)
}

fn is_image(path: &Path) -> bool {
    path.is_file()
        && path.extension().is_some_and(|ext| {
            IMAGE_EXTENSIONS
                .iter()
                .any(|known| ext.eq_ignore_ascii_case(known))
        })
}

#[cfg(test)]
mod tests {
    use burn::data::dataset::Dataset;
    use image::{GrayImage, Luma, Rgb, RgbImage};

    use super::*;

    /// A greyscale PNG whose every pixel is `level`.
    fn grey(path: &Path, side: u32, level: u8) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        GrayImage::from_pixel(side, side, Luma([level]))
            .save(path)
            .unwrap();
    }

    fn config(dir: &Path) -> ImageFolderConfig {
        ImageFolderConfig::new(dir, 1, 4, 4)
    }

    #[test]
    fn subfolders_are_classes_in_sorted_order_and_the_split_is_seeded() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..6 {
            grey(&dir.path().join(format!("b-seven/{i}.png")), 4, 200);
            grey(&dir.path().join(format!("a-three/deeper/{i}.PNG")), 4, 50);
        }
        std::fs::write(dir.path().join("b-seven/notes.txt"), "skipped").unwrap();
        let folder = config(dir.path()).with_validation(0.25, 3);
        let train = folder.load(Split::Train).unwrap();
        let valid = folder.load(Split::Test).unwrap();
        assert_eq!(train.class_names(), ["a-three", "b-seven"]);
        // 12 images, a quarter held out: together they are every file, once.
        assert_eq!((train.len(), valid.len()), (9, 3));
        let mut files: Vec<&Path> = (0..9).filter_map(|i| train.file(i)).collect();
        files.extend((0..3).filter_map(|i| valid.file(i)));
        files.sort();
        files.dedup();
        assert_eq!(files.len(), 12);
        // Nothing held out: every file in sorted order.
        let all = config(dir.path())
            .with_validation(0.0, 3)
            .load(Split::Train)
            .unwrap();
        assert_eq!(
            all.file(0),
            Some(dir.path().join("a-three/deeper/0.PNG").as_path())
        );
        assert_eq!(
            all.file(11),
            Some(dir.path().join("b-seven/5.png").as_path())
        );
        for data in [&train, &valid] {
            for index in 0..data.len() {
                let level = if data.labels()[index] == 0 { 50 } else { 200 };
                assert!(data.pixels(index).iter().all(|&p| p == level));
            }
        }
        // The same seed gives the same split; another seed another one.
        let again = folder.load(Split::Test).unwrap();
        assert_eq!(again.labels(), valid.labels());
        let mut orders = std::collections::HashSet::new();
        for seed in 0..8 {
            orders.insert(
                config(dir.path())
                    .with_validation(0.5, seed)
                    .load(Split::Test)
                    .unwrap()
                    .labels()
                    .to_vec(),
            );
        }
        assert!(orders.len() > 1, "eight seeds gave one split");
    }

    #[test]
    fn a_set_class_count_must_match_the_subfolders() {
        let labelled = tempfile::tempdir().unwrap();
        for class in ["a", "b", "c"] {
            grey(&labelled.path().join(format!("{class}/0.png")), 4, 9);
        }
        let mut folder = config(labelled.path()).with_validation(0.0, 0);
        folder.classes = Some(3);
        assert_eq!(folder.load(Split::Train).unwrap().class_names().len(), 3);
        folder.classes = Some(2);
        let message = folder.load(Split::Train).unwrap_err().to_string();
        assert!(
            message.contains("holds 3 class subfolders (a, b, c)")
                && message.contains("`image_folder.classes` is 2"),
            "{message}"
        );
        let flat = tempfile::tempdir().unwrap();
        grey(&flat.path().join("0.png"), 4, 9);
        let mut folder = config(flat.path()).with_validation(0.0, 0);
        folder.classes = Some(1);
        let message = folder.load(Split::Train).unwrap_err().to_string();
        assert!(message.contains("has no class subfolders"), "{message}");
        // Optional in a config, and `null` reads as absent.
        let json = r#"{"path": "x", "height": 4, "width": 4, "classes": null}"#;
        let read: ImageFolderConfig = serde_json::from_str(json).unwrap();
        assert_eq!(read.classes, None);
        let json = r#"{"path": "x", "height": 4, "width": 4}"#;
        assert_eq!(
            serde_json::from_str::<ImageFolderConfig>(json).unwrap(),
            read
        );
    }

    #[test]
    fn rgb_images_are_stored_channel_by_channel_and_resized() {
        let dir = tempfile::tempdir().unwrap();
        RgbImage::from_pixel(8, 6, Rgb([10, 20, 30]))
            .save(dir.path().join("one.png"))
            .unwrap();
        let mut folder = ImageFolderConfig::new(dir.path(), 3, 2, 3);
        folder.validation_fraction = 0.0;
        let data = folder.load(Split::Train).unwrap();
        assert_eq!((data.len(), data.shape()), (1, [3, 2, 3]));
        assert_eq!(data.class_names(), [UNLABELLED_CLASS]);
        assert_eq!(data.file(0), Some(dir.path().join("one.png").as_path()));
        assert_eq!(
            data.pixels(0),
            [
                10, 10, 10, 10, 10, 10, 20, 20, 20, 20, 20, 20, 30, 30, 30, 30, 30, 30
            ]
        );
        folder.resize = false;
        let error = folder.load(Split::Train).unwrap_err().to_string();
        assert!(
            error.contains("one.png") && error.contains("6x8") && error.contains("2x3"),
            "{error}"
        );
    }

    #[test]
    fn jpeg_files_of_any_case_load_and_rows_keep_their_place() {
        let dir = tempfile::tempdir().unwrap();
        // A 3-wide, 2-high gradient: pixel (x, y) is 10 * (3 * y + x).
        let gradient = GrayImage::from_fn(3, 2, |x, y| Luma([(10 * (3 * y + x)) as u8]));
        gradient.save(dir.path().join("a.png")).unwrap();
        let rgb = image::DynamicImage::ImageLuma8(GrayImage::from_pixel(3, 2, Luma([200])));
        rgb.to_rgb8().save(dir.path().join("b.JPEG")).unwrap();
        rgb.to_rgb8().save(dir.path().join("c.jpg")).unwrap();
        let mut folder = ImageFolderConfig::new(dir.path(), 1, 2, 3);
        folder.validation_fraction = 0.0;
        folder.resize = false;
        let data = folder.load(Split::Train).unwrap();
        assert_eq!(data.len(), 3);
        assert_eq!(data.pixels(0), [0, 10, 20, 30, 40, 50]);
        // JPEG is lossy: a flat grey comes back within a few levels.
        for index in [1, 2] {
            assert!(
                data.pixels(index).iter().all(|&p| p.abs_diff(200) <= 3),
                "{index}"
            );
        }
    }

    #[test]
    fn bad_folders_name_the_file_or_folder_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let error = |folder: &ImageFolderConfig| folder.load(Split::Train).unwrap_err().to_string();

        let missing = root.join("nowhere");
        assert!(error(&config(&missing)).contains("nowhere"));
        assert!(error(&config(root)).contains("no image files"));

        grey(&root.join("class-a/0.png"), 4, 0);
        grey(&root.join("class-a/1.png"), 4, 0);
        std::fs::create_dir(root.join("class-b")).unwrap();
        let message = error(&config(root));
        assert!(
            message.contains("class-b") && message.contains("no image"),
            "{message}"
        );

        grey(&root.join("class-b/0.png"), 4, 0);
        grey(&root.join("loose.png"), 4, 0);
        let message = error(&config(root));
        assert!(
            message.contains("loose.png") && message.contains("subfolder"),
            "{message}"
        );
        std::fs::remove_file(root.join("loose.png")).unwrap();

        std::fs::write(root.join("class-b/broken.png"), b"not a png").unwrap();
        let message = error(&config(root).with_validation(0.0, 0));
        assert!(message.contains("broken.png"), "{message}");
        std::fs::remove_file(root.join("class-b/broken.png")).unwrap();

        let message = error(&config(root).with_validation(0.9, 0));
        assert!(message.contains("leaves none for training"), "{message}");
        let mut settings = config(root);
        settings.channels = 2;
        assert!(error(&settings).contains("use 1 (greyscale) or 3 (RGB)"));
        let mut settings = config(root);
        settings.width = 0;
        assert!(error(&settings).contains("`image_folder.width` is 0"));
        assert!(error(&config(root).with_validation(1.0, 0)).contains("[0, 1)"));
        // The folder is intact again: it loads.
        assert_eq!(
            config(root)
                .with_validation(0.0, 0)
                .load(Split::Train)
                .unwrap()
                .len(),
            3
        );
    }

    impl ImageFolderConfig {
        fn with_validation(mut self, fraction: f64, seed: u64) -> Self {
            self.validation_fraction = fraction;
            self.split_seed = seed;
            self
        }
    }
}
