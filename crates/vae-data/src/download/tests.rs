//! The download against a mirror served on 127.0.0.1 from the real MNIST files
//! (`VAE_MNIST_DIR`; skipped without it, except under `CI=true`).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use super::*;
use crate::Dataset;

const IMAGES: &str = "t10k-images-idx3-ubyte.gz";
const LABELS: &str = "t10k-labels-idx1-ubyte.gz";

/// An HTTP server on 127.0.0.1 that serves `files` by name (404 for any other path) and
/// records each path asked for; it lives until the test process ends.
struct Mirror {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Mirror {
    fn serve(files: HashMap<&'static str, Vec<u8>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/mnist/", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&requests);
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                let _ = reader.read_line(&mut request);
                let mut header = String::new();
                while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                    header.clear();
                }
                let path = request.split_whitespace().nth(1).unwrap_or_default();
                let name = path.strip_prefix("/mnist/").unwrap_or(path).to_string();
                let (status, body) = match files.get(name.as_str()) {
                    Some(bytes) => ("200 OK", bytes.as_slice()),
                    None => ("404 Not Found", &b"not here"[..]),
                };
                log.lock().unwrap().push(name);
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(body);
            }
        });
        Self { url, requests }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

/// The real MNIST folder, or `None` (after saying why) outside CI.
fn mnist_dir() -> Option<PathBuf> {
    match std::env::var_os(crate::MNIST_DIR_ENV) {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
            assert!(!ci, "CI=true needs VAE_MNIST_DIR for the download tests");
            eprintln!("skipped: VAE_MNIST_DIR is not set");
            None
        }
    }
}

/// The test split's two files as a mirror serves them (`.gz`; plain files are compressed).
fn test_split_files(dir: &Path) -> HashMap<&'static str, Vec<u8>> {
    [IMAGES, LABELS]
        .into_iter()
        .map(|name| {
            let gz = std::fs::read(dir.join(name)).unwrap_or_else(|_| {
                let plain = std::fs::read(dir.join(name.trim_end_matches(".gz"))).unwrap();
                let mut encoder =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                encoder.write_all(&plain).unwrap();
                encoder.finish().unwrap()
            });
            (name, gz)
        })
        .collect()
}

fn config(mirrors: &[&str], cache_dir: PathBuf) -> DownloadConfig {
    DownloadConfig {
        mirrors: mirrors.iter().map(|url| url.to_string()).collect(),
        cache_dir,
        connect_timeout: Duration::from_secs(5),
        file_timeout: Duration::from_secs(60),
    }
}

fn cached_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_split_is_downloaded_verified_kept_and_then_read_without_the_network() {
    let Some(dir) = mnist_dir() else { return };
    let mirror = Mirror::serve(test_split_files(&dir));
    let temp = tempfile::tempdir().unwrap();
    let cache = temp.path().join("cache").join("mnist");

    let downloaded = DatasetKind::Mnist
        .download(Split::Test, &config(&[&mirror.url], cache.clone()))
        .unwrap();
    let local = DatasetKind::Mnist.from_dir(Split::Test, &dir).unwrap();
    assert_eq!(downloaded.len(), 10_000);
    assert_eq!(downloaded.labels(), local.labels());
    assert_eq!(downloaded.pixels(9_999), local.pixels(9_999));
    assert_eq!(cached_names(&cache), [IMAGES, LABELS]);
    assert_eq!(mirror.requests(), [IMAGES, LABELS]);

    // The cache answers from now on: the mirror is not asked again.
    let again = DatasetKind::Mnist
        .download(Split::Test, &config(&[&mirror.url], cache.clone()))
        .unwrap();
    assert_eq!(again.labels(), local.labels());
    assert_eq!(mirror.requests().len(), 2);

    // A cached file damaged on disk is downloaded again, once.
    std::fs::write(cache.join(LABELS), b"damaged").unwrap();
    let repaired = DatasetKind::Mnist
        .download(Split::Test, &config(&[&mirror.url], cache.clone()))
        .unwrap();
    assert_eq!(repaired.labels(), local.labels());
    assert_eq!(mirror.requests(), [IMAGES, LABELS, LABELS]);
    assert_eq!(cached_names(&cache), [IMAGES, LABELS]);
}

#[test]
fn every_mirror_failing_is_one_error_listing_each_url_and_nothing_is_kept() {
    let garbage = Mirror::serve(HashMap::from([(IMAGES, b"not gzip at all".to_vec())]));
    let empty = Mirror::serve(HashMap::new());
    let temp = tempfile::tempdir().unwrap();
    let error = DatasetKind::FashionMnist
        .download(
            Split::Test,
            &config(&[&garbage.url, &empty.url], temp.path().into()),
        )
        .unwrap_err();
    let message = error.to_string();
    for part in [
        format!("Fashion-MNIST file {IMAGES} could not be downloaded"),
        format!("{}{IMAGES}: the file is damaged", garbage.url),
        format!("{}{IMAGES}: the server answered HTTP 404", empty.url),
        "VAE_FASHION_MNIST_MIRROR".to_string(),
        "dataset-fashion-mnist".to_string(),
    ] {
        assert!(message.contains(&part), "{part:?} not in: {message}");
    }
    assert!(!message.contains("Replace it"), "{message}");
    assert!(cached_names(temp.path()).is_empty());
    assert_eq!(garbage.requests(), [IMAGES]);
}

#[test]
fn a_damaged_download_is_never_kept_and_the_next_mirror_is_tried() {
    let Some(dir) = mnist_dir() else { return };
    let good = test_split_files(&dir);
    let truncated = good
        .iter()
        .map(|(&name, bytes)| (name, bytes[..bytes.len() / 2].to_vec()))
        .collect();
    let damaged = Mirror::serve(truncated);
    let empty = Mirror::serve(HashMap::new());
    let temp = tempfile::tempdir().unwrap();
    let cache = temp.path().join("mnist");

    let error = DatasetKind::Mnist
        .download(
            Split::Test,
            &config(&[&damaged.url, &empty.url], cache.clone()),
        )
        .unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, DataError::Download { ref attempts, .. } if attempts.len() == 2));
    for part in [
        format!("MNIST file {IMAGES} could not be downloaded"),
        format!("{}{IMAGES}: the file is damaged", damaged.url),
        "gzip decompression failed".to_string(),
        format!("{}{IMAGES}: the server answered HTTP 404", empty.url),
        "--data-dir".to_string(),
    ] {
        assert!(message.contains(&part), "{part:?} not in: {message}");
    }
    assert!(
        cached_names(&cache).is_empty(),
        "{:?}",
        cached_names(&cache)
    );

    let working = Mirror::serve(good);
    let mirrors = [damaged.url.as_str(), working.url.as_str()];
    let downloaded = DatasetKind::Mnist
        .download(Split::Test, &config(&mirrors, cache.clone()))
        .unwrap();
    assert_eq!(downloaded.len(), 10_000);
    assert_eq!(working.requests(), [IMAGES, LABELS]);
    assert_eq!(cached_names(&cache), [IMAGES, LABELS]);
}

#[test]
fn a_file_of_the_other_dataset_is_named_as_such() {
    let Some(dir) = mnist_dir() else { return };
    // MNIST's own test files served under Fashion-MNIST's names.
    let mirror = Mirror::serve(test_split_files(&dir));
    let temp = tempfile::tempdir().unwrap();
    let error = DatasetKind::FashionMnist
        .download(Split::Test, &config(&[&mirror.url], temp.path().into()))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(&format!(
            "{IMAGES}: the file holds MNIST, not Fashion-MNIST"
        )),
        "{error}"
    );
    assert!(cached_names(temp.path()).is_empty());
}

#[test]
fn the_defaults_try_the_public_mirrors_last_and_keep_files_per_dataset() {
    for kind in DatasetKind::ALL {
        let Ok(config) = DownloadConfig::new(kind) else {
            // No HOME or XDG_CACHE_HOME: the error says so.
            assert!(kind.cache_dir().is_none());
            continue;
        };
        let public: Vec<String> = kind.mirrors().iter().map(|url| url.to_string()).collect();
        assert!(config.mirrors.ends_with(&public), "{:?}", config.mirrors);
        assert!(public.iter().all(|url| url.ends_with('/')));
        assert!(
            config
                .cache_dir
                .ends_with(Path::new("burn-vae").join(kind.id())),
            "{}",
            config.cache_dir.display()
        );
    }
    assert_ne!(
        DatasetKind::Mnist.mirror_env_var(),
        DatasetKind::FashionMnist.mirror_env_var()
    );
}
