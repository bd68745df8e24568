//! The `vae` binary end to end: a real (small) training run on MNIST, and every kind of bad
//! input giving a one-paragraph error, a non-zero exit and no panic, with nothing lost.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod support;
use support::{
    expect_clean_failure as fails, mnist_dir, path, repo_file, vae_without_data_env as vae,
};

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
    let mut folders = vec![PathBuf::from(repo_file("configs"))];
    let mut files = Vec::new();
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else {
                files.push(path);
            }
        }
    }
    let mut count = 0;
    for path in files {
        let config = vae_train::config::TrainingConfig::load(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let vae = config
            .model
            .try_init(&burn::prelude::Device::flex())
            .unwrap();
        assert!(
            burn::module::Module::num_params(&vae) > 0,
            "{}",
            path.display()
        );
        assert_eq!(config.model.input_dim, 784, "{}", path.display());
        count += 1;
    }
    assert!(
        count >= 20,
        "expected the 20 configs (4 in configs/collapse), found {count}"
    );
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
    assert_eq!(lines[0], vae_train::run::metrics_csv::HEADER);
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
    // Each field rule is unit-tested in `config.rs`; here, that the binary reports a
    // representative few (text edits of the smoke config) and the command-line paths.
    let good = std::fs::read_to_string(repo_file("configs/smoke.json")).unwrap();
    let edits: [(&str, &str, &str); 14] = [
        ("{", "{ not json", "not valid JSON"),
        ("\"latent_dim\": 4,", "", "missing field `latent_dim`"),
        (
            "\"latent_dim\": 4",
            "\"latent_dim\": 0",
            "`latent_dim` is 0",
        ),
        (
            "\"seed\": 1",
            "\"seed\": 1, \"epochs\": 3",
            "unknown field `epochs`",
        ),
        ("\"beta\": 1.0", "\"beta\": -0.5", "`beta` is -0.5"),
        ("\"stop\"", "\"retry\"", "on_non_finite_loss"),
        (
            "\"seed\": 1",
            "\"seed\": 1, \"network\": {\"kind\": \"conv\", \"conv_channels\": [8]}",
            "`model.hidden_dims`",
        ),
        (
            "\"seed\": 1",
            "\"seed\": 1, \"objective\": {\"kl_warmup\": {\"epochs\": 5}}",
            "longer than the run",
        ),
        (
            "\"seed\": 1",
            "\"seed\": 1, \"objective\": {\"free_bits\": -1.0}",
            "`free_bits` is -1",
        ),
        (
            "\"seed\": 1",
            "\"seed\": 1, \"objective\": {\"samples\": 0}",
            "`samples` is 0",
        ),
        (
            "\"seed\": 1",
            "\"seed\": 1, \"data_treatment\": {\"kind\": \"stochastic\"}",
            "unknown variant `stochastic`",
        ),
        (
            "\"seed\": 1",
            "\"seed\": 1, \"data_treatment\": {\"kind\": \"static\"}",
            "`data_treatment.seed` is missing",
        ),
        (
            "\"seed\": 1",
            "\"seed\": 1, \"keep_checkpoints\": 0",
            "`keep_checkpoints` is 0",
        ),
        (
            "\"seed\": 1",
            "\"seed\": 1, \"denoising\": {\"kind\": \"gaussian\", \"sigma\": 0}",
            "the Gaussian noise's `sigma` is 0",
        ),
    ];
    for (from, to, expected) in edits {
        let edited = good.replacen(from, to, 1);
        assert_ne!(edited, good, "the edit `{from}` did not apply");
        let stderr = train_with_config(&edited);
        assert!(stderr.contains(expected), "{expected}: {stderr}");
    }
    let smoke = repo_file("configs/smoke.json");
    let commands: [(&[&str], &str); 3] = [
        (
            &["train", "--config", "/nonexistent/config.json"],
            "cannot read config file",
        ),
        (
            &["train", "--config", &smoke, "--batch-size", "0"],
            "batch_size",
        ),
        (
            &["train", "--config", &smoke, "--learning-rate", "NaN"],
            "`learning_rate` is NaN",
        ),
    ];
    for (args, expected) in commands {
        let stderr = fails(&vae(args));
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn a_batch_larger_than_the_training_set_is_refused_before_the_run_folder_exists() {
    let run = tempfile::tempdir().unwrap();
    let run_dir = run.path().join("run");
    let stderr = fails(&train_smoke(
        &mnist_dir(),
        &run_dir,
        &["--batch-size", "600"],
    ));
    assert!(
        stderr.contains("`batch_size` is 600") && stderr.contains("512 training images"),
        "{stderr}"
    );
    assert!(!run_dir.exists());
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

/// MNIST files given to a Fashion-MNIST config: the error names both datasets and the fix, and
/// no run folder is made.
#[test]
fn a_folder_of_the_other_dataset_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo_file("configs/smoke.json")).unwrap())
            .unwrap();
    config["dataset"] = "fashion-mnist".into();
    let config_path = dir.path().join("fashion.json");
    std::fs::write(&config_path, config.to_string()).unwrap();
    let run_dir = dir.path().join("run");
    let stderr = fails(&vae(&[
        "train",
        "--config",
        path(&config_path),
        "--data-dir",
        path(&mnist_dir()),
        "--run-dir",
        path(&run_dir),
        "--plain",
    ]));
    assert!(
        stderr.contains("looks like MNIST") && stderr.contains("dataset"),
        "{stderr}"
    );
    assert!(!run_dir.exists());
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
        stderr.contains("diverged")
            && stderr.contains("learning_rate")
            && stderr.contains("at epoch 1, step"),
        "{stderr}"
    );
    // The diverged epoch is not checkpointed and no final model is written.
    assert!(!run_dir.join("checkpoint/model-1.bpk").exists());
    assert!(!run_dir.join("model.bpk").exists());
    assert!(run_dir.join("config.json").is_file());
}

/// The smoke run, one epoch, as a run folder to resume, break and inspect.
fn one_epoch_run() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    let output = train_smoke(&mnist_dir(), &run_dir, &["--epochs", "1", "--plain"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    (dir, run_dir)
}

fn resume_args<'a>(run_dir: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["train", "--resume", path(run_dir), "--plain"];
    args.extend(extra);
    args
}

fn resume_run(run_dir: &Path, extra: &[&str]) -> Output {
    let data = mnist_dir();
    let mut args = resume_args(run_dir, extra);
    args.extend(["--data-dir", path(&data)]);
    vae(&args)
}

#[test]
fn resume_refuses_what_it_cannot_continue() {
    let empty = tempfile::tempdir().unwrap();
    let (_dir, run_dir) = one_epoch_run();
    // A run folder whose checkpoints are all gone: only its config is left.
    let no_checkpoints = tempfile::tempdir().unwrap();
    std::fs::copy(
        run_dir.join("config.json"),
        no_checkpoints.path().join("config.json"),
    )
    .unwrap();
    let cases: [(&str, Vec<&str>, &[&str]); 5] = [
        (
            "not a run folder",
            resume_args(empty.path(), &[]),
            &["no config.json", "--run-dir"],
        ),
        (
            "every epoch done",
            resume_args(&run_dir, &[]),
            &["already has 1 of 1 epochs", "--epochs"],
        ),
        (
            "no checkpoint left",
            resume_args(no_checkpoints.path(), &[]),
            &["no complete, loadable checkpoint", "--overwrite"],
        ),
        (
            "zero epochs",
            resume_args(&run_dir, &["--epochs", "0"]),
            &["invalid --epochs", "num_epochs"],
        ),
        (
            "an override that would change the run",
            vec!["train", "--resume", path(&run_dir), "--seed", "3"],
            &["--seed"],
        ),
    ];
    let data = mnist_dir();
    for (case, mut args, expected) in cases {
        args.extend(["--data-dir", path(&data)]);
        let stderr = fails(&vae(&args));
        for text in expected {
            assert!(
                stderr.contains(text),
                "{case}: expected `{text}` in: {stderr}"
            );
        }
    }
    // Nothing was written into the folders that were refused.
    assert_eq!(std::fs::read_dir(empty.path()).unwrap().count(), 0);
    assert_eq!(std::fs::read_dir(no_checkpoints.path()).unwrap().count(), 1);

    // Stopped after its last checkpoint but before model.bpk: resume writes it from there.
    std::fs::remove_file(run_dir.join("model.bpk")).unwrap();
    let output = resume_run(&run_dir, &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("wrote it from"), "{stdout}");
    let out = tempfile::tempdir().unwrap();
    let sample = vae(&[
        "sample",
        "--run-dir",
        path(&run_dir),
        "--out",
        path(&out.path().join("s.png")),
    ]);
    assert!(
        sample.status.success(),
        "{}",
        String::from_utf8_lossy(&sample.stderr)
    );
}

/// The checkpoint files left in `run_dir/checkpoint`, sorted.
fn checkpoint_files(run_dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(run_dir.join("checkpoint"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Every file epochs `epochs` leave: three records, each with its digest.
fn files_of_epochs(epochs: &[usize]) -> Vec<String> {
    let mut names: Vec<String> = epochs
        .iter()
        .flat_map(|e| {
            ["model", "optim", "scheduler"]
                .into_iter()
                .flat_map(move |kind| [format!("{kind}-{e}.bpk"), format!("{kind}-{e}.bpk.sha256")])
        })
        .collect();
    names.sort();
    names
}

#[test]
fn only_the_last_keep_checkpoints_epochs_stay_on_disk_across_a_resume() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("keep-2.json");
    let smoke = std::fs::read_to_string(repo_file("configs/smoke.json")).unwrap();
    let edited = smoke.replacen("\"seed\": 1", "\"seed\": 1, \"keep_checkpoints\": 2", 1);
    assert_ne!(edited, smoke);
    std::fs::write(&config, edited).unwrap();
    let run_dir = dir.path().join("run");
    let output = vae(&[
        "train",
        "--config",
        path(&config),
        "--data-dir",
        path(&mnist_dir()),
        "--run-dir",
        path(&run_dir),
        "--epochs",
        "3",
        "--plain",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(checkpoint_files(&run_dir), files_of_epochs(&[2, 3]));

    let output = resume_run(&run_dir, &["--epochs", "4"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("after epoch 3 of 4"),
        "did not resume from epoch 3"
    );
    assert_eq!(checkpoint_files(&run_dir), files_of_epochs(&[3, 4]));
}

#[test]
fn a_corrupt_checkpoint_is_named_set_aside_and_resume_falls_back_to_the_one_before() {
    let (_dir, run_dir) = one_epoch_run();
    let output = resume_run(&run_dir, &["--epochs", "2"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Damage epoch 2's optimizer state (one flipped byte) and truncate its model.
    let optim = run_dir.join("checkpoint/optim-2.bpk");
    let mut bytes = std::fs::read(&optim).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    std::fs::write(&optim, bytes).unwrap();
    let model_2 = run_dir.join("checkpoint/model-2.bpk");
    let model_bytes = std::fs::read(&model_2).unwrap();
    std::fs::write(&model_2, &model_bytes[..1000]).unwrap();

    let output = resume_run(&run_dir, &["--epochs", "3"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("passing over the checkpoint of epoch 2")
            && stderr.contains("model-2.bpk is corrupt"),
        "{stderr}"
    );
    assert!(run_dir.join("checkpoint/model-2.bpk.discarded").is_file());
    // Epochs 2 and 3 were trained again from epoch 1's checkpoint.
    let rows = std::fs::read_to_string(run_dir.join("metrics.csv")).unwrap();
    let epochs: Vec<&str> = rows
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(epochs, vec!["1", "2", "3"]);
    assert!(run_dir.join("checkpoint/model-3.bpk").is_file());

    // A damaged final model is named by the inspection commands.
    let model = run_dir.join("model.bpk");
    let mut bytes = std::fs::read(&model).unwrap();
    let near_end = bytes.len() - 10;
    bytes[near_end] ^= 0x01;
    std::fs::write(&model, bytes).unwrap();
    let out = tempfile::tempdir().unwrap();
    let stderr = fails(&vae(&[
        "sample",
        "--run-dir",
        path(&run_dir),
        "--out",
        path(&out.path().join("s.png")),
    ]));
    assert!(stderr.contains("model.bpk is corrupt"), "{stderr}");
}

#[test]
fn ctrl_c_stops_after_a_step_keeps_the_checkpoints_and_names_the_resume_command() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    let config = repo_file("configs/smoke.json");
    let data = mnist_dir();
    let child = Command::new(env!("CARGO_BIN_EXE_vae"))
        .args(["train", "--config", &config, "--epochs", "500", "--plain"])
        .args(["--data-dir", path(&data), "--run-dir", path(&run_dir)])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let first = run_dir.join("checkpoint/model-1.bpk.sha256");
    let start = std::time::Instant::now();
    while !first.exists() {
        assert!(start.elapsed().as_secs() < 120, "no checkpoint after 120 s");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("interrupted") && stderr.contains("vae train --resume"),
        "{stderr}"
    );
    assert!(!run_dir.join("model.bpk").exists());
    // Every checkpoint left behind is complete, and the run continues from the last one.
    let done = checkpoint_files(&run_dir)
        .iter()
        .filter_map(|name| {
            name.strip_prefix("scheduler-")?
                .strip_suffix(".bpk")?
                .parse()
                .ok()
        })
        .max()
        .unwrap_or(0usize);
    assert!(done >= 1, "{:?}", checkpoint_files(&run_dir));
    let epochs = (done + 1).to_string();
    let output = resume_run(&run_dir, &["--epochs", &epochs]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(run_dir.join("model.bpk").is_file());
}

#[test]
fn a_full_disk_while_checkpointing_loses_nothing_already_saved() {
    let (_dir, run_dir) = one_epoch_run();
    let saved = std::fs::read(run_dir.join("checkpoint/optim-1.bpk")).unwrap();
    // Files may grow to 256 KiB: the model checkpoint (~430 KB) cannot be written. SIGXFSZ is
    // ignored so that the write fails with EFBIG, as on a full disk.
    let data = mnist_dir();
    let command = "trap '' XFSZ; ulimit -f 256; exec \"$0\" train --resume \"$1\" --epochs 2 --plain --data-dir \"$2\"";
    let output = Command::new("bash")
        .args([
            "-c",
            command,
            env!("CARGO_BIN_EXE_vae"),
            path(&run_dir),
            path(&data),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("error") && stderr.contains("checkpoints already written"),
        "{stderr}"
    );
    // Epoch 1 is intact, no partial file is left, and the run resumes once there is room.
    assert_eq!(
        std::fs::read(run_dir.join("checkpoint/optim-1.bpk")).unwrap(),
        saved
    );
    let leftovers: Vec<_> = std::fs::read_dir(run_dir.join("checkpoint"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let output = resume_run(&run_dir, &["--epochs", "2"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Train loss of each epoch in `run_dir/metrics.csv`.
fn train_losses(run_dir: &Path) -> Vec<f64> {
    vae_train::run::metrics_csv::read(&run_dir.join("metrics.csv"))
        .unwrap()
        .iter()
        .map(|row| row.values[0])
        .collect()
}

/// `--init-from` starts a new run from a trained run's weights: its first epoch is far better
/// than a run from random weights; a folder of another network, no run, or the new run's own
/// folder is refused before anything is written.
#[test]
fn init_from_fine_tunes_a_trained_run_and_refuses_what_does_not_fit() {
    let dir = tempfile::tempdir().unwrap();
    let data = mnist_dir();
    let source = dir.path().join("source");
    let output = train_smoke(&data, &source, &["--plain"]);
    assert!(output.status.success(), "{}", fails_text(&output));
    let tuned = dir.path().join("tuned");
    let output = train_smoke(
        &data,
        &tuned,
        &["--plain", "--epochs", "1", "--init-from", path(&source)],
    );
    assert!(output.status.success(), "{}", fails_text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("starting from the weights of"), "{stdout}");
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tuned.join("init.json")).unwrap()).unwrap();
    assert!(
        record["init_from"].as_str().unwrap().ends_with("source"),
        "{record}"
    );
    let (scratch, fine_tuned) = (train_losses(&source), train_losses(&tuned));
    assert_eq!(fine_tuned.len(), 1);
    // Random weights start near 543 nats (784 ln 2) and the first epoch's mean is far above a
    // trained model's; the same epoch from the trained weights starts where the source ended.
    assert!(
        fine_tuned[0] < scratch[0] - 20.0,
        "first epoch from the trained weights {} against {} from random ones",
        fine_tuned[0],
        scratch[0]
    );

    // Another latent size: the weights do not fit.
    let mut other: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo_file("configs/smoke.json")).unwrap())
            .unwrap();
    other["model"]["latent_dim"] = 8.into();
    let other_config = dir.path().join("other.json");
    std::fs::write(&other_config, other.to_string()).unwrap();
    let refused = dir.path().join("refused");
    let smoke = repo_file("configs/smoke.json");
    let cases = [
        (
            path(&other_config),
            path(&source),
            "do not fit the model the config describes",
        ),
        (smoke.as_str(), path(dir.path()), "has no config.json"),
        (smoke.as_str(), path(&refused), "or inside it"),
    ];
    for (config, init_from, expected) in cases {
        let stderr = fails(&vae(&[
            "train",
            "--config",
            config,
            "--data-dir",
            path(&data),
            "--run-dir",
            path(&refused),
            "--init-from",
            init_from,
        ]));
        assert!(stderr.contains(expected), "{stderr}");
        assert!(
            !refused.exists(),
            "a refused run wrote {}",
            refused.display()
        );
    }
    // The new run's own folder: refused, and the source stays whole.
    let stderr = fails(&train_smoke(
        &data,
        &source,
        &["--overwrite", "--init-from", path(&source)],
    ));
    assert!(stderr.contains("would delete the weights"), "{stderr}");
    // A folder that holds the source run: refused too (--overwrite would empty it).
    let stderr = fails(&train_smoke(
        &data,
        dir.path(),
        &["--overwrite", "--init-from", path(&source)],
    ));
    assert!(stderr.contains("or inside it"), "{stderr}");
    assert!(source.join("model.bpk").is_file() && source.join("metrics.csv").is_file());

    // A fine-tuned run with no checkpoint to resume: the command to start it again keeps
    // --init-from, so that it does not silently start from random weights.
    let unstarted = dir.path().join("unstarted");
    std::fs::create_dir(&unstarted).unwrap();
    for file in ["config.json", "init.json"] {
        std::fs::copy(tuned.join(file), unstarted.join(file)).unwrap();
    }
    let stderr = fails(&vae(&["train", "--resume", path(&unstarted)]));
    assert!(
        stderr.contains("--overwrite --init-from") && stderr.contains("source"),
        "{stderr}"
    );
}

/// The standard error of a failed command, for assertion messages.
fn fails_text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
