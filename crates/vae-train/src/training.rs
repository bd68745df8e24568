//! One training run with Burn's `Learner`: data, model, Adam, metrics, checkpoints,
//! pictures and the run folder.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{Context, bail};
use burn::data::dataloader::DataLoaderBuilder;
use burn::module::Module;
use burn::train::metric::LossMetric;
use burn::train::renderer::default_renderer;
use burn::train::{Learner, SupervisedTraining};
use vae_model::train::{KlMetric, ReconstructionMetric};

use crate::backend::Backend;
use crate::batcher::MnistBatcher;
use crate::config::TrainingConfig;
use crate::epoch_artifacts::{EpochCheckpointer, KeepEveryEpoch, PictureInputs};
use crate::mnist::{MnistData, Split};
use crate::renderer::{DIVERGED, RunRenderer};
use crate::run_dir::RunDir;

/// Everything `vae train` needs besides the config file.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// The complete, validated config (after command-line overrides).
    pub config: TrainingConfig,
    /// Where the tensors live.
    pub backend: Backend,
    /// A folder of MNIST IDX files; `None` tries `VAE_MNIST_DIR`, then Burn's download.
    pub data_dir: Option<PathBuf>,
    /// The run folder to create.
    pub run_dir: PathBuf,
    /// Delete the contents of a used run folder instead of refusing it.
    pub overwrite: bool,
    /// Plain progress lines even in a terminal (no TUI).
    pub plain: bool,
}

/// The outcome of a finished run.
#[derive(Debug, Clone)]
pub struct TrainReport {
    /// The run folder.
    pub run_dir: PathBuf,
    /// Epochs completed.
    pub epochs: usize,
}

/// Trains a VAE on MNIST as `options` says, writing the run folder.
pub fn train(options: TrainOptions) -> anyhow::Result<TrainReport> {
    let TrainOptions {
        config,
        backend,
        data_dir,
        run_dir,
        overwrite,
        plain,
    } = options;
    config
        .validate()
        .map_err(|reason| anyhow::anyhow!("invalid training config: {reason}"))?;
    let device = backend.device().map_err(anyhow::Error::msg)?;

    let mut train_data = MnistData::load(Split::Train, data_dir.as_deref())?;
    let mut valid_data = MnistData::load(Split::Test, data_dir.as_deref())?;
    if let Some(count) = config.train_images {
        train_data = train_data.truncate(count);
    }
    if let Some(count) = config.valid_images {
        valid_data = valid_data.truncate(count);
    }

    // Only now, with everything checked, touch the file system.
    let run = RunDir::create(&run_dir, overwrite)?;
    config
        .save(&run.config())
        .with_context(|| format!("cannot write {}", run.config().display()))?;

    // Picture inputs first (on the CPU device that draws them), then seed training.
    let pictures = PictureInputs::new(&valid_data, &config.model, config.seed.wrapping_add(1))?;
    device.seed(config.seed);
    let model = config.model.try_init(&device.clone().autodiff())?;

    let loader_train = DataLoaderBuilder::new(MnistBatcher)
        .batch_size(config.batch_size)
        .shuffle(config.seed)
        .num_workers(config.num_workers)
        .set_device(device.clone())
        .build(train_data);
    let loader_valid = DataLoaderBuilder::new(MnistBatcher)
        .batch_size(config.batch_size)
        .num_workers(config.num_workers)
        .set_device(device.clone())
        .build(valid_data);

    let training = SupervisedTraining::new(run.root(), loader_train, loader_valid)
        .metrics((
            LossMetric::new(),
            ReconstructionMetric::default(),
            KlMetric::default(),
        ))
        .with_custom_checkpointers(
            EpochCheckpointer::for_model(&run, pictures),
            EpochCheckpointer::new(&run, "optim"),
            EpochCheckpointer::new(&run, "scheduler"),
        )
        .with_checkpointing_strategy(KeepEveryEpoch)
        .num_epochs(config.num_epochs)
        .summary();
    let tui = (!plain && std::io::stdout().is_terminal())
        .then(|| default_renderer(training.interrupter(), None));
    let renderer = RunRenderer::new(tui, training.interrupter(), run.metrics_csv());
    let training = training.renderer(Box::new(renderer));

    let optimizer = config.optimizer.init();
    let result = training.launch(Learner::new(model, optimizer, config.learning_rate));
    if let Some(error) = result.error {
        bail!(
            "training stopped with an error: {error}. The checkpoints already written in {} are kept",
            run.checkpoints().display()
        );
    }
    if let Some(interruption) = result.interrupted {
        let reason = interruption
            .reason
            .unwrap_or_else(|| "stopped by the user".into());
        let advice = if reason.starts_with(DIVERGED) {
            format!(
                ". Lower `learning_rate` (now {}) or `model.beta` (now {}) and train again",
                config.learning_rate, config.model.beta
            )
        } else {
            String::new()
        };
        bail!(
            "training stopped early: {reason}{advice}. The checkpoints of the completed epochs \
             before it are kept in {}",
            run.checkpoints().display()
        );
    }
    result
        .model
        .save_file(run.model())
        .with_context(|| format!("cannot write the model to {}", run.model().display()))?;
    Ok(TrainReport {
        run_dir,
        epochs: config.num_epochs,
    })
}
