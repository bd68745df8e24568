//! One split of a dataset (MNIST, Fashion-MNIST or a folder of images) held as one contiguous
//! byte buffer, and Burn's [`Dataset`] over it.

use std::path::{Path, PathBuf};

use burn::data::dataset::{Dataset, DatasetError};

use crate::error::{DataError, DirOrigin};
use crate::files::{Split, split_files};
use crate::kind::DatasetKind;
use crate::lookup::{Location, locate};
use crate::{IMAGE_SIDE, idx};

/// One image and its label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledImage {
    /// Pixels, 0..=255, channel by channel, each row-major (`[channels, height, width]`).
    pub pixels: Vec<u8>,
    /// The class: an index into [`ImageData::class_names`] (a digit for MNIST).
    pub label: u8,
}

/// A split of images of one size with their labels, held as one contiguous buffer of
/// `len * channels * height * width` bytes: MNIST or Fashion-MNIST
/// ([`DatasetKind::load`]) or a folder of PNG/JPEG files
/// ([`ImageFolderConfig::load`](crate::ImageFolderConfig::load)).
#[derive(Debug, Clone)]
pub struct ImageData {
    source: DataSource,
    shape: [usize; 3],
    class_names: Vec<String>,
    pixels: Vec<u8>,
    labels: Vec<u8>,
    /// The file of each image (a folder's), or empty (IDX datasets).
    files: Vec<PathBuf>,
}

/// Where an [`ImageData`]'s images come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataSource {
    /// One of the IDX datasets.
    Idx(DatasetKind),
    /// A folder of image files: `labelled` when its images are in class subfolders (even one).
    Folder {
        /// Whether the labels come from class subfolders.
        labelled: bool,
    },
}

impl DatasetKind {
    /// Loads a split, looking in this order: `data_dir` (the `--data-dir` flag), the
    /// dataset's environment variable ([`DatasetKind::env_var`]; a relative value is resolved
    /// against the current directory), [`FASHION_MNIST_SYSTEM_DIR`] for Fashion-MNIST, then
    /// the download cache, downloading the split's files there if they are missing (the
    /// `download` feature, on by default; see `DatasetKind::download`).
    ///
    /// [`FASHION_MNIST_SYSTEM_DIR`]: crate::FASHION_MNIST_SYSTEM_DIR
    pub fn load(self, split: Split, data_dir: Option<&Path>) -> Result<ImageData, DataError> {
        match self.locate(data_dir)? {
            Location::Dir(dir) => self.from_dir(split, &dir),
            Location::Download => self.load_downloaded(split),
        }
    }

    /// The folder [`load`](Self::load) would read, or `None` where it would use the download
    /// cache. Checks that an environment variable names a folder.
    pub fn data_dir(self, data_dir: Option<&Path>) -> Result<Option<PathBuf>, DataError> {
        Ok(match self.locate(data_dir)? {
            Location::Dir(dir) => Some(dir),
            Location::Download => None,
        })
    }

    #[cfg(feature = "download")]
    fn load_downloaded(self, split: Split) -> Result<ImageData, DataError> {
        self.download(split, &crate::DownloadConfig::new(self)?)
    }

    #[cfg(not(feature = "download"))]
    fn load_downloaded(self, _split: Split) -> Result<ImageData, DataError> {
        Err(DataError::Unavailable {
            dataset: self,
            reason: "no data folder was given, and this build cannot download (vae-data's \
                     `download` feature is off)"
                .to_string(),
        })
    }

    /// Reads and verifies (SHA-256 of the decompressed bytes) a split's two IDX files, plain
    /// or `.gz`, in `dir`. Files of the other dataset are reported as such.
    pub fn from_dir(self, split: Split, dir: &Path) -> Result<ImageData, DataError> {
        if !dir.is_dir() {
            return Err(DataError::DirNotFound {
                dataset: self,
                dir: dir.to_owned(),
                origin: DirOrigin::DataDir,
            });
        }
        let (pixels, labels) = idx::read_split(self, dir, split_files(self, split))?;
        Ok(ImageData::from_idx(self, pixels, labels))
    }

    fn locate(self, data_dir: Option<&Path>) -> Result<Location, DataError> {
        let env_value = std::env::var_os(self.env_var());
        locate(self, data_dir, env_value, self.system_dir())
    }
}

impl ImageData {
    /// Loads a split of MNIST from `data_dir`, else from `VAE_MNIST_DIR`, else from the
    /// download cache: `DatasetKind::Mnist.load(split, data_dir)` (see [`DatasetKind::load`]).
    pub fn load(split: Split, data_dir: Option<&Path>) -> Result<Self, DataError> {
        DatasetKind::Mnist.load(split, data_dir)
    }

    /// Reads and verifies a split of MNIST from `dir`: `DatasetKind::Mnist.from_dir(..)`.
    pub fn from_dir(split: Split, dir: &Path) -> Result<Self, DataError> {
        DatasetKind::Mnist.from_dir(split, dir)
    }

    fn from_idx(kind: DatasetKind, pixels: Vec<u8>, labels: Vec<u8>) -> Self {
        Self {
            source: DataSource::Idx(kind),
            shape: [1, IMAGE_SIDE, IMAGE_SIDE],
            class_names: kind.class_names().iter().map(|&n| n.to_string()).collect(),
            pixels,
            labels,
            files: Vec::new(),
        }
    }

    /// Images of `shape` (`[channels, height, width]`) from a folder: `pixels` holds
    /// `labels.len()` images one after another, read from `files`.
    pub(crate) fn from_folder(
        shape: [usize; 3],
        labelled: bool,
        class_names: Vec<String>,
        pixels: Vec<u8>,
        labels: Vec<u8>,
        files: Vec<PathBuf>,
    ) -> Self {
        debug_assert_eq!(pixels.len(), labels.len() * shape.iter().product::<usize>());
        debug_assert_eq!(files.len(), labels.len());
        Self {
            source: DataSource::Folder { labelled },
            shape,
            class_names,
            pixels,
            labels,
            files,
        }
    }

    /// The file image `index` was read from (an image folder's), or `None` (MNIST and
    /// Fashion-MNIST, or an index out of range).
    pub fn file(&self, index: usize) -> Option<&Path> {
        self.files.get(index).map(PathBuf::as_path)
    }

    /// Where the images come from.
    pub fn source(&self) -> DataSource {
        self.source
    }

    /// Whether the labels mean something: always for MNIST and Fashion-MNIST; for a folder,
    /// when its images are in class subfolders.
    pub fn is_labelled(&self) -> bool {
        !matches!(self.source, DataSource::Folder { labelled: false })
    }

    /// `[channels, height, width]` of every image (`[1, 28, 28]` for MNIST).
    pub fn shape(&self) -> [usize; 3] {
        self.shape
    }

    /// Values per image: channels × height × width (784 for MNIST).
    pub fn image_len(&self) -> usize {
        self.shape.iter().product()
    }

    /// The name of each class, indexed by label (the digits for MNIST; the subfolders of an
    /// image folder, sorted).
    pub fn class_names(&self) -> &[String] {
        &self.class_names
    }

    /// Keeps only the first `count` images (all of them if `count` is larger).
    pub fn truncate(mut self, count: usize) -> Self {
        let count = count.min(self.labels.len());
        self.labels.truncate(count);
        self.pixels.truncate(count * self.image_len());
        self.files.truncate(count);
        self
    }

    /// The images binarized once: each pixel of intensity `p / 255` becomes 255 with
    /// probability `p / 255`, else 0, drawn from rand's `StdRng` seeded with `seed` (image by
    /// image, pixel by pixel in row-major order). The same seed gives the same images on
    /// every machine and backend; the labels are kept.
    ///
    /// This is the *static* binarization of the literature (one fixed binary copy of the
    /// data); the *dynamic* one draws anew each time an image is used, on the device.
    pub fn binarized(mut self, seed: u64) -> Self {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        for pixel in &mut self.pixels {
            // `random_range(0..255) < p` has probability exactly p / 255 (0 never, 255 always).
            *pixel = if rng.random_range(0u8..255) < *pixel {
                255
            } else {
                0
            };
        }
        self
    }

    /// Keeps only the images whose label is in `classes`, in their order (the one-class
    /// protocol of anomaly detection trains on one class).
    pub fn keep_classes(self, classes: &[u8]) -> Self {
        let mut pixels = Vec::new();
        let mut labels = Vec::new();
        let mut files = Vec::new();
        for (index, &label) in self.labels.iter().enumerate() {
            if classes.contains(&label) {
                pixels.extend_from_slice(self.pixels(index));
                labels.push(label);
                files.extend(self.file(index).map(Path::to_path_buf));
            }
        }
        Self {
            pixels,
            labels,
            files,
            ..self
        }
    }

    /// Pixels of image `index`: [`image_len`](Self::image_len) values, channel by channel,
    /// each row-major.
    ///
    /// # Panics
    /// If `index` is not below the number of images.
    pub fn pixels(&self, index: usize) -> &[u8] {
        let len = self.image_len();
        &self.pixels[index * len..(index + 1) * len]
    }

    /// Labels, one per image.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }
}

impl Dataset<LabelledImage> for ImageData {
    fn get(&self, index: usize) -> Result<LabelledImage, DatasetError> {
        let label = *self.labels.get(index).ok_or_else(|| {
            DatasetError::new(std::io::Error::other(format!(
                "image index {index} is out of range for {} images",
                self.labels.len()
            )))
        })?;
        Ok(LabelledImage {
            pixels: self.pixels(index).to_vec(),
            label,
        })
    }

    fn len(&self) -> usize {
        self.labels.len()
    }
}
