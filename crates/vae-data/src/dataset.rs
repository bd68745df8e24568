//! One split of a dataset (MNIST, Fashion-MNIST or a folder of images) held as one contiguous
//! byte buffer, and Burn's [`Dataset`] over it.

use std::path::{Path, PathBuf};

use burn::data::dataset::{Dataset, DatasetError};

use crate::error::{DataError, DirOrigin};
use crate::files::{Split, split_files};
use crate::kind::DatasetKind;
use crate::lookup::{Location, locate};
use crate::{IMAGE_SIDE, idx};

/// One image and its label: what [`ImageData`]'s [`Dataset::get`] returns.
///
/// ```rust
/// # use vae_data::{Dataset, ImageFolderConfig, Split};
/// # let dir = tempfile::tempdir()?;
/// # for (class, level) in [("cats", 0), ("dogs", 255)] {
/// #     std::fs::create_dir(dir.path().join(class))?;
/// #     for i in 0..3 {
/// #         let path = dir.path().join(class).join(format!("{i}.png"));
/// #         image::GrayImage::from_pixel(2, 2, image::Luma([level])).save(path)?;
/// #     }
/// # }
/// # let mut folder = ImageFolderConfig::new(dir.path(), 1, 2, 2);
/// # folder.validation_fraction = 0.0;
/// # let data = folder.load(Split::Train)?;
/// // `data`: cats (label 0, black) then dogs (label 1, white), 2x2 greyscale.
/// let image = data.get(3)?;
/// assert_eq!(image.label, 1);
/// assert_eq!(image.pixels, [255; 4]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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
///
/// The examples build one from a tiny folder of PNG files (MNIST needs its real files):
///
/// ```rust
/// use image::{GrayImage, Luma};
/// use vae_data::{Dataset, ImageFolderConfig, Split};
///
/// // Two classes of 2x2 greyscale PNGs: cats (black) and dogs (white).
/// let dir = tempfile::tempdir()?;
/// for (class, level) in [("cats", 0), ("dogs", 255)] {
///     std::fs::create_dir(dir.path().join(class))?;
///     for i in 0..3 {
///         let path = dir.path().join(class).join(format!("{i}.png"));
///         GrayImage::from_pixel(2, 2, Luma([level])).save(path)?;
///     }
/// }
/// let mut folder = ImageFolderConfig::new(dir.path(), 1, 2, 2);
/// folder.validation_fraction = 0.0; // every image in `Split::Train`, in sorted order
/// let data = folder.load(Split::Train)?;
///
/// assert_eq!((data.len(), data.shape(), data.image_len()), (6, [1, 2, 2], 4));
/// assert_eq!(data.class_names(), ["cats", "dogs"]);
/// assert_eq!(data.labels(), [0, 0, 0, 1, 1, 1]);
/// assert_eq!(data.pixels(0), [0; 4]);
/// // Burn's `Dataset`: `len`, `get` and `iter`, one `LabelledImage` at a time.
/// for image in data.iter() {
///     let image = image?;
///     assert_eq!(image.pixels, [255 * image.label; 4]); // the dogs are white
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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
///
/// ```rust
/// # use vae_data::{Dataset, ImageFolderConfig, Split};
/// # let dir = tempfile::tempdir()?;
/// # for (class, level) in [("cats", 0), ("dogs", 255)] {
/// #     std::fs::create_dir(dir.path().join(class))?;
/// #     for i in 0..3 {
/// #         let path = dir.path().join(class).join(format!("{i}.png"));
/// #         image::GrayImage::from_pixel(2, 2, image::Luma([level])).save(path)?;
/// #     }
/// # }
/// # let mut folder = ImageFolderConfig::new(dir.path(), 1, 2, 2);
/// # folder.validation_fraction = 0.0;
/// # let data = folder.load(Split::Train)?;
/// use vae_data::{DataSource, DatasetKind};
///
/// // `data`: a folder with class subfolders.
/// assert_eq!(data.source(), DataSource::Folder { labelled: true });
/// // MNIST and Fashion-MNIST (from `DatasetKind::load`) give `DataSource::Idx(kind)`.
/// assert_ne!(data.source(), DataSource::Idx(DatasetKind::Mnist));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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
    /// ```no_run
    /// use vae_data::{Dataset, DatasetKind, Split};
    ///
    /// // No folder given: the environment variable, the system folder, then the download.
    /// let test = DatasetKind::Mnist.load(Split::Test, None)?;
    /// assert_eq!((test.len(), test.shape()), (10_000, [1, 28, 28]));
    /// # Ok::<(), vae_data::DataError>(())
    /// ```
    ///
    /// A folder given is the only place looked in; here it lacks the files, and the error
    /// names the first one missing:
    ///
    /// ```rust
    /// use vae_data::{DataError, DatasetKind, Split};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let error = DatasetKind::Mnist.load(Split::Test, Some(dir.path())).unwrap_err();
    /// assert!(matches!(error, DataError::Missing { .. }));
    /// assert!(error.to_string().contains(
    ///     "MNIST file t10k-images-idx3-ubyte (or t10k-images-idx3-ubyte.gz) is missing"
    /// ));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
    ///
    /// ```rust
    /// use std::path::Path;
    ///
    /// use vae_data::DatasetKind;
    ///
    /// // A `data_dir` comes first, whatever the environment says.
    /// let dir = Path::new("/data/fashion-mnist");
    /// let found = DatasetKind::FashionMnist.data_dir(Some(dir))?;
    /// assert_eq!(found.as_deref(), Some(dir));
    /// // Without one: the environment variable's folder, the system folder, else `None`.
    /// match DatasetKind::FashionMnist.data_dir(None)? {
    ///     Some(dir) => println!("reading {}", dir.display()),
    ///     None => println!("using the download cache"),
    /// }
    /// # Ok::<(), vae_data::DataError>(())
    /// ```
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
    ///
    /// Only the original files pass: a well-formed IDX file with other contents is refused by
    /// its checksum, the error naming the file.
    ///
    /// ```rust
    /// use std::io::Write;
    ///
    /// use vae_data::{DataError, DatasetKind, Split};
    ///
    /// /// An IDX file: the big-endian magic number and dimensions, then the bytes.
    /// fn idx(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
    ///     let mut bytes = magic.to_be_bytes().to_vec();
    ///     dims.iter().for_each(|d| bytes.extend(d.to_be_bytes()));
    ///     bytes.extend(data);
    ///     bytes
    /// }
    ///
    /// // Two 28x28 images (gzipped, as distributed) and their two labels (plain).
    /// let dir = tempfile::tempdir()?;
    /// let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    /// gz.write_all(&idx(0x0803, &[2, 28, 28], &[0; 2 * 784]))?;
    /// std::fs::write(dir.path().join("t10k-images-idx3-ubyte.gz"), gz.finish()?)?;
    /// std::fs::write(dir.path().join("t10k-labels-idx1-ubyte"), idx(0x0801, &[2], &[3, 7]))?;
    ///
    /// let error = DatasetKind::Mnist.from_dir(Split::Test, dir.path()).unwrap_err();
    /// assert!(matches!(error, DataError::Corrupt { .. }));
    /// let message = error.to_string();
    /// assert!(message.contains("t10k-images-idx3-ubyte.gz is corrupt: its SHA-256 is"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
    ///
    /// ```rust
    /// use vae_data::{ImageData, Split};
    ///
    /// // A folder without the files: the error names the one missing and where to put it.
    /// let dir = tempfile::tempdir()?;
    /// let message = ImageData::load(Split::Train, Some(dir.path())).unwrap_err().to_string();
    /// let file = "train-images-idx3-ubyte (or train-images-idx3-ubyte.gz) is missing";
    /// assert!(message.contains(file));
    /// assert!(message.contains("VAE_MNIST_DIR"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn load(split: Split, data_dir: Option<&Path>) -> Result<Self, DataError> {
        DatasetKind::Mnist.load(split, data_dir)
    }

    /// Reads and verifies a split of MNIST from `dir`: `DatasetKind::Mnist.from_dir(..)`.
    ///
    /// ```rust
    /// use std::path::Path;
    ///
    /// use vae_data::{DataError, DirOrigin, ImageData, Split};
    ///
    /// let error = ImageData::from_dir(Split::Test, Path::new("/no/such/mnist")).unwrap_err();
    /// assert!(matches!(error, DataError::DirNotFound { origin: DirOrigin::DataDir, .. }));
    /// assert!(error.to_string().contains("/no/such/mnist (from --data-dir) does not exist"));
    /// ```
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
    ///
    /// ```rust
    /// # use vae_data::{Dataset, ImageFolderConfig, Split};
    /// # let dir = tempfile::tempdir()?;
    /// # for (class, level) in [("cats", 0), ("dogs", 255)] {
    /// #     std::fs::create_dir(dir.path().join(class))?;
    /// #     for i in 0..3 {
    /// #         let path = dir.path().join(class).join(format!("{i}.png"));
    /// #         image::GrayImage::from_pixel(2, 2, image::Luma([level])).save(path)?;
    /// #     }
    /// # }
    /// # let mut folder = ImageFolderConfig::new(dir.path(), 1, 2, 2);
    /// # folder.validation_fraction = 0.0;
    /// # let data = folder.load(Split::Train)?;
    /// // `data`: cats/0.png, cats/1.png, cats/2.png, dogs/0.png, ...
    /// assert_eq!(data.file(3), Some(dir.path().join("dogs/0.png").as_path()));
    /// assert_eq!(data.file(6), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn file(&self, index: usize) -> Option<&Path> {
        self.files.get(index).map(PathBuf::as_path)
    }

    /// Where the images come from.
    pub fn source(&self) -> DataSource {
        self.source
    }

    /// Whether the labels mean something: always for MNIST and Fashion-MNIST; for a folder,
    /// when its images are in class subfolders.
    ///
    /// ```rust
    /// use vae_data::{ImageFolderConfig, Split, UNLABELLED_CLASS};
    ///
    /// // Images directly in the folder: one class, every label 0, not labelled.
    /// let dir = tempfile::tempdir()?;
    /// for name in ["a.png", "b.png"] {
    ///     image::GrayImage::new(2, 2).save(dir.path().join(name))?;
    /// }
    /// let mut folder = ImageFolderConfig::new(dir.path(), 1, 2, 2);
    /// folder.validation_fraction = 0.0;
    /// let data = folder.load(Split::Train)?;
    /// assert!(!data.is_labelled());
    /// assert_eq!(data.labels(), [0, 0]);
    /// assert_eq!(data.class_names(), [UNLABELLED_CLASS]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
    ///
    /// ```rust
    /// # use vae_data::{Dataset, ImageFolderConfig, Split};
    /// # let dir = tempfile::tempdir()?;
    /// # for (class, level) in [("cats", 0), ("dogs", 255)] {
    /// #     std::fs::create_dir(dir.path().join(class))?;
    /// #     for i in 0..3 {
    /// #         let path = dir.path().join(class).join(format!("{i}.png"));
    /// #         image::GrayImage::from_pixel(2, 2, image::Luma([level])).save(path)?;
    /// #     }
    /// # }
    /// # let mut folder = ImageFolderConfig::new(dir.path(), 1, 2, 2);
    /// # folder.validation_fraction = 0.0;
    /// # let data = folder.load(Split::Train)?;
    /// // `data`: 6 images, labels 0, 0, 0, 1, 1, 1.
    /// let few = data.clone().truncate(4);
    /// assert_eq!((few.len(), few.labels()), (4, &[0, 0, 0, 1][..]));
    /// assert_eq!(data.truncate(100).len(), 6);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
    ///
    /// ```rust
    /// use vae_data::{ImageFolderConfig, Split};
    ///
    /// // One 16x16 image of mid grey (128 of 255).
    /// let dir = tempfile::tempdir()?;
    /// image::GrayImage::from_pixel(16, 16, image::Luma([128])).save(dir.path().join("grey.png"))?;
    /// let mut folder = ImageFolderConfig::new(dir.path(), 1, 16, 16);
    /// folder.validation_fraction = 0.0;
    /// let data = folder.load(Split::Train)?;
    ///
    /// let binary = data.clone().binarized(7);
    /// assert!(binary.pixels(0).iter().all(|&p| p == 0 || p == 255));
    /// let white = binary.pixels(0).iter().filter(|&&p| p == 255).count();
    /// assert!((64..192).contains(&white), "about half of 256: {white}");
    /// // The same seed, the same draws.
    /// assert_eq!(data.binarized(7).pixels(0), binary.pixels(0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
    ///
    /// ```rust
    /// # use vae_data::{Dataset, ImageFolderConfig, Split};
    /// # let dir = tempfile::tempdir()?;
    /// # for (class, level) in [("cats", 0), ("dogs", 255)] {
    /// #     std::fs::create_dir(dir.path().join(class))?;
    /// #     for i in 0..3 {
    /// #         let path = dir.path().join(class).join(format!("{i}.png"));
    /// #         image::GrayImage::from_pixel(2, 2, image::Luma([level])).save(path)?;
    /// #     }
    /// # }
    /// # let mut folder = ImageFolderConfig::new(dir.path(), 1, 2, 2);
    /// # folder.validation_fraction = 0.0;
    /// # let data = folder.load(Split::Train)?;
    /// // `data`: 3 cats (label 0) then 3 dogs (label 1).
    /// let dogs = data.keep_classes(&[1]);
    /// assert_eq!(dogs.labels(), [1, 1, 1]);
    /// assert_eq!(dogs.pixels(0), [255; 4]);
    /// assert_eq!(dogs.file(0), Some(dir.path().join("dogs/0.png").as_path()));
    /// assert_eq!(dogs.class_names(), ["cats", "dogs"]); // labels keep their meaning
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
    ///
    /// ```rust
    /// use image::{GrayImage, Luma, Rgb, RgbImage};
    /// use vae_data::{ImageFolderConfig, Split};
    ///
    /// // A 3-wide, 2-high gradient: pixel (x, y) is 10 * (3 * y + x).
    /// let dir = tempfile::tempdir()?;
    /// let gradient = GrayImage::from_fn(3, 2, |x, y| Luma([(10 * (3 * y + x)) as u8]));
    /// gradient.save(dir.path().join("image.png"))?;
    /// let mut folder = ImageFolderConfig::new(dir.path(), 1, 2, 3);
    /// folder.validation_fraction = 0.0;
    /// assert_eq!(folder.load(Split::Train)?.pixels(0), [0, 10, 20, 30, 40, 50]); // row-major
    ///
    /// // RGB: all the red values, then all the green, then all the blue.
    /// RgbImage::from_pixel(3, 2, Rgb([1, 2, 3])).save(dir.path().join("image.png"))?;
    /// folder.channels = 3;
    /// let rgb = folder.load(Split::Train)?;
    /// assert_eq!(rgb.pixels(0), [1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn pixels(&self, index: usize) -> &[u8] {
        let len = self.image_len();
        &self.pixels[index * len..(index + 1) * len]
    }

    /// Labels, one per image.
    ///
    /// ```rust
    /// # use vae_data::{Dataset, ImageFolderConfig, Split};
    /// # let dir = tempfile::tempdir()?;
    /// # for (class, level) in [("cats", 0), ("dogs", 255)] {
    /// #     std::fs::create_dir(dir.path().join(class))?;
    /// #     for i in 0..3 {
    /// #         let path = dir.path().join(class).join(format!("{i}.png"));
    /// #         image::GrayImage::from_pixel(2, 2, image::Luma([level])).save(path)?;
    /// #     }
    /// # }
    /// # let mut folder = ImageFolderConfig::new(dir.path(), 1, 2, 2);
    /// # folder.validation_fraction = 0.0;
    /// # let data = folder.load(Split::Train)?;
    /// // `data`: 3 cats then 3 dogs; a label indexes `class_names`.
    /// assert_eq!(data.labels(), [0, 0, 0, 1, 1, 1]);
    /// assert_eq!(data.class_names()[usize::from(data.labels()[5])], "dogs");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
