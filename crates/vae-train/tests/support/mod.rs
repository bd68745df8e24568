//! What the `vae` binary's integration tests share: running the binary, the MNIST folder,
//! clean-failure checks and picture statistics. Each test binary uses a part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Width of one picture tile: 28 pixels at scale 2, plus 2 of padding.
pub const TILE: u32 = 58;

/// Runs `vae` with `args`, inheriting the environment.
pub fn vae(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vae"))
        .args(args)
        .output()
        .expect("the vae binary runs")
}

/// Runs `vae` with `args` and without `VAE_MNIST_DIR`, so that only `--data-dir` names data.
pub fn vae_without_data_env(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vae"))
        .args(args)
        .env_remove("VAE_MNIST_DIR")
        .output()
        .expect("the vae binary runs")
}

/// A path in the repository, from the workspace root.
pub fn repo_file(relative: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
        .to_string_lossy()
        .into_owned()
}

/// The real MNIST folder (`VAE_MNIST_DIR`); these tests train on it.
pub fn mnist_dir() -> PathBuf {
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

/// `p` as a `&str` argument.
pub fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Asserts a clean failure (non-zero exit, one `error:` paragraph, no panic) and returns stderr.
pub fn expect_clean_failure(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        !output.status.success(),
        "expected failure, got success; stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "panicked: {stderr}");
    assert!(stderr.starts_with("error: "), "not a clean error: {stderr}");
    stderr
}

/// Runs `vae` and asserts success; returns stdout.
pub fn succeed(args: &[&str]) -> String {
    let output = vae(args);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs `vae` and asserts a clean failure; returns stderr.
pub fn fail(args: &[&str]) -> String {
    expect_clean_failure(&vae(args))
}

/// Size and pixel spread (standard deviation of the grey levels) of a PNG.
pub fn picture(path: &Path) -> (u32, u32, f64) {
    let image = image::open(path).unwrap().to_luma8();
    let values: Vec<f64> = image.pixels().map(|p| f64::from(p[0])).collect();
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let std = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64).sqrt();
    (image.width(), image.height(), std)
}

/// An experiment's `results.json` in `out_dir`.
pub fn results_json(out_dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(out_dir.join("results.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// An experiment's `results.md` in `out_dir`, asserted to be what it printed (`stdout`), and its
/// `results.json`.
pub fn experiment_results(stdout: &str, out_dir: &Path) -> (String, serde_json::Value) {
    let table = std::fs::read_to_string(out_dir.join("results.md")).unwrap();
    assert!(stdout.contains(&table), "{stdout}");
    (table, results_json(out_dir))
}

/// A JSON array of numbers as `f64`s (panics, naming the value, on anything else).
pub fn numbers(value: &serde_json::Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a JSON array: {value}"))
        .iter()
        .map(|v| v.as_f64().unwrap_or_else(|| panic!("not a number: {v}")))
        .collect()
}
