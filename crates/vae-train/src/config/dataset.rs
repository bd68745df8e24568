//! Which images a run reads: MNIST, Fashion-MNIST or a folder of image files (`dataset` and
//! `image_folder` in the config), and the shape the networks are built for.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use vae_model::ImageShape;

use super::{CLASSES, ConditionChoice, TrainingConfig};
use crate::data::{DatasetKind, IMAGE_SIDE, ImageData, ImageFolderConfig, MAX_CLASSES, Split};
use crate::error::{DataError, InvalidConfig};

/// The shape of MNIST's and Fashion-MNIST's images: 1×28×28.
pub const IDX_IMAGE_SHAPE: ImageShape = ImageShape {
    channels: 1,
    height: IMAGE_SIDE,
    width: IMAGE_SIDE,
};

/// The `dataset` field: `"mnist"` (the default), `"fashion-mnist"` or `"image-folder"` (which
/// reads the config's `image_folder` section).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetChoice {
    /// Handwritten digits.
    #[default]
    Mnist,
    /// Zalando's article images.
    FashionMnist,
    /// A folder of PNG/JPEG files ([`ImageFolderConfig`]).
    ImageFolder,
}

impl DatasetChoice {
    /// The built-in dataset, or `None` for an image folder.
    pub fn idx(self) -> Option<DatasetKind> {
        match self {
            Self::Mnist => Some(DatasetKind::Mnist),
            Self::FashionMnist => Some(DatasetKind::FashionMnist),
            Self::ImageFolder => None,
        }
    }

    /// The name in configs: `mnist`, `fashion-mnist` or `image-folder`.
    pub fn id(self) -> &'static str {
        self.idx().map_or("image-folder", DatasetKind::id)
    }

    /// The name for people: `MNIST`, `Fashion-MNIST` or `image folder` (also `Display`).
    pub fn name(self) -> &'static str {
        self.idx().map_or("image folder", DatasetKind::name)
    }
}

impl From<DatasetKind> for DatasetChoice {
    fn from(kind: DatasetKind) -> Self {
        match kind {
            DatasetKind::Mnist => Self::Mnist,
            DatasetKind::FashionMnist => Self::FashionMnist,
        }
    }
}

impl fmt::Display for DatasetChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl TrainingConfig {
    /// `[channels, height, width]` of the images the run reads: 1×28×28 for MNIST and
    /// Fashion-MNIST, `image_folder`'s for a folder.
    pub fn image_shape(&self) -> ImageShape {
        match (&self.image_folder, self.dataset) {
            (Some(folder), DatasetChoice::ImageFolder) => ImageShape {
                channels: folder.channels,
                height: folder.height,
                width: folder.width,
            },
            _ => IDX_IMAGE_SHAPE,
        }
    }

    /// Loads a split of the run's images. `data_dir` (the `--data-dir` flag) names the folder
    /// of MNIST's or Fashion-MNIST's IDX files, or replaces `image_folder.path`.
    pub fn load_split(
        &self,
        split: Split,
        data_dir: Option<&Path>,
    ) -> Result<ImageData, DataError> {
        match (self.dataset.idx(), &self.image_folder) {
            (Some(kind), _) => kind.load(split, data_dir),
            (None, Some(folder)) => match data_dir {
                Some(dir) => ImageFolderConfig {
                    path: dir.to_owned(),
                    ..folder.clone()
                }
                .load(split),
                None => folder.load(split),
            },
            (None, None) => Err(DataError::FolderSettings {
                reason: NO_FOLDER_SECTION.into(),
            }),
        }
    }

    /// The same config reading MNIST or Fashion-MNIST (`image_folder` cleared).
    pub fn with_dataset(self, kind: DatasetKind) -> Self {
        Self {
            dataset: kind.into(),
            image_folder: None,
            ..self
        }
    }

    /// The split in words: `MNIST test set`, or `image folder PATH, validation split` (the
    /// images held out by `validation_fraction`).
    pub fn describe_split(&self, split: Split) -> String {
        match (&self.image_folder, self.dataset) {
            (Some(folder), DatasetChoice::ImageFolder) => format!(
                "image folder {}, {} split",
                folder.path.display(),
                match split {
                    Split::Train => "training",
                    Split::Test => "validation",
                }
            ),
            (_, dataset) => format!(
                "{dataset} {} set",
                match split {
                    Split::Train => "training",
                    Split::Test => "test",
                }
            ),
        }
    }

    /// Classes of the labels a `"label"` condition encodes: 10 for MNIST and Fashion-MNIST,
    /// `image_folder.classes` for a folder (0 while unset).
    pub fn classes(&self) -> usize {
        match (&self.image_folder, self.dataset) {
            (Some(folder), DatasetChoice::ImageFolder) => folder.classes.unwrap_or(0),
            _ => CLASSES,
        }
    }

    /// Width of the condition vector the networks take: 0 without a condition, else
    /// [`classes`](Self::classes) (the one-hot label).
    pub fn condition_dim(&self) -> usize {
        match self.condition {
            ConditionChoice::None => 0,
            ConditionChoice::Label => self.classes(),
        }
    }

    /// The built-in dataset the run reads, or an error naming `what` needs one.
    pub fn idx_dataset(&self, what: &str) -> Result<DatasetKind, InvalidConfig> {
        self.dataset.idx().ok_or_else(|| {
            InvalidConfig::new(
                "dataset",
                format!(
                    "{what} works on MNIST and Fashion-MNIST (their ten known classes), but the \
                     config reads an image folder: set `dataset` to \"mnist\" or \
                     \"fashion-mnist\""
                ),
            )
        })
    }

    /// `dataset` and `image_folder` agree, and the folder's settings can work.
    pub(super) fn validate_dataset(&self) -> Result<(), InvalidConfig> {
        match (self.dataset, &self.image_folder) {
            (DatasetChoice::ImageFolder, None) => {
                Err(InvalidConfig::new("image_folder", NO_FOLDER_SECTION))
            }
            (DatasetChoice::ImageFolder, Some(folder)) => {
                if let Some(problem) = folder.problem() {
                    return Err(InvalidConfig::new("image_folder", problem));
                }
                match (self.condition, folder.classes) {
                    (ConditionChoice::Label, None) => Err(InvalidConfig::new(
                        "image_folder.classes",
                        "`condition` \"label\" on an image folder needs `image_folder.classes`: \
                         the number of class subfolders, which fixes the one-hot size (e.g. \
                         `\"classes\": 3` for three subfolders)",
                    )),
                    (_, Some(classes)) if !(2..=MAX_CLASSES).contains(&classes) => {
                        Err(InvalidConfig::new(
                            "image_folder.classes",
                            format!(
                                "`image_folder.classes` is {classes}: use 2 to {MAX_CLASSES} \
                                 (the number of class subfolders), or null"
                            ),
                        ))
                    }
                    _ => Ok(()),
                }
            }
            (kind, Some(_)) => Err(InvalidConfig::new(
                "image_folder",
                format!(
                    "`image_folder` is set, but `dataset` is \"{}\": set `dataset` to \
                     \"image-folder\" to read the folder, or set `image_folder` to null",
                    kind.id()
                ),
            )),
            (_, None) => Ok(()),
        }
    }
}

const NO_FOLDER_SECTION: &str = "`dataset` is \"image-folder\", but the config has no \
    `image_folder` section: add e.g. `\"image_folder\": {\"path\": \"my-images\", \"channels\": \
    1, \"height\": 28, \"width\": 28}` (one subfolder per class, or the images directly)";

#[cfg(test)]
mod tests {
    use super::*;

    fn folder_config(folder: Option<ImageFolderConfig>) -> TrainingConfig {
        TrainingConfig {
            dataset: DatasetChoice::ImageFolder,
            image_folder: folder,
            ..TrainingConfig::default()
        }
    }

    #[test]
    fn the_shape_comes_from_the_folder_section_and_the_names_parse() {
        let config = folder_config(Some(ImageFolderConfig::new("x", 3, 32, 16)));
        let shape = config.image_shape();
        assert_eq!([shape.channels, shape.height, shape.width], [3, 32, 16]);
        assert_eq!(TrainingConfig::default().image_shape(), IDX_IMAGE_SHAPE);
        for choice in [
            DatasetChoice::Mnist,
            DatasetChoice::FashionMnist,
            DatasetChoice::ImageFolder,
        ] {
            let json = serde_json::to_string(&choice).unwrap();
            assert_eq!(json, format!("\"{}\"", choice.id()));
        }
        assert_eq!(
            DatasetChoice::from(DatasetKind::FashionMnist).idx(),
            Some(DatasetKind::FashionMnist)
        );
    }

    #[test]
    fn dataset_and_folder_section_must_agree() {
        let message = |config: &TrainingConfig| config.validate_dataset().unwrap_err().message;
        assert!(message(&folder_config(None)).contains("no `image_folder` section"));
        let mut config = folder_config(Some(ImageFolderConfig::new("x", 2, 28, 28)));
        assert!(message(&config).contains("use 1 (greyscale) or 3 (RGB)"));
        config.image_folder = Some(ImageFolderConfig::new("x", 1, 28, 28));
        config.validate_dataset().unwrap();
        config.condition = ConditionChoice::Label;
        assert!(message(&config).contains("needs `image_folder.classes`"));
        assert_eq!((config.classes(), config.condition_dim()), (0, 0));
        for wrong in [1, 257] {
            config.image_folder.as_mut().unwrap().classes = Some(wrong);
            let text = message(&config);
            assert!(
                text.contains(&format!("is {wrong}: use 2 to 256")),
                "{text}"
            );
        }
        config.image_folder.as_mut().unwrap().classes = Some(3);
        config.validate_dataset().unwrap();
        assert_eq!((config.classes(), config.condition_dim()), (3, 3));
        config.condition = ConditionChoice::None;
        assert_eq!(config.condition_dim(), 0);
        // `null` is a valid value in a config file (absent: the same).
        let mut json = serde_json::to_value(&config).unwrap();
        json["image_folder"]["classes"] = serde_json::Value::Null;
        let read = TrainingConfig::from_json(&json.to_string()).unwrap();
        assert_eq!(read.image_folder.unwrap().classes, None);
        config.dataset = DatasetChoice::Mnist;
        assert!(message(&config).contains("set `dataset` to \"image-folder\""));
        assert!(
            folder_config(None)
                .idx_dataset("The classifier")
                .unwrap_err()
                .message
                .starts_with("The classifier works on MNIST")
        );
    }
}
