//! MNIST as one contiguous byte buffer per split, from a local folder of IDX files
//! (checksummed) or from Burn's `MnistDataset` download.
//!
//! Lookup order: `--data-dir`, then the `VAE_MNIST_DIR` environment variable, then Burn's
//! cache/download (`~/.cache/burn-dataset/mnist`).

use std::io::Read;
use std::path::{Path, PathBuf};

use burn::data::dataset::{Dataset, DatasetError};
use sha2::{Digest, Sha256};

use crate::error::DataError;

/// The environment variable naming a folder of MNIST IDX files.
pub const MNIST_DIR_ENV: &str = "VAE_MNIST_DIR";
/// Width and height of an MNIST image.
pub const IMAGE_SIDE: usize = 28;
/// Pixels per image.
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;

/// Which part of MNIST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// The 60,000 training images.
    Train,
    /// The 10,000 test images (used for validation, as PyTorch's example does).
    Test,
}

impl Split {
    fn files(self) -> IdxFiles {
        match self {
            Split::Train => IdxFiles {
                images: "train-images-idx3-ubyte",
                images_sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
                labels: "train-labels-idx1-ubyte",
                labels_sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            },
            Split::Test => IdxFiles {
                images: "t10k-images-idx3-ubyte",
                images_sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
                labels: "t10k-labels-idx1-ubyte",
                labels_sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
            },
        }
    }
}

struct IdxFiles {
    images: &'static str,
    images_sha256: &'static str,
    labels: &'static str,
    labels_sha256: &'static str,
}

/// One image and its label.
#[derive(Debug, Clone, Copy)]
pub struct MnistImage {
    /// Row-major pixels, 0..=255.
    pub pixels: [u8; IMAGE_PIXELS],
    /// The digit, 0..=9.
    pub label: u8,
}

/// A split held as one contiguous buffer of `len * 784` bytes.
#[derive(Debug, Clone)]
pub struct MnistData {
    pixels: Vec<u8>,
    labels: Vec<u8>,
}

impl MnistData {
    /// Loads a split from `data_dir`, else from `VAE_MNIST_DIR`, else through Burn's download.
    pub fn load(split: Split, data_dir: Option<&Path>) -> Result<Self, DataError> {
        match resolve_dir(data_dir) {
            Some(dir) => Self::from_dir(split, &dir),
            None => Self::from_burn(split),
        }
    }

    /// Reads and verifies a split's two IDX files (plain or `.gz`) in `dir`.
    pub fn from_dir(split: Split, dir: &Path) -> Result<Self, DataError> {
        let files = split.files();
        let (images_path, mut pixels) = read_verified(dir, files.images, files.images_sha256)?;
        let (labels_path, mut labels) = read_verified(dir, files.labels, files.labels_sha256)?;
        // Keep the decoded buffers and drop their headers in place (no 47 MB copy).
        let header =
            pixels.len() - parse_idx(&images_path, &pixels, 2051, &[IMAGE_SIDE, IMAGE_SIDE])?.len();
        pixels.drain(..header);
        let header = labels.len() - parse_idx(&labels_path, &labels, 2049, &[])?.len();
        labels.drain(..header);
        if pixels.len() / IMAGE_PIXELS != labels.len() {
            return Err(DataError::Corrupt {
                path: labels_path,
                reason: format!(
                    "it has {} labels but {} has {} images",
                    labels.len(),
                    images_path.display(),
                    pixels.len() / IMAGE_PIXELS
                ),
            });
        }
        Ok(Self { pixels, labels })
    }

    /// Loads a split through Burn's `MnistDataset` (downloads into Burn's cache if needed).
    pub fn from_burn(split: Split) -> Result<Self, DataError> {
        use burn::data::dataset::vision::MnistDataset;
        // Burn's loader panics when the download fails; turn that into an error.
        let previous_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let loaded = std::panic::catch_unwind(|| match split {
            Split::Train => MnistDataset::train(),
            Split::Test => MnistDataset::test(),
        });
        std::panic::set_hook(previous_hook);
        let dataset = loaded.map_err(|panic| DataError::Unavailable {
            reason: format!(
                "no data folder was given and Burn's download failed ({})",
                panic_message(&panic)
            ),
        })?;
        let mut pixels = Vec::with_capacity(dataset.len() * IMAGE_PIXELS);
        let mut labels = Vec::with_capacity(dataset.len());
        for item in dataset.iter() {
            let item = item.map_err(|e| DataError::Unavailable {
                reason: format!("Burn's MNIST cache could not be read ({e})"),
            })?;
            pixels.extend(item.image.iter().flatten().map(|&p| p as u8));
            labels.push(item.label);
        }
        Ok(Self { pixels, labels })
    }

    /// Keeps only the first `count` images (all of them if `count` is larger).
    pub fn truncate(mut self, count: usize) -> Self {
        let count = count.min(self.labels.len());
        self.labels.truncate(count);
        self.pixels.truncate(count * IMAGE_PIXELS);
        self
    }

    /// Pixels of image `index`, row-major.
    pub fn pixels(&self, index: usize) -> &[u8] {
        &self.pixels[index * IMAGE_PIXELS..(index + 1) * IMAGE_PIXELS]
    }

    /// Labels, one per image.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }
}

impl Dataset<MnistImage> for MnistData {
    fn get(&self, index: usize) -> Result<MnistImage, DatasetError> {
        let label = *self.labels.get(index).ok_or_else(|| {
            DatasetError::new(std::io::Error::other(format!(
                "image index {index} is out of range for {} images",
                self.labels.len()
            )))
        })?;
        let mut pixels = [0u8; IMAGE_PIXELS];
        pixels.copy_from_slice(self.pixels(index));
        Ok(MnistImage { pixels, label })
    }

    fn len(&self) -> usize {
        self.labels.len()
    }
}

fn resolve_dir(data_dir: Option<&Path>) -> Option<PathBuf> {
    data_dir.map(Path::to_path_buf).or_else(|| {
        std::env::var_os(MNIST_DIR_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    })
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    let text = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown error");
    if text.contains("dns error") || text.contains("ConnectError") {
        return "could not connect to the download server: no network?".to_string();
    }
    // Burn's loader unwraps long reqwest errors: the start says enough.
    let short: String = text.chars().take(160).collect();
    if short.len() < text.len() {
        format!("{short}...")
    } else {
        short
    }
}

/// Reads `dir/name` or `dir/name.gz`, decompressing if needed, and checks its SHA-256.
fn read_verified(dir: &Path, name: &str, sha256: &str) -> Result<(PathBuf, Vec<u8>), DataError> {
    let plain = dir.join(name);
    let gzip = dir.join(format!("{name}.gz"));
    let unreadable = |path: &Path, e: std::io::Error| DataError::Unreadable {
        path: path.to_owned(),
        reason: e.to_string(),
    };
    let (path, bytes) = if plain.is_file() {
        let file = std::fs::File::open(&plain).map_err(|e| unreadable(&plain, e))?;
        let bytes = read_bounded(file, &plain, "")?;
        (plain, bytes)
    } else if gzip.is_file() {
        let file = std::fs::File::open(&gzip).map_err(|e| unreadable(&gzip, e))?;
        let bytes = read_bounded(
            flate2::read::GzDecoder::new(file),
            &gzip,
            "gzip decompression ",
        )?;
        (gzip, bytes)
    } else {
        return Err(DataError::Missing {
            dir: dir.to_owned(),
            name: name.to_string(),
        });
    };
    let digest = format!("{:x}", Sha256::digest(&bytes));
    if digest != sha256 {
        return Err(DataError::Corrupt {
            path,
            reason: format!(
                "its SHA-256 is {digest}, not the MNIST digest {sha256} (truncated, damaged or a different file)"
            ),
        });
    }
    Ok((path, bytes))
}

/// The largest MNIST file (the training images) is 47,040,016 bytes; nothing bigger is read.
pub const MAX_IDX_BYTES: u64 = 64 << 20;

/// Reads at most [`MAX_IDX_BYTES`] (+1, to notice more), so that neither a huge file nor a
/// small gzip that expands without end can exhaust memory.
fn read_bounded(reader: impl Read, path: &Path, what: &str) -> Result<Vec<u8>, DataError> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_IDX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| DataError::Unreadable {
            path: path.to_owned(),
            reason: format!("{what}failed ({e})"),
        })?;
    if bytes.len() as u64 > MAX_IDX_BYTES {
        return Err(DataError::Corrupt {
            path: path.to_owned(),
            reason: format!(
                "it holds more than {MAX_IDX_BYTES} bytes, far more than any MNIST file"
            ),
        });
    }
    Ok(bytes)
}

/// Checks an IDX header (magic, item shape, length) and returns the payload.
fn parse_idx<'a>(
    path: &Path,
    bytes: &'a [u8],
    magic: u32,
    item_shape: &[usize],
) -> Result<&'a [u8], DataError> {
    let corrupt = |reason: String| DataError::Corrupt {
        path: path.to_owned(),
        reason,
    };
    let header_len = 4 + 4 * (1 + item_shape.len());
    if bytes.len() < header_len {
        return Err(corrupt(format!(
            "it has {} bytes, fewer than its header",
            bytes.len()
        )));
    }
    let word = |i: usize| {
        u32::from_be_bytes([
            bytes[4 * i],
            bytes[4 * i + 1],
            bytes[4 * i + 2],
            bytes[4 * i + 3],
        ])
    };
    if word(0) != magic {
        return Err(corrupt(format!("magic number {} is not {magic}", word(0))));
    }
    for (axis, &expected) in item_shape.iter().enumerate() {
        let found = word(2 + axis) as usize;
        if found != expected {
            return Err(corrupt(format!("image size {found} is not {expected}")));
        }
    }
    let count = word(1) as usize;
    let payload = &bytes[header_len..];
    let expected = count.saturating_mul(item_shape.iter().product());
    if payload.len() != expected {
        return Err(corrupt(format!(
            "header says {count} items ({expected} bytes) but {} bytes follow",
            payload.len()
        )));
    }
    Ok(payload)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn idx(magic: u32, dims: &[u32], payload: &[u8]) -> Vec<u8> {
        let mut bytes = magic.to_be_bytes().to_vec();
        for d in dims {
            bytes.extend(d.to_be_bytes());
        }
        bytes.extend(payload);
        bytes
    }

    #[test]
    fn parses_a_well_formed_header() {
        let bytes = idx(2051, &[2, 28, 28], &[7u8; 2 * 784]);
        assert_eq!(
            parse_idx(Path::new("x"), &bytes, 2051, &[28, 28])
                .unwrap()
                .len(),
            1568
        );
    }

    fn image_error(bytes: Vec<u8>) -> String {
        parse_idx(Path::new("f"), &bytes, 2051, &[28, 28])
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn rejects_bad_magic_size_and_length_without_huge_allocations() {
        assert!(image_error(idx(2049, &[1, 28, 28], &[0; 784])).contains("magic number 2049"));
        assert!(image_error(idx(2051, &[1, 32, 32], &[0; 1024])).contains("image size 32"));
        assert!(image_error(idx(2051, &[3, 28, 28], &[0; 784])).contains("header says 3 items"));
        // A header claiming 2^32-1 images is refused by its length, not by allocating.
        assert!(image_error(idx(2051, &[u32::MAX, 28, 28], &[0; 784])).contains("header says"));
        assert!(image_error(vec![0, 0]).contains("fewer than its header"));
    }

    /// Seconds each fuzz test runs: `VAE_FUZZ_SECONDS`, default 2.
    pub(crate) fn fuzz_seconds() -> f64 {
        std::env::var("VAE_FUZZ_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(2.0)
    }

    fn mutate(bytes: &mut Vec<u8>, rng: &mut rand::rngs::StdRng) {
        use rand::Rng;
        for _ in 0..rng.random_range(1..4) {
            match rng.random_range(0..4) {
                0 if !bytes.is_empty() => {
                    let i = rng.random_range(0..bytes.len());
                    bytes[i] = rng.random();
                }
                1 => {
                    let n = rng.random_range(0..=bytes.len());
                    bytes.truncate(n);
                }
                2 => {
                    // A header word: magic, count or a dimension, often huge.
                    let w = rng.random_range(0..4usize);
                    if bytes.len() >= 4 * w + 4 {
                        let value: u32 = if rng.random() { rng.random() } else { u32::MAX };
                        bytes[4 * w..4 * w + 4].copy_from_slice(&value.to_be_bytes());
                    }
                }
                _ => {
                    let extra = rng.random_range(0..64);
                    bytes.extend((0..extra).map(|_| rng.random::<u8>()));
                }
            }
        }
    }

    /// Bounded fuzzing of the IDX reader: mutated files never panic, and a file it accepts
    /// always holds exactly the items its header announces.
    #[test]
    fn fuzz_idx_parsing_never_panics_and_accepts_only_consistent_files() {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let seeds = [
            idx(2051, &[3, 28, 28], &[9u8; 3 * 784]),
            idx(2049, &[3], &[1, 2, 3]),
        ];
        let start = std::time::Instant::now();
        let (mut runs, mut accepted) = (0usize, 0usize);
        while start.elapsed().as_secs_f64() < fuzz_seconds() {
            let mut bytes = seeds[runs % 2].clone();
            mutate(&mut bytes, &mut rng);
            for (magic, shape) in [(2051, &[28usize, 28][..]), (2049, &[][..])] {
                if let Ok(payload) = parse_idx(Path::new("fuzz"), &bytes, magic, shape) {
                    accepted += 1;
                    let count = u32::from_be_bytes(bytes[4..8].try_into().unwrap()) as usize;
                    assert_eq!(payload.len(), count * shape.iter().product::<usize>());
                }
            }
            runs += 1;
        }
        eprintln!(
            "fuzz parse_idx: {runs} inputs in {:.1} s, {accepted} accepted",
            start.elapsed().as_secs_f64()
        );
        assert!(
            runs >= 1000 && accepted > 0,
            "{runs} runs, {accepted} accepted"
        );
    }

    /// Mutated gzip streams fail cleanly, and a small gzip that expands beyond any MNIST file
    /// is cut off at the bound instead of filling memory.
    #[test]
    fn fuzz_gzip_reading_is_bounded() {
        use std::io::Write;

        use rand::SeedableRng;
        let gzip = |data: &[u8]| {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(data).unwrap();
            encoder.finish().unwrap()
        };
        let bomb = gzip(&vec![0u8; (MAX_IDX_BYTES + 4096) as usize]);
        assert!(bomb.len() < 1 << 20, "{} bytes", bomb.len());
        let error = read_bounded(
            flate2::read::GzDecoder::new(&bomb[..]),
            Path::new("b"),
            "gzip ",
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("more than"), "{error}");

        let mut rng = rand::rngs::StdRng::seed_from_u64(6);
        let seed = gzip(&idx(2049, &[3], &[1, 2, 3]));
        let start = std::time::Instant::now();
        let mut runs = 0usize;
        while start.elapsed().as_secs_f64() < fuzz_seconds() {
            let mut bytes = seed.clone();
            mutate(&mut bytes, &mut rng);
            if let Ok(data) = read_bounded(
                flate2::read::GzDecoder::new(&bytes[..]),
                Path::new("f"),
                "gzip ",
            ) {
                assert!(data.len() as u64 <= MAX_IDX_BYTES);
                let _ = parse_idx(Path::new("f"), &data, 2049, &[]);
            }
            runs += 1;
        }
        eprintln!(
            "fuzz gzip: {runs} inputs in {:.1} s",
            start.elapsed().as_secs_f64()
        );
        assert!(runs >= 100);
    }
}
