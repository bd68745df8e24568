//! A run folder written before the model crate had slots (`fixtures/run-0.1`, made by the
//! `vae` of commit 3c40b2d) still opens with the inspection commands and resumes.

use std::path::{Path, PathBuf};

mod support;
use support::succeed;

/// A copy of the fixture, so that nothing in the repository is written.
fn fixture_copy(dir: &Path) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run-0.1");
    let target = dir.join("run");
    for sub in ["", "checkpoint"] {
        std::fs::create_dir_all(target.join(sub)).unwrap();
        for entry in std::fs::read_dir(source.join(sub)).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                std::fs::copy(&path, target.join(sub).join(path.file_name().unwrap())).unwrap();
            }
        }
    }
    target
}

#[test]
fn a_run_folder_from_before_the_slots_opens_and_resumes() {
    let Some(data) = std::env::var_os("VAE_MNIST_DIR") else {
        panic!("this test uses the real MNIST files: set VAE_MNIST_DIR");
    };
    let data = data.to_str().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let run = fixture_copy(dir.path());
    let run_arg = run.to_str().unwrap();

    let report = succeed(&[
        "evaluate",
        "--run-dir",
        run_arg,
        "--data-dir",
        &data,
        "--samples",
        "5",
        "--images",
        "32",
    ]);
    assert!(report.contains("importance-weighted"), "{report}");
    for command in [
        "sample",
        "reconstruct",
        "interpolate",
        "traverse",
        "latent-plot",
    ] {
        let out = dir.path().join(format!("{command}.png"));
        succeed(&[
            command,
            "--run-dir",
            run_arg,
            "--data-dir",
            &data,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(out.is_file(), "{command} wrote no picture");
    }

    succeed(&[
        "train",
        "--resume",
        run_arg,
        "--epochs",
        "2",
        "--data-dir",
        &data,
        "--plain",
    ]);
    let csv = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    let epochs: Vec<&str> = csv.lines().skip(1).map(|l| &l[..2]).collect();
    assert_eq!(epochs, ["1,", "2,"], "{csv}");
    assert!(run.join("checkpoint/model-2.bpk").is_file());
}
