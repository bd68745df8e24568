//! Downloads MNIST and Fashion-MNIST the way torchvision does: each `.gz` file from the first
//! mirror that serves it, checked against the SHA-256 table before it is kept in the cache
//! folder, so that a partial or damaged download is never read.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::dataset::ImageData;
use crate::error::DataError;
use crate::files::{IdxFile, Split, split_files};
use crate::idx::{MAX_IDX_BYTES, verify_gzip};
use crate::kind::DatasetKind;

/// The environment variable naming another MNIST mirror (a base URL), tried first.
pub const MNIST_MIRROR_ENV: &str = "VAE_MNIST_MIRROR";
/// The environment variable naming another Fashion-MNIST mirror (a base URL), tried first.
pub const FASHION_MNIST_MIRROR_ENV: &str = "VAE_FASHION_MNIST_MIRROR";

/// torchvision's MNIST mirror, then the CVDF mirror Burn's `MnistDataset` uses.
const MNIST_MIRRORS: [&str; 2] = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
];
/// Zalando's own bucket, the one torchvision's `FashionMNIST` uses.
const FASHION_MNIST_MIRRORS: [&str; 1] =
    ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"];

/// Where and how [`DatasetKind::download`] fetches a dataset's files.
///
/// ```rust
/// use std::time::Duration;
///
/// use vae_data::{DownloadConfig, DatasetKind};
///
/// let config = DownloadConfig {
///     mirrors: vec!["https://example.org/mnist/".to_string()],
///     cache_dir: std::env::temp_dir().join("my-mnist"),
///     connect_timeout: Duration::from_secs(5),
///     file_timeout: Duration::from_secs(120),
/// };
/// // Or the defaults, changed where needed:
/// let defaults = DownloadConfig::new(DatasetKind::Mnist)?;
/// assert_eq!(defaults.connect_timeout, Duration::from_secs(30));
/// assert_ne!(config, defaults);
/// # Ok::<(), vae_data::DataError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadConfig {
    /// Base URLs, tried in order; file `NAME` is fetched from `<mirror>NAME.gz`.
    pub mirrors: Vec<String>,
    /// The folder the verified `.gz` files are kept in (and read from next time).
    pub cache_dir: PathBuf,
    /// The longest wait for a connection to a mirror.
    pub connect_timeout: Duration,
    /// The longest time one file may take, start to end.
    pub file_timeout: Duration,
}

impl DownloadConfig {
    /// The defaults for `kind`: its mirror environment variable's URL (if set) then
    /// [`DatasetKind::mirrors`], into [`DatasetKind::cache_dir`], with a 30 s connection and
    /// a 10 min per-file timeout.
    ///
    /// ```rust
    /// use std::time::Duration;
    ///
    /// use vae_data::{DownloadConfig, DatasetKind};
    ///
    /// let kind = DatasetKind::FashionMnist;
    /// let config = DownloadConfig::new(kind)?;
    /// // The public mirrors come last (after `VAE_FASHION_MNIST_MIRROR`'s URL, if set).
    /// let public: Vec<String> = kind.mirrors().iter().map(|url| url.to_string()).collect();
    /// assert!(config.mirrors.ends_with(&public));
    /// assert_eq!(Some(&config.cache_dir), kind.cache_dir().as_ref());
    /// assert_eq!(config.file_timeout, Duration::from_secs(600));
    /// # Ok::<(), vae_data::DataError>(())
    /// ```
    pub fn new(kind: DatasetKind) -> Result<Self, DataError> {
        let cache_dir = kind.cache_dir().ok_or_else(|| DataError::Unavailable {
            dataset: kind,
            reason: "no data folder was given and no cache folder to download into could be \
                     determined for this user"
                .to_string(),
        })?;
        let custom = std::env::var(kind.mirror_env_var())
            .ok()
            .filter(|url| !url.is_empty());
        let mirrors = custom
            .into_iter()
            .chain(kind.mirrors().iter().map(|url| url.to_string()))
            .collect();
        Ok(Self {
            mirrors,
            cache_dir,
            connect_timeout: Duration::from_secs(30),
            file_timeout: Duration::from_secs(600),
        })
    }
}

impl DatasetKind {
    /// The public mirrors [`download`](Self::download) tries, in order.
    ///
    /// ```rust
    /// use vae_data::DatasetKind;
    ///
    /// let first = DatasetKind::Mnist.mirrors()[0];
    /// assert_eq!(first, "https://ossci-datasets.s3.amazonaws.com/mnist/");
    /// assert!(DatasetKind::ALL.iter().all(|kind| !kind.mirrors().is_empty()));
    /// ```
    pub fn mirrors(self) -> &'static [&'static str] {
        match self {
            DatasetKind::Mnist => &MNIST_MIRRORS,
            DatasetKind::FashionMnist => &FASHION_MNIST_MIRRORS,
        }
    }

    /// The environment variable naming a mirror tried before the public ones.
    ///
    /// ```rust
    /// use vae_data::{DatasetKind, MNIST_MIRROR_ENV};
    ///
    /// assert_eq!(DatasetKind::Mnist.mirror_env_var(), MNIST_MIRROR_ENV);
    /// assert_eq!(DatasetKind::FashionMnist.mirror_env_var(), "VAE_FASHION_MNIST_MIRROR");
    /// ```
    pub fn mirror_env_var(self) -> &'static str {
        match self {
            DatasetKind::Mnist => MNIST_MIRROR_ENV,
            DatasetKind::FashionMnist => FASHION_MNIST_MIRROR_ENV,
        }
    }

    /// The folder downloads are kept in: `burn-vae/<id>` in the user's cache folder
    /// (`~/.cache/burn-vae/mnist` on Linux, or under `$XDG_CACHE_HOME`); `None` where the
    /// system has no cache folder.
    ///
    /// ```rust
    /// use std::path::Path;
    ///
    /// use vae_data::DatasetKind;
    ///
    /// if let Some(dir) = DatasetKind::FashionMnist.cache_dir() {
    ///     assert!(dir.ends_with(Path::new("burn-vae").join("fashion-mnist")));
    /// }
    /// ```
    pub fn cache_dir(self) -> Option<PathBuf> {
        dirs::cache_dir().map(|cache| cache.join("burn-vae").join(self.id()))
    }

    /// Loads a split from `config.cache_dir`, first downloading each of its two files that
    /// is not there yet. A download is kept only once its SHA-256 matches the dataset's
    /// table; when every mirror fails, the error lists each URL and why. A cached file that
    /// no longer matches (damaged on disk) is downloaded again, once.
    ///
    /// ```no_run
    /// use vae_data::{Dataset, DatasetKind, DownloadConfig, Split};
    ///
    /// let mut config = DownloadConfig::new(DatasetKind::Mnist)?;
    /// config.cache_dir = "data/mnist".into();
    /// let train = DatasetKind::Mnist.download(Split::Train, &config)?; // needs the network once
    /// assert_eq!(train.len(), 60_000);
    /// # Ok::<(), vae_data::DataError>(())
    /// ```
    ///
    /// When no mirror serves a file, the error lists each one tried (here: none):
    ///
    /// ```rust
    /// use vae_data::{DataError, DatasetKind, DownloadConfig, Split};
    ///
    /// let cache = tempfile::tempdir()?;
    /// let mut config = DownloadConfig::new(DatasetKind::Mnist)?;
    /// config.cache_dir = cache.path().to_path_buf();
    /// config.mirrors.clear();
    /// let error = DatasetKind::Mnist.download(Split::Test, &config).unwrap_err();
    /// assert!(matches!(error, DataError::Download { .. }));
    /// let message = error.to_string();
    /// assert!(message.contains("t10k-images-idx3-ubyte.gz could not be downloaded"));
    /// assert!(message.contains("no mirror is configured"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn download(self, split: Split, config: &DownloadConfig) -> Result<ImageData, DataError> {
        self.fetch_missing(split, config)?;
        match self.from_dir(split, &config.cache_dir) {
            Err(error) => match damaged_cache_file(&error, &config.cache_dir) {
                Some(path) => {
                    eprintln!("{error}\nremoving {} to download it again", path.display());
                    std::fs::remove_file(&path).map_err(|e| DataError::CacheUnwritable {
                        dataset: self,
                        path: path.clone(),
                        reason: e.to_string(),
                    })?;
                    self.fetch_missing(split, config)?;
                    self.from_dir(split, &config.cache_dir)
                }
                None => Err(error),
            },
            loaded => loaded,
        }
    }

    fn fetch_missing(self, split: Split, config: &DownloadConfig) -> Result<(), DataError> {
        let files = split_files(self, split);
        for file in [files.images, files.labels] {
            if !is_cached(&config.cache_dir, file) {
                fetch(self, file, config)?;
            }
        }
        Ok(())
    }
}

fn is_cached(dir: &Path, file: IdxFile) -> bool {
    dir.join(file.name).is_file() || dir.join(format!("{}.gz", file.name)).is_file()
}

/// The file in `cache_dir` that `error` found damaged, if that is what it says.
fn damaged_cache_file(error: &DataError, cache_dir: &Path) -> Option<PathBuf> {
    let path = match error {
        DataError::Corrupt { path, .. }
        | DataError::Unreadable { path, .. }
        | DataError::WrongDataset { path, .. } => path,
        _ => return None,
    };
    path.starts_with(cache_dir).then(|| path.clone())
}

/// Downloads `file` from the first mirror that serves intact bytes and saves it as
/// `<cache_dir>/<name>.gz` (written to a temporary file of its own beside it, synced, then
/// renamed: a reader never sees half a file, even with two downloads at once).
fn fetch(kind: DatasetKind, file: IdxFile, config: &DownloadConfig) -> Result<(), DataError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(config.connect_timeout))
        .timeout_global(Some(config.file_timeout))
        .build()
        .into();
    let gz_name = format!("{}.gz", file.name);
    let mut attempts = Vec::new();
    for mirror in &config.mirrors {
        let separator = if mirror.ends_with('/') { "" } else { "/" };
        let url = format!("{mirror}{separator}{gz_name}");
        eprintln!(
            "downloading {url} into {}",
            config.cache_dir.to_string_lossy()
        );
        let bytes = match get(&agent, &url) {
            Ok(bytes) => bytes,
            Err(reason) => {
                attempts.push(format!("{url}: {reason}"));
                continue;
            }
        };
        if let Err(error) = verify_gzip(kind, file, Path::new(&url), &bytes) {
            attempts.push(format!("{url}: {}", mirror_fault(&error)));
            continue;
        }
        return save(kind, &config.cache_dir, &gz_name, &bytes);
    }
    if attempts.is_empty() {
        attempts.push("no mirror is configured".to_string());
    }
    Err(DataError::Download {
        dataset: kind,
        file: gz_name,
        attempts,
    })
}

/// The body of a successful response, at most [`MAX_IDX_BYTES`].
fn get(agent: &ureq::Agent, url: &str) -> Result<Vec<u8>, String> {
    let mut response = agent.get(url).call().map_err(|e| describe(&e))?;
    response
        .body_mut()
        .with_config()
        .limit(MAX_IDX_BYTES)
        .read_to_vec()
        .map_err(|e| describe(&e))
}

/// What is wrong with a file a mirror served (without the advice meant for local files).
fn mirror_fault(error: &DataError) -> String {
    match error {
        DataError::Corrupt { reason, .. } | DataError::Unreadable { reason, .. } => {
            format!("the file is damaged: {reason}")
        }
        DataError::WrongDataset {
            expected, found, ..
        } => format!("the file holds {found}, not {expected}"),
        other => other.to_string(),
    }
}

fn describe(error: &ureq::Error) -> String {
    match error {
        ureq::Error::StatusCode(code) => format!("the server answered HTTP {code}"),
        ureq::Error::BodyExceedsLimit(limit) => {
            format!("the file is larger than {limit} bytes, far more than any IDX file")
        }
        ureq::Error::HostNotFound => "host not found (no network?)".to_string(),
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused".to_string()
        }
        other => other.to_string(),
    }
}

fn save(kind: DatasetKind, dir: &Path, name: &str, bytes: &[u8]) -> Result<(), DataError> {
    use std::io::Write;
    let path = dir.join(name);
    let unwritable = |reason: std::io::Error| DataError::CacheUnwritable {
        dataset: kind,
        path: path.clone(),
        reason: reason.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(unwritable)?;
    // Removed on every error path when dropped.
    let mut partial = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".part")
        .tempfile_in(dir)
        .map_err(unwritable)?;
    partial.write_all(bytes).map_err(unwritable)?;
    partial.as_file().sync_all().map_err(unwritable)?;
    partial.persist(&path).map_err(|e| unwritable(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests;
