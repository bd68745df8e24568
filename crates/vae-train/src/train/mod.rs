//! One training run with Burn's `Learner`: data, model, Adam, metrics, checkpoints,
//! pictures and the run folder.

pub(crate) mod epoch_artifacts;
mod error;
mod experiment_log;
pub mod host_adam;
pub(crate) mod interrupt;
mod remote_guard;
pub(crate) mod renderer;
pub(crate) mod resumable_loader;
pub mod step;
pub mod step_guard;
pub(crate) mod stop;

pub use error::TrainError;
pub use stop::StopReason;

use std::io::IsTerminal;
use std::path::PathBuf;

use burn::data::dataloader::DataLoaderBuilder;
use burn::module::Module;
use burn::prelude::*;
use burn::train::renderer::default_renderer;
use burn::train::{ExecutionStrategy, Learner, MultiDeviceOptim, SupervisedTraining};
use vae_model::train::{BoundMetric, KlMetric, LossMeanMetric, ReconstructionMetric};

use crate::backend::Backend;
use crate::config::{DecoderBiasChoice, TrainingConfig};
use crate::data::batcher::ImageBatcher;
use crate::data::{ImageData, Split};
use crate::devices::DeviceList;
use crate::error::InvalidConfig;
use crate::model::{CliVae, build_model};
use crate::remote::RemoteTarget;
use crate::run::RunDir;
use crate::run::checkpoints::{last_good_epoch, save_atomically, set_aside_after};
use crate::run::metrics_csv;
use crate::train::epoch_artifacts::{CheckpointRetention, EpochCheckpointer, PictureInputs};
use crate::train::experiment_log::ExperimentLog;
use crate::train::interrupt::SignalStop;
use crate::train::renderer::{EarlyEndSlot, RunRenderer};
use crate::train::resumable_loader::ResumableLoader;
use crate::train::step::TrainingVae;
use crate::train::step_guard::StepGuard;

/// Everything `vae train` needs besides the config file.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// The complete, validated config (after command-line overrides).
    pub config: TrainingConfig,
    /// Where the tensors live.
    pub backend: Backend,
    /// A folder of the dataset's IDX files (`None`: its environment variable, then its default
    /// source), or the image folder replacing `image_folder.path`.
    pub data_dir: Option<PathBuf>,
    /// The run folder to create.
    pub run_dir: PathBuf,
    /// Delete the contents of a used run folder instead of refusing it.
    pub overwrite: bool,
    /// Plain progress lines even in a terminal (no TUI).
    pub plain: bool,
    /// Train data-parallel on these devices (`--devices`; `None`: `backend`'s one device).
    pub devices: Option<DeviceList>,
    /// Start from the weights of this run folder (a `vae train` or `vae import` run of the same
    /// network) instead of random ones (`--init-from`); the optimizer starts afresh.
    pub init_from: Option<PathBuf>,
    /// Train on this device of a `vae serve` server instead (`--remote`; `backend` and
    /// `devices` are then unused).
    pub remote: Option<RemoteTarget>,
}

/// Everything `vae train --resume` needs.
#[derive(Debug, Clone)]
pub struct ResumeOptions {
    /// The run folder to continue.
    pub run_dir: PathBuf,
    /// Train up to this many epochs in all (default: the run's `num_epochs`).
    pub epochs: Option<usize>,
    /// Where the tensors live (bit-exact continuation needs the backend the run started on).
    pub backend: Backend,
    /// A folder of the dataset's IDX files (`None`: its environment variable, then its default
    /// source), or the image folder replacing `image_folder.path`.
    pub data_dir: Option<PathBuf>,
    /// Plain progress lines even in a terminal (no TUI).
    pub plain: bool,
    /// Train data-parallel on these devices (`--devices`; `None`: `backend`'s one device).
    /// Only a single CPU device resumes bit-exactly.
    pub devices: Option<DeviceList>,
    /// Continue on this device of a `vae serve` server instead (`--remote`).
    pub remote: Option<RemoteTarget>,
}

/// The outcome of a finished run.
#[derive(Debug, Clone)]
pub struct TrainReport {
    /// The run folder.
    pub run_dir: PathBuf,
    /// Epochs completed.
    pub epochs: usize,
}

/// Trains a VAE as `options` says, writing a new run folder.
pub fn train(options: TrainOptions) -> Result<TrainReport, TrainError> {
    let TrainOptions {
        config,
        backend,
        data_dir,
        run_dir,
        overwrite,
        plain,
        devices,
        init_from,
        remote,
    } = options;
    config.validate()?;
    let placement = Placement::new(backend, devices, remote.as_ref())?;
    if let Some(source) = &init_from
        && crate::run::lies_inside(source, &run_dir)
    {
        return Err(TrainError::InitIntoItself {
            source_dir: source.clone(),
            run_dir,
        });
    }
    let initial = init_from
        .as_deref()
        .map(|source| initial_weights(&config, source, &placement.device))
        .transpose()?;
    // The run keeps the image folder it trained on, as an absolute path: later commands (and
    // `--resume`) read the same images from any directory.
    let mut config = config;
    if let Some(folder) = config.image_folder.as_mut() {
        let path = data_dir.clone().unwrap_or_else(|| folder.path.clone());
        folder.path = std::path::absolute(&path).unwrap_or(path);
    }
    let (train_data, valid_data) = load_data(&config, data_dir.as_deref())?;

    // Only now, with everything checked, touch the file system.
    let run = RunDir::create(&run_dir, overwrite)?;
    save_config(&config, &run)?;
    if let Some(source) = &init_from {
        let source = std::path::absolute(source).unwrap_or_else(|_| source.clone());
        let record = serde_json::json!({ "init_from": source });
        std::fs::write(run.init_record(), format!("{record:#}\n")).map_err(|e| {
            TrainError::Write {
                path: run.init_record(),
                source: e,
            }
        })?;
        println!("starting from the weights of {}", source.display());
    }
    fit(
        &config, &placement, train_data, valid_data, &run, 0, initial, plain,
    )?;
    Ok(TrainReport {
        run_dir,
        epochs: config.num_epochs,
    })
}

/// The trained weights in the run folder `source`, checked against its own config and digest,
/// in the network `config` describes, on `device`'s autodiff twin.
fn initial_weights(
    config: &TrainingConfig,
    source: &std::path::Path,
    device: &Device,
) -> Result<CliVae, TrainError> {
    // Opening it checks the folder, its digest and that its weights fit its own config; its
    // record then goes into the new config's network without reading the file again.
    let trained = crate::run::trained_run::TrainedRun::open(source, device)?;
    let mismatch = |reason: String| TrainError::InitMismatch {
        source_dir: source.to_owned(),
        parts: format!(
            "network `{}`, likelihood `{}`, condition `{}` of width {}",
            config.network.name(),
            config.likelihood.to_config().name(),
            config.condition.name(),
            config.condition_dim()
        ),
        reason,
    };
    let (theirs, ours) = (trained.config.condition_dim(), config.condition_dim());
    if theirs != ours {
        return Err(mismatch(format!(
            "its condition is {theirs} wide (the one-hot label of {} classes, 0: none), the \
             config's {ours}",
            trained.config.classes()
        )));
    }
    build_model(config, &device.clone().autodiff())?
        .try_load_record(trained.model.into_record())
        .map_err(|e| mismatch(e.to_string()))
}

/// The run folder a `--init-from` run started from, as its `init.json` records it.
fn init_source(run: &RunDir) -> Option<PathBuf> {
    let text = std::fs::read_to_string(run.init_record()).ok()?;
    let record: serde_json::Value = serde_json::from_str(&text).ok()?;
    record["init_from"].as_str().map(PathBuf::from)
}

/// Where a run trains: its backend, the main device, and the data-parallel devices if any.
struct Placement<'a> {
    backend: Backend,
    /// The optimizer's, validation's and checkpoints' device: the remote device, else the first
    /// of `devices`, else `backend`'s.
    device: Device,
    /// Several devices (`--devices`, or `--remote` with several `--remote-device`s), or
    /// `None` for `device` alone.
    devices: Option<DeviceList>,
    /// The `vae serve` devices `devices` (or `device`) are (`--remote`).
    remote: Option<&'a RemoteTarget>,
}

impl<'a> Placement<'a> {
    fn new(
        backend: Backend,
        devices: Option<DeviceList>,
        remote: Option<&'a RemoteTarget>,
    ) -> Result<Self, TrainError> {
        let devices = match remote {
            Some(target) => {
                let connected = target.connect()?;
                println!("connected to the remote {target}");
                Some(DeviceList {
                    backend,
                    names: target
                        .device_indices
                        .iter()
                        .map(|index| format!("remote:{index}"))
                        .collect(),
                    devices: connected,
                })
            }
            None => devices,
        };
        let device = match &devices {
            Some(list) => list.main().clone(),
            None => backend.device()?,
        };
        Ok(Self {
            backend,
            device,
            devices,
            remote,
        })
    }

    /// Whether the fused host passes apply: on local flex only. On a remote device they would
    /// move every activation over the network and back.
    fn host_passes(&self) -> bool {
        self.backend == Backend::Flex && self.remote.is_none()
    }
}

/// Continues the run in `options.run_dir` from its last good checkpoint.
///
/// On a CPU backend the result is bit-identical to a run that was never interrupted: the
/// model, Adam state and scheduler come from the checkpoint, and the data order and random
/// numbers of each epoch depend only on the seed and the epoch (`ResumableLoader`). A
/// checkpoint that is incomplete, corrupt or does not load is passed over (and set aside as
/// `*.discarded`) for the one before it, saying so.
pub fn resume(options: ResumeOptions) -> Result<TrainReport, TrainError> {
    let ResumeOptions {
        run_dir,
        epochs,
        backend,
        data_dir,
        plain,
        devices,
        remote,
    } = options;
    let run = RunDir::open(&run_dir);
    if !run.config().is_file() {
        return Err(TrainError::NotARun(run_dir));
    }
    if run.import_record().is_file() {
        return Err(TrainError::ImportedRun(run_dir));
    }
    let mut config = TrainingConfig::load(&run.config())?;
    if let Some(epochs) = epochs {
        config.num_epochs = epochs;
        config.validate().map_err(TrainError::InvalidEpochs)?;
    }
    let (done, skipped) = last_good_epoch(&run, &config);
    for reason in &skipped {
        eprintln!("warning: passing over the checkpoint of {reason}");
    }
    let Some(done) = done else {
        return Err(TrainError::NoCheckpoint {
            skipped,
            init_from: init_source(&run),
            run_dir,
        });
    };
    if done >= config.num_epochs {
        if crate::run::checkpoints::verify(&run.model()).is_err() {
            // Stopped after its last checkpoint but before `model.bpk` was written: finish it.
            let checkpoint = crate::run::checkpoints::checkpoint_path(&run, "model", done);
            let model = build_model(&config, &Device::flex())?
                .try_load_file(&checkpoint)
                .map_err(|e| TrainError::Record {
                    action: "cannot load",
                    path: checkpoint.clone(),
                    reason: e.to_string(),
                })?;
            save_model(model, &run)?;
            println!(
                "{} had all {done} epochs but no intact model.bpk: wrote it from {}",
                run_dir.display(),
                checkpoint.display()
            );
            return Ok(TrainReport {
                run_dir,
                epochs: done,
            });
        }
        return Err(TrainError::NothingToResume {
            run_dir,
            done,
            epochs: config.num_epochs,
        });
    }
    let placement = Placement::new(backend, devices, remote.as_ref())?;
    let (train_data, valid_data) = load_data(&config, data_dir.as_deref())?;

    let moved = set_aside_after(&run, done).map_err(|source| TrainError::Write {
        path: run.checkpoints(),
        source,
    })?;
    if !moved.is_empty() {
        eprintln!(
            "set aside {} checkpoint file(s) of epochs after {done} as *.discarded",
            moved.len()
        );
    }
    metrics_csv::keep_epochs_up_to(&run.metrics_csv(), done)?;
    save_config(&config, &run)?;
    println!(
        "resuming {} after epoch {done} of {}",
        run_dir.display(),
        config.num_epochs
    );
    fit(
        &config, &placement, train_data, valid_data, &run, done, None, plain,
    )?;
    Ok(TrainReport {
        run_dir,
        epochs: config.num_epochs,
    })
}

fn load_data(
    config: &TrainingConfig,
    data_dir: Option<&std::path::Path>,
) -> Result<(ImageData, ImageData), TrainError> {
    // Binarized before truncation, so that image i is the same binary image whatever
    // `train_images` or `valid_images` say.
    let treatment = config.data_treatment;
    let mut train_data = treatment.training_set(config.load_split(Split::Train, data_dir)?);
    let mut valid_data = treatment.test_set(config.load_split(Split::Test, data_dir)?);
    if let Some(classes) = &config.train_classes {
        let names = train_data.class_names();
        if let Some(&class) = classes.iter().find(|&&c| usize::from(c) >= names.len()) {
            return Err(InvalidConfig::new(
                "train_classes",
                format!(
                    "`train_classes` holds {class}, but the data has {} classes (0 to {}: {}): \
                     list classes of the data",
                    names.len(),
                    names.len() - 1,
                    names.join(", ")
                ),
            )
            .into());
        }
        train_data = train_data.keep_classes(classes);
        valid_data = valid_data.keep_classes(classes);
    }
    if let Some(count) = config.train_images {
        train_data = train_data.truncate(count);
    }
    if let Some(count) = config.valid_images {
        valid_data = valid_data.truncate(count);
    }
    if valid_data.labels().is_empty() {
        return Err(InvalidConfig::new(
            "image_folder.validation_fraction",
            format!(
                "the {} holds no image to validate on{}: for an image folder, set \
                 `image_folder.validation_fraction` above 0, e.g. 0.1 (or list classes the \
                 held-out images have)",
                config.describe_split(Split::Test),
                config
                    .train_classes
                    .as_ref()
                    .map_or(String::new(), |c| format!(" of `train_classes` {c:?}"))
            ),
        )
        .into());
    }
    let train_count = burn::data::dataset::Dataset::len(&train_data);
    if config.batch_size > train_count {
        return Err(TrainError::BatchTooLarge {
            batch_size: config.batch_size,
            train_images: train_count,
        });
    }
    Ok((train_data, valid_data))
}

/// The mean intensity of each pixel over `data`, in `[0, 1]`.
fn pixel_means(data: &ImageData) -> Vec<f64> {
    let count = data.labels().len();
    let mut sums = vec![0u64; data.image_len()];
    for index in 0..count {
        for (sum, &pixel) in sums.iter_mut().zip(data.pixels(index)) {
            *sum += u64::from(pixel);
        }
    }
    sums.iter()
        .map(|&s| s as f64 / (255.0 * count.max(1) as f64))
        .collect()
}

/// Trains epochs `done + 1 ..= config.num_epochs` in `run`, then saves `model.bpk`.
#[allow(clippy::too_many_arguments)]
fn fit(
    config: &TrainingConfig,
    placement: &Placement,
    train_data: ImageData,
    valid_data: ImageData,
    run: &RunDir,
    done: usize,
    initial: Option<CliVae>,
    plain: bool,
) -> Result<(), TrainError> {
    let Placement {
        ref device,
        ref devices,
        remote,
        ..
    } = *placement;
    // Picture inputs first (on the CPU device that draws them), then seed training.
    let pictures = PictureInputs::new(&valid_data, config, config.seed.wrapping_add(1))?;
    device.seed(config.seed);
    let guard = StepGuard::new(config.on_non_finite_loss.into());
    let train_count = burn::data::dataset::Dataset::len(&train_data);
    // Optimizer steps (the learning-rate schedule's unit) and batches (the KL warm-up's: each
    // batch's step advances it) per epoch; the same number on one device.
    let (steps_per_epoch, batches_per_epoch) = match devices {
        Some(list) if list.devices.len() > 1 => (
            list.steps_per_epoch(train_count, config.batch_size),
            list.batches_per_epoch(train_count, config.batch_size),
        ),
        _ => {
            let steps = train_count.div_ceil(config.batch_size);
            (steps, steps)
        }
    };
    let vae = match initial {
        Some(vae) => vae,
        None => {
            let mut vae = build_model(config, &device.clone().autodiff())?;
            if config.decoder_output_bias == DecoderBiasChoice::DataLogit {
                let means = pixel_means(&train_data);
                vae.decoder = vae.decoder.with_output_bias_from_means(
                    &means,
                    config.image_shape().channels,
                    &device.clone().autodiff(),
                )?;
            }
            vae
        }
    };
    // The same reasoning for a tanh network's activations and the pictures' means (README,
    // "Speed").
    let vae = crate::model::with_host_passes(vae, placement.host_passes());
    let model = TrainingVae::new(vae)
        .with_objective(config.objective.to_model())
        .with_kl_warmup(
            config.objective.warmup(batches_per_epoch),
            done * batches_per_epoch,
        )
        .with_step_guard(guard.clone())
        // One fused pass for the reconstruction term on flex; it measured slower on ndarray
        // and would copy to the host every step on a GPU (README, "Speed").
        .with_host_reconstruction(placement.host_passes());

    let train_batcher = ImageBatcher::new(config.condition_dim())
        .with_dynamic_binarization(config.data_treatment.is_dynamic())
        .with_corruption(config.denoising);
    let loader_train = DataLoaderBuilder::new(train_batcher)
        .batch_size(config.batch_size)
        .shuffle(config.seed)
        .num_workers(config.num_workers)
        .set_device(device.clone())
        .build(train_data);
    let loader_train = std::sync::Arc::new(ResumableLoader::new(
        loader_train,
        device.clone(),
        config.seed,
        done,
    ));
    // A denoising run validates on its objective too: corrupted test images, clean targets.
    let valid_batcher = ImageBatcher::new(config.condition_dim()).with_corruption(config.denoising);
    let loader_valid = DataLoaderBuilder::new(valid_batcher)
        .batch_size(config.batch_size)
        .num_workers(config.num_workers)
        .set_device(device.clone())
        .build(valid_data);

    let mut training = SupervisedTraining::new(run.root(), loader_train, loader_valid)
        .metrics((
            LossMeanMetric::default(),
            ReconstructionMetric::default(),
            KlMetric::default(),
        ))
        .with_custom_checkpointers(
            EpochCheckpointer::for_model(run, pictures),
            EpochCheckpointer::new(run, "optim"),
            EpochCheckpointer::new(run, "scheduler"),
        )
        .with_checkpointing_strategy(CheckpointRetention::new(config.keep_checkpoints))
        .with_application_logger(Some(Box::new(ExperimentLog::new(
            run.root().join("experiment.log"),
        ))))
        .num_epochs(config.num_epochs)
        .summary();
    if config.objective.samples > 1 {
        // The k-sample bound the model trains on, beside the plain ELBO ("Loss").
        training = training
            .metric_train_numeric(BoundMetric::default())
            .metric_valid_numeric(BoundMetric::default());
    }
    if done > 0 {
        training = training.checkpoint(done);
    }
    if let Some(list) = devices.as_ref().filter(|list| list.devices.len() > 1) {
        println!(
            "training on {} devices ({list}): each optimizer step sums the gradients of one \
             batch of {} images per device, the gradient of one batch of {} (the loss is a \
             batch sum), at learning rate {}; {steps_per_epoch} steps per epoch",
            list.devices.len(),
            config.batch_size,
            config.batch_size * list.devices.len(),
            config.learning_rate
        );
        training = training.with_training_strategy(
            ExecutionStrategy::multi(list.devices.clone(), MultiDeviceOptim::OptimMainDevice)
                .into(),
        );
    }
    // Before the dashboard, whose panic hook (the one that restores the terminal) chains to it.
    let lost_server = remote.map(|_| remote_guard::LostServerGuard::install());
    let tui = (!plain && std::io::stdout().is_terminal())
        .then(|| default_renderer(training.interrupter(), (done > 0).then_some(done)));
    let early_end = EarlyEndSlot::default();
    let renderer = RunRenderer::new(
        tui,
        training.interrupter(),
        run.metrics_csv(),
        guard,
        early_end.clone(),
    );
    let training = training.renderer(Box::new(renderer));
    let signals = SignalStop::install(training.interrupter()).map_err(TrainError::Signals)?;

    let optimizer = host_adam::adam_optimizer(&config.optimizer, placement.host_passes());
    let schedule = config
        .lr_schedule
        .build(config.learning_rate, steps_per_epoch)?;
    let learner = Learner::new(model, optimizer, schedule);
    // A remote device panics when its server goes away mid-step: say so, and keep what was
    // saved. (With several devices Burn catches its workers' panics, and its metric processing
    // reports the failed reads, as an error.)
    let lost = |reason| TrainError::RemoteLost {
        reason,
        advice: remote
            .map(|target| crate::remote::lost_advice(target, run.root(), &run.checkpoints()))
            .unwrap_or_default(),
    };
    let result = match &lost_server {
        None => training.launch(learner),
        Some(guard) => guard.run(|| training.launch(learner)).map_err(lost)?,
    };
    drop(signals);
    if let (Some(guard), Some(error)) = (&lost_server, &result.error)
        && let Some(reason) = guard
            .lost_session()
            .or_else(|| remote_guard::lost_session_in(&error.to_string()))
    {
        return Err(lost(reason));
    }
    let early_end = early_end.lock().map(|e| e.clone()).unwrap_or_default();
    if let Some(error) = result.error.map(|e| e.to_string()).or(early_end.error) {
        return Err(TrainError::Failed {
            error,
            checkpoints: run.checkpoints(),
        });
    }
    let stopped = result
        .interrupted
        .map(|i| i.reason)
        .or(early_end.stopped.map(Some))
        .map(StopReason::from_interrupter);
    if let Some(reason) = stopped {
        let advice = match reason {
            StopReason::Diverged(_) => format!(
                ". Lower `learning_rate` (now {}) or `model.beta` (now {}) and train again, or set \
                 `on_non_finite_loss` to \"skip\" to skip such steps",
                config.learning_rate, config.model.beta
            ),
            StopReason::Interrupted => format!(
                ". The unfinished epoch is dropped; continue with `vae train --resume {}`",
                run.root().display()
            ),
            StopReason::Other(_) => String::new(),
        };
        return Err(TrainError::Stopped {
            reason,
            advice,
            checkpoints: run.checkpoints(),
        });
    }
    match &lost_server {
        None => save_model(result.model.model, run),
        Some(guard) => guard
            .run(|| save_model(result.model.model, run))
            .map_err(lost)?,
    }
}

/// Writes `config` as the run's `config.json`.
fn save_config(config: &TrainingConfig, run: &RunDir) -> Result<(), TrainError> {
    config
        .save(&run.config())
        .map_err(|source| TrainError::Write {
            path: run.config(),
            source,
        })
}

/// Writes the trained model as the run's `model.bpk` (atomically, with its digest).
fn save_model<M: Module>(model: M, run: &RunDir) -> Result<(), TrainError> {
    save_atomically(model.into_record(), &run.model()).map_err(|e| TrainError::Record {
        action: "cannot write the model to",
        path: run.model(),
        reason: e.to_string(),
    })
}
