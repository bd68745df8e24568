//! `benches/gpu/run.sh`'s checks: on the GPU machine it must say which carried piece is missing
//! (binaries, MNIST, the Vulkan loader, a driver) before it spends any device time. The run
//! itself needs the bench binary, which the test build does not make; README says how it was
//! run end to end on Mesa's software driver.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::{mnist_dir, path, repo_file};

fn run_script(bundle: &Path, extra_env: &[(&str, &str)]) -> Output {
    let mut command = Command::new("bash");
    command
        .arg(repo_file("benches/gpu/run.sh"))
        .args(["--bundle", path(bundle), "--check", "--out"])
        .arg(bundle.with_extension("out"))
        .env("VAE_MNIST_DIR", mnist_dir());
    for (key, value) in extra_env {
        command.env(key, value);
    }
    command.output().expect("bash runs")
}

/// Fails with exit code 2 and returns stderr.
fn refused(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    stderr
}

/// A bundle whose `bin/wgpu` holds the real `vae` binary and, if asked, a `throughput` file.
fn bundle_with(dir: &Path, throughput: bool) {
    let bin = dir.join("bin/wgpu");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_vae"), bin.join("vae")).unwrap();
    if throughput {
        // Only its presence is checked here: the checks stop before anything runs.
        std::fs::copy(env!("CARGO_BIN_EXE_vae"), bin.join("throughput")).unwrap();
    }
}

#[test]
fn an_empty_bundle_names_the_missing_binaries_and_how_to_build_them() {
    let dir = tempfile::tempdir().unwrap();
    let stderr = refused(&run_script(dir.path(), &[]));
    assert!(stderr.contains("missing binaries"), "{stderr}");
    assert!(stderr.contains("benches/gpu/bundle.sh"), "{stderr}");

    let stderr = refused(&run_script(&dir.path().join("absent"), &[]));
    assert!(stderr.contains("no bundle folder"), "{stderr}");
}

#[test]
fn a_build_without_its_bench_binary_is_named() {
    let dir = tempfile::tempdir().unwrap();
    bundle_with(dir.path(), false);
    let stderr = refused(&run_script(dir.path(), &[]));
    assert!(stderr.contains("bin/wgpu/throughput"), "{stderr}");
}

#[test]
fn a_missing_vulkan_driver_is_named() {
    if !has_vulkan_loader() {
        eprintln!("skipped: no Vulkan loader here (CI installs mesa-vulkan-drivers)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    bundle_with(dir.path(), true);
    let absent = dir.path().join("no_such_icd.json");
    let stderr = refused(&run_script(
        dir.path(),
        &[("VK_DRIVER_FILES", path(&absent))],
    ));
    assert!(stderr.contains("missing Vulkan driver"), "{stderr}");
    assert!(stderr.contains(path(&absent)), "{stderr}");
}

#[test]
fn a_complete_bundle_passes_the_checks_on_the_software_driver() {
    if !has_vulkan_loader() || !Path::new("/usr/share/vulkan/icd.d").is_dir() {
        eprintln!("skipped: no Vulkan loader and driver here (CI installs mesa-vulkan-drivers)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    bundle_with(dir.path(), true);
    let output = run_script(dir.path(), &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("builds: wgpu"), "{stdout}");
    assert!(
        stdout.contains(&format!("MNIST: {}", mnist_dir().display())),
        "{stdout}"
    );
    assert!(stdout.contains("/usr/share/vulkan/icd.d/"), "{stdout}");
    // --check runs nothing: no output folder appears.
    assert!(!dir.path().with_extension("out").exists());
}

#[test]
fn compressed_binaries_are_unpacked_and_a_damaged_one_is_named() {
    if !has_vulkan_loader() || !Path::new("/usr/share/vulkan/icd.d").is_dir() {
        eprintln!("skipped: no Vulkan loader and driver here (CI installs mesa-vulkan-drivers)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle");
    bundle_with(&bundle, true);
    // As bundle.sh leaves them: vae.xz and throughput.xz (-0: the format, not the ratio).
    let bin = bundle.join("bin/wgpu");
    let packed = Command::new("xz")
        .args(["-0", "-T0"])
        .arg(bin.join("vae"))
        .arg(bin.join("throughput"))
        .status()
        .expect("xz runs (CI installs xz-utils)");
    assert!(packed.success());
    assert!(bin.join("vae.xz").is_file() && !bin.join("vae").exists());
    let temporary = dir.path().join("tmp");
    std::fs::create_dir(&temporary).unwrap();
    let output = run_script(&bundle, &[("TMPDIR", path(&temporary))]);
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let unpacked = temporary.join("burn-vae-gpu-bin/wgpu/vae");
    assert_eq!(
        std::fs::read(&unpacked).unwrap(),
        std::fs::read(env!("CARGO_BIN_EXE_vae")).unwrap(),
        "the unpacked vae is the packed one"
    );

    // A bundle cut short in the copy.
    let whole = std::fs::read(bin.join("throughput.xz")).unwrap();
    std::fs::write(bin.join("throughput.xz"), &whole[..whole.len() / 2]).unwrap();
    let stderr = refused(&run_script(&bundle, &[("TMPDIR", path(&temporary))]));
    assert!(stderr.contains("cannot unpack"), "{stderr}");
    assert!(stderr.contains("throughput.xz"), "{stderr}");
}

fn has_vulkan_loader() -> bool {
    let found = Command::new("ldconfig")
        .arg("-p")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("libvulkan.so.1"))
        .unwrap_or(false);
    if !found && std::env::var("CI").as_deref() == Ok("true") {
        panic!("CI=true but no Vulkan loader: .ci/run installs mesa-vulkan-drivers");
    }
    found
}
