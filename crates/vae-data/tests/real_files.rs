//! Loading the real files: Fashion-MNIST from its Debian folder (or `VAE_FASHION_MNIST_DIR`),
//! MNIST from `VAE_MNIST_DIR`; a folder of the other dataset, a missing and a damaged file.
//!
//! A test whose dataset folder is absent prints why and passes, except under CI (`CI=true`),
//! where it fails: CI never skips silently.

use std::io::Read;
use std::path::{Path, PathBuf};

use vae_data::{DataError, DataSource, Dataset, DatasetKind, ImageData, NUM_CLASSES, Split};

/// The folder `kind` would be read from, or `None` (after saying why) when it is absent.
fn folder_or_skip(kind: DatasetKind) -> Option<PathBuf> {
    let dir = match kind.data_dir(None) {
        Ok(Some(dir)) => return Some(dir),
        Ok(None) => match kind.system_dir() {
            Some(system) => format!(
                "{} is not set and {} is absent",
                kind.env_var(),
                system.display()
            ),
            None => format!("{} is not set", kind.env_var()),
        },
        // A variable that is set but wrong is a mistake to fix, not a reason to skip.
        Err(error) => panic!("{error}"),
    };
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(
        !ci,
        "CI=true and the {kind} folder is absent ({dir}): CI must run this test. {}",
        match kind {
            DatasetKind::Mnist => "Set VAE_MNIST_DIR to an absolute path of the MNIST files",
            DatasetKind::FashionMnist =>
                "Install Debian's package dataset-fashion-mnist or set VAE_FASHION_MNIST_DIR",
        }
    );
    eprintln!("skipped: the {kind} folder is absent ({dir})");
    None
}

fn first_label_in_file(dir: &Path, name: &str) -> u8 {
    let file = std::fs::File::open(dir.join(format!("{name}.gz"))).unwrap();
    let mut header = [0u8; 9];
    flate2::read::GzDecoder::new(file)
        .read_exact(&mut header)
        .unwrap();
    header[8]
}

#[test]
fn fashion_mnist_loads_with_its_sizes_labels_and_classes() {
    let Some(dir) = folder_or_skip(DatasetKind::FashionMnist) else {
        return;
    };
    let kind = DatasetKind::FashionMnist;
    for (split, count, labels_file) in [
        (Split::Train, 60_000, "train-labels-idx1-ubyte"),
        (Split::Test, 10_000, "t10k-labels-idx1-ubyte"),
    ] {
        let data = kind.load(split, Some(&dir)).unwrap();
        assert_eq!(data.source(), DataSource::Idx(kind));
        assert_eq!(data.len(), count);
        assert_eq!(data.labels().len(), count);
        // Fashion-MNIST is balanced: every class has a tenth of the images.
        let mut per_class = [0usize; NUM_CLASSES];
        for &label in data.labels() {
            per_class[label as usize] += 1;
        }
        assert_eq!(per_class, [count / NUM_CLASSES; NUM_CLASSES]);
        // The first label, read straight from the file: 9, an ankle boot, in both splits.
        let first = data.get(0).unwrap();
        assert_eq!(first.label, first_label_in_file(&dir, labels_file));
        assert_eq!(first.label, 9);
        assert_eq!(kind.class_names()[first.label as usize], "Ankle boot");
        assert_eq!(&first.pixels[..], data.pixels(0));
        assert!(data.pixels(count - 1).iter().any(|&p| p > 0));
    }
}

#[test]
fn fashion_mnist_files_given_as_mnist_are_named_as_fashion_mnist() {
    let Some(dir) = folder_or_skip(DatasetKind::FashionMnist) else {
        return;
    };
    let error = ImageData::from_dir(Split::Test, &dir).unwrap_err();
    assert!(
        matches!(
            error,
            DataError::WrongDataset {
                expected: DatasetKind::Mnist,
                found: DatasetKind::FashionMnist,
                ..
            }
        ),
        "{error:?}"
    );
    let message = error.to_string();
    for part in [
        "t10k-images-idx3-ubyte",
        "This looks like Fashion-MNIST, not MNIST",
        "\"fashion-mnist\"",
        "VAE_MNIST_DIR",
    ] {
        assert!(message.contains(part), "{part:?} not in: {message}");
    }
}

#[test]
fn mnist_files_given_as_fashion_mnist_are_named_as_mnist() {
    let Some(dir) = folder_or_skip(DatasetKind::Mnist) else {
        return;
    };
    let error = DatasetKind::FashionMnist
        .load(Split::Train, Some(&dir))
        .unwrap_err()
        .to_string();
    for part in [
        "train-images-idx3-ubyte",
        "holds MNIST, not Fashion-MNIST",
        "This looks like MNIST, not Fashion-MNIST",
        "set `dataset` in the config to \"mnist\"",
        "VAE_FASHION_MNIST_DIR",
    ] {
        assert!(error.contains(part), "{part:?} not in: {error}");
    }
}

#[test]
fn mnist_still_loads_from_its_folder() {
    let Some(dir) = folder_or_skip(DatasetKind::Mnist) else {
        return;
    };
    let data = ImageData::load(Split::Test, Some(&dir)).unwrap();
    assert_eq!(
        (data.source(), data.len()),
        (DataSource::Idx(DatasetKind::Mnist), 10_000)
    );
    // The first test digit of MNIST is a 7.
    assert_eq!(data.labels()[0], 7);
}

#[test]
fn a_missing_file_is_named_with_the_dataset_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let error = DatasetKind::FashionMnist
        .from_dir(Split::Test, dir.path())
        .unwrap_err()
        .to_string();
    for part in [
        "Fashion-MNIST file t10k-images-idx3-ubyte (or t10k-images-idx3-ubyte.gz) is missing",
        &dir.path().display().to_string(),
        "--data-dir / VAE_FASHION_MNIST_DIR",
    ] {
        assert!(error.contains(part), "{part:?} not in: {error}");
    }

    let error = DatasetKind::FashionMnist
        .load(Split::Test, Some(Path::new("/nonexistent/fashion")))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("/nonexistent/fashion (from --data-dir) does not exist")
            && error.contains("dataset-fashion-mnist"),
        "{error}"
    );
}

#[test]
fn a_damaged_file_is_corrupt_with_its_digest_and_dataset() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t10k-images-idx3-ubyte"), [0u8; 100]).unwrap();
    let error = DatasetKind::FashionMnist
        .from_dir(Split::Test, dir.path())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("Fashion-MNIST file")
            && error.contains("is corrupt")
            && error.contains("not the Fashion-MNIST digest 5b4141f0"),
        "{error}"
    );
}

#[test]
fn static_binarization_is_reproducible_and_keeps_the_mean_intensity() {
    let Some(dir) = folder_or_skip(DatasetKind::Mnist) else {
        return;
    };
    let test = ImageData::from_dir(Split::Test, &dir)
        .unwrap()
        .truncate(2000);
    let once = test.clone().binarized(7);
    assert_eq!(once.labels(), test.labels());
    let pixels = |data: &ImageData| -> Vec<u8> {
        (0..data.labels().len())
            .flat_map(|i| data.pixels(i).to_vec())
            .collect()
    };
    let (gray, binary) = (pixels(&test), pixels(&once));
    assert!(binary.iter().all(|&p| p == 0 || p == 255));
    // Black stays black and white stays white; the rest is drawn.
    for (g, b) in gray.iter().zip(&binary) {
        match g {
            0 => assert_eq!(*b, 0),
            255 => assert_eq!(*b, 255),
            _ => {}
        }
    }
    assert_eq!(
        binary,
        pixels(&test.clone().binarized(7)),
        "same seed, same images"
    );
    assert_ne!(
        binary,
        pixels(&test.binarized(8)),
        "another seed, other images"
    );
    // E[binary] = intensity: over 1.6 million pixels the means agree to well within 0.002.
    let mean = |p: &[u8]| p.iter().map(|&v| f64::from(v) / 255.0).sum::<f64>() / p.len() as f64;
    assert!(
        (mean(&gray) - mean(&binary)).abs() < 0.002,
        "{} vs {}",
        mean(&gray),
        mean(&binary)
    );
}

#[test]
fn keeping_classes_keeps_those_images_in_order_and_nothing_else() {
    let Some(dir) = folder_or_skip(DatasetKind::Mnist) else {
        return;
    };
    let test = ImageData::from_dir(Split::Test, &dir)
        .unwrap()
        .truncate(1000);
    let kept = test.clone().keep_classes(&[3, 7]);
    let expected: Vec<usize> = (0..1000)
        .filter(|&i| matches!(test.labels()[i], 3 | 7))
        .collect();
    assert!(expected.len() > 150, "{}", expected.len());
    assert_eq!(kept.labels().len(), expected.len());
    for (k, &i) in expected.iter().enumerate() {
        assert_eq!(kept.labels()[k], test.labels()[i]);
        assert_eq!(kept.pixels(k), test.pixels(i));
    }
    assert!(test.keep_classes(&[]).labels().is_empty());
}
