//! The wgpu backend (any GPU; in CI, Mesa's software Vulkan driver): a forward pass agrees
//! with the CPU backend on the same weights, and a few training steps lower the loss.
//!
//! CI sets `CUBECL_AUTOTUNE_LEVEL=minimal` so that autotuning on a software driver stays short.

use burn::module::Module;
use burn::prelude::*;
use vae_integration_tests::{first_and_last_mean, mnist_images, train_steps};
use vae_model::VaeConfig;
use vae_train::backend::Backend;

/// Largest allowed |wgpu - flex| on logits and posterior parameters. The values are O(10);
/// float32 matmuls summed in different orders differ by ~1e-5 relative.
const TOLERANCE: f32 = 1e-3;

fn wgpu() -> Device {
    Backend::Wgpu
        .device()
        .expect("a wgpu adapter (install mesa-vulkan-drivers without a GPU)")
}

fn max_abs_diff(a: Tensor<2>, b: Tensor<2>) -> f32 {
    let a = a.into_data().try_to_vec::<f32>().unwrap();
    let b = b.into_data().try_to_vec::<f32>().unwrap();
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn forward_pass_agrees_with_flex_on_the_same_weights() {
    let config = VaeConfig::new(); // the PyTorch-parity model, 784-400-20
    let cpu = Device::flex();
    cpu.seed(5);
    let on_cpu = config.init(&cpu);
    let gpu = wgpu();
    let on_gpu = config.init(&gpu).load_record(on_cpu.clone().into_record());

    let images = mnist_images(64, &cpu);
    let posterior_cpu = on_cpu.encode(images.clone(), None);
    let logits_cpu = on_cpu.decode(posterior_cpu.mean.clone(), None);
    let images_gpu = images.to_device(&gpu);
    let posterior_gpu = on_gpu.encode(images_gpu, None);
    let logits_gpu = on_gpu.decode(posterior_gpu.mean.clone(), None);

    let scale = logits_cpu.clone().abs().max().into_scalar::<f32>();
    assert!(scale > 0.01, "degenerate logits");
    let mean_diff = max_abs_diff(posterior_cpu.mean, posterior_gpu.mean.to_device(&cpu));
    let log_var_diff = max_abs_diff(posterior_cpu.log_var, posterior_gpu.log_var.to_device(&cpu));
    let logits_diff = max_abs_diff(logits_cpu, logits_gpu.to_device(&cpu));
    assert!(
        mean_diff < TOLERANCE,
        "posterior mean differs by {mean_diff}"
    );
    assert!(
        log_var_diff < TOLERANCE,
        "posterior log-variance differs by {log_var_diff}"
    );
    assert!(logits_diff < TOLERANCE, "logits differ by {logits_diff}");
}

#[test]
fn a_few_training_steps_on_wgpu_lower_the_loss() {
    let device = wgpu().autodiff();
    device.seed(1);
    let images = mnist_images(256, &device);
    let vae = VaeConfig::new()
        .with_hidden_dims(vec![64])
        .with_latent_dim(4)
        .init(&device);
    let (_, losses) = train_steps(vae, &images, 64, 16, 3e-3);
    assert!(
        losses.iter().all(|l| l.is_finite()),
        "non-finite loss on wgpu: {losses:?}"
    );
    let (first, last) = first_and_last_mean(&losses, 3);
    assert!(
        last < 0.8 * first,
        "loss did not fall on wgpu: first {first}, last {last}"
    );
}
