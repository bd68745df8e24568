//! Per-epoch model checkpoints that also draw the epoch's pictures.
//!
//! Burn's Learner hands each epoch's model record to a checkpointer; this one writes it
//! atomically (temporary file, then rename), reloads it into a CPU model and draws the
//! reconstruction and sample grids from the reloaded weights, so that every picture comes
//! from a checkpoint that loads.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::prelude::*;
use burn::tensor::Distribution;
use burn::train::checkpoint::{
    Checkpoint, Checkpointer, CheckpointerError, CheckpointingAction, CheckpointingStrategy,
    KeepLastNCheckpoints,
};
use burn::train::metric::store::EventStoreClient;
use vae_model::{ImageShape, VaeError};

use crate::config::TrainingConfig;
use crate::data::batcher::{ImageBatcher, one_hot};
use crate::data::{ImageData, image_shape};
use crate::inspect::images::save_grid;
use crate::inspect::{InspectError, read_back};
use crate::model::{CliVae, build_model, with_host_passes};
use crate::run::RunDir;
use crate::run::checkpoints::{digest_path, save_atomically};

/// Test images shown over their reconstructions.
pub const RECONSTRUCTION_COUNT: usize = 8;
/// Prior samples per grid (8 x 8).
pub const SAMPLE_COUNT: usize = 64;
/// Prior samples per class row in a conditional model's grid (10 rows, one per class).
pub const SAMPLES_PER_CLASS: usize = 8;
/// Each image pixel is drawn as a block this wide.
const SCALE: u32 = 2;

/// Fixed inputs of the per-epoch pictures, so that epochs can be compared, and a CPU model
/// to load each checkpoint into.
///
/// Everything random is drawn here, once, before training starts: drawing pictures later
/// consumes no random numbers, so it cannot change the training run (Flex's RNG is global).
#[derive(Debug, Clone)]
pub struct PictureInputs {
    /// The first test images, `[8, values]` intensities.
    pub test_images: TensorData,
    /// The shape of every image.
    pub shape: ImageShape,
    /// The labels of `test_images`.
    pub test_labels: Vec<u8>,
    /// Latent codes drawn once from the prior, `[64, latent_dim]` (`[80, latent_dim]` for a
    /// conditional model: 8 per class).
    pub prior_codes: TensorData,
    /// For a conditional model, the class of each prior code (one row per class).
    pub prior_labels: Option<Vec<u8>>,
    /// Classes of the condition's one-hot labels.
    classes: usize,
    /// A model with every parameter initialized, on the Flex CPU device.
    template: CliVae,
}

impl PictureInputs {
    /// Takes the first test images and draws the prior codes and the template model on the
    /// Flex CPU device, seeded with `seed`.
    pub fn new(test: &ImageData, config: &TrainingConfig, seed: u64) -> Result<Self, VaeError> {
        let device = Device::flex();
        device.seed(seed);
        let count = RECONSTRUCTION_COUNT.min(burn::data::dataset::Dataset::len(test));
        let images = ImageBatcher::images((0..count).map(|i| test.pixels(i)), &device);
        let test_labels = test.labels()[..count].to_vec();
        let classes = config.classes();
        let conditional = config.condition_dim() > 0;
        let prior_labels = conditional.then(|| {
            (0..classes * SAMPLES_PER_CLASS)
                .map(|i| (i / SAMPLES_PER_CLASS) as u8)
                .collect::<Vec<u8>>()
        });
        let codes = prior_labels.as_ref().map_or(SAMPLE_COUNT, Vec::len);
        let prior_codes = Tensor::<2>::random(
            [codes, config.model.latent_dim],
            Distribution::Normal(0.0, 1.0),
            &device,
        )
        .into_data();
        // On local flex whatever the run trains on: the host passes apply.
        let template = with_host_passes(build_model(config, &device)?, true);
        // Touch every parameter now, so that none is initialized (randomly) later.
        let condition = conditional.then(|| one_hot(&test_labels, classes, &device));
        let posterior = template.encode(images.clone(), condition.clone());
        let _ = template
            .decode(posterior.mean + posterior.log_var, condition)
            .into_data();
        Ok(Self {
            test_images: images.into_data(),
            shape: image_shape(test),
            test_labels,
            prior_codes,
            prior_labels,
            classes,
            template,
        })
    }

    /// Draws both grids for the model in `record_path` into the run folder.
    pub fn draw(&self, record_path: &Path, run: &RunDir, epoch: usize) -> Result<(), InspectError> {
        let device = Device::flex();
        let model = self
            .template
            .clone()
            .try_load_file(record_path)
            .map_err(|e| InspectError::Reload {
                path: record_path.to_owned(),
                reason: e.to_string(),
            })?;
        let inputs = Tensor::<2>::from_data(self.test_images.clone(), &device);
        let conditional = self.prior_labels.is_some();
        let condition = conditional.then(|| one_hot(&self.test_labels, self.classes, &device));
        let reconstructions = model.reconstruct(inputs.clone(), condition);
        let pair = Tensor::cat(vec![inputs, reconstructions], 0); // [16, values]
        let prior_condition = self
            .prior_labels
            .as_ref()
            .map(|labels| one_hot(labels, self.classes, &device));
        let samples = model.decode_mean(
            Tensor::from_data(self.prior_codes.clone(), &device),
            prior_condition,
        );
        let columns = (self.test_images.num_elements() / self.shape.elements().max(1)).max(1);
        // A resumed run whose pictures were deleted (or never copied) gets its folder back.
        if let Some(folder) = run.reconstruction_image(epoch).parent() {
            std::fs::create_dir_all(folder).map_err(|e| InspectError::Write {
                path: folder.to_owned(),
                source: e.into(),
            })?;
        }
        let write = |path: PathBuf, images: Tensor<2>, columns: usize| {
            save_grid(&path, &read_back(images)?, self.shape, columns, SCALE)
                .map_err(|source| InspectError::Write { path, source })
        };
        write(run.reconstruction_image(epoch), pair, columns)?;
        write(run.samples_image(epoch), samples, 8)
    }
}

/// Burn `Checkpointer` for records of one kind (`model`, `optim`, `scheduler`), written
/// atomically to `checkpoint/{name}-{epoch}.bpk`; for the model, it also draws the pictures.
pub struct EpochCheckpointer {
    directory: PathBuf,
    name: &'static str,
    pictures: Option<(PictureInputs, RunDir)>,
}

impl EpochCheckpointer {
    /// A checkpointer for optimizer or scheduler records.
    pub fn new(run: &RunDir, name: &'static str) -> Self {
        Self {
            directory: run.checkpoints(),
            name,
            pictures: None,
        }
    }

    /// The model checkpointer, which also draws each epoch's pictures.
    pub fn for_model(run: &RunDir, pictures: PictureInputs) -> Self {
        Self {
            directory: run.checkpoints(),
            name: "model",
            pictures: Some((pictures, run.clone())),
        }
    }

    fn path(&self, epoch: usize) -> PathBuf {
        self.directory.join(format!("{}-{epoch}.bpk", self.name))
    }
}

impl<R: Checkpoint> Checkpointer<R> for EpochCheckpointer {
    fn save(&self, epoch: usize, record: R) -> Result<(), CheckpointerError> {
        std::fs::create_dir_all(&self.directory).map_err(CheckpointerError::IOError)?;
        let path = self.path(epoch);
        save_atomically(record, &path)?;
        if let Some((pictures, run)) = &self.pictures {
            pictures
                .draw(&path, run, epoch)
                .map_err(|e| CheckpointerError::Unknown(e.to_string()))?;
        }
        Ok(())
    }

    fn delete(&self, epoch: usize) -> Result<(), CheckpointerError> {
        let path = self.path(epoch);
        // The digest first: a file without one is still checked (by loading it), a digest
        // without its file would name a checkpoint that is not there.
        for file in [digest_path(&path), path] {
            match std::fs::remove_file(&file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(CheckpointerError::IOError(e));
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn restore(&self, epoch: usize) -> Result<R, CheckpointerError> {
        R::load(self.path(epoch))
    }
}

/// Which epochs' checkpoints stay on disk: the last `n` (Burn's `KeepLastNCheckpoints`) or
/// every one (Burn's default keeps the last two and the best by validation loss, which a
/// bit-exact resume does not need).
pub enum CheckpointRetention {
    /// Keep the last `n` epochs.
    Last(KeepLastNCheckpoints),
    /// Keep every epoch.
    Every,
}

impl CheckpointRetention {
    /// From the config's `keep_checkpoints` (`None`: every epoch).
    pub fn new(keep: Option<usize>) -> Self {
        match keep {
            Some(n) => Self::Last(KeepLastNCheckpoints::new(n)),
            None => Self::Every,
        }
    }
}

impl CheckpointingStrategy for CheckpointRetention {
    fn checkpointing(
        &mut self,
        epoch: usize,
        collector: &EventStoreClient,
    ) -> Vec<CheckpointingAction> {
        match self {
            Self::Last(last) => last.checkpointing(epoch, collector),
            Self::Every => vec![CheckpointingAction::Save],
        }
    }
}
