//! IDX files: bounded reading (plain or gzip), SHA-256 checks against the digest tables, and
//! header parsing. Every check names the dataset and the file.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::DataError;
use crate::files::{IdxFile, SplitFiles, other_dataset_with_digest};
use crate::kind::DatasetKind;
use crate::{IMAGE_PIXELS, IMAGE_SIDE};

/// The most bytes read from one IDX file, decompressed: the largest file of either dataset
/// (the training images) is 47,040,016 bytes.
pub const MAX_IDX_BYTES: u64 = 64 << 20;

const IMAGES_MAGIC: u32 = 2051;
const LABELS_MAGIC: u32 = 2049;

/// Reads, verifies and parses one split's images and labels files in `dir`: returns the
/// pixels (`count * 784` bytes, row-major) and the labels (`count` bytes).
pub(crate) fn read_split(
    kind: DatasetKind,
    dir: &Path,
    files: SplitFiles,
) -> Result<(Vec<u8>, Vec<u8>), DataError> {
    let (images_path, mut pixels) = read_verified(kind, dir, files.images)?;
    let (labels_path, mut labels) = read_verified(kind, dir, files.labels)?;
    // Keep the decoded buffers and drop their headers in place (no 47 MB copy).
    let image_shape = [IMAGE_SIDE, IMAGE_SIDE];
    let header =
        pixels.len() - parse_idx(kind, &images_path, &pixels, IMAGES_MAGIC, &image_shape)?.len();
    pixels.drain(..header);
    let header = labels.len() - parse_idx(kind, &labels_path, &labels, LABELS_MAGIC, &[])?.len();
    labels.drain(..header);
    if pixels.len() / IMAGE_PIXELS != labels.len() {
        return Err(DataError::Corrupt {
            dataset: kind,
            path: labels_path,
            reason: format!(
                "it has {} labels but {} has {} images",
                labels.len(),
                images_path.display(),
                pixels.len() / IMAGE_PIXELS
            ),
        });
    }
    Ok((pixels, labels))
}

/// Reads `dir/name` or `dir/name.gz`, decompressing if needed, and checks the SHA-256 of the
/// decompressed bytes; a digest of the other dataset's files is reported as such.
fn read_verified(
    kind: DatasetKind,
    dir: &Path,
    file: IdxFile,
) -> Result<(PathBuf, Vec<u8>), DataError> {
    let plain = dir.join(file.name);
    let gzip = dir.join(format!("{}.gz", file.name));
    let unreadable = |path: &Path, e: std::io::Error| DataError::Unreadable {
        dataset: kind,
        path: path.to_owned(),
        reason: e.to_string(),
    };
    let (path, bytes) = if plain.is_file() {
        let file = std::fs::File::open(&plain).map_err(|e| unreadable(&plain, e))?;
        let bytes = read_bounded(kind, file, &plain, "")?;
        (plain, bytes)
    } else if gzip.is_file() {
        let file = std::fs::File::open(&gzip).map_err(|e| unreadable(&gzip, e))?;
        let decoder = flate2::read::GzDecoder::new(file);
        let bytes = read_bounded(kind, decoder, &gzip, "gzip decompression ")?;
        (gzip, bytes)
    } else {
        return Err(DataError::Missing {
            dataset: kind,
            dir: dir.to_owned(),
            name: file.name.to_string(),
        });
    };
    check_digest(kind, file, &path, &bytes)?;
    Ok((path, bytes))
}

/// Checks that `gz`, the gzip bytes of `file` (from `origin`, a path or URL for the errors),
/// decompress to the file's digest; the download's check before a file is kept.
#[cfg(feature = "download")]
pub(crate) fn verify_gzip(
    kind: DatasetKind,
    file: IdxFile,
    origin: &Path,
    gz: &[u8],
) -> Result<(), DataError> {
    let decoder = flate2::read::GzDecoder::new(gz);
    let bytes = read_bounded(kind, decoder, origin, "gzip decompression ")?;
    check_digest(kind, file, origin, &bytes)
}

/// The SHA-256 of `bytes` against `file`'s; a digest of the other dataset's files is reported
/// as such.
fn check_digest(
    kind: DatasetKind,
    file: IdxFile,
    path: &Path,
    bytes: &[u8],
) -> Result<(), DataError> {
    let digest = format!("{:x}", Sha256::digest(bytes));
    if digest == file.sha256 {
        return Ok(());
    }
    if let Some(found) = other_dataset_with_digest(kind, &digest) {
        return Err(DataError::WrongDataset {
            expected: kind,
            found,
            path: path.to_owned(),
        });
    }
    Err(DataError::Corrupt {
        dataset: kind,
        path: path.to_owned(),
        reason: format!(
            "its SHA-256 is {digest}, not the {kind} digest {} (truncated, damaged or a \
             different file)",
            file.sha256
        ),
    })
}

/// Reads at most [`MAX_IDX_BYTES`] (+1, to notice more), so that neither a huge file nor a
/// small gzip that expands without end can exhaust memory.
fn read_bounded(
    kind: DatasetKind,
    reader: impl Read,
    path: &Path,
    what: &str,
) -> Result<Vec<u8>, DataError> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_IDX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| DataError::Unreadable {
            dataset: kind,
            path: path.to_owned(),
            reason: format!("{what}failed ({e})"),
        })?;
    if bytes.len() as u64 > MAX_IDX_BYTES {
        return Err(DataError::Corrupt {
            dataset: kind,
            path: path.to_owned(),
            reason: format!(
                "it holds more than {MAX_IDX_BYTES} bytes, far more than any {kind} file"
            ),
        });
    }
    Ok(bytes)
}

/// Checks an IDX header (magic, item shape, length) and returns the payload.
fn parse_idx<'a>(
    kind: DatasetKind,
    path: &Path,
    bytes: &'a [u8],
    magic: u32,
    item_shape: &[usize],
) -> Result<&'a [u8], DataError> {
    let corrupt = |reason: String| DataError::Corrupt {
        dataset: kind,
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
mod tests {
    use super::*;

    const MNIST: DatasetKind = DatasetKind::Mnist;

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
            parse_idx(MNIST, Path::new("x"), &bytes, 2051, &[28, 28])
                .unwrap()
                .len(),
            1568
        );
    }

    fn image_error(bytes: Vec<u8>) -> String {
        parse_idx(MNIST, Path::new("f"), &bytes, 2051, &[28, 28])
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
    fn fuzz_seconds() -> f64 {
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
                if let Ok(payload) = parse_idx(MNIST, Path::new("fuzz"), &bytes, magic, shape) {
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
            MNIST,
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
                MNIST,
                flate2::read::GzDecoder::new(&bytes[..]),
                Path::new("f"),
                "gzip ",
            ) {
                assert!(data.len() as u64 <= MAX_IDX_BYTES);
                let _ = parse_idx(MNIST, Path::new("f"), &data, 2049, &[]);
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
