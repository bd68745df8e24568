//! What is measured: a matmul, the training step (MLP and conv networks), inference, the
//! importance-weighted evaluation, and a Learner epoch.

use std::path::Path;

use burn::optim::ModuleOptimizer;
use burn::prelude::*;
use burn::train::TrainStep;
use vae_model::host_bce::bernoulli_log_importance_weights;
use vae_model::train::VaeBatch;
use vae_model::{Decoder, Encoder, Likelihood, Vae, VaeConfig, log_mean_exp};
use vae_train::backend::Backend as BackendChoice;
use vae_train::config::TrainingConfig;
use vae_train::model::{build_model, mlp_kernels, with_host_passes};
use vae_train::train::host_adam::adam_optimizer;
use vae_train::train::step::{MaybeBernoulli, TrainingVae};
use vae_train::train::{TrainOptions, train};

use crate::memory;
use crate::stats::{median, time_repeats};

/// A model measured: the hidden widths of its encoder (the decoder mirrors them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelShape {
    /// Hidden widths, e.g. `[400]` for PyTorch's examples/vae model.
    pub hidden: Vec<usize>,
}

/// Input pixels and latent size of every measured model.
pub const INPUT_DIM: usize = 784;
/// The latent size of every measured model.
pub const LATENT_DIM: usize = 20;
/// Importance samples per image of the evaluate row (`vae evaluate`'s default K).
pub const EVAL_SAMPLES: usize = 1000;
/// Samples decoded at once per image (`vae evaluate`'s default `--chunk`).
pub const EVAL_CHUNK: usize = 250;
/// Images per batch of the evaluate row (`vae evaluate`'s default `--batch-size`).
pub const EVAL_BATCH: usize = 50;

impl ModelShape {
    /// `784-400-20` style name.
    pub fn name(&self) -> String {
        let mut parts = vec![INPUT_DIM.to_string()];
        parts.extend(self.hidden.iter().map(usize::to_string));
        parts.push(LATENT_DIM.to_string());
        parts.join("-")
    }

    /// The model's config (beta 1).
    pub fn config(&self) -> VaeConfig {
        VaeConfig::new()
            .with_input_dim(INPUT_DIM)
            .with_hidden_dims(self.hidden.clone())
            .with_latent_dim(LATENT_DIM)
    }

    /// Multiply-adds of one image's forward pass (the matmuls; elementwise work is not counted).
    pub fn forward_macs(&self) -> u64 {
        let mut widths = vec![INPUT_DIM];
        widths.extend(&self.hidden);
        let encoder: u64 = widths.windows(2).map(|w| (w[0] * w[1]) as u64).sum();
        let heads = 2 * (*widths.last().unwrap() * LATENT_DIM) as u64;
        encoder + heads + self.decoder_macs()
    }

    /// Multiply-adds of decoding one code.
    pub fn decoder_macs(&self) -> u64 {
        let mut back = vec![LATENT_DIM];
        back.extend(self.hidden.iter().rev());
        back.push(INPUT_DIM);
        back.windows(2).map(|w| (w[0] * w[1]) as u64).sum()
    }

    /// FLOPs of one image's training step: forward, and backward at twice the forward.
    pub fn train_flops(&self) -> f64 {
        6.0 * self.forward_macs() as f64
    }

    /// FLOPs of one image's encode + decode.
    pub fn inference_flops(&self) -> f64 {
        2.0 * self.forward_macs() as f64
    }

    /// FLOPs of one image's importance-weighted estimate: [`EVAL_SAMPLES`] decodes (the
    /// matmuls; the encoder's share is negligible).
    pub fn evaluate_flops(&self) -> f64 {
        2.0 * (EVAL_SAMPLES as u64 * self.decoder_macs()) as f64
    }
}

/// One measured figure: a median rate over repeats, and the row's peak memory.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    /// Median of the repeats, in the row's unit (images/s or GFLOP/s).
    pub rate: f64,
    /// Peak resident memory of the process during the row, MiB.
    pub peak_mib: Option<f64>,
}

/// How much to run per row.
#[derive(Debug, Clone, Copy)]
pub struct Effort {
    /// Untimed steps first (allocator, autotune, caches).
    pub warmup_steps: usize,
    /// Steps per timed repeat.
    pub steps: usize,
    /// Timed repeats; the median is reported.
    pub repeats: usize,
}

/// Runs `work` (one batch) `effort.warmup_steps` times untimed, then `effort.steps` times per
/// timed repeat, reading the last output of each repeat and then waiting for everything queued
/// on `device` (asynchronous backends queue work, and reading one output did not wait for all
/// of it on wgpu: 1-step repeats of the inference row on Mesa's lavapipe gave 1.9 million
/// images/s, 10-step ones 3,914); the median images/s and the peak memory since the row began.
fn per_batch_rate<const D: usize>(
    device: &Device,
    batch: usize,
    effort: Effort,
    mut work: impl FnMut() -> Tensor<D>,
) -> Measured {
    let wait = || {
        device
            .sync()
            .unwrap_or_else(|e| panic!("the device failed while the bench waited for it: {e:?}"))
    };
    for _ in 0..effort.warmup_steps {
        work().into_data();
    }
    wait();
    let times = time_repeats(effort.repeats, || {
        let mut last = None;
        for _ in 0..effort.steps {
            last = Some(work());
        }
        if let Some(output) = last {
            output.into_data();
        }
        wait();
    });
    Measured {
        rate: (batch * effort.steps) as f64 / median(&times),
        peak_mib: memory::peak_mib(),
    }
}

/// A `[rows, 784]` batch of real images, cycled from `pixels` (`[n * 784]` in `[0, 1]`).
pub fn batch_from(pixels: &[f32], rows: usize, device: &Device) -> Tensor<2> {
    let available = pixels.len() / INPUT_DIM;
    assert!(available > 0, "no images to batch");
    let data: Vec<f32> = (0..rows)
        .flat_map(|row| {
            let start = (row % available) * INPUT_DIM;
            pixels[start..start + INPUT_DIM].iter().copied()
        })
        .collect();
    Tensor::from_data(TensorData::new(data, [rows, INPUT_DIM]), device)
}

/// Achievable float32 matmul rate on `device`: GFLOP/s of an `n x n` by `n x n` product.
pub fn matmul_gflops(device: &Device, n: usize, effort: Effort) -> Measured {
    memory::reset_peak();
    let a = Tensor::<2>::random([n, n], burn::tensor::Distribution::Default, device);
    let b = Tensor::<2>::random([n, n], burn::tensor::Distribution::Default, device);
    let product = || {
        let c = a.clone().matmul(b.clone());
        // Reading one element waits for the product on asynchronous backends.
        c.slice([0..1, 0..1]).into_data();
    };
    for _ in 0..effort.warmup_steps {
        product();
    }
    let times = time_repeats(effort.repeats, || {
        for _ in 0..effort.steps {
            product();
        }
        device
            .sync()
            .unwrap_or_else(|e| panic!("the device failed while the bench waited for it: {e:?}"));
    });
    let flops = 2.0 * (n as f64).powi(3) * effort.steps as f64;
    Measured {
        rate: flops / median(&times) / 1e9,
        peak_mib: memory::peak_mib(),
    }
}

/// Which of `vae`'s host passes a row runs: with `on`, those `vae` sets on flex (the Bernoulli
/// term, Adam, the MLP layers fused with their bias and activation, the Bernoulli mean), less
/// Adam with `burn_adam` and the fused layers with `burn_linear` (Burn's in their place, to
/// compare the two); none without `on` (the other backends).
#[derive(Clone, Copy, Debug, Default)]
pub struct HostPasses {
    /// The passes `vae` sets on flex.
    pub on: bool,
    /// Burn's Adam in place of the host pass.
    pub burn_adam: bool,
    /// Burn's `Linear` and activation in place of the fused layer.
    pub burn_linear: bool,
}

impl HostPasses {
    /// `vae` with the MLP networks' layer kernel these passes plug in, in both networks.
    fn plug_linear(self, mut vae: Vae) -> Vae {
        let kernels = mlp_kernels(self.on && !self.burn_linear);
        (vae.encoder.body.kernels, vae.decoder.body.kernels) = (kernels, kernels);
        vae
    }
}

/// Images per second of the training step the Learner runs (forward, ELBO, backward of the
/// batch sum, Adam with `vae train`'s default settings; `host` as `vae train` sets them, on for
/// flex only), on one fixed batch of real images.
pub fn train_step_rate(
    device: &Device,
    host: HostPasses,
    shape: &ModelShape,
    batch: usize,
    pixels: &[f32],
    effort: Effort,
) -> Measured {
    memory::reset_peak();
    let train_device = device.clone().autodiff();
    device.seed(1);
    let vae = host.plug_linear(shape.config().init(&train_device));
    let model = TrainingVae::new(vae).with_host_reconstruction(host.on);
    let config = TrainingConfig::default().optimizer;
    let optimizer = adam_optimizer(&config, host.on && !host.burn_adam);
    let images = batch_from(pixels, batch, &train_device);
    steps_rate(device, model, optimizer, 1e-3, images, effort)
}

/// [`per_batch_rate`] of training steps of `model` on `images`, as the Learner runs them.
fn steps_rate<E, D, L>(
    device: &Device,
    mut model: TrainingVae<Vae<E, D, L>>,
    mut optimizer: ModuleOptimizer,
    learning_rate: f64,
    images: Tensor<2>,
    effort: Effort,
) -> Measured
where
    E: Encoder + 'static,
    D: Decoder + 'static,
    L: Likelihood + MaybeBernoulli + 'static,
{
    let batch = images.dims()[0];
    let step = || {
        let output = TrainStep::step(
            &model,
            VaeBatch {
                images: images.clone(),
                targets: None,
                condition: None,
            },
        );
        model = optimizer.step(learning_rate, model.clone(), output.grads);
        output.item.loss
    };
    per_batch_rate(device, batch, effort, step)
}

/// The conv training row's config: `configs/mnist-conv.json` (4×4 stride-2 convolutions of 32
/// and 64 channels, a 20-D latent space, Bernoulli decoder, batch 128), compiled in so that the
/// bench binary carried to another machine (`benches/gpu`) measures the same network.
pub const CONV_CONFIG_JSON: &str = include_str!("../../configs/mnist-conv.json");

/// [`CONV_CONFIG_JSON`], parsed and validated.
pub fn conv_config() -> anyhow::Result<TrainingConfig> {
    TrainingConfig::from_json(CONV_CONFIG_JSON)
        .map_err(|e| anyhow::anyhow!("configs/mnist-conv.json (compiled into the bench): {e}"))
}

/// The conv row's model name, as the PyTorch reference names the same network.
pub fn conv_model_name(config: &TrainingConfig) -> String {
    match &config.network {
        vae_train::config::NetworkChoice::Conv { conv_channels, .. } => {
            let channels: Vec<String> = conv_channels.iter().map(usize::to_string).collect();
            format!("conv {}-{}", channels.join("-"), config.model.latent_dim)
        }
        vae_train::config::NetworkChoice::Mlp => "mlp".into(),
    }
}

/// Multiply-adds of one 28×28 image's forward pass through a conv network without dense
/// hidden layer: each 4×4 convolution and its transposed mirror, the posterior heads and the
/// projection back (elementwise work not counted).
pub fn conv_forward_macs(conv_channels: &[usize], latent_dim: usize) -> u64 {
    let mut channels = vec![1];
    channels.extend(conv_channels);
    let mut side = 28;
    let mut convs = 0;
    for pair in channels.windows(2) {
        side /= 2;
        // Per output pixel of the convolution (and per input pixel of its mirror): 16 taps.
        convs += 2 * (side * side * pair[0] * pair[1] * 16) as u64;
    }
    let flat = (side * side * channels.last().copied().unwrap_or(1)) as u64;
    convs + 3 * flat * latent_dim as u64
}

/// Images per second of `vae train`'s training step for `config`'s network (the conv row:
/// [`conv_config`]), built as `vae train` builds it (`host_passes` on for flex: the Bernoulli
/// term and Adam on the host), on one fixed batch of `config.batch_size` real images.
pub fn config_train_step_rate(
    device: &Device,
    host_passes: bool,
    config: &TrainingConfig,
    pixels: &[f32],
    effort: Effort,
) -> anyhow::Result<Measured> {
    memory::reset_peak();
    let train_device = device.clone().autodiff();
    device.seed(1);
    let vae = with_host_passes(build_model(config, &train_device)?, host_passes);
    let model = TrainingVae::new(vae)
        .with_objective(config.objective.to_model())
        .with_host_reconstruction(host_passes);
    let optimizer = adam_optimizer(&config.optimizer, host_passes);
    let images = batch_from(pixels, config.batch_size, &train_device);
    Ok(steps_rate(
        device,
        model,
        optimizer,
        config.learning_rate,
        images,
        effort,
    ))
}

/// Images per second of encode + decode (posterior mean, no autodiff) on one batch; `host` as
/// `vae` sets it (on for flex: the fused layers and the Bernoulli mean's `sigmoid` on the host).
pub fn inference_rate(
    device: &Device,
    host: HostPasses,
    shape: &ModelShape,
    batch: usize,
    pixels: &[f32],
    effort: Effort,
) -> Measured {
    memory::reset_peak();
    device.seed(1);
    let model = host.plug_linear(shape.config().init(device).with_host_mean(host.on));
    let images = batch_from(pixels, batch, device);
    let infer = || model.reconstruct(images.clone(), None);
    per_batch_rate(device, batch, effort, infer)
}

/// Images per second of the importance-weighted estimate of `log p(x)` as `vae evaluate`
/// computes it: [`EVAL_SAMPLES`] posterior draws per image, [`EVAL_CHUNK`] decoded at once, on a
/// batch of [`EVAL_BATCH`] real images; `host` as `vae evaluate` sets it (on for flex: the
/// Bernoulli term and the fused layers on the host).
pub fn evaluate_rate(
    device: &Device,
    host: HostPasses,
    shape: &ModelShape,
    pixels: &[f32],
    repeats: usize,
) -> Measured {
    memory::reset_peak();
    device.seed(1);
    let model = host.plug_linear(shape.config().init(device));
    let images = batch_from(pixels, EVAL_BATCH, device);
    let evaluate = || {
        let weights = if host.on {
            bernoulli_log_importance_weights(&model, images.clone(), None, EVAL_SAMPLES, EVAL_CHUNK)
        } else {
            model.log_importance_weights(images.clone(), None, EVAL_SAMPLES, EVAL_CHUNK)
        };
        log_mean_exp(weights)
    };
    let effort = Effort {
        warmup_steps: 1,
        steps: 1,
        repeats,
    };
    per_batch_rate(device, EVAL_BATCH, effort, evaluate)
}

/// Images per second of whole training epochs through `vae train`'s Learner, data loader,
/// metrics and checkpoints, on the 60,000 MNIST training images (validation on `valid_images`
/// test images, not timed). Reads the train phase's time from the run's `metrics.csv`; the
/// median over `epochs` epochs.
pub fn learner_epoch_rate(
    backend: BackendChoice,
    data_dir: &Path,
    shape: &ModelShape,
    batch: usize,
    epochs: usize,
    valid_images: usize,
) -> anyhow::Result<Measured> {
    let run_dir = tempfile::tempdir()?;
    let config = TrainingConfig {
        model: shape.config(),
        batch_size: batch,
        num_epochs: epochs,
        valid_images: Some(valid_images),
        ..TrainingConfig::default()
    };
    memory::reset_peak();
    train(TrainOptions {
        config,
        backend,
        data_dir: Some(data_dir.to_path_buf()),
        run_dir: run_dir.path().join("run"),
        overwrite: false,
        plain: true,
        devices: None,
        init_from: None,
        remote: None,
    })?;
    let peak_mib = memory::peak_mib();
    let rows = vae_train::run::metrics_csv::read(&run_dir.path().join("run").join("metrics.csv"))?;
    let rates: Vec<f64> = rows
        .iter()
        .map(|row| 60_000.0 / row.train_seconds)
        .collect();
    Ok(Measured {
        rate: median(&rates),
        peak_mib,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pytorch_example_model_costs_3_9_mflop_per_training_image() {
        let shape = ModelShape { hidden: vec![400] };
        assert_eq!(shape.name(), "784-400-20");
        assert_eq!(
            shape.forward_macs(),
            784 * 400 + 2 * 400 * 20 + 20 * 400 + 400 * 784
        );
        assert!((shape.train_flops() / 1e6 - 3.9).abs() < 0.05);
    }

    #[test]
    fn the_conv_row_measures_the_conv_config() {
        let config = conv_config().unwrap();
        assert_eq!(conv_model_name(&config), "conv 32-64-20");
        assert_eq!(config.batch_size, 128);
    }

    #[test]
    fn the_conv_config_costs_3_6_million_multiply_adds_per_image() {
        // 28 -> 14 -> 7: 1x32 and 32x64 channels, 16 taps each way, then 3136 x 20 three times.
        let convs = 2 * (14 * 14 * 32 * 16 + 7 * 7 * 32 * 64 * 16);
        assert_eq!(conv_forward_macs(&[32, 64], 20), convs + 3 * 3136 * 20);
        assert_eq!(conv_forward_macs(&[32, 64], 20), 3_600_128);
    }

    #[test]
    fn deeper_model_counts_every_layer() {
        let shape = ModelShape {
            hidden: vec![512, 256],
        };
        assert_eq!(shape.name(), "784-512-256-20");
        let expected = 784 * 512 + 512 * 256 + 2 * 256 * 20 + 20 * 256 + 256 * 512 + 512 * 784;
        assert_eq!(shape.forward_macs(), expected as u64);
    }

    #[test]
    fn batches_cycle_through_the_images() {
        let device = Device::flex();
        let pixels: Vec<f32> = (0..2 * INPUT_DIM).map(|i| (i / INPUT_DIM) as f32).collect();
        let batch = batch_from(&pixels, 3, &device);
        let rows: Vec<f32> = batch
            .slice([0..3, 0..1])
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert_eq!(rows, vec![0.0, 1.0, 0.0]);
    }
}
