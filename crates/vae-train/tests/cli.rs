//! The `vae` binary end to end: a real (small) training run on MNIST, and every kind of bad
//! input giving a one-paragraph error, a non-zero exit and no panic, with nothing lost.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn vae(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vae"))
        .args(args)
        .env_remove("VAE_MNIST_DIR")
        .output()
        .expect("the vae binary runs")
}

fn repo_file(relative: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
        .to_string_lossy()
        .into_owned()
}

fn mnist_dir() -> PathBuf {
    let dir = std::env::var_os("VAE_MNIST_DIR").map(PathBuf::from).expect(
        "these tests use the real MNIST files: set VAE_MNIST_DIR (in CI: ../shared/datasets/mnist)",
    );
    assert!(
        dir.is_dir(),
        "VAE_MNIST_DIR={} is not a folder",
        dir.display()
    );
    dir
}

/// Asserts a clean failure and returns stderr.
fn fails(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        !output.status.success(),
        "expected failure, got success; stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "panicked: {stderr}");
    assert!(stderr.starts_with("error: "), "not a clean error: {stderr}");
    stderr
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs `vae train` on `configs/smoke.json` with the given data and run folders.
fn train_smoke(data: &Path, run_dir: &Path, extra: &[&str]) -> Output {
    let config = repo_file("configs/smoke.json");
    let mut args = vec![
        "train",
        "--config",
        &config,
        "--data-dir",
        path(data),
        "--run-dir",
        path(run_dir),
    ];
    args.extend(extra);
    vae(&args)
}

#[test]
fn print_config_writes_a_complete_config_equal_to_the_pytorch_parity_file() {
    let output = vae(&["print-config"]);
    assert!(output.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let file: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_file("configs/mnist-mlp.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(printed, file);
}

#[test]
fn every_config_in_configs_loads_and_builds() {
    let dir = repo_file("configs");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let config = vae_train::config::TrainingConfig::load(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let vae = config
            .model
            .try_init(&burn::prelude::Device::flex())
            .unwrap();
        assert_eq!(vae.input_dim(), 784, "{}", path.display());
        count += 1;
    }
    assert!(count >= 3, "expected at least three configs, found {count}");
}

#[test]
fn trains_the_smoke_config_on_real_mnist_and_writes_the_run_folder() {
    let run = tempfile::tempdir().unwrap();
    let run_dir = run.path().join("smoke");
    let output = train_smoke(&mnist_dir(), &run_dir, &["--plain"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "training failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("epoch 2/2 valid"),
        "no plain progress lines: {stdout}"
    );

    for file in ["config.json", "model.bpk", "metrics.csv", "experiment.log"] {
        assert!(run_dir.join(file).is_file(), "missing {file}");
    }
    for epoch in 1..=2 {
        for kind in ["model", "optim", "scheduler"] {
            assert!(
                run_dir
                    .join(format!("checkpoint/{kind}-{epoch}.bpk"))
                    .is_file()
            );
        }
        for picture in ["reconstruction", "samples"] {
            let png = run_dir.join(format!("images/{picture}-epoch-{epoch}.png"));
            let image = image::open(&png).unwrap().to_luma8();
            let values: Vec<f64> = image.pixels().map(|p| f64::from(p[0])).collect();
            let mean = values.iter().sum::<f64>() / values.len() as f64;
            let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64;
            assert!(
                var.sqrt() > 10.0,
                "{} looks blank (std {})",
                png.display(),
                var.sqrt()
            );
        }
    }
    // The reconstruction grid: 8 tiles of 28x28 at scale 2 with 2-pixel padding, two rows.
    let grid = image::open(run_dir.join("images/reconstruction-epoch-2.png")).unwrap();
    assert_eq!((grid.width(), grid.height()), (8 * 58 + 2, 2 * 58 + 2));

    let csv = std::fs::read_to_string(run_dir.join("metrics.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], vae_train::renderer::CSV_HEADER);
    assert_eq!(lines.len(), 3, "{csv}");
    let row = |i: usize| -> Vec<f64> { lines[i].split(',').map(|v| v.parse().unwrap()).collect() };
    let (first, second) = (row(1), row(2));
    assert_eq!((first[0], second[0]), (1.0, 2.0));
    assert!(first.iter().chain(&second).all(|v| v.is_finite()), "{csv}");
    // loss = reconstruction + KL, train (cols 1-3) and valid (cols 4-6).
    for r in [&first, &second] {
        assert!(
            (r[1] - r[2] - r[3]).abs() < 0.05 && (r[4] - r[5] - r[6]).abs() < 0.05,
            "{csv}"
        );
    }
    assert!(second[1] < first[1], "train loss did not fall: {csv}");
    assert!(second[4] < first[4], "valid loss did not fall: {csv}");
    assert!(
        second[4] < 300.0,
        "valid loss {} is far above a trained model's",
        second[4]
    );

    // A second run into the same folder is refused and the first run is intact.
    let again = train_smoke(&mnist_dir(), &run_dir, &[]);
    assert!(fails(&again).contains("--overwrite"));
    assert_eq!(
        std::fs::read_to_string(run_dir.join("metrics.csv")).unwrap(),
        csv
    );
}

fn train_with_config(config: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.json");
    std::fs::write(&file, config).unwrap();
    let run_dir = dir.path().join("run");
    let stderr = fails(&vae(&[
        "train",
        "--config",
        path(&file),
        "--run-dir",
        path(&run_dir),
    ]));
    assert!(
        !run_dir.exists(),
        "a run folder was created for a bad config"
    );
    stderr
}

#[test]
fn bad_configs_name_the_problem() {
    let good = std::fs::read_to_string(repo_file("configs/smoke.json")).unwrap();
    assert!(train_with_config("{ not json").contains("not valid JSON"));
    let missing = good.replace("\"latent_dim\": 4,", "");
    assert!(train_with_config(&missing).contains("missing field `latent_dim`"));
    let zero = good.replace("\"latent_dim\": 4", "\"latent_dim\": 0");
    assert!(train_with_config(&zero).contains("`latent_dim` is 0"));
    let negative = good.replace("\"hidden_dims\": [64]", "\"hidden_dims\": [-64]");
    assert!(train_with_config(&negative).contains("hidden_dims"));
    let unknown = good.replace("\"seed\": 1", "\"seed\": 1, \"epochs\": 3");
    assert!(train_with_config(&unknown).contains("unknown field `epochs`"));
    let missing_file = fails(&vae(&["train", "--config", "/nonexistent/config.json"]));
    assert!(missing_file.contains("cannot read config file"));
    let zero_override = fails(&vae(&[
        "train",
        "--config",
        &repo_file("configs/smoke.json"),
        "--batch-size",
        "0",
    ]));
    assert!(zero_override.contains("batch_size"));
}

/// A data folder whose files are links to the real ones, except `broken`, written as given.
fn data_dir_with(broken: &str, contents: Option<Vec<u8>>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(mnist_dir()).unwrap() {
        let source = entry.unwrap().path();
        let name = source.file_name().unwrap().to_str().unwrap().to_string();
        if !name.contains("ubyte") || name.starts_with(broken) {
            continue;
        }
        std::os::unix::fs::symlink(&source, dir.path().join(&name)).unwrap();
    }
    if let Some(bytes) = contents {
        std::fs::write(dir.path().join(broken), bytes).unwrap();
    }
    dir
}

fn real_test_labels() -> Vec<u8> {
    use std::io::Read;
    let file = std::fs::File::open(mnist_dir().join("t10k-labels-idx1-ubyte.gz")).unwrap();
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(file)
        .read_to_end(&mut bytes)
        .unwrap();
    bytes
}

fn train_on(data: &Path) -> String {
    let run = tempfile::tempdir().unwrap();
    let run_dir = run.path().join("run");
    let stderr = fails(&train_smoke(data, &run_dir, &[]));
    assert!(
        !run_dir.exists(),
        "a run folder was created although the data is bad"
    );
    stderr
}

#[test]
fn bad_data_folders_name_the_file_and_the_fix() {
    let missing = data_dir_with("t10k-labels-idx1-ubyte", None);
    let stderr = train_on(missing.path());
    assert!(
        stderr.contains("t10k-labels-idx1-ubyte") && stderr.contains("missing"),
        "{stderr}"
    );

    let labels = real_test_labels();
    let truncated = data_dir_with("t10k-labels-idx1-ubyte", Some(labels[..5000].to_vec()));
    let stderr = train_on(truncated.path());
    assert!(
        stderr.contains("corrupt") && stderr.contains("SHA-256"),
        "{stderr}"
    );

    let mut flipped = labels.clone();
    flipped[100] ^= 1;
    let wrong = data_dir_with("t10k-labels-idx1-ubyte", Some(flipped));
    let stderr = train_on(wrong.path());
    assert!(
        stderr.contains("t10k-labels-idx1-ubyte") && stderr.contains("SHA-256"),
        "{stderr}"
    );

    let bad_gz = data_dir_with(
        "t10k-labels-idx1-ubyte.gz",
        Some(b"\x1f\x8b not gzip".to_vec()),
    );
    let stderr = train_on(bad_gz.path());
    assert!(stderr.contains("gzip"), "{stderr}");

    let stderr = train_on(Path::new("/nonexistent/mnist"));
    assert!(
        stderr.contains("--data-dir") && stderr.contains("VAE_MNIST_DIR"),
        "{stderr}"
    );
}

#[test]
fn an_unwritable_run_folder_is_refused_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"keep me").unwrap();
    let stderr = fails(&train_smoke(&mnist_dir(), &file.join("run"), &[]));
    assert!(stderr.contains("cannot write to run folder"), "{stderr}");
    assert_eq!(std::fs::read(&file).unwrap(), b"keep me");
}

#[test]
fn a_diverging_run_stops_with_an_error_naming_the_cause_and_keeps_nothing_broken() {
    let run = tempfile::tempdir().unwrap();
    let run_dir = run.path().join("run");
    let stderr = fails(&train_smoke(
        &mnist_dir(),
        &run_dir,
        &["--learning-rate", "1000", "--plain"],
    ));
    assert!(
        stderr.contains("diverged") && stderr.contains("learning_rate"),
        "{stderr}"
    );
    // The diverged epoch is not checkpointed and no final model is written.
    assert!(!run_dir.join("checkpoint/model-1.bpk").exists());
    assert!(!run_dir.join("model.bpk").exists());
    assert!(run_dir.join("config.json").is_file());
}
