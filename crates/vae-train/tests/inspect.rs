//! The inspection commands on a model trained here on real MNIST: pictures of the documented
//! size that are not blank, the likelihood figures' relations, and clean errors for bad input.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use burn::prelude::Device;
use vae_train::data::{ImageData, Split};
use vae_train::inspect::pictures::{interpolate, posterior_means, reconstruct};
use vae_train::inspect::plots::project;

mod support;
use support::{TILE, fail, mnist_dir, picture, succeed, vae};
use vae_train::run::trained_run::TrainedRun;

/// Trains `configs/smoke.json`, with `edit` applied to its text, into a fresh folder.
fn train_smoke(edit: impl Fn(String) -> String) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("smoke");
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/smoke.json"),
    )
    .unwrap();
    let config = dir.path().join("config.json");
    std::fs::write(&config, edit(text)).unwrap();
    let output = vae(&[
        "train",
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        mnist_dir().to_str().unwrap(),
        "--run-dir",
        run_dir.to_str().unwrap(),
        "--plain",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    (dir, run_dir)
}

/// One smoke-config run shared by the tests of this file.
fn trained_run() -> &'static Path {
    static RUN: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &RUN.get_or_init(|| train_smoke(|text| text)).1
}

#[test]
fn pictures_have_the_documented_size_and_are_not_blank() {
    let run = trained_run().to_str().unwrap();
    let data = mnist_dir();
    let data = data.to_str().unwrap();
    let out = tempfile::tempdir().unwrap();
    let file = |name: &str| out.path().join(name).to_str().unwrap().to_string();
    let cases: [(&str, Vec<&str>, u32, u32); 4] = [
        ("sample", vec!["--count", "12", "--columns", "4"], 4, 3),
        ("reconstruct", vec!["--indices", "3,1,4,1,5"], 5, 2),
        (
            "interpolate",
            vec!["--pairs", "0:1,2:3,4:5", "--steps", "7"],
            7,
            3,
        ),
        ("traverse", vec!["--index", "2", "--steps", "5"], 5, 4), // latent_dim 4: one row each
    ];
    for (command, extra, columns, rows) in cases {
        let png = file(&format!("{command}.png"));
        let mut args = vec![command, "--run-dir", run, "--data-dir", data, "--out", &png];
        args.extend(extra);
        succeed(&args);
        let (width, height, std) = picture(Path::new(&png));
        assert_eq!(
            (width, height),
            (columns * TILE + 2, rows * TILE + 2),
            "{command}"
        );
        assert!(std > 10.0, "{command}: the picture looks blank (std {std})");
    }
}

#[test]
fn interpolation_endpoints_are_the_endpoints_reconstructions() {
    let device = Device::flex();
    let run = TrainedRun::open(trained_run(), &device).unwrap();
    let test = ImageData::from_dir(Split::Test, &mnist_dir()).unwrap();
    let line = interpolate(&run, &test, &[(7, 11)], 6, &device).unwrap();
    let ends = reconstruct(&run, &test, &[7, 11], &device).unwrap(); // inputs, then reconstructions
    let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5);
    assert!(
        close(line.tile(0), ends.tile(2)),
        "first tile is not image 7's reconstruction"
    );
    assert!(
        close(line.tile(5), ends.tile(3)),
        "last tile is not image 11's reconstruction"
    );
    assert!(
        !close(line.tile(0), line.tile(5)),
        "the two endpoints are the same picture"
    );
}

#[test]
fn evaluate_reports_an_importance_weighted_bound_tighter_than_the_elbo() {
    let run = trained_run().to_str().unwrap();
    let out = tempfile::tempdir().unwrap();
    let json = out.path().join("eval.json");
    let stdout = succeed(&[
        "evaluate",
        "--run-dir",
        run,
        "--data-dir",
        mnist_dir().to_str().unwrap(),
        "--samples",
        "64",
        "--chunk",
        "16",
        "--images",
        "200",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(stdout.contains("importance-weighted"), "{stdout}");
    let e: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let number = |k: &str| e[k].as_f64().unwrap();
    assert_eq!(e["images"], 200);
    assert_eq!(e["samples"], 64);
    let (elbo, iw) = (number("negative_elbo"), number("iw_nll"));
    assert!(iw.is_finite() && elbo.is_finite());
    // -log p(x) <= -ELBO: the K = 64 bound is tighter than one sample by a visible margin.
    assert!(
        iw < elbo - 0.5,
        "IW-NLL {iw} is not below the negative ELBO {elbo}"
    );
    assert!(
        iw > 0.5 * elbo,
        "IW-NLL {iw} is implausibly far below the ELBO {elbo}"
    );
    let kl = e["kl_per_dim"].as_array().unwrap();
    assert_eq!(kl.len(), 4);
    let kl_sum: f64 = kl.iter().map(|v| v.as_f64().unwrap()).sum();
    assert!(kl_sum > 0.0 && kl_sum < elbo);
    let active = e["active_units"].as_u64().unwrap();
    // A trained model uses at least one of its 4 latent dimensions.
    assert!((1..=4).contains(&active), "{active} active units");
    assert!(e["data"].as_str().unwrap().contains("continuous"));
}

#[test]
fn the_label_probe_reads_the_class_off_the_codes_well_above_chance() {
    let run = trained_run().to_str().unwrap();
    let out = tempfile::tempdir().unwrap();
    let json = out.path().join("probe.json");
    let data = mnist_dir();
    let stdout = succeed(&[
        "probe",
        "--run-dir",
        run,
        "--data-dir",
        data.to_str().unwrap(),
        "--train-images",
        "2000",
        "--steps",
        "300",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(stdout.contains("test accuracy"), "{stdout}");
    let p: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(p["train_images"], 2000);
    assert_eq!(p["test_images"], 10_000);
    assert_eq!(p["latent_dim"], 4);
    let accuracy = p["test_accuracy"].as_f64().unwrap();
    let majority = p["majority_share"].as_f64().unwrap();
    // MNIST's most frequent test digit (1) is 11.35 %; even the smoke model's 4-D codes hold
    // far more of the class than that (40 % when this test was written).
    assert!(
        (0.11..0.12).contains(&majority),
        "majority share {majority}"
    );
    assert!(
        accuracy > 2.0 * majority && accuracy <= 1.0,
        "probe accuracy {accuracy} against {majority} for the most frequent class"
    );

    let stderr = fail(&["probe", "--run-dir", run, "--steps", "0"]);
    assert!(stderr.contains("--steps"), "{stderr}");
}

#[test]
fn scores_of_a_one_class_model_write_one_row_per_image_and_separate_the_other_classes() {
    // Trained on ones only (512 of them); the other digits have more ink and shapes it never
    // saw, so every score ranks them above the test set's ones.
    let (_dir, run_dir) =
        train_smoke(|text| text.replacen("\"seed\": 1", "\"seed\": 1, \"train_classes\": [1]", 1));
    let out = tempfile::tempdir().unwrap();
    let csv = out.path().join("scores.csv");
    let stdout = succeed(&[
        "score",
        "--run-dir",
        run_dir.to_str().unwrap(),
        "--data-dir",
        mnist_dir().to_str().unwrap(),
        "--images",
        "300",
        "--samples",
        "16",
        "--chunk",
        "8",
        "--normal-classes",
        "1",
        "--out",
        csv.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("index,label,reconstruction_error,negative_elbo,negative_iw_bound")
    );
    let test = ImageData::from_dir(Split::Test, &mnist_dir()).unwrap();
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 300);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row[0], i as f64);
        assert_eq!(row[1], f64::from(test.labels()[i]));
        assert!(
            row[2..].iter().all(|v| v.is_finite() && *v > 0.0),
            "{row:?}"
        );
        // The bound is never above the ELBO it is computed with.
        assert!(row[4] <= row[3] + 1e-3, "{row:?}");
    }
    for score in ["reconstruction_error", "negative_elbo", "negative_iw_bound"] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("| {score} |")))
            .unwrap_or_else(|| panic!("no AUROC row for {score}: {stdout}"));
        let area: f64 = line
            .trim_end_matches(" |")
            .rsplit("| ")
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(area > 0.9, "{score}: AUROC {area}\n{stdout}");
    }

    let stderr = fail(&[
        "score",
        "--run-dir",
        run_dir.to_str().unwrap(),
        "--normal-classes",
        "1,12",
        "--out",
        csv.to_str().unwrap(),
    ]);
    assert!(stderr.contains("--normal-classes holds 12"), "{stderr}");
}

#[test]
fn the_one_class_experiment_trains_one_model_per_class_and_reuses_finished_runs() {
    let out = tempfile::tempdir().unwrap();
    let out_dir = out.path().join("one-class");
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/smoke.json");
    let data = mnist_dir();
    let args = [
        "experiment",
        "one-class",
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--classes",
        "1,7",
        "--epochs",
        "3",
        "--samples",
        "4",
        "--out-dir",
        out_dir.to_str().unwrap(),
    ];
    let stdout = succeed(&args);
    let (table, json) = support::experiment_results(&stdout, &out_dir);
    assert_eq!(json["test_images"], 10_000);
    let classes = json["classes"].as_array().unwrap();
    assert_eq!(classes.len(), 2);
    let areas = |i: usize| -> Vec<f64> {
        classes[i]["auroc"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    // Ones are the easiest class to tell from the rest: three epochs on 512 of them suffice.
    assert!(areas(0).iter().all(|&a| a > 0.9), "{table}");
    assert!(
        areas(1).iter().all(|&a| (0.0..=1.0).contains(&a)),
        "{table}"
    );
    for (i, mean) in json["mean"].as_array().unwrap().iter().enumerate() {
        let expected = (areas(0)[i] + areas(1)[i]) / 2.0;
        assert!((mean.as_f64().unwrap() - expected).abs() < 1e-12);
    }
    // Each model saw its own class only.
    for class in [1u8, 7] {
        let config: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out_dir.join(format!("class-{class}/config.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(config["train_classes"], serde_json::json!([class]));
    }
    // Run again: both finished runs are reused, and the scores (same seed) are the same.
    let again = succeed(&args);
    assert_eq!(
        again.matches("reusing the finished run").count(),
        2,
        "{again}"
    );
    assert_eq!(
        std::fs::read_to_string(out_dir.join("results.md"))
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("| 1 ") || l.starts_with("| 7 "))
            .collect::<Vec<_>>(),
        table
            .lines()
            .filter(|l| l.starts_with("| 1 ") || l.starts_with("| 7 "))
            .collect::<Vec<_>>()
    );
    let stderr = fail(&[
        "experiment",
        "one-class",
        "--classes",
        "3,10",
        "--out-dir",
        out_dir.to_str().unwrap(),
    ]);
    assert!(stderr.contains("--classes holds 10"), "{stderr}");
}

#[test]
fn the_denoising_experiment_raises_psnr_and_draws_noisy_denoised_and_clean_rows() {
    let out = tempfile::tempdir().unwrap();
    let out_dir = out.path().join("denoising");
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/smoke.json");
    let data = mnist_dir();
    let stdout = succeed(&[
        "experiment",
        "denoising",
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--epochs",
        "2",
        "--images",
        "300",
        "--out-dir",
        out_dir.to_str().unwrap(),
    ]);
    let (table, json) = support::experiment_results(&stdout, &out_dir);
    assert_eq!(json["test_images"], 300);
    let rows = json["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for (row, kind) in rows.iter().zip(["gaussian", "salt-and-pepper"]) {
        let figure = |key: &str| row[key].as_f64().unwrap();
        // About 9 dB for σ = 0.5 and 10 dB for 20 % salt and pepper.
        assert!((8.0..11.5).contains(&figure("noisy")), "{table}");
        // Even two epochs on 512 images denoise: the outputs are nearer the clean images.
        assert!(
            figure("denoising_trained") > figure("noisy") + 0.5,
            "{table}"
        );
        assert!(figure("clean_trained") > figure("noisy"), "{table}");
        let picture_path = out_dir.join(format!("denoising-{kind}.png"));
        let (width, height, spread) = picture(&picture_path);
        assert_eq!((width, height), (10 * TILE + 2, 4 * TILE + 2));
        assert!(spread > 10.0);
        // Each model's config says what it trained on.
        let trained: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out_dir.join(kind).join("config.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(trained["denoising"]["kind"], kind);
    }
    let clean: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("clean/config.json")).unwrap())
            .unwrap();
    assert!(clean["denoising"].is_null());

    // `vae denoise` on the salt-and-pepper model gives the experiment's figures (same seed,
    // same images, same corruption draws).
    let denoised = out.path().join("denoised.png");
    let report = succeed(&[
        "denoise",
        "--run-dir",
        out_dir.join("salt-and-pepper").to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--noise",
        "salt-and-pepper:0.2",
        "--images",
        "300",
        "--columns",
        "6",
        "--out",
        denoised.to_str().unwrap(),
    ]);
    let expected = format!(
        "| denoised | {:.2} |",
        rows[1]["denoising_trained"].as_f64().unwrap()
    );
    assert!(report.contains(&expected), "{report}\n{table}");
    assert_eq!(picture(&denoised).0, 6 * TILE + 2);
    assert_eq!(picture(&denoised).1, 3 * TILE + 2);

    let stderr = fail(&[
        "experiment",
        "denoising",
        "--corruptions",
        "gaussian:0.5,gaussian:0.3",
        "--out-dir",
        out_dir.to_str().unwrap(),
    ]);
    assert!(stderr.contains("one kind twice"), "{stderr}");
    let stderr = fail(&[
        "denoise",
        "--run-dir",
        out_dir.join("clean").to_str().unwrap(),
        "--noise",
        "salt-and-pepper:1.5",
    ]);
    assert!(stderr.contains("must be in (0, 1]"), "{stderr}");
}

#[test]
fn the_conditional_experiment_judges_each_class_with_the_reference_classifier() {
    let out = tempfile::tempdir().unwrap();
    let out_dir = out.path().join("conditional");
    // The smoke network on 5,000 images: enough for its samples to be told apart.
    let smoke = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/smoke.json"),
    )
    .unwrap()
    .replace("\"train_images\": 512", "\"train_images\": 5000");
    let config = out.path().join("cvae.json");
    std::fs::write(&config, smoke).unwrap();
    let data = mnist_dir();
    let args = [
        "experiment",
        "conditional",
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--epochs",
        "5",
        "--classifier-epochs",
        "1",
        "--classifier-train-images",
        "3000",
        "--samples-per-class",
        "50",
        "--out-dir",
        out_dir.to_str().unwrap(),
    ];
    let stdout = succeed(&args);
    let (table, json) = support::experiment_results(&stdout, &out_dir);
    // One epoch on 3,000 images: about 80 % on the real test set.
    assert!(
        json["classifier_test_accuracy"].as_f64().unwrap() > 0.7,
        "{table}"
    );
    let classes = json["classes"].as_array().unwrap();
    assert_eq!(classes.len(), 10);
    let accuracies: Vec<f64> = classes
        .iter()
        .map(|c| c["accuracy"].as_f64().unwrap())
        .collect();
    let mean = json["mean"].as_f64().unwrap();
    assert!((mean - accuracies.iter().sum::<f64>() / 10.0).abs() < 1e-12);
    // The samples follow their labels well above chance (10 %).
    assert!(mean > 0.2, "{table}");
    let (width, height, _) = picture(&out_dir.join("samples.png"));
    assert_eq!((width, height), (10 * TILE + 2, 10 * TILE + 2));
    let cvae: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("cvae/config.json")).unwrap())
            .unwrap();
    assert_eq!(cvae["condition"], "label");
    // Run again: the classifier and the conditional VAE are reused; the samples are the same.
    let again = succeed(&args);
    assert!(again.contains("reusing the classifier"), "{again}");
    assert!(again.contains("reusing the finished run"), "{again}");
    let rerun = support::results_json(&out_dir);
    assert_eq!(rerun["classes"], json["classes"]);

    let stderr = fail(&[
        "experiment",
        "conditional",
        "--samples-per-class",
        "0",
        "--out-dir",
        out_dir.to_str().unwrap(),
    ]);
    assert!(stderr.contains("--samples-per-class is 0"), "{stderr}");
    let stderr = fail(&[
        "train-classifier",
        "--classifier-epochs",
        "0",
        "--out-dir",
        out.path().join("none").to_str().unwrap(),
    ]);
    assert!(stderr.contains("at least 1"), "{stderr}");
}

/// Runs `vae experiment NAME` once per case with the case's two extra arguments; each must fail
/// with a message that contains the case's text.
fn refuses_each(name: &str, data: &Path, out_dir: &Path, cases: &[([&str; 2], &str)]) {
    for (flags, expected) in cases {
        let mut args = vec![
            "experiment",
            name,
            "--data-dir",
            data.to_str().unwrap(),
            "--out-dir",
            out_dir.to_str().unwrap(),
        ];
        args.extend(flags);
        let stderr = fail(&args);
        assert!(stderr.contains(expected), "{stderr}");
    }
}

#[test]
fn the_augmentation_experiment_trains_both_classifiers_on_a_labelled_draw() {
    let out = tempfile::tempdir().unwrap();
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/smoke.json");
    let data = mnist_dir();
    // One draw of 5 labels per class, 6 generated images per class, 20 classifier steps.
    let run = |out_dir: &Path, generator: &str, cvae_steps: &str| {
        succeed(&[
            "experiment",
            "augmentation",
            "--config",
            config.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
            "--seeds",
            "1",
            "--labels-per-class",
            "5",
            "--synthetic-per-class",
            "6",
            "--generator",
            generator,
            "--cvae-steps",
            cvae_steps,
            "--classifier-steps",
            "20",
            "--out-dir",
            out_dir.to_str().unwrap(),
        ])
    };
    let out_dir = out.path().join("augmentation");
    let stdout = run(&out_dir, "labelled", "30");
    let (table, json) = support::experiment_results(&stdout, &out_dir);
    let draws = json["draws"].as_array().unwrap();
    assert_eq!(draws.len(), 1, "{table}");
    let alone = draws[0]["labelled_only"].as_f64().unwrap();
    let augmented = draws[0]["augmented"].as_f64().unwrap();
    // 50 real MNIST images and 20 steps already beat chance (10 %) by far.
    assert!(alone > 0.3, "{table}");
    assert!(augmented > 0.2 && augmented <= 1.0, "{table}");
    let gain = json["gain_points"].as_f64().unwrap();
    assert!((gain - 100.0 * (augmented - alone)).abs() < 1e-9, "{table}");
    assert!(draws[0]["cvae_loss"].as_f64().unwrap().is_finite());
    // The first six generated images of each class, one row per class.
    let (width, height, _) = picture(&out_dir.join("synthetic.png"));
    assert_eq!((width, height), (6 * TILE + 2, 10 * TILE + 2));

    // M2's conditional VAE as the generator: it also learns from unlabelled images.
    let m2_dir = out.path().join("augmentation-m2");
    let stdout = run(&m2_dir, "m2", "10");
    let (table, json) = support::experiment_results(&stdout, &m2_dir);
    assert_eq!(json["generator"], "m2", "{table}");
    assert!(table.contains("M2's conditional VAE"), "{table}");
    let draw = &json["draws"].as_array().unwrap()[0];
    // The same draw and seed: the classifier alone is the same as above.
    assert_eq!(draw["labelled_only"].as_f64(), Some(alone), "{table}");
    assert!(draw["augmented"].as_f64().unwrap() > 0.2, "{table}");
    assert!(draw["cvae_loss"].as_f64().unwrap().is_finite(), "{table}");

    let cases = [
        (["--labels-per-class", "0"], "--labels-per-class is 0"),
        (["--labels-per-class", "9999"], "class 0 has only"),
        (["--classifier-dropout", "1"], "--classifier-dropout is 1"),
        (["--synthetic-per-class", "10001"], "is over 10000"),
    ];
    refuses_each("augmentation", &data, &out_dir, &cases);
}

#[test]
fn the_semi_supervised_experiment_trains_m2_beside_the_classifier_alone() {
    let out = tempfile::tempdir().unwrap();
    let out_dir = out.path().join("m2");
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/smoke.json");
    let data = mnist_dir();
    let stdout = succeed(&[
        "experiment",
        "semi-supervised",
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--seeds",
        "1",
        "--labels-per-class",
        "5",
        "--steps",
        "20",
        "--unlabelled-batch",
        "20",
        "--out-dir",
        out_dir.to_str().unwrap(),
    ]);
    let (table, json) = support::experiment_results(&stdout, &out_dir);
    let draw = &json["draws"].as_array().unwrap()[0];
    // 50 labels and 20 steps: both well above chance (10 %).
    assert!(draw["labelled_only"].as_f64().unwrap() > 0.3, "{table}");
    assert!(draw["m2"].as_f64().unwrap() > 0.3, "{table}");
    // Every term finite; the default weight is 0.1 x unlabelled / labelled images.
    let terms = draw["last_terms"].as_array().unwrap();
    assert!(
        terms.iter().all(|t| t.as_f64().unwrap().is_finite()),
        "{table}"
    );
    let alpha = json["alpha"].as_f64().unwrap();
    assert!(
        (alpha - 0.1 * (60_000.0 - 50.0) / 50.0).abs() < 1e-9,
        "{alpha}"
    );

    let cases = [
        (["--steps", "0"], "--steps is 0"),
        (["--alpha", "inf"], "--alpha is inf"),
        (
            ["--unlabelled-batch", "60001"],
            "more than the 60000 training images",
        ),
        (["--labels-per-class", "9999"], "class 0 has only"),
    ];
    refuses_each("semi-supervised", &data, &out_dir, &cases);
}

#[test]
fn the_cross_dataset_experiment_scores_both_test_sets() {
    // Fashion-MNIST comes from Debian's dataset-fashion-mnist (CI installs it).
    let fashion = vae_train::data::DatasetKind::FashionMnist.data_dir(None);
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    if !matches!(fashion, Ok(Some(_))) && !ci {
        eprintln!("skipped: no Fashion-MNIST folder ({fashion:?})");
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let out_dir = out.path().join("cross");
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/smoke.json");
    let stdout = succeed(&[
        "experiment",
        "cross-dataset",
        "--config",
        config.to_str().unwrap(),
        "--epochs",
        "1",
        "--samples",
        "4",
        "--out-dir",
        out_dir.to_str().unwrap(),
    ]);
    assert!(stdout.contains("| negative_iw_bound |"), "{stdout}");
    let json = support::results_json(&out_dir);
    assert_eq!(json["normal"], "Fashion-MNIST");
    assert_eq!(json["anomalies"], "MNIST");
    let numbers = |key: &str| -> Vec<f64> {
        json[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    assert!(numbers("auroc").iter().all(|a| (0.0..=1.0).contains(a)));
    for key in ["normal_mean", "anomalies_mean"] {
        let means = numbers(key);
        // On both test sets the bound is below the ELBO it is computed with.
        assert!(means[2] <= means[1] && means[2] > 0.0, "{key}: {means:?}");
    }
    let trained: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("run/config.json")).unwrap())
            .unwrap();
    assert_eq!(trained["dataset"], "fashion-mnist");
    let stderr = fail(&[
        "experiment",
        "cross-dataset",
        "--train",
        "mnist",
        "--anomalies",
        "mnist",
        "--out-dir",
        out_dir.to_str().unwrap(),
    ]);
    assert!(
        stderr.contains("the dataset the model trains on"),
        "{stderr}"
    );
}

#[test]
fn bad_input_gets_a_clean_error() {
    let run = trained_run().to_str().unwrap();
    let data = mnist_dir();
    let data = data.to_str().unwrap();
    let out = tempfile::tempdir().unwrap();
    let png = out.path().join("x.png");
    let png = png.to_str().unwrap();

    let options = ["--run-dir", run, "--data-dir", data];
    let cases: [(&str, &[&str], &str); 5] = [
        ("evaluate", &["--samples", "0"], "--samples is 0"),
        (
            "evaluate",
            &[
                "--samples",
                "5000",
                "--chunk",
                "5000",
                "--batch-size",
                "1000",
            ],
            "lower --chunk to at most 342",
        ),
        (
            "reconstruct",
            &["--indices", "10000", "--out", png],
            "index 10000 is out of range",
        ),
        (
            "traverse",
            &["--index", "10000", "--out", png],
            "index 10000 is out of range",
        ),
        (
            "interpolate",
            &["--pairs", "1-2", "--out", png],
            "not a pair",
        ),
    ];
    for (command, extra, expected) in cases {
        let args: Vec<&str> = [command]
            .into_iter()
            .chain(options)
            .chain(extra.iter().copied())
            .collect();
        let stderr = fail(&args);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }

    // A folder that is not a run, a run without a model, and a model that does not match.
    let empty = tempfile::tempdir().unwrap();
    let stderr = fail(&[
        "sample",
        "--run-dir",
        empty.path().to_str().unwrap(),
        "--out",
        png,
    ]);
    assert!(stderr.contains("no config.json"), "{stderr}");
    let partial = tempfile::tempdir().unwrap();
    std::fs::copy(
        Path::new(run).join("config.json"),
        partial.path().join("config.json"),
    )
    .unwrap();
    let stderr = fail(&[
        "sample",
        "--run-dir",
        partial.path().to_str().unwrap(),
        "--out",
        png,
    ]);
    assert!(stderr.contains("no model.bpk"), "{stderr}");
    let config = std::fs::read_to_string(Path::new(run).join("config.json")).unwrap();
    let wider = config.replace(
        "\"hidden_dims\": [\n      64\n    ]",
        "\"hidden_dims\": [\n      65\n    ]",
    );
    assert_ne!(wider, config, "the test did not change the config");
    std::fs::write(partial.path().join("config.json"), wider).unwrap();
    std::fs::copy(
        Path::new(run).join("model.bpk"),
        partial.path().join("model.bpk"),
    )
    .unwrap();
    let stderr = fail(&[
        "sample",
        "--run-dir",
        partial.path().to_str().unwrap(),
        "--out",
        png,
    ]);
    assert!(stderr.contains("does not match"), "{stderr}");
}

#[test]
fn the_latent_scatter_has_one_point_per_test_image_and_the_plots_render() {
    let device = Device::flex();
    let run = TrainedRun::open(trained_run(), &device).unwrap();
    let test = ImageData::from_dir(Split::Test, &mnist_dir())
        .unwrap()
        .truncate(300);
    let means = posterior_means(&run, &test, 300, &device).unwrap();
    let scatter = project(&means, 4, test.labels());
    assert_eq!(scatter.points.len(), 300);
    assert_eq!(scatter.labels, test.labels());
    assert!(scatter.axes.contains("principal components"));

    let out = tempfile::tempdir().unwrap();
    let latent = out.path().join("latent.png");
    let curves = out.path().join("curves.png");
    let run_dir = trained_run().to_str().unwrap();
    succeed(&[
        "latent-plot",
        "--run-dir",
        run_dir,
        "--data-dir",
        mnist_dir().to_str().unwrap(),
        "--images",
        "300",
        "--out",
        latent.to_str().unwrap(),
    ]);
    succeed(&[
        "curves",
        "--run-dir",
        run_dir,
        "--out",
        curves.to_str().unwrap(),
    ]);
    for (path, size) in [(&latent, (800, 760)), (&curves, (1100, 450))] {
        let (width, height, std) = picture(path);
        assert_eq!((width, height), size, "{}", path.display());
        assert!(std > 10.0, "{} looks blank", path.display());
    }
}

#[test]
fn a_two_dimensional_latent_space_also_gets_the_manifold_picture() {
    let (_dir, run_dir) =
        train_smoke(|text| text.replace("\"latent_dim\": 4", "\"latent_dim\": 2"));
    let out = tempfile::tempdir().unwrap();
    let manifold = out.path().join("manifold.png");
    let stdout = succeed(&[
        "latent-plot",
        "--run-dir",
        run_dir.to_str().unwrap(),
        "--data-dir",
        mnist_dir().to_str().unwrap(),
        "--images",
        "200",
        "--out",
        out.path().join("latent.png").to_str().unwrap(),
        "--manifold-out",
        manifold.to_str().unwrap(),
        "--grid",
        "5",
    ]);
    assert!(stdout.contains("manifold.png"), "{stdout}");
    let (width, height, std) = picture(&manifold);
    assert_eq!((width, height), (5 * TILE + 2, 5 * TILE + 2));
    assert!(std > 10.0, "the manifold looks blank");
}

/// A label-conditioned convolutional VAE trains on real MNIST, draws a chosen class and a
/// class grid, and refuses a label outside the classes; its record does not open under an
/// MLP config, with an error naming the mismatch and nothing destroyed.
#[test]
fn a_conditional_conv_vae_samples_chosen_classes_and_names_bad_labels() {
    let (_dir, run_dir) = train_smoke(|text| {
        let mut config: serde_json::Value = serde_json::from_str(&text).unwrap();
        config["model"]["hidden_dims"] = serde_json::json!([]);
        config["network"] = serde_json::json!({"kind": "conv", "conv_channels": [8, 16]});
        config["condition"] = "label".into();
        config.to_string()
    });
    let run = run_dir.to_str().unwrap();
    let csv = std::fs::read_to_string(run_dir.join("metrics.csv")).unwrap();
    let valid: Vec<f64> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(4).unwrap().parse().unwrap())
        .collect();
    assert!(
        valid[1] < valid[0],
        "the conv CVAE's loss did not fall: {csv}"
    );

    let out = run_dir.join("sevens.png");
    succeed(&[
        "sample",
        "--run-dir",
        run,
        "--label",
        "7",
        "--count",
        "8",
        "--out",
        out.to_str().unwrap(),
    ]);
    let (width, height, spread) = picture(&out);
    assert_eq!((width, height), (8 * TILE + 2, TILE + 2));
    assert!(spread > 5.0, "blank samples");
    let grid = run_dir.join("classes.png");
    succeed(&[
        "sample",
        "--run-dir",
        run,
        "--columns",
        "6",
        "--out",
        grid.to_str().unwrap(),
    ]);
    assert_eq!(picture(&grid).1, 10 * TILE + 2, "one row per class");
    let error = fail(&["sample", "--run-dir", run, "--label", "10"]);
    assert!(
        error.contains("--label 10") && error.contains("0..=9"),
        "{error}"
    );

    let report = succeed(&[
        "evaluate",
        "--run-dir",
        run,
        "--data-dir",
        mnist_dir().to_str().unwrap(),
        "--samples",
        "4",
        "--images",
        "64",
        "--shuffled-labels",
    ]);
    assert!(
        report.contains("likelihood: bernoulli") && report.contains("wrong labels"),
        "{report}"
    );

    // The same record under an MLP config: refused, naming the network; nothing is changed.
    let model_before = std::fs::read(run_dir.join("model.bpk")).unwrap();
    let config_path = run_dir.join("config.json");
    let original = std::fs::read_to_string(&config_path).unwrap();
    let mut edited: serde_json::Value = serde_json::from_str(&original).unwrap();
    edited["network"] = serde_json::json!({"kind": "mlp"});
    edited["model"]["hidden_dims"] = serde_json::json!([64]);
    std::fs::write(&config_path, edited.to_string()).unwrap();
    let error = fail(&["sample", "--run-dir", run]);
    assert!(
        error.contains("network `mlp`") && error.contains("config.json"),
        "{error}"
    );
    assert_eq!(
        std::fs::read(run_dir.join("model.bpk")).unwrap(),
        model_before
    );
}

#[test]
fn a_label_for_an_unconditional_model_is_refused_with_the_fix() {
    let run = trained_run().to_str().unwrap();
    let error = fail(&["sample", "--run-dir", run, "--label", "3"]);
    assert!(
        error.contains("conditional") && error.contains("mnist-cvae.json"),
        "{error}"
    );
}

/// A Bernoulli model's record opened under a config that asks for a learned-σ Gaussian (whose
/// σ the record lacks): refused, naming the likelihood and the fix; nothing is changed.
#[test]
fn a_record_without_the_configs_likelihood_parameter_is_refused_by_name() {
    let source = trained_run();
    let dir = tempfile::tempdir().unwrap();
    for file in ["config.json", "model.bpk", "model.bpk.sha256"] {
        std::fs::copy(source.join(file), dir.path().join(file)).unwrap();
    }
    let config_path = dir.path().join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config_path).unwrap()).unwrap();
    config["likelihood"] = serde_json::json!({"kind": "gaussian", "learned_sigma": "shared"});
    std::fs::write(&config_path, config.to_string()).unwrap();
    let model_before = std::fs::read(dir.path().join("model.bpk")).unwrap();
    let error = fail(&["sample", "--run-dir", dir.path().to_str().unwrap()]);
    assert!(
        error.contains("likelihood `gaussian`") && error.contains("config.json"),
        "{error}"
    );
    assert_eq!(
        std::fs::read(dir.path().join("model.bpk")).unwrap(),
        model_before
    );
}
