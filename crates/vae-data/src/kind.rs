//! Which dataset: MNIST or Fashion-MNIST, with their class names and where each is looked for.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::DataError;

/// Classes in either dataset.
pub const NUM_CLASSES: usize = 10;
/// The environment variable naming a folder of MNIST IDX files.
pub const MNIST_DIR_ENV: &str = "VAE_MNIST_DIR";
/// The environment variable naming a folder of Fashion-MNIST IDX files.
pub const FASHION_MNIST_DIR_ENV: &str = "VAE_FASHION_MNIST_DIR";
/// Where Debian's package `dataset-fashion-mnist` installs the four `.gz` files.
pub const FASHION_MNIST_SYSTEM_DIR: &str = "/usr/share/datasets/fashion-mnist";

const MNIST_CLASSES: [&str; NUM_CLASSES] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
/// Zalando's label table (github.com/zalandoresearch/fashion-mnist, "Labels").
const FASHION_MNIST_CLASSES: [&str; NUM_CLASSES] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// A 28x28 greyscale dataset in MNIST's IDX format. Serialised as `"mnist"` or
/// `"fashion-mnist"` (the names [`FromStr`] accepts too).
///
/// ```rust
/// use vae_data::{DataError, DatasetKind};
///
/// let kind: DatasetKind = "fashion-mnist".parse()?;
/// assert_eq!(kind, DatasetKind::FashionMnist);
/// assert_eq!((kind.id(), kind.name()), ("fashion-mnist", "Fashion-MNIST"));
/// assert_eq!(kind.to_string(), "Fashion-MNIST");
/// assert_eq!(DatasetKind::default(), DatasetKind::Mnist);
///
/// // Only the ids parse; the error lists them.
/// let error = "fashion".parse::<DatasetKind>().unwrap_err();
/// assert!(matches!(error, DataError::UnknownDataset { .. }));
/// assert!(error.to_string().contains(r#"use "mnist" or "fashion-mnist""#));
/// # Ok::<(), DataError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetKind {
    /// Handwritten digits (LeCun, Cortes, Burges): 60,000 train and 10,000 test images.
    #[default]
    Mnist,
    /// Zalando's article images (Xiao, Rasul, Vollgraf 2017), a drop-in replacement for
    /// MNIST: same sizes, splits and file names.
    FashionMnist,
}

impl DatasetKind {
    /// Both datasets.
    pub const ALL: [DatasetKind; 2] = [DatasetKind::Mnist, DatasetKind::FashionMnist];

    /// The name used in configs and on the command line: `"mnist"` or `"fashion-mnist"`.
    pub fn id(self) -> &'static str {
        match self {
            DatasetKind::Mnist => "mnist",
            DatasetKind::FashionMnist => "fashion-mnist",
        }
    }

    /// The name for people: `"MNIST"` or `"Fashion-MNIST"` (also its `Display`).
    pub fn name(self) -> &'static str {
        match self {
            DatasetKind::Mnist => "MNIST",
            DatasetKind::FashionMnist => "Fashion-MNIST",
        }
    }

    /// The environment variable that names a folder of this dataset's files.
    ///
    /// ```rust
    /// use vae_data::{DatasetKind, FASHION_MNIST_DIR_ENV, MNIST_DIR_ENV};
    ///
    /// assert_eq!(DatasetKind::Mnist.env_var(), MNIST_DIR_ENV);
    /// assert_eq!(DatasetKind::FashionMnist.env_var(), "VAE_FASHION_MNIST_DIR");
    /// # assert_eq!(FASHION_MNIST_DIR_ENV, "VAE_FASHION_MNIST_DIR");
    /// ```
    pub fn env_var(self) -> &'static str {
        match self {
            DatasetKind::Mnist => MNIST_DIR_ENV,
            DatasetKind::FashionMnist => FASHION_MNIST_DIR_ENV,
        }
    }

    /// A system folder looked in after the environment variable, if the dataset has one
    /// ([`FASHION_MNIST_SYSTEM_DIR`] for Fashion-MNIST; none for MNIST).
    ///
    /// ```rust
    /// use std::path::Path;
    ///
    /// use vae_data::DatasetKind;
    ///
    /// assert_eq!(DatasetKind::Mnist.system_dir(), None);
    /// assert_eq!(
    ///     DatasetKind::FashionMnist.system_dir(),
    ///     Some(Path::new("/usr/share/datasets/fashion-mnist"))
    /// );
    /// ```
    pub fn system_dir(self) -> Option<&'static Path> {
        match self {
            DatasetKind::Mnist => None,
            DatasetKind::FashionMnist => Some(Path::new(FASHION_MNIST_SYSTEM_DIR)),
        }
    }

    /// The name of each label, indexed by label.
    ///
    /// ```rust
    /// use vae_data::{DatasetKind, NUM_CLASSES};
    ///
    /// assert_eq!(DatasetKind::Mnist.class_names()[7], "7");
    /// let fashion = DatasetKind::FashionMnist.class_names();
    /// assert_eq!((fashion[0], fashion[9]), ("T-shirt/top", "Ankle boot"));
    /// for kind in DatasetKind::ALL {
    ///     assert_eq!(kind.num_classes(), NUM_CLASSES);
    /// }
    /// ```
    pub fn class_names(self) -> &'static [&'static str; NUM_CLASSES] {
        match self {
            DatasetKind::Mnist => &MNIST_CLASSES,
            DatasetKind::FashionMnist => &FASHION_MNIST_CLASSES,
        }
    }

    /// The number of classes ([`NUM_CLASSES`] for both).
    pub fn num_classes(self) -> usize {
        self.class_names().len()
    }

    /// How to make the dataset available: ends every "not found" error.
    pub(crate) fn how_to_get(self) -> String {
        const FILES: &str = "train-images-idx3-ubyte, train-labels-idx1-ubyte, \
                             t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, plain or .gz";
        #[cfg(feature = "download")]
        const DOWNLOAD: &str = "or run once with internet access so that they are downloaded \
                                into the cache folder (~/.cache/burn-vae on Linux)";
        #[cfg(not(feature = "download"))]
        const DOWNLOAD: &str = "or build vae-data with its `download` feature so that they \
                                are downloaded";
        match self {
            DatasetKind::Mnist => format!(
                "Either point the program at a folder holding the four MNIST IDX files ({FILES}) \
                 with `--data-dir DIR` or the environment variable {MNIST_DIR_ENV}, {DOWNLOAD}"
            ),
            DatasetKind::FashionMnist => format!(
                "Install Debian's package dataset-fashion-mnist (`apt-get install \
                 dataset-fashion-mnist`, files in {FASHION_MNIST_SYSTEM_DIR}), point `--data-dir \
                 DIR` or the environment variable {FASHION_MNIST_DIR_ENV} at a folder holding the \
                 four Fashion-MNIST IDX files ({FILES}; from \
                 https://github.com/zalandoresearch/fashion-mnist), {DOWNLOAD}"
            ),
        }
    }
}

impl fmt::Display for DatasetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DatasetKind {
    type Err = DataError;

    /// Parses `"mnist"` or `"fashion-mnist"`.
    fn from_str(name: &str) -> Result<Self, DataError> {
        DatasetKind::ALL
            .into_iter()
            .find(|kind| kind.id() == name)
            .ok_or_else(|| DataError::UnknownDataset {
                name: name.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_names_are_the_ids_and_parse_back() {
        for kind in DatasetKind::ALL {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.id()));
            assert_eq!(serde_json::from_str::<DatasetKind>(&json).unwrap(), kind);
            assert_eq!(kind.id().parse::<DatasetKind>().unwrap(), kind);
        }
        assert_eq!(
            serde_json::to_string(&DatasetKind::FashionMnist).unwrap(),
            "\"fashion-mnist\""
        );
        assert!(serde_json::from_str::<DatasetKind>("\"fashion_mnist\"").is_err());
        let error = "fashion".parse::<DatasetKind>().unwrap_err().to_string();
        assert!(
            error.contains("\"fashion\"") && error.contains("\"fashion-mnist\""),
            "{error}"
        );
    }

    #[test]
    fn both_datasets_have_ten_named_classes() {
        for kind in DatasetKind::ALL {
            assert_eq!(kind.num_classes(), NUM_CLASSES);
        }
        assert_eq!(DatasetKind::Mnist.class_names()[7], "7");
        assert_eq!(DatasetKind::FashionMnist.class_names()[0], "T-shirt/top");
        assert_eq!(DatasetKind::FashionMnist.class_names()[9], "Ankle boot");
        assert_eq!(DatasetKind::FashionMnist.to_string(), "Fashion-MNIST");
    }
}
