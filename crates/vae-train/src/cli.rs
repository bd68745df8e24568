//! The `vae` command line (clap).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::backend::Backend;
use crate::experiments::augmentation::Generator;

/// Train and inspect variational autoencoders on MNIST, Fashion-MNIST or your own images with
/// Burn, on CPU or any GPU.
#[derive(Debug, Parser)]
#[command(name = "vae", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a VAE (MNIST, Fashion-MNIST or a folder of images) and write a run folder (config,
    /// model, checkpoints, metrics, pictures).
    Train(TrainArgs),
    /// Print a complete training config (PyTorch examples/vae settings) to start from.
    PrintConfig(PrintConfigArgs),
    /// A PNG grid of images decoded from samples of the prior.
    Sample(SampleArgs),
    /// A PNG of test images (top row) over their reconstructions from the posterior mean.
    Reconstruct(ReconstructArgs),
    /// A PNG with one row per pair of test images, decoding the line between their posterior means.
    Interpolate(InterpolateArgs),
    /// A PNG varying one latent dimension per row around a test image's posterior mean.
    Traverse(TraverseArgs),
    /// Test-set negative ELBO, importance-weighted -log p(x), KL per dimension, active units.
    Evaluate(EvaluateArgs),
    /// Label-probe accuracy: a linear classifier fitted on the training images' posterior means,
    /// scored on the test images' (how much of the class the latent code holds).
    Probe(ProbeArgs),
    /// Per-image anomaly scores (reconstruction error, negative ELBO, negative IW bound) of a
    /// dataset split as CSV; the AUROC of each when --normal-classes names the normal ones.
    Score(ScoreArgs),
    /// Mean PSNR of corrupted test images before and after the model denoises them (encode the
    /// noisy image, decode at the posterior mean), and a picture of noisy / denoised / clean.
    Denoise(DenoiseArgs),
    /// Run an application experiment end to end (train, measure) and print its table.
    Experiment(ExperimentArgs),
    /// Train the reference CNN digit classifier (judges conditional samples) into a folder.
    TrainClassifier(TrainClassifierArgs),
    /// Scatter of the test set's posterior means coloured by digit (PCA when latent_dim > 2);
    /// for latent_dim = 2 also the decoded manifold over the latent plane.
    LatentPlot(LatentPlotArgs),
    /// Line plot of train/valid loss, reconstruction and KL per epoch from metrics.csv.
    Curves(CurvesArgs),
    /// Write a run's weights as safetensors (Burn's names, or PyTorch examples/vae's).
    Export(ExportArgs),
    /// Make a run folder from PyTorch weights (.pt/.pth state_dict) or a safetensors file.
    Import(ImportArgs),
    /// Serve a page to explore a trained run in the browser: a slider per latent dimension,
    /// a 2-D latent plane, a canvas to draw on (reconstruction and anomaly score),
    /// interpolation between test images, the training curves.
    Web(WebArgs),
    /// Host this machine's devices for `vae train --remote` on other machines (Burn's remote
    /// server over WebSocket) until Ctrl-C or SIGTERM. Needs the cargo feature `remote`.
    Serve(ServeArgs),
}

/// Arguments of `vae serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Backend of the hosted devices (compiled-in: flex, ndarray, wgpu). Default: the first
    /// compiled.
    #[arg(long, value_enum)]
    pub backend: Option<Backend>,
    /// The devices to host, all of one backend (`wgpu:0,wgpu:1`; default: the backend's one
    /// device). A client picks one with `--remote-device N`, its position in this list.
    #[arg(long, value_name = "LIST")]
    pub devices: Option<String>,
    /// Address and port to listen on (port 0: any free port; the address is printed at start).
    #[arg(long, value_name = "ADDRESS:PORT", default_value = "127.0.0.1:3000")]
    pub listen: std::net::SocketAddr,
    /// Allow a --listen address other machines can reach. WARNING: the transport (WebSocket)
    /// is unencrypted and the token travels in the clear: use it only on a trusted network.
    /// Requires VAE_REMOTE_TOKEN. Elsewhere keep 127.0.0.1 and use an SSH tunnel.
    #[arg(long)]
    pub expose: bool,
}

/// Arguments of `vae web`.
#[derive(Debug, Args)]
pub struct WebArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub run: RunArgs,
    /// Address and port to listen on (port 0: any free port, printed at start). An address
    /// other than 127.0.0.1 makes the page reachable from other machines, and it has no
    /// authentication: prefer an SSH tunnel.
    #[arg(long, value_name = "ADDRESS:PORT", default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
}

/// Arguments of `vae export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Run folder written by `vae train` or `vae import`.
    #[arg(long, value_name = "DIR")]
    pub run_dir: PathBuf,
    /// Output file.
    #[arg(long, value_name = "FILE.safetensors")]
    pub out: PathBuf,
    /// Write the names and [out, in] layout of PyTorch's examples/vae VAE class (fc1, fc21,
    /// fc22, fc3, fc4), so that `VAE().load_state_dict(safetensors.torch.load_file(FILE))`
    /// works. Only for the unconditional MLP with one hidden layer on each side.
    #[arg(long)]
    pub pytorch_names: bool,
    /// Replace FILE if it exists.
    #[arg(long)]
    pub overwrite: bool,
    /// Compute backend (compiled-in: flex, ndarray, wgpu). Default: the first compiled.
    #[arg(long, value_enum)]
    pub backend: Option<Backend>,
}

/// Arguments of `vae import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Weights: a PyTorch state_dict saved with torch.save (.pt, .pth) or a .safetensors
    /// file, with Burn's parameter names or PyTorch examples/vae's (fc1, ..., fc4).
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    /// Training config describing the model the weights belong to (`vae print-config`).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Run folder to create (config.json, model.bpk, import.json).
    #[arg(long, value_name = "DIR")]
    pub run_dir: PathBuf,
    /// The entry of a PyTorch training checkpoint that holds the model's weights, as in
    /// torch.save({"state_dict": model.state_dict(), "optimizer": ...}). Default: the file's
    /// root, else the first of state_dict, model_state_dict, model, net that fits. A
    /// `module.` prefix (nn.DataParallel, DDP) is dropped either way.
    #[arg(long, value_name = "KEY")]
    pub entry: Option<String>,
    /// Delete the contents of a non-empty --run-dir first (only once the weights have loaded).
    #[arg(long)]
    pub overwrite: bool,
    /// Compute backend (compiled-in: flex, ndarray, wgpu). Default: the first compiled.
    #[arg(long, value_enum)]
    pub backend: Option<Backend>,
}

/// Arguments of `vae latent-plot`.
#[derive(Debug, Args)]
pub struct LatentPlotArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub run: RunArgs,
    /// Plot the first N test images. Default: all (10,000 for MNIST).
    #[arg(long)]
    pub images: Option<usize>,
    /// Output PNG. Default: RUN_DIR/latent.png.
    #[arg(long, value_name = "FILE.png")]
    pub out: Option<PathBuf>,
    /// Manifold output PNG (latent_dim = 2 only). Default: RUN_DIR/manifold.png.
    #[arg(long, value_name = "FILE.png")]
    pub manifold_out: Option<PathBuf>,
    /// Manifold tiles per side.
    #[arg(long, default_value_t = 20)]
    pub grid: usize,
}

/// Arguments of `vae curves`.
#[derive(Debug, Args)]
pub struct CurvesArgs {
    /// Run folder written by `vae train` (reads its metrics.csv).
    #[arg(long, value_name = "DIR")]
    pub run_dir: PathBuf,
    /// Output PNG. Default: RUN_DIR/curves.png.
    #[arg(long, value_name = "FILE.png")]
    pub out: Option<PathBuf>,
}

/// Which trained run to read, and where.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Run folder written by `vae train` (holds config.json and model.bpk).
    #[arg(long, value_name = "DIR")]
    pub run_dir: PathBuf,
    /// Compute backend (compiled-in: flex, ndarray, wgpu). Default: the first compiled.
    #[arg(long, value_enum)]
    pub backend: Option<Backend>,
    /// Folder with the dataset's IDX files (default: $VAE_MNIST_DIR, else the download cache
    /// ~/.cache/burn-vae), or, for an image-folder run, the image folder (default:
    /// `image_folder.path`).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// Arguments of `vae sample`.
#[derive(Debug, Args)]
pub struct SampleArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub run: RunArgs,
    /// Number of samples.
    #[arg(long, default_value_t = 64)]
    pub count: usize,
    /// Images per row.
    #[arg(long, default_value_t = 8)]
    pub columns: usize,
    /// For a conditional model: draw every sample of this class (0 to classes - 1: 0-9 for
    /// MNIST). Without it, a conditional model draws one row of --columns samples per class.
    #[arg(long)]
    pub label: Option<u8>,
    /// Seeds the prior samples.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output PNG. Default: RUN_DIR/samples.png.
    #[arg(long, value_name = "FILE.png")]
    pub out: Option<PathBuf>,
}

/// Arguments of `vae reconstruct`.
#[derive(Debug, Args)]
pub struct ReconstructArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub run: RunArgs,
    /// Test image indices, comma-separated (e.g. 0,1,2). Default: --count images at random.
    #[arg(long, value_delimiter = ',')]
    pub indices: Vec<usize>,
    /// Number of random test images when --indices is not given.
    #[arg(long, default_value_t = 8)]
    pub count: usize,
    /// Seeds the random choice of images.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output PNG. Default: RUN_DIR/reconstructions.png.
    #[arg(long, value_name = "FILE.png")]
    pub out: Option<PathBuf>,
}

/// Arguments of `vae interpolate`.
#[derive(Debug, Args)]
pub struct InterpolateArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub run: RunArgs,
    /// Pairs of test image indices, A:B comma-separated; one row each.
    #[arg(long, value_delimiter = ',', default_value = "0:1,2:3,4:5,6:7", value_parser = parse_pair)]
    pub pairs: Vec<(usize, usize)>,
    /// Images per row, endpoints included.
    #[arg(long, default_value_t = 10)]
    pub steps: usize,
    /// Output PNG. Default: RUN_DIR/interpolations.png.
    #[arg(long, value_name = "FILE.png")]
    pub out: Option<PathBuf>,
}

/// Arguments of `vae traverse`.
#[derive(Debug, Args)]
pub struct TraverseArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub run: RunArgs,
    /// Test image whose posterior mean is the centre of every row.
    #[arg(long, default_value_t = 0)]
    pub index: usize,
    /// Each dimension goes from mean - RANGE to mean + RANGE.
    #[arg(long, default_value_t = 3.0)]
    pub range: f32,
    /// Images per row.
    #[arg(long, default_value_t = 9)]
    pub steps: usize,
    /// Output PNG. Default: RUN_DIR/traversal.png.
    #[arg(long, value_name = "FILE.png")]
    pub out: Option<PathBuf>,
}

/// Arguments of `vae evaluate`.
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub run: RunArgs,
    /// Importance samples per image (K) for -log p(x).
    #[arg(long, default_value_t = 1000)]
    pub samples: usize,
    /// Samples drawn at once per image (memory: batch * chunk * image values, 784 for MNIST, floats per tensor).
    #[arg(long, default_value_t = 250)]
    pub chunk: usize,
    /// Test images per batch.
    #[arg(long, default_value_t = 50)]
    pub batch_size: usize,
    /// Evaluate only the first N test images. Default: all (10,000 for MNIST).
    #[arg(long)]
    pub images: Option<usize>,
    /// Seeds the posterior samples.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// For a conditional model: give each image a wrong label (another class at random,
    /// seeded by --seed), to measure how much the condition matters.
    #[arg(long)]
    pub shuffled_labels: bool,
    /// Also write the figures as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// Arguments of `vae experiment`.
#[derive(Debug, Args)]
pub struct ExperimentArgs {
    /// Which experiment.
    #[command(subcommand)]
    pub experiment: ExperimentCommand,
}

/// The experiments.
#[derive(Debug, Subcommand)]
pub enum ExperimentCommand {
    /// One-class anomaly detection (Ruff et al. 2018): per class, train on that class only,
    /// score the test set, report the AUROC of each score and their means.
    OneClass(OneClassArgs),
    /// The cross-dataset case: train on every class of one dataset, score its test set and
    /// another dataset's (the anomalies), report each score's AUROC.
    CrossDataset(CrossDatasetArgs),
    /// Denoising: train a VAE on clean images and one per corruption (noisy inputs, clean
    /// targets), report the mean PSNR of noisy inputs and of each model's outputs.
    Denoising(DenoisingArgs),
    /// Conditional generation: train (or reuse) a reference classifier and a conditional VAE,
    /// report the share of each class's samples the classifier labels as that class.
    Conditional(ConditionalArgs),
    /// Data augmentation: a classifier on a few labelled images per class, alone and with
    /// images from a conditional VAE (trained on the same labelled images, or M2's, which also
    /// learns from the unlabelled ones), over several draws.
    Augmentation(AugmentationArgs),
    /// Semi-supervised classification (Kingma et al. 2014's M2): a few labels per class and the
    /// rest unlabelled, beside the same classifier trained on the labels alone.
    SemiSupervised(SemiSupervisedArgs),
}

/// What `vae experiment semi-supervised` and `augmentation` share.
#[derive(Debug, Args)]
pub struct FewLabelsArgs {
    /// Training config of the conditional VAE (network, likelihood, latent size, learning
    /// rate; the experiment sets `condition` to `label`). Default: PyTorch examples/vae
    /// settings.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Labelled training images per class, drawn per seed.
    #[arg(long, default_value_t = crate::experiments::few_labels::DEFAULT_LABELS_PER_CLASS)]
    pub labels_per_class: usize,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub regularization: ClassifierRegularizationArgs,
    /// Folder with the dataset's IDX files. Default: the dataset's environment variable, its
    /// system folder (Fashion-MNIST), then the download cache.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub output: ExperimentOutputArgs,
}

/// Arguments of `vae experiment semi-supervised` (the whole training split is the unlabelled
/// data).
#[derive(Debug, Args)]
pub struct SemiSupervisedArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub few: FewLabelsArgs,
    /// Label draws (seeds 0, 1, ...).
    #[arg(long, default_value_t = crate::experiments::semi_supervised::DEFAULT_SEEDS)]
    pub seeds: usize,
    /// Training steps of M2 and of the classifier alone. Default: 1,000 (2,000 with --full).
    #[arg(long)]
    pub steps: Option<usize>,
    /// The longer run: 2,000 steps of each model.
    #[arg(long)]
    pub full: bool,
    /// Unlabelled images per M2 step.
    #[arg(long, default_value_t = crate::experiments::semi_supervised::DEFAULT_UNLABELLED_BATCH)]
    pub unlabelled_batch: usize,
    /// Weight of the classification term. Default: 0.1 × unlabelled / labelled images.
    #[arg(long)]
    pub alpha: Option<f64>,
}

/// Arguments of `vae experiment augmentation`.
#[derive(Debug, Args)]
pub struct AugmentationArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub few: FewLabelsArgs,
    /// Label draws (seeds 0, 1, ...).
    #[arg(long, default_value_t = crate::experiments::augmentation::DEFAULT_SEEDS)]
    pub seeds: usize,
    /// Generated images per class added to the labelled ones.
    #[arg(long, default_value_t = crate::experiments::augmentation::DEFAULT_SYNTHETIC_PER_CLASS)]
    pub synthetic_per_class: usize,
    /// The conditional VAE that generates the images.
    #[arg(long, value_enum, default_value_t = Generator::Labelled)]
    pub generator: Generator,
    /// Adam steps of the conditional VAE. Default: 2,000 full-batch steps on the labelled
    /// images; with `--generator m2`, 1,000 M2 steps (the labelled images and 100 unlabelled
    /// ones each, as `vae experiment semi-supervised`).
    #[arg(long)]
    pub cvae_steps: Option<usize>,
    /// Optimizer steps of each classifier (100 images per step).
    #[arg(long, default_value_t = crate::experiments::augmentation::DEFAULT_CLASSIFIER_STEPS)]
    pub classifier_steps: usize,
}

/// How a classifier is kept from overfitting (shared by every command that trains one).
#[derive(Debug, Args)]
pub struct ClassifierRegularizationArgs {
    /// Dropout on the classifier's dense layer while training, in [0, 1).
    #[arg(
        id = "classifier_dropout",
        long = "classifier-dropout",
        default_value_t = 0.5
    )]
    pub dropout: f64,
    /// Shift each training image by up to N pixels along each axis (0: no shifts).
    #[arg(
        id = "classifier_shift",
        long = "classifier-shift",
        default_value_t = 2
    )]
    pub shift_pixels: usize,
}

/// How the reference classifier trains (shared by `vae train-classifier` and the experiment).
#[derive(Debug, Args)]
pub struct ClassifierTrainingArgs {
    /// Passes over the training split.
    #[arg(
        id = "classifier_epochs",
        long = "classifier-epochs",
        default_value_t = crate::classifier::DEFAULT_EPOCHS
    )]
    pub epochs: usize,
    /// Train the classifier on the first N training images only. Default: all.
    #[arg(id = "classifier_train_images", long = "classifier-train-images")]
    pub train_images: Option<usize>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub regularization: ClassifierRegularizationArgs,
    /// Multiply the learning rate (1e-3 in the first epoch) by this after every epoch.
    #[arg(
        id = "classifier_lr_decay",
        long = "classifier-lr-decay",
        default_value_t = crate::classifier::DEFAULT_LR_DECAY
    )]
    pub lr_decay_per_epoch: f64,
}

/// Arguments of `vae train-classifier`.
#[derive(Debug, Args)]
pub struct TrainClassifierArgs {
    /// `mnist` or `fashion-mnist`.
    #[arg(long, value_name = "NAME", default_value = "mnist")]
    pub dataset: crate::data::DatasetKind,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub training: ClassifierTrainingArgs,
    /// Seeds the weights and the shuffling.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Folder with the dataset's IDX files. Default: the dataset's environment variable, its
    /// system folder (Fashion-MNIST), then the download cache.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Where classifier.json and classifier.bpk go. Default: runs/classifier-DATASET.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// Compute backend (compiled-in: flex, ndarray, wgpu). Default: the first compiled.
    #[arg(long, value_enum)]
    pub backend: Option<Backend>,
}

/// Arguments of `vae experiment conditional`.
#[derive(Debug, Args)]
pub struct ConditionalArgs {
    /// Training config of the conditional VAE (the experiment sets `condition` to `label`).
    /// Default: PyTorch examples/vae settings.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Epochs of the conditional VAE. Default: 20, whatever the config's `num_epochs`.
    #[arg(long)]
    pub epochs: Option<usize>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub classifier: ClassifierTrainingArgs,
    /// Samples drawn per class.
    #[arg(long, default_value_t = crate::experiments::conditional::DEFAULT_SAMPLES)]
    pub samples_per_class: usize,
    /// Seeds the samples.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Folder with the dataset's IDX files. Default: the dataset's environment variable, its
    /// system folder (Fashion-MNIST), then the download cache.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub output: ExperimentOutputArgs,
}

/// Arguments of `vae experiment denoising`.
#[derive(Debug, Args)]
pub struct DenoisingArgs {
    /// Training config of the models (the experiment sets `denoising`). Default: PyTorch
    /// examples/vae settings.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Epochs per model. Default: 20 (100 with --full), whatever the config's `num_epochs`.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// The longer run: 100 epochs per model.
    #[arg(long)]
    pub full: bool,
    /// The corruptions, comma-separated: one denoising model each.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "gaussian:0.5,salt-and-pepper:0.2"
    )]
    pub corruptions: Vec<vae_model::applications::Corruption>,
    /// Measure on the first N test images only. Default: all.
    #[arg(long)]
    pub images: Option<usize>,
    /// Seeds the corruption of the test images.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Folder with the dataset's IDX files. Default: the dataset's environment variable, its
    /// system folder (Fashion-MNIST), then the download cache.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub output: ExperimentOutputArgs,
}

/// Arguments of `vae probe`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub run: RunArgs,
    /// Fit the probe on the first N training images. Default: all.
    #[arg(long)]
    pub train_images: Option<usize>,
    /// Full-batch Adam steps of the probe.
    #[arg(long, default_value_t = 500)]
    pub steps: usize,
    /// Seeds the probe's initial weights.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Also write the result as JSON to this file.
    #[arg(long, value_name = "FILE.json")]
    pub json: Option<PathBuf>,
}

/// Arguments of `vae denoise`.
#[derive(Debug, Args)]
pub struct DenoiseArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub run: RunArgs,
    /// The corruption: gaussian:SIGMA (clipped to [0, 1]) or salt-and-pepper:FRACTION.
    #[arg(long, default_value = "gaussian:0.5")]
    pub noise: vae_model::applications::Corruption,
    /// Denoise only the first N test images. Default: all.
    #[arg(long)]
    pub images: Option<usize>,
    /// Seeds the corruption.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Test images in the picture.
    #[arg(long, default_value_t = 10)]
    pub columns: usize,
    /// Output PNG. Default: RUN_DIR/denoised-KIND.png.
    #[arg(long, value_name = "FILE.png")]
    pub out: Option<PathBuf>,
}

/// What every anomaly experiment takes: the training config and length, how to score, where
/// Where an experiment writes, on which backend, and whether it may retrain: shared by every
/// `vae experiment`.
#[derive(Debug, Args)]
pub struct ExperimentOutputArgs {
    /// Folder for the run folders, pictures and results.md / results.json. Default: under
    /// runs/, named after the experiment and its datasets (e.g. runs/denoising-mnist).
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// Compute backend (compiled-in: flex, ndarray, wgpu). Default: the first compiled.
    #[arg(long, value_enum)]
    pub backend: Option<Backend>,
    /// Retrain where a run folder holds a run of another config instead of refusing (a
    /// finished run of the same config is always reused).
    #[arg(long)]
    pub overwrite: bool,
}

/// to write.
#[derive(Debug, Args)]
pub struct AnomalyExperimentArgs {
    /// Training config of the models (the experiment sets `dataset` and `train_classes`).
    /// Default: PyTorch examples/vae settings.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Epochs per model. Default: 20 (100 with --full), whatever the config's `num_epochs`.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// The longer run: 100 epochs per model and 1,000 posterior samples per test image.
    #[arg(long)]
    pub full: bool,
    /// Posterior samples per test image. Default: 100 (1,000 with --full).
    #[arg(long)]
    pub samples: Option<usize>,
    /// Samples decoded at once per image.
    #[arg(long, default_value_t = 100)]
    pub chunk: usize,
    /// Test images per batch when scoring.
    #[arg(long, default_value_t = 50)]
    pub batch_size: usize,
    /// Seeds the scores' posterior samples.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub output: ExperimentOutputArgs,
}

/// Arguments of `vae experiment one-class`.
#[derive(Debug, Args)]
pub struct OneClassArgs {
    /// `mnist` or `fashion-mnist`.
    #[arg(long, value_name = "NAME", default_value = "mnist")]
    pub dataset: crate::data::DatasetKind,
    /// The normal classes to run, one model each. Default: all ten.
    #[arg(long, value_delimiter = ',', value_name = "CLASSES")]
    pub classes: Option<Vec<u8>>,
    /// Folder with the dataset's IDX files. Default: the dataset's environment variable, its
    /// system folder (Fashion-MNIST), then the download cache.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub common: AnomalyExperimentArgs,
}

/// Arguments of `vae experiment cross-dataset`. The datasets are read from their environment
/// variables (`VAE_MNIST_DIR`, `VAE_FASHION_MNIST_DIR`) or default places.
#[derive(Debug, Args)]
pub struct CrossDatasetArgs {
    /// The dataset the model trains on (all classes): `mnist` or `fashion-mnist`.
    #[arg(long, value_name = "NAME", default_value = "fashion-mnist")]
    pub train: crate::data::DatasetKind,
    /// The dataset whose test set is scored as anomalies.
    #[arg(long, value_name = "NAME", default_value = "mnist")]
    pub anomalies: crate::data::DatasetKind,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub common: AnomalyExperimentArgs,
}

/// A dataset split on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SplitArg {
    /// The training images (60,000 for MNIST; an image folder's training split).
    Train,
    /// The test images (10,000 for MNIST; an image folder's validation split).
    Test,
}

impl From<SplitArg> for crate::data::Split {
    fn from(split: SplitArg) -> Self {
        match split {
            SplitArg::Train => Self::Train,
            SplitArg::Test => Self::Test,
        }
    }
}

/// Arguments of `vae score`.
#[derive(Debug, Args)]
pub struct ScoreArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub run: RunArgs,
    /// The dataset to score: `mnist` or `fashion-mnist`. Default: the run's own (another one
    /// gives the cross-dataset case; --data-dir then names that dataset's folder).
    #[arg(long, value_name = "NAME", conflicts_with = "folder")]
    pub dataset: Option<crate::data::DatasetKind>,
    /// Which split to score.
    #[arg(long, value_enum, default_value_t = SplitArg::Test, conflicts_with = "folder")]
    pub split: SplitArg,
    /// Score every PNG/JPEG file in this folder instead (sorted by path; one subfolder per
    /// class gives labels), converted and resized to the model's image size; the CSV gains a
    /// `file` column.
    #[arg(long, value_name = "DIR")]
    pub folder: Option<PathBuf>,
    /// Posterior samples per image, shared by the ELBO and the importance-weighted bound.
    #[arg(long, default_value_t = 100)]
    pub samples: usize,
    /// Samples decoded at once per image (memory: batch * chunk * image values, 784 for MNIST, floats per tensor).
    #[arg(long, default_value_t = 100)]
    pub chunk: usize,
    /// Images per batch.
    #[arg(long, default_value_t = 50)]
    pub batch_size: usize,
    /// Score only the first N images. Default: the whole split.
    #[arg(long)]
    pub images: Option<usize>,
    /// Seeds the posterior samples.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The normal classes, e.g. `3` or `0,1`: every other class counts as anomalous, and the
    /// AUROC of each score is printed.
    #[arg(long, value_delimiter = ',', value_name = "CLASSES")]
    pub normal_classes: Option<Vec<u8>>,
    /// Output CSV. Default: RUN_DIR/scores.csv.
    #[arg(long, value_name = "FILE.csv")]
    pub out: Option<PathBuf>,
}

fn parse_pair(text: &str) -> Result<(usize, usize), String> {
    let (a, b) = text
        .split_once(':')
        .ok_or_else(|| format!("`{text}` is not a pair A:B of test image indices"))?;
    let index = |s: &str| {
        s.trim()
            .parse::<usize>()
            .map_err(|_| format!("`{s}` in `{text}` is not a test image index"))
    };
    Ok((index(a)?, index(b)?))
}

/// Arguments of `vae train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Training config (JSON, every field present). Default: PyTorch examples/vae settings.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Continue the run in this folder from its last good checkpoint (its config.json applies;
    /// `--epochs N` extends it to N epochs in all).
    #[arg(
        long,
        value_name = "RUN_DIR",
        conflicts_with_all = ["config", "batch_size", "learning_rate", "seed", "run_dir", "overwrite"]
    )]
    pub resume: Option<PathBuf>,
    /// Override `num_epochs`.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Override `batch_size`.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Override `learning_rate`.
    #[arg(long)]
    pub learning_rate: Option<f64>,
    /// Override `seed`.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Compute backend; must be compiled in (cargo features flex, ndarray, wgpu).
    /// Default: the first compiled of flex, ndarray, wgpu.
    #[arg(long, value_enum)]
    pub backend: Option<Backend>,
    /// Folder with the dataset's four IDX files, plain or .gz (default: $VAE_MNIST_DIR, else
    /// the download cache ~/.cache/burn-vae, downloaded and verified when missing), or, for an
    /// image-folder config, the image folder (default: `image_folder.path`).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Run folder to create. Default: runs/CONFIG, CONFIG being the config file name without .json.
    #[arg(long, value_name = "DIR")]
    pub run_dir: Option<PathBuf>,
    /// Delete the contents of a run folder that already holds a run.
    #[arg(long)]
    pub overwrite: bool,
    /// Start from the trained weights of this run folder (made by `vae train` or `vae import`,
    /// of the same network, likelihood and condition) instead of random ones: fine-tuning. The
    /// optimizer, epochs and learning-rate schedule start afresh.
    #[arg(long, value_name = "RUN_DIR", conflicts_with = "resume")]
    pub init_from: Option<PathBuf>,
    /// Train data-parallel on several devices of one backend (Burn's multi-device strategy):
    /// `flex,flex`, `wgpu:0,wgpu:1` (`wgpu:N`: the N-th GPU). Each optimizer step sums one
    /// batch's gradients per device: the gradient of a batch of devices × batch_size images,
    /// at the same learning rate. Only a single CPU device trains (and resumes) bit-exactly.
    #[arg(long, value_name = "LIST")]
    pub devices: Option<String>,
    /// Train on a device of a `vae serve` server, `ws://HOST:PORT` (the data, the autodiff
    /// graph and the run folder stay here). The server's token, if it has one, comes from
    /// VAE_REMOTE_TOKEN. Needs the cargo feature `remote`.
    #[arg(long, value_name = "ws://HOST:PORT", conflicts_with_all = ["devices", "backend"])]
    pub remote: Option<String>,
    /// Which of the server's devices (positions in the server's --devices list). Several
    /// (`0,1`) train data-parallel as --devices does, the first being the main device.
    #[arg(
        long,
        value_name = "N[,N...]",
        value_delimiter = ',',
        default_value = "0",
        requires = "remote"
    )]
    pub remote_device: Vec<usize>,
    /// Print one plain line per epoch and split instead of the terminal dashboard.
    #[arg(long)]
    pub plain: bool,
}

/// Arguments of `vae print-config`.
#[derive(Debug, Args)]
pub struct PrintConfigArgs {
    /// Write to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}
