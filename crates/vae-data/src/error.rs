//! Errors a user can cause, each naming the dataset, the problem and the fix.

use std::fmt;
use std::path::PathBuf;

use thiserror::Error;

use crate::kind::DatasetKind;

/// Where a data folder that does not exist was named.
///
/// ```rust
/// use std::path::Path;
///
/// use vae_data::{DataError, DatasetKind, DirOrigin, Split};
///
/// let dir = Path::new("/no/such/folder");
/// let error = DatasetKind::FashionMnist.load(Split::Train, Some(dir)).unwrap_err();
/// let DataError::DirNotFound { origin, .. } = error else { panic!("{error}") };
/// assert_eq!(origin, DirOrigin::DataDir);
/// assert_eq!(origin.to_string(), "--data-dir");
/// assert_eq!(
///     DirOrigin::EnvVar("VAE_MNIST_DIR").to_string(),
///     "the environment variable VAE_MNIST_DIR"
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirOrigin {
    /// The `data_dir` argument (the `--data-dir` flag of the `vae` command).
    DataDir,
    /// The dataset's environment variable ([`DatasetKind::env_var`]).
    EnvVar(&'static str),
}

impl fmt::Display for DirOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DirOrigin::DataDir => f.write_str("--data-dir"),
            DirOrigin::EnvVar(var) => write!(f, "the environment variable {var}"),
        }
    }
}

/// Dataset files that are missing, damaged or of another dataset, and image folders that
/// cannot be read. Each message names the dataset or file, the problem and the fix.
///
/// ```rust
/// use image::GrayImage;
/// use vae_data::{DataError, ImageFolderConfig, Split};
///
/// // Images beside class subfolders: their class is unknown.
/// let dir = tempfile::tempdir()?;
/// std::fs::create_dir(dir.path().join("cats"))?;
/// GrayImage::new(2, 2).save(dir.path().join("cats/0.png"))?;
/// GrayImage::new(2, 2).save(dir.path().join("stray.png"))?;
/// let error = ImageFolderConfig::new(dir.path(), 1, 2, 2)
///     .load(Split::Train)
///     .unwrap_err();
/// assert!(matches!(error, DataError::MixedFolder { .. }));
/// let message = error.to_string();
/// assert!(message.contains("stray.png"), "{message}");
/// assert!(message.contains("move every image into the subfolder of its class"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Error)]
pub enum DataError {
    /// Neither a local folder nor the download gave the data.
    #[error("{dataset} is not available: {reason}. {}", .dataset.how_to_get())]
    Unavailable {
        /// The dataset asked for.
        dataset: DatasetKind,
        /// Why the download or lookup failed.
        reason: String,
    },
    /// The named data folder does not exist.
    #[error(
        "{dataset} data folder {} (from {origin}) does not exist or is not a folder. {}",
        .dir.display(), .dataset.how_to_get()
    )]
    DirNotFound {
        /// The dataset asked for.
        dataset: DatasetKind,
        /// The folder.
        dir: PathBuf,
        /// Who named it.
        origin: DirOrigin,
    },
    /// The environment variable holds a relative path that does not resolve to a folder from
    /// the current directory (Cargo runs each package's tests from that package's folder).
    #[error(
        "{var}={} is a relative path: from the current directory it resolves to {}, which is \
         not a folder ({dataset} data; note that Cargo runs tests from each package's own \
         folder). Set an absolute path instead, e.g. `export {var}=$(realpath {})`",
        .value.display(), .resolved.display(), .value.display()
    )]
    RelativeEnvDir {
        /// The dataset asked for.
        dataset: DatasetKind,
        /// The environment variable.
        var: &'static str,
        /// Its value, as set.
        value: PathBuf,
        /// The absolute path it resolved to.
        resolved: PathBuf,
    },
    /// A file is absent from the data folder.
    #[error(
        "{dataset} file {name} (or {name}.gz) is missing from {}. Copy the four {dataset} IDX \
         files there, or point --data-dir / {} at the folder that has them",
        .dir.display(), .dataset.env_var()
    )]
    Missing {
        /// The dataset asked for.
        dataset: DatasetKind,
        /// The folder searched.
        dir: PathBuf,
        /// The file name expected.
        name: String,
    },
    /// Every mirror failed to serve an intact copy of a file.
    #[cfg(feature = "download")]
    #[error(
        "{dataset} file {file} could not be downloaded: {}. Name a working mirror with {}, or: {}",
        .attempts.join("; "), .dataset.mirror_env_var(), .dataset.how_to_get()
    )]
    Download {
        /// The dataset asked for.
        dataset: DatasetKind,
        /// The file's name (`NAME.gz`).
        file: String,
        /// Each URL tried and why it failed.
        attempts: Vec<String>,
    },
    /// A verified download could not be saved in the cache folder.
    #[cfg(feature = "download")]
    #[error(
        "cannot save the {dataset} download as {}: {reason}. Make the folder writable (on \
         Linux, XDG_CACHE_HOME may name another cache folder), or pass --data-dir",
        .path.display()
    )]
    CacheUnwritable {
        /// The dataset asked for.
        dataset: DatasetKind,
        /// The file that could not be written.
        path: PathBuf,
        /// The I/O error.
        reason: String,
    },
    /// A file cannot be read or decompressed.
    #[error("cannot read {dataset} file {}: {reason}. Replace it with an intact copy", .path.display())]
    Unreadable {
        /// The dataset asked for.
        dataset: DatasetKind,
        /// The file.
        path: PathBuf,
        /// The I/O or gzip error.
        reason: String,
    },
    /// A file is readable but is not the expected IDX data.
    #[error(
        "{dataset} file {} is corrupt: {reason}. Replace it with an intact copy of the original \
         file",
        .path.display()
    )]
    Corrupt {
        /// The dataset asked for.
        dataset: DatasetKind,
        /// The file.
        path: PathBuf,
        /// Which check failed (magic, size, length, checksum, counts).
        reason: String,
    },
    /// A file is intact but belongs to the other dataset (its digest is in that table).
    #[error(
        "{} holds {found}, not {expected}: its SHA-256 is {found}'s digest. This looks like \
         {found}, not {expected}; set `dataset` in the config to \"{}\", or point --data-dir / \
         {} at a folder of {expected} files",
        .path.display(), .found.id(), .expected.env_var()
    )]
    WrongDataset {
        /// The dataset asked for.
        expected: DatasetKind,
        /// The dataset the file belongs to.
        found: DatasetKind,
        /// The file.
        path: PathBuf,
    },
    /// An image folder that does not exist.
    #[error(
        "image folder {} does not exist or is not a folder: set `image_folder.path` in the \
         config (or pass --data-dir) to a folder of PNG/JPEG files, one subfolder per class",
        .dir.display()
    )]
    FolderNotFound {
        /// The folder.
        dir: PathBuf,
    },
    /// An image folder (or a class subfolder) that cannot be listed.
    #[error("cannot list image folder {}: {reason}. Check its permissions", .dir.display())]
    FolderUnreadable {
        /// The folder.
        dir: PathBuf,
        /// The I/O error.
        reason: String,
    },
    /// An image folder with neither image files nor subfolders.
    #[error(
        "image folder {} holds no image files (.png, .jpg, .jpeg) and no class subfolders: \
         put the images there, directly or one subfolder per class",
        .dir.display()
    )]
    EmptyFolder {
        /// The folder.
        dir: PathBuf,
    },
    /// A class subfolder without image files.
    #[error(
        "class folder {} holds no image files (.png, .jpg, .jpeg, at any depth): add images \
         of that class or remove the folder",
        .dir.display()
    )]
    EmptyClass {
        /// The class subfolder.
        dir: PathBuf,
    },
    /// Image files beside class subfolders: their class is unknown.
    #[error(
        "image folder {} has class subfolders and also image files outside them, such as {}: \
         move every image into the subfolder of its class (or remove the subfolders to read \
         the images unlabelled)",
        .dir.display(), .file.display()
    )]
    MixedFolder {
        /// The folder.
        dir: PathBuf,
        /// The first image file outside the subfolders.
        file: PathBuf,
    },
    /// An image file that cannot be opened or decoded.
    #[error(
        "cannot read image {}: {reason}. Replace or remove the file",
        .path.display()
    )]
    BadImage {
        /// The file.
        path: PathBuf,
        /// The I/O or decoding error.
        reason: String,
    },
    /// An image of another size while resizing is off.
    #[error(
        "image {} is {}x{} pixels (height x width), but the config asks for {}x{} and \
         `image_folder.resize` is false: set it to true, or resize the file",
        .path.display(), .found[0], .found[1], .expected[0], .expected[1]
    )]
    ImageSize {
        /// The file.
        path: PathBuf,
        /// Its `[height, width]`.
        found: [usize; 2],
        /// The configured `[height, width]`.
        expected: [usize; 2],
    },
    /// Settings of an image folder that cannot work, or a folder they cannot split.
    #[error("{reason}")]
    FolderSettings {
        /// What is wrong and the fix.
        reason: String,
    },
    /// A dataset name that is not one of [`DatasetKind::ALL`].
    #[error("unknown dataset \"{name}\": use \"mnist\" or \"fashion-mnist\"")]
    UnknownDataset {
        /// The name given.
        name: String,
    },
}
