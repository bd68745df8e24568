//! The inspection subcommands: each opens a trained run and writes a picture or a report.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::prelude::*;

use crate::backend::Backend;
use crate::classifier::{ClassifierTraining, train_classifier};
use crate::cli::TrainClassifierArgs;
use crate::cli::{
    AnomalyExperimentArgs, ClassifierTrainingArgs, CurvesArgs, DenoiseArgs, EvaluateArgs,
    ExperimentArgs, ExperimentCommand, ExportArgs, FewLabelsArgs, ImportArgs, InterpolateArgs,
    LatentPlotArgs, ProbeArgs, ReconstructArgs, RunArgs, SampleArgs, ScoreArgs, TraverseArgs,
    WebArgs,
};
use crate::config::TrainingConfig;
use crate::data::ImageData;
use crate::experiments::augmentation::{AugmentationOptions, run_augmentation};
use crate::experiments::conditional::{self, ConditionalOptions, run_conditional};
use crate::experiments::cross_dataset::{CrossDatasetOptions, run_cross_dataset};
use crate::experiments::denoising::{self, DenoisingOptions, run_denoising};
use crate::experiments::few_labels::FewLabels;
use crate::experiments::one_class::{self, OneClassOptions, run_one_class};
use crate::experiments::semi_supervised::{
    self, M2Training, SemiSupervisedOptions, run_semi_supervised,
};
use crate::inspect::denoise::{DenoiseOptions, denoise};
use crate::inspect::evaluate::{EvaluateOptions, evaluate};
use crate::inspect::pictures::{
    interpolate, manifold, posterior_means, random_indices, reconstruct, sample, traverse,
};
use crate::inspect::plots::{draw_curves, draw_scatter, project};
use crate::inspect::sampling::Sampling;
use crate::inspect::score::{ScoreOptions, score};
use crate::interop::{ExportOptions, ImportOptions, Naming, export_run, import_weights};
use crate::run::RunDir;
use crate::run::metrics_csv;
use crate::run::trained_run::TrainedRun;

struct Opened {
    run: TrainedRun,
    device: Device,
}

fn open(args: &RunArgs) -> anyhow::Result<Opened> {
    let backend = Backend::resolve(args.backend)?;
    let device = backend.device()?;
    let mut run = TrainedRun::open(&args.run_dir, &device)?;
    // On flex, the host passes (a tanh network's activations, the pictures' means).
    run.model = crate::model::with_host_passes(run.model, backend == Backend::Flex);
    Ok(Opened { run, device })
}

/// The test split of the dataset the run was trained on.
fn test_set(args: &RunArgs, run: &TrainedRun) -> anyhow::Result<ImageData> {
    Ok(run.test_set(args.data_dir.as_deref())?)
}

fn output(out: &Option<PathBuf>, run_dir: &Path, default: &str) -> PathBuf {
    out.clone().unwrap_or_else(|| run_dir.join(default))
}

/// `vae sample`.
pub fn run_sample(args: &SampleArgs) -> anyhow::Result<PathBuf> {
    let opened = open(&args.run)?;
    opened.device.seed(args.seed);
    let grid = sample(
        &opened.run,
        args.count,
        args.columns,
        args.label,
        &opened.device,
    )?;
    let path = output(&args.out, &args.run.run_dir, "samples.png");
    grid.save(&path)?;
    Ok(path)
}

/// `vae reconstruct`.
pub fn run_reconstruct(args: &ReconstructArgs) -> anyhow::Result<PathBuf> {
    let opened = open(&args.run)?;
    let test = test_set(&args.run, &opened.run)?;
    let indices = if args.indices.is_empty() {
        random_indices(&test, args.count, args.seed)
    } else {
        args.indices.clone()
    };
    let grid = reconstruct(&opened.run, &test, &indices, &opened.device)?;
    let path = output(&args.out, &args.run.run_dir, "reconstructions.png");
    grid.save(&path)?;
    Ok(path)
}

/// `vae interpolate`.
pub fn run_interpolate(args: &InterpolateArgs) -> anyhow::Result<PathBuf> {
    let opened = open(&args.run)?;
    let test = test_set(&args.run, &opened.run)?;
    let grid = interpolate(&opened.run, &test, &args.pairs, args.steps, &opened.device)?;
    let path = output(&args.out, &args.run.run_dir, "interpolations.png");
    grid.save(&path)?;
    Ok(path)
}

/// `vae traverse`; also returns the latent dimension shown on each row.
pub fn run_traverse(args: &TraverseArgs) -> anyhow::Result<(PathBuf, Vec<usize>)> {
    let opened = open(&args.run)?;
    let test = test_set(&args.run, &opened.run)?;
    let (grid, order) = traverse(
        &opened.run,
        &test,
        args.index,
        args.range,
        args.steps,
        &opened.device,
    )?;
    let path = output(&args.out, &args.run.run_dir, "traversal.png");
    grid.save(&path)?;
    Ok((path, order))
}

/// `vae evaluate`: prints the table, writes JSON if asked.
pub fn run_evaluate(args: &EvaluateArgs) -> anyhow::Result<()> {
    let evaluation = evaluate(&EvaluateOptions {
        run_dir: args.run.run_dir.clone(),
        backend: Backend::resolve(args.run.backend)?,
        data_dir: args.run.data_dir.clone(),
        samples: args.samples,
        chunk: args.chunk,
        batch_size: args.batch_size,
        images: args.images,
        seed: args.seed,
        shuffled_labels: args.shuffled_labels,
    })?;
    println!("{evaluation}");
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&evaluation)? + "\n";
        std::fs::write(path, json).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// `vae probe`: prints the probe's accuracy (and writes it as JSON if asked).
pub fn run_probe(args: &ProbeArgs) -> anyhow::Result<()> {
    let probe = crate::inspect::probe::probe(&crate::inspect::probe::ProbeOptions {
        run_dir: args.run.run_dir.clone(),
        backend: Backend::resolve(args.run.backend)?,
        data_dir: args.run.data_dir.clone(),
        train_images: args.train_images,
        steps: args.steps,
        seed: args.seed,
    })?;
    print!("{probe}");
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&probe)? + "\n";
        std::fs::write(path, json).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// `vae score`: writes the CSV and prints what it did (with the AUROC table if asked).
pub fn run_score(args: &ScoreArgs) -> anyhow::Result<()> {
    let report = score(&ScoreOptions {
        run_dir: args.run.run_dir.clone(),
        backend: Backend::resolve(args.run.backend)?,
        data_dir: args.run.data_dir.clone(),
        dataset: args.dataset,
        split: args.split.into(),
        folder: args.folder.clone(),
        samples: args.samples,
        chunk: args.chunk,
        batch_size: args.batch_size,
        images: args.images,
        seed: args.seed,
        normal_classes: args.normal_classes.clone(),
        out: output(&args.out, &args.run.run_dir, "scores.csv"),
    })?;
    print!("{report}");
    Ok(())
}

/// The classifier's training settings from its flags.
fn classifier_training(args: &ClassifierTrainingArgs, seed: u64) -> ClassifierTraining {
    ClassifierTraining {
        epochs: args.epochs,
        train_images: args.train_images,
        dropout: args.regularization.dropout,
        shift_pixels: args.regularization.shift_pixels,
        lr_decay_per_epoch: args.lr_decay_per_epoch,
        seed,
        ..ClassifierTraining::default()
    }
}

/// `vae train-classifier`: trains, saves and prints the test accuracy.
pub fn run_train_classifier(args: &TrainClassifierArgs) -> anyhow::Result<()> {
    let training = ClassifierTraining {
        dataset: args.dataset,
        ..classifier_training(&args.training, args.seed)
    };
    let out_dir = args
        .out_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("runs/classifier-{}", args.dataset.id())));
    let summary = train_classifier(
        &training,
        Backend::resolve(args.backend)?,
        args.data_dir.as_deref(),
        &out_dir,
    )?;
    print!("{summary}");
    println!("wrote {}", out_dir.display());
    Ok(())
}

/// `vae denoise`: writes the picture and prints the PSNR table.
pub fn run_denoise(args: &DenoiseArgs) -> anyhow::Result<()> {
    let default_out = format!("denoised-{}.png", args.noise.name());
    let report = denoise(&DenoiseOptions {
        run_dir: args.run.run_dir.clone(),
        backend: Backend::resolve(args.run.backend)?,
        data_dir: args.run.data_dir.clone(),
        corruption: args.noise,
        images: args.images,
        seed: args.seed,
        columns: args.columns,
        out: output(&args.out, &args.run.run_dir, &default_out),
    })?;
    print!("{report}");
    Ok(())
}

/// An experiment's training config: the file given, or PyTorch's examples/vae settings.
fn base_config(path: Option<&Path>) -> anyhow::Result<TrainingConfig> {
    Ok(match path {
        Some(path) => TrainingConfig::load(path)?,
        None => TrainingConfig::default(),
    })
}

/// The shared settings of a few-label experiment from its flags; `name` names its default
/// output folder (`runs/NAME-DATASET`).
fn few_labels(args: &FewLabelsArgs, seeds: usize, name: &str) -> anyhow::Result<FewLabels> {
    let base = base_config(args.config.as_deref())?;
    let out_dir = args
        .output
        .out_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("runs/{name}-{}", base.dataset.id())));
    Ok(FewLabels {
        base,
        labels_per_class: args.labels_per_class,
        seeds,
        classifier: ClassifierTraining {
            dropout: args.regularization.dropout,
            shift_pixels: args.regularization.shift_pixels,
            ..ClassifierTraining::default()
        },
        backend: Backend::resolve(args.output.backend)?,
        data_dir: args.data_dir.clone(),
        out_dir,
    })
}

/// The base config and sampling of an anomaly experiment from its flags.
fn experiment_setup(args: &AnomalyExperimentArgs) -> anyhow::Result<(TrainingConfig, Sampling)> {
    let mut base = base_config(args.config.as_deref())?;
    let (epochs, samples) = if args.full {
        (one_class::FULL_EPOCHS, one_class::FULL_SAMPLES)
    } else {
        (one_class::DEFAULT_EPOCHS, one_class::DEFAULT_SAMPLES)
    };
    base.num_epochs = args.epochs.unwrap_or(epochs);
    let sampling = Sampling::new(
        args.samples.unwrap_or(samples),
        args.chunk,
        args.batch_size,
        crate::data::IMAGE_PIXELS,
    )?;
    Ok((base, sampling))
}

/// `vae experiment`: runs it and prints its table.
pub fn run_experiment(args: &ExperimentArgs) -> anyhow::Result<()> {
    match &args.experiment {
        ExperimentCommand::OneClass(args) => {
            let common = &args.common;
            let (base, sampling) = experiment_setup(common)?;
            let report = run_one_class(&OneClassOptions {
                dataset: args.dataset,
                base,
                classes: args.classes.clone().unwrap_or_else(|| (0..10).collect()),
                backend: Backend::resolve(common.output.backend)?,
                data_dir: args.data_dir.clone(),
                out_dir: common.output.out_dir.clone().unwrap_or_else(|| {
                    PathBuf::from(format!("runs/one-class-{}", args.dataset.id()))
                }),
                sampling,
                seed: common.seed,
                overwrite: common.output.overwrite,
            })?;
            print!("{report}");
        }
        ExperimentCommand::CrossDataset(args) => {
            let common = &args.common;
            let (base, sampling) = experiment_setup(common)?;
            let report = run_cross_dataset(&CrossDatasetOptions {
                normal: args.train,
                anomalies: args.anomalies,
                base,
                backend: Backend::resolve(common.output.backend)?,
                out_dir: common.output.out_dir.clone().unwrap_or_else(|| {
                    let (train, anomalies) = (args.train.id(), args.anomalies.id());
                    PathBuf::from(format!("runs/cross-{train}-vs-{anomalies}"))
                }),
                sampling,
                seed: common.seed,
                overwrite: common.output.overwrite,
            })?;
            print!("{report}");
        }
        ExperimentCommand::Conditional(args) => {
            let mut base = base_config(args.config.as_deref())?;
            base.num_epochs = args.epochs.unwrap_or(conditional::DEFAULT_EPOCHS);
            let dataset = base.dataset;
            let report =
                run_conditional(&ConditionalOptions {
                    base,
                    classifier: classifier_training(&args.classifier, 1),
                    samples_per_class: args.samples_per_class,
                    backend: Backend::resolve(args.output.backend)?,
                    data_dir: args.data_dir.clone(),
                    out_dir: args.output.out_dir.clone().unwrap_or_else(|| {
                        PathBuf::from(format!("runs/conditional-{}", dataset.id()))
                    }),
                    seed: args.seed,
                    overwrite: args.output.overwrite,
                })?;
            print!("{report}");
        }
        ExperimentCommand::Augmentation(args) => {
            let report = run_augmentation(&AugmentationOptions {
                few: few_labels(&args.few, args.seeds, "augmentation")?,
                synthetic_per_class: args.synthetic_per_class,
                generator: args.generator,
                cvae_steps: args
                    .cvae_steps
                    .unwrap_or_else(|| args.generator.default_steps()),
                classifier_steps: args.classifier_steps,
            })?;
            print!("{report}");
        }
        ExperimentCommand::SemiSupervised(args) => {
            let full = if args.full {
                semi_supervised::FULL_STEPS
            } else {
                semi_supervised::DEFAULT_STEPS
            };
            let report = run_semi_supervised(&SemiSupervisedOptions {
                few: few_labels(&args.few, args.seeds, "semi-supervised")?,
                m2: M2Training {
                    steps: args.steps.unwrap_or(full),
                    unlabelled_batch: args.unlabelled_batch,
                    alpha: args.alpha,
                },
            })?;
            print!("{report}");
        }
        ExperimentCommand::Denoising(args) => {
            let mut base = base_config(args.config.as_deref())?;
            let epochs = if args.full {
                denoising::FULL_EPOCHS
            } else {
                denoising::DEFAULT_EPOCHS
            };
            base.num_epochs = args.epochs.unwrap_or(epochs);
            let dataset = base.dataset;
            let report =
                run_denoising(&DenoisingOptions {
                    base,
                    corruptions: args.corruptions.clone(),
                    backend: Backend::resolve(args.output.backend)?,
                    data_dir: args.data_dir.clone(),
                    images: args.images,
                    out_dir: args.output.out_dir.clone().unwrap_or_else(|| {
                        PathBuf::from(format!("runs/denoising-{}", dataset.id()))
                    }),
                    seed: args.seed,
                    overwrite: args.output.overwrite,
                })?;
            print!("{report}");
        }
    }
    Ok(())
}

/// `vae latent-plot`: returns the files written.
pub fn run_latent_plot(args: &LatentPlotArgs) -> anyhow::Result<Vec<PathBuf>> {
    let opened = open(&args.run)?;
    let mut test = test_set(&args.run, &opened.run)?;
    if let Some(count) = args.images {
        if count == 0 {
            anyhow::bail!("--images is 0: plot at least one test image");
        }
        test = test.truncate(count);
    }
    let count = test.labels().len();
    let means = posterior_means(&opened.run, &test, count, &opened.device)?;
    let scatter = project(&means, opened.run.model.latent_dim(), test.labels());
    let path = output(&args.out, &args.run.run_dir, "latent.png");
    draw_scatter(&scatter, test.class_names(), &path)?;
    let mut written = vec![path];
    if opened.run.model.latent_dim() == 2 && !opened.run.is_conditional() {
        let grid = manifold(&opened.run, args.grid, 3.0, &opened.device)?;
        let path = output(&args.manifold_out, &args.run.run_dir, "manifold.png");
        grid.save(&path)?;
        written.push(path);
    }
    Ok(written)
}

/// `vae curves`.
pub fn run_curves(args: &CurvesArgs) -> anyhow::Result<PathBuf> {
    let run = RunDir::open(&args.run_dir);
    if run.import_record().is_file() && !run.metrics_csv().is_file() {
        anyhow::bail!(
            "{} was made by `vae import`: its weights were trained elsewhere, so it has no \
             metrics.csv and no training curves to draw",
            args.run_dir.display()
        );
    }
    let rows = metrics_csv::read(&run.metrics_csv())?;
    let path = output(&args.out, &args.run_dir, "curves.png");
    draw_curves(&rows, &path)?;
    Ok(path)
}

/// `vae export`.
pub fn run_export(args: &ExportArgs) -> anyhow::Result<()> {
    let device = Backend::resolve(args.backend)?.device()?;
    let naming = if args.pytorch_names {
        Naming::PytorchExamplesVae
    } else {
        Naming::Burn
    };
    let options = ExportOptions {
        naming,
        overwrite: args.overwrite,
    };
    let tensors = export_run(&args.run_dir, &args.out, options, &device)?;
    println!(
        "wrote {} ({tensors} tensors, {naming} names)",
        args.out.display()
    );
    Ok(())
}

/// `vae import`.
pub fn run_import(args: &ImportArgs) -> anyhow::Result<()> {
    let device = Backend::resolve(args.backend)?.device()?;
    let options = ImportOptions {
        overwrite: args.overwrite,
        entry: args.entry.clone(),
    };
    let report = import_weights(&args.from, &args.config, &args.run_dir, options, &device)?;
    println!(
        "imported {} tensors ({} names, {} layout, from {}) from {} into {}",
        report.tensors,
        report.naming,
        if report.pytorch_layout {
            "PyTorch [out, in]"
        } else {
            "Burn [in, out]"
        },
        report.location,
        args.from.display(),
        args.run_dir.display()
    );
    Ok(())
}

/// `vae web`.
pub fn run_web(args: &WebArgs) -> anyhow::Result<()> {
    crate::web::serve(&crate::web::WebOptions {
        run_dir: args.run.run_dir.clone(),
        data_dir: args.run.data_dir.clone(),
        listen: args.listen,
        backend: args.run.backend,
    })
}
