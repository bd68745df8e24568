//! Whole runs through Burn's Learner on a few hundred real MNIST images: the run folder's
//! model reloads to the same outputs as its last checkpoint, and a run is reproducible.

use std::path::Path;
use std::sync::Mutex;

use burn::module::Module;
use burn::prelude::*;
use vae_integration_tests::{mnist_dir, mnist_images};
use vae_model::Vae;
use vae_train::backend::Backend;
use vae_train::config::{DataTreatment, TrainingConfig, WarmupChoice};
use vae_train::train::{ResumeOptions, TrainOptions, resume, train};

/// Flex's random number generator is global to the process: runs in parallel test threads
/// would draw from it interleaved, so each test holds this lock while it trains.
static FLEX_RNG: Mutex<()> = Mutex::new(());

fn smoke_config() -> TrainingConfig {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/smoke.json");
    TrainingConfig::load(&path).expect("configs/smoke.json loads")
}

fn run(config: &TrainingConfig, run_dir: &Path) {
    train(TrainOptions {
        config: config.clone(),
        backend: Backend::Flex,
        data_dir: Some(mnist_dir()),
        run_dir: run_dir.to_owned(),
        overwrite: false,
        plain: true,
        devices: None,
        init_from: None,
        remote: None,
    })
    .expect("training succeeds");
}

fn load(config: &TrainingConfig, path: &Path, device: &Device) -> Vae {
    config
        .model
        .init(device)
        .try_load_file(path)
        .expect("record loads")
}

/// metrics.csv without the two wall-clock columns.
fn metrics_without_time(run_dir: &Path) -> Vec<String> {
    std::fs::read_to_string(run_dir.join("metrics.csv"))
        .unwrap()
        .lines()
        .map(|line| line.split(',').take(7).collect::<Vec<_>>().join(","))
        .collect()
}

/// Every output of the model on real images, bit for bit: the posterior (both heads) and the
/// decoder's logits.
fn outputs(model: &Vae, images: &Tensor<2>) -> Vec<TensorData> {
    let posterior = model.encode(images.clone(), None);
    let logits = model.decode(posterior.mean.clone(), None);
    vec![
        posterior.mean.into_data(),
        posterior.log_var.into_data(),
        logits.into_data(),
    ]
}

#[test]
fn the_saved_model_is_the_last_checkpoint_and_replays_from_its_config() {
    let _rng = FLEX_RNG.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    let config = smoke_config();
    run(&config, &run_dir);

    let saved = TrainingConfig::load(&run_dir.join("config.json")).expect("saved config loads");
    assert_eq!(
        serde_json::to_value(&saved).unwrap(),
        serde_json::to_value(&config).unwrap()
    );

    let device = Device::flex();
    let images = mnist_images(32, &device);
    let model = load(&saved, &run_dir.join("model.bpk"), &device);
    let last = load(&saved, &run_dir.join("checkpoint/model-2.bpk"), &device);
    let first = load(&saved, &run_dir.join("checkpoint/model-1.bpk"), &device);
    let reconstruct = |m: &Vae| m.reconstruct(images.clone(), None).into_data();
    assert_eq!(reconstruct(&model), reconstruct(&last));
    assert_ne!(
        reconstruct(&model),
        reconstruct(&first),
        "epoch 2 did not change the weights"
    );
}

#[test]
fn a_run_with_the_same_seed_is_reproduced_exactly() {
    let _rng = FLEX_RNG.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let mut config = smoke_config();
    config.num_epochs = 1;
    assert_eq!(
        config.num_workers, 0,
        "reproducible order needs the loader on one thread"
    );
    run(&config, &dir.path().join("a"));
    run(&config, &dir.path().join("b"));
    let a = metrics_without_time(&dir.path().join("a"));
    assert_eq!(a.len(), 2);
    assert_eq!(a, metrics_without_time(&dir.path().join("b")));
    // The files differ (they store fresh parameter ids); the weights must not.
    let device = Device::flex();
    let images = mnist_images(16, &device);
    let weights = |run: &str| {
        let vae = load(&config, &dir.path().join(run).join("model.bpk"), &device);
        let posterior = vae.encode(images.clone(), None);
        (
            posterior.mean.into_data(),
            posterior.log_var.into_data(),
            vae.reconstruct(images.clone(), None).into_data(),
        )
    };
    assert!(weights("a") == weights("b"), "same seed, different weights");

    config.seed = 2;
    run(&config, &dir.path().join("c"));
    assert_ne!(
        a,
        metrics_without_time(&dir.path().join("c")),
        "the seed changes nothing"
    );
}

#[test]
fn a_run_resumed_after_epoch_1_ends_bit_identical_to_an_uninterrupted_one() {
    let _rng = FLEX_RNG.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let config = smoke_config();
    assert_eq!(config.num_epochs, 2);
    let whole = dir.path().join("whole");
    run(&config, &whole);

    // The same run, stopped after epoch 1 (a later epoch's files are never written), then
    // resumed in a fresh Learner, data loader and model.
    let parted = dir.path().join("parted");
    let mut first_epoch = config.clone();
    first_epoch.num_epochs = 1;
    run(&first_epoch, &parted);
    resume_and_compare(&config, &parted, Some(2), &whole);
    let resumed_config = TrainingConfig::load(&parted.join("config.json")).unwrap();
    assert_eq!(resumed_config.num_epochs, 2);
}

/// A run with dynamic binarization (each batch drawn from the run's random stream) and a KL
/// warm-up over both epochs (the step count carries across the resume), interrupted after
/// epoch 1 (epoch 2's files deleted as if it never finished) and resumed: bit-identical to the
/// uninterrupted run.
#[test]
fn a_binarized_warm_up_run_resumed_mid_warm_up_ends_bit_identical() {
    let _rng = FLEX_RNG.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let mut config = smoke_config();
    // 500 images in batches of 32: 16 steps per epoch, the last one partial, so that the
    // warm-up's step count must include it.
    config.train_images = Some(500);
    config.data_treatment = DataTreatment::Dynamic;
    config.objective.kl_warmup = Some(WarmupChoice {
        start: 0.0,
        epochs: Some(2),
        steps: None,
    });
    let whole = dir.path().join("whole");
    run(&config, &whole);
    // The same run on continuous pixels without a warm-up differs: both are in effect.
    let mut plain = config.clone();
    plain.data_treatment = DataTreatment::Continuous;
    plain.objective.kl_warmup = None;
    let continuous = dir.path().join("continuous");
    run(&plain, &continuous);
    assert_ne!(
        metrics_without_time(&whole),
        metrics_without_time(&continuous),
        "binarization and warm-up change the run"
    );

    let parted = dir.path().join("parted");
    run(&config, &parted);
    for kind in ["model", "optim", "scheduler"] {
        for suffix in ["bpk", "bpk.sha256"] {
            let _ = std::fs::remove_file(parted.join(format!("checkpoint/{kind}-2.{suffix}")));
        }
    }
    std::fs::remove_file(parted.join("model.bpk")).unwrap();
    resume_and_compare(&config, &parted, None, &whole);
}

/// Resumes `parted` (to `epochs` in all, or its own count) and asserts that it ends with the
/// weights and `metrics.csv` of the uninterrupted run in `whole`, bit for bit.
fn resume_and_compare(config: &TrainingConfig, parted: &Path, epochs: Option<usize>, whole: &Path) {
    resume(ResumeOptions {
        run_dir: parted.to_owned(),
        epochs,
        backend: Backend::Flex,
        data_dir: Some(mnist_dir()),
        plain: true,
        devices: None,
        remote: None,
    })
    .expect("resume succeeds");
    let device = Device::flex();
    let images = mnist_images(64, &device);
    let model = |run_dir: &Path| load(config, &run_dir.join("model.bpk"), &device);
    assert_eq!(
        outputs(&model(parted), &images),
        outputs(&model(whole), &images),
        "the resumed model differs from the uninterrupted one"
    );
    assert_eq!(metrics_without_time(parted), metrics_without_time(whole));
}
