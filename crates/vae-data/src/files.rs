//! The two splits, their IDX file names (the same for both datasets) and the SHA-256 of each
//! file's decompressed bytes.

use crate::kind::DatasetKind;

/// Which part of a dataset (MNIST and Fashion-MNIST have the same two). For an image folder
/// ([`ImageFolderConfig`](crate::ImageFolderConfig)), [`Split::Test`] is the held-out share.
///
/// ```rust
/// use vae_data::{Dataset, ImageFolderConfig, Split};
///
/// // Ten images, the default 10 % held out: nine to train on, one to validate with.
/// let dir = tempfile::tempdir()?;
/// for i in 0..10 {
///     image::GrayImage::new(2, 2).save(dir.path().join(format!("{i}.png")))?;
/// }
/// let folder = ImageFolderConfig::new(dir.path(), 1, 2, 2);
/// assert_eq!(folder.load(Split::Train)?.len(), 9);
/// assert_eq!(folder.load(Split::Test)?.len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    /// The 60,000 training images.
    Train,
    /// The 10,000 test images (used for validation, as PyTorch's example does).
    Test,
}

/// One IDX file: its name (without `.gz`) and the SHA-256 of its decompressed bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IdxFile {
    pub(crate) name: &'static str,
    pub(crate) sha256: &'static str,
}

/// The images and labels files of one split.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SplitFiles {
    pub(crate) images: IdxFile,
    pub(crate) labels: IdxFile,
}

const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";
const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";

/// MNIST: the well-known digests of the original files (LeCun et al.), uncompressed.
const MNIST: [SplitFiles; 2] = [
    SplitFiles {
        images: IdxFile {
            name: TRAIN_IMAGES,
            sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        },
        labels: IdxFile {
            name: TRAIN_LABELS,
            sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        },
    },
    SplitFiles {
        images: IdxFile {
            name: TEST_IMAGES,
            sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        },
        labels: IdxFile {
            name: TEST_LABELS,
            sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        },
    },
];

/// Fashion-MNIST: computed with `zcat FILE.gz | sha256sum` from Debian's package
/// `dataset-fashion-mnist` 0.0~git20200523.55506a9-1 (/usr/share/datasets/fashion-mnist,
/// Zalando's files of 2020-06-05), i.e. of the decompressed bytes, as for MNIST.
const FASHION_MNIST: [SplitFiles; 2] = [
    SplitFiles {
        images: IdxFile {
            name: TRAIN_IMAGES,
            sha256: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        },
        labels: IdxFile {
            name: TRAIN_LABELS,
            sha256: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        },
    },
    SplitFiles {
        images: IdxFile {
            name: TEST_IMAGES,
            sha256: "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        },
        labels: IdxFile {
            name: TEST_LABELS,
            sha256: "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        },
    },
];

fn table(kind: DatasetKind) -> &'static [SplitFiles; 2] {
    match kind {
        DatasetKind::Mnist => &MNIST,
        DatasetKind::FashionMnist => &FASHION_MNIST,
    }
}

/// The two files of `split` in `kind`.
pub(crate) fn split_files(kind: DatasetKind, split: Split) -> SplitFiles {
    let index = match split {
        Split::Train => 0,
        Split::Test => 1,
    };
    table(kind)[index]
}

/// The other dataset whose files include one with this digest: a folder of the wrong dataset.
pub(crate) fn other_dataset_with_digest(kind: DatasetKind, sha256: &str) -> Option<DatasetKind> {
    DatasetKind::ALL.into_iter().find(|&other| {
        other != kind
            && table(other)
                .iter()
                .any(|files| files.images.sha256 == sha256 || files.labels.sha256 == sha256)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_has_its_own_digest() {
        let mut digests: Vec<&str> = DatasetKind::ALL
            .iter()
            .flat_map(|&kind| table(kind).iter())
            .flat_map(|files| [files.images.sha256, files.labels.sha256])
            .collect();
        assert!(digests.iter().all(|d| d.len() == 64));
        digests.sort_unstable();
        digests.dedup();
        assert_eq!(digests.len(), 8);
    }

    #[test]
    fn a_digest_of_the_other_dataset_is_recognised() {
        let fashion = split_files(DatasetKind::FashionMnist, Split::Test).labels;
        assert_eq!(
            other_dataset_with_digest(DatasetKind::Mnist, fashion.sha256),
            Some(DatasetKind::FashionMnist)
        );
        assert_eq!(
            other_dataset_with_digest(DatasetKind::FashionMnist, fashion.sha256),
            None
        );
        assert_eq!(other_dataset_with_digest(DatasetKind::Mnist, "00"), None);
    }
}
