//! `vae train --devices`: Burn's multi-device strategy on real MNIST (two workers on the one
//! flex CPU device: the code path, not a speed-up), one device as the plain run, and clean
//! errors for bad device lists.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod support;
use support::{fail, mnist_dir, path, repo_file, succeed};

/// Trains `configs/smoke.json` with `extra` arguments into `dir/name`; returns the run folder
/// and what `vae train` printed.
fn train(dir: &Path, name: &str, extra: &[&str]) -> (PathBuf, String) {
    let run_dir = dir.join(name);
    let config = repo_file("configs/smoke.json");
    let data = mnist_dir();
    let mut args = vec!["train", "--config", &config, "--data-dir", path(&data)];
    args.extend(["--run-dir", path(&run_dir), "--plain"]);
    args.extend(extra);
    let stdout = succeed(&args);
    (run_dir, stdout)
}

/// Train loss of each epoch in `run_dir/metrics.csv`.
fn train_losses(run_dir: &Path) -> Vec<f64> {
    let csv = std::fs::read_to_string(run_dir.join("metrics.csv")).unwrap();
    csv.lines()
        .skip(1)
        .map(|line| line.split(',').nth(1).unwrap().parse().unwrap())
        .collect()
}

#[test]
fn two_flex_workers_train_and_one_device_is_the_plain_run() {
    let dir = tempfile::tempdir().unwrap();
    let (two, stdout) = train(dir.path(), "two", &["--devices", "flex,flex"]);
    // 512 images: 256 per device, batches of 32: 8 steps of 2 batches an epoch.
    assert!(
        stdout.contains("training on 2 devices (flex, flex)")
            && stdout.contains("one batch of 64")
            && stdout.contains("8 steps per epoch"),
        "{stdout}"
    );
    let losses = train_losses(&two);
    assert_eq!(losses.len(), 2);
    assert!(losses[1] < losses[0], "{losses:?}");
    assert!(two.join("images/samples-epoch-2.png").is_file());
    let sample = dir.path().join("sample.png");
    succeed(&["sample", "--run-dir", path(&two), "--out", path(&sample)]);

    // A list of one device is the single-device run, weight for weight.
    let (one, _) = train(dir.path(), "one", &["--devices", "flex"]);
    let (plain, _) = train(dir.path(), "plain", &[]);
    assert_eq!(weights(&one), weights(&plain));
    assert_ne!(weights(&two), weights(&plain));
}

/// Every tensor of a run's weights by name (through `vae export`: safetensors' header maps each
/// name to its bytes; the header's own key order varies from run to run).
fn weights(run_dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let file = run_dir.with_extension("safetensors");
    succeed(&[
        "export",
        "--run-dir",
        path(run_dir),
        "--out",
        path(&file),
        "--overwrite",
    ]);
    let bytes = std::fs::read(&file).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + header_len]).unwrap();
    let data = &bytes[8 + header_len..];
    header
        .as_object()
        .unwrap()
        .iter()
        .filter(|(name, _)| *name != "__metadata__")
        .map(|(name, info)| {
            let offsets = &info["data_offsets"];
            let (start, end) = (offsets[0].as_u64().unwrap(), offsets[1].as_u64().unwrap());
            (name.clone(), data[start as usize..end as usize].to_vec())
        })
        .collect()
}

#[test]
fn bad_device_lists_are_clean_errors_that_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    let config = repo_file("configs/smoke.json");
    let train = |extra: &[&str]| {
        let mut args = vec!["train", "--config", &config, "--run-dir", path(&run_dir)];
        args.extend(extra);
        fail(&args)
    };
    for (devices, expected) in [
        ("flex,cuda", "`cuda`, which is not a backend"),
        ("flex,ndarray", "mixes backends"),
        ("flex:1", "has one device and no index"),
        ("wgpu:0,wgpu:0", "twice"),
        ("wgpu:x", "must be a number"),
        (",", "--devices is empty"),
    ] {
        let stderr = train(&["--devices", devices]);
        assert!(stderr.contains(expected), "{devices}: {stderr}");
        assert!(!run_dir.exists(), "{devices} created the run folder");
    }
    let stderr = train(&["--devices", "flex", "--backend", "wgpu"]);
    assert!(
        stderr.contains("--backend is wgpu but --devices lists flex"),
        "{stderr}"
    );
}
