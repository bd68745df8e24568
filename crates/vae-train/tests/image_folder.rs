//! `dataset: image-folder` end to end: folders of real MNIST digits written as PNG files (a
//! labelled greyscale one, an unlabelled RGB one that must be resized), trained a few steps
//! by the `vae` binary, then every inspection command on the run; and clean errors for bad
//! folders.

use std::path::{Path, PathBuf};

use image::{GrayImage, Rgb, RgbImage};
use serde_json::{Value, json};
use vae_train::data::{ImageData, Split};

mod support;
use support::{fail, mnist_dir, path, picture, repo_file, succeed};

/// The first `count` MNIST test images of `digit`.
fn digits(test: &ImageData, digit: u8, count: usize) -> Vec<&[u8]> {
    (0..test.labels().len())
        .filter(|&i| test.labels()[i] == digit)
        .take(count)
        .map(|i| test.pixels(i))
        .collect()
}

/// `configs/smoke.json` reading `folder` with `settings` merged into its `image_folder`.
fn folder_config(dir: &Path, folder: &Path, settings: Value, edit: impl Fn(&mut Value)) -> PathBuf {
    let text = std::fs::read_to_string(repo_file("configs/smoke.json")).unwrap();
    let mut config: Value = serde_json::from_str(&text).unwrap();
    let mut section = json!({"path": path(folder)});
    for (key, value) in settings.as_object().unwrap() {
        section[key] = value.clone();
    }
    config["dataset"] = json!("image-folder");
    config["image_folder"] = section;
    config["train_images"] = Value::Null;
    config["valid_images"] = Value::Null;
    config["batch_size"] = json!(16);
    edit(&mut config);
    let file = dir.join("config.json");
    std::fs::write(&file, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    file
}

/// Trains `config` with the `vae` binary into `dir/run`; returns the run folder.
fn train(dir: &Path, config: &Path) -> PathBuf {
    let run_dir = dir.join("run");
    succeed(&train_args(config, &run_dir));
    run_dir
}

/// `vae train` of `config` into `run_dir`, with plain progress lines.
fn train_args<'a>(config: &'a Path, run_dir: &'a Path) -> [&'a str; 6] {
    let (config, run_dir) = (path(config), path(run_dir));
    ["train", "--config", config, "--run-dir", run_dir, "--plain"]
}

/// Runs a picture command (`args`, then `--out out`) and reads the picture, asserted RGB.
/// `vae evaluate` of `run` with `samples` importance samples: its JSON report (written in `dir`).
fn evaluate(run: &str, samples: &str, dir: &Path) -> Value {
    let json = dir.join("evaluate.json");
    succeed(&[
        "evaluate",
        "--run-dir",
        run,
        "--samples",
        samples,
        "--json",
        path(&json),
    ]);
    serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap()
}

fn rgb_picture(args: &[&str], out: &Path) -> RgbImage {
    succeed(&[args, &["--out", path(out)]].concat());
    let picture = image::open(out).unwrap();
    assert_eq!(picture.color(), image::ColorType::Rgb8, "{args:?}");
    picture.to_rgb8()
}

/// Train and valid loss of each epoch in `run_dir/metrics.csv`.
fn losses(run_dir: &Path) -> Vec<(f64, f64)> {
    let csv = std::fs::read_to_string(run_dir.join("metrics.csv")).unwrap();
    csv.lines()
        .skip(1)
        .map(|line| {
            let values: Vec<f64> = line.split(',').map(|v| v.parse().unwrap()).collect();
            (values[1], values[4])
        })
        .collect()
}

#[test]
fn a_labelled_greyscale_folder_trains_and_every_inspection_command_runs() {
    let test = ImageData::from_dir(Split::Test, &mnist_dir()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("digits");
    for (digit, name) in [(3u8, "three"), (7, "seven")] {
        std::fs::create_dir_all(folder.join(name)).unwrap();
        for (i, pixels) in digits(&test, digit, 40).into_iter().enumerate() {
            GrayImage::from_raw(28, 28, pixels.to_vec())
                .unwrap()
                .save(folder.join(name).join(format!("{i:02}.png")))
                .unwrap();
        }
    }
    let config = folder_config(
        dir.path(),
        &folder,
        json!({"channels": 1, "height": 28, "width": 28, "validation_fraction": 0.25}),
        |config| config["num_epochs"] = json!(3),
    );
    let run_dir = train(dir.path(), &config);
    let run = path(&run_dir);
    let losses = losses(&run_dir);
    assert_eq!(losses.len(), 3);
    // 60 training images, 4 steps an epoch: the loss falls from the untrained model's.
    assert!(
        losses[2].0 < losses[0].0 && losses[2].1 < losses[0].1,
        "{losses:?}"
    );

    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let file = |name: &str| path(&out.join(name)).to_string();
    for (command, extra, tiles) in [
        ("sample", vec!["--count", "8", "--columns", "4"], (4, 2)),
        ("reconstruct", vec!["--indices", "0,1,2"], (3, 2)),
        (
            "interpolate",
            vec!["--pairs", "0:1", "--steps", "5"],
            (5, 1),
        ),
        ("traverse", vec!["--index", "3", "--steps", "5"], (5, 4)),
    ] {
        let png = file(&format!("{command}.png"));
        let mut args = vec![command, "--run-dir", run, "--out", &png];
        args.extend(extra);
        succeed(&args);
        let (width, height, std) = picture(Path::new(&png));
        assert_eq!(
            (width, height),
            (tiles.0 * support::TILE + 2, tiles.1 * support::TILE + 2),
            "{command}"
        );
        assert!(std > 10.0, "{command}: blank picture (std {std})");
    }

    // The 20 held-out images: 25 % of 80.
    let json = file("evaluate.json");
    let stdout = succeed(&[
        "evaluate",
        "--run-dir",
        run,
        "--samples",
        "20",
        "--json",
        &json,
    ]);
    let evaluation: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(evaluation["images"], json!(20), "{stdout}");
    let csv = file("scores.csv");
    let stdout = succeed(&[
        "score",
        "--run-dir",
        run,
        "--samples",
        "5",
        "--normal-classes",
        "0",
        "--out",
        &csv,
    ]);
    let rows: Vec<String> = std::fs::read_to_string(&csv)
        .unwrap()
        .lines()
        .skip(1)
        .map(str::to_string)
        .collect();
    assert_eq!(rows.len(), 20, "{stdout}");
    // Both classes are among the held-out images (sorted names: 0 is "seven", 1 "three").
    for label in ["0", "1"] {
        assert!(
            rows.iter().any(|row| row.rsplit(',').nth(3) == Some(label)),
            "{rows:?}"
        );
    }
    assert!(stdout.contains("AUROC"), "{stdout}");

    // A folder to score, labelled by its subfolders: threes (normal) and zeros, one folder
    // name with a comma in it.
    let to_score = dir.path().join("to score");
    for (digit, name) in [(3u8, "a, threes"), (0, "b-zeros")] {
        std::fs::create_dir_all(to_score.join(name)).unwrap();
        for (i, pixels) in digits(&test, digit, 45).into_iter().skip(40).enumerate() {
            GrayImage::from_raw(28, 28, pixels.to_vec())
                .unwrap()
                .save(to_score.join(name).join(format!("{i}.png")))
                .unwrap();
        }
    }
    let csv = file("folder-scores.csv");
    let stdout = succeed(&[
        "score",
        "--run-dir",
        run,
        "--folder",
        path(&to_score),
        "--samples",
        "5",
        "--normal-classes",
        "0",
        "--out",
        &csv,
    ]);
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert!(
        lines.next().unwrap().starts_with("index,file,label,"),
        "{text}"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 10, "{text}");
    // Sorted by path; the comma in the folder name is quoted; the label precedes 3 scores.
    assert!(
        rows[0].starts_with("0,\"") && rows[0].contains("a, threes/0.png\","),
        "{text}"
    );
    let labels: Vec<&str> = rows
        .iter()
        .map(|row| row.rsplit(',').nth(3).unwrap())
        .collect();
    assert_eq!(labels, ["0", "0", "0", "0", "0", "1", "1", "1", "1", "1"]);
    assert!(
        stdout.contains("every image of folder") && stdout.contains("AUROC"),
        "{stdout}"
    );

    let latent = file("latent.png");
    succeed(&["latent-plot", "--run-dir", run, "--out", &latent]);
    assert!(picture(Path::new(&latent)).2 > 1.0);
    let curves = file("curves.png");
    succeed(&["curves", "--run-dir", run, "--out", &curves]);
    let denoised = file("denoise.png");
    succeed(&[
        "denoise",
        "--run-dir",
        run,
        "--out",
        &denoised,
        "--columns",
        "4",
    ]);
    assert_eq!(picture(Path::new(&denoised)).0, 4 * support::TILE + 2);
    let exported = file("weights.safetensors");
    succeed(&["export", "--run-dir", run, "--out", &exported]);
    assert!(std::fs::metadata(&exported).unwrap().len() > 0);
}

#[test]
fn an_unlabelled_rgb_folder_is_resized_and_keeps_its_colours_through_a_conv_vae() {
    let test = ImageData::from_dir(Split::Test, &mnist_dir()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("red-digits");
    std::fs::create_dir(&folder).unwrap();
    // Digits drawn in red and a little blue, never green, at 28x28: the config asks for 16x16.
    for i in 0..48 {
        let mut image = RgbImage::new(28, 28);
        for (pixel, &level) in image.pixels_mut().zip(test.pixels(i)) {
            *pixel = Rgb([level, 0, level / 4]);
        }
        image.save(folder.join(format!("{i:02}.png"))).unwrap();
    }
    let config = folder_config(
        dir.path(),
        &folder,
        json!({"channels": 3, "height": 16, "width": 16}),
        |config| {
            config["model"]["input_dim"] = json!(3 * 16 * 16);
            config["model"]["hidden_dims"] = json!([]);
            config["network"] = json!({"kind": "conv", "conv_channels": [8, 16]});
            config["num_epochs"] = json!(1);
        },
    );
    let run_dir = train(dir.path(), &config);
    let run = path(&run_dir);
    assert!(losses(&run_dir)[0].0.is_finite());

    // Tiles of 16 pixels at scale 2 plus 2 of padding.
    let tile = 16 * 2 + 2;
    let recon = dir.path().join("reconstruct.png");
    let grid = rgb_picture(
        &["reconstruct", "--run-dir", run, "--indices", "0,1,2,3"],
        &recon,
    );
    assert_eq!(grid.dimensions(), (4 * tile + 2, 2 * tile + 2));
    // The inputs (top row) are resized red digits: red ink, no green anywhere.
    let top: Vec<&Rgb<u8>> = (2..tile)
        .flat_map(|y| (2..4 * tile).map(move |x| (x, y)))
        .map(|(x, y)| grid.get_pixel(x, y))
        .collect();
    assert!(top.iter().all(|p| p[1] == 0), "green in the inputs");
    assert!(top.iter().filter(|p| p[0] > 128).count() > 50, "no red ink");
    assert!(
        top.iter().all(|p| p[2] <= p[0] / 4 + 1),
        "blue beyond a quarter of red"
    );

    let sample = dir.path().join("sample.png");
    let args = ["sample", "--run-dir", run, "--count", "6", "--columns", "3"];
    let sample = rgb_picture(&args, &sample);
    assert_eq!(
        (sample.width(), sample.height()),
        (3 * tile + 2, 2 * tile + 2)
    );
    // Scoring the folder itself: 48 rows, no labels (no class subfolders), RGB resized.
    let csv = dir.path().join("scores.csv");
    let score = [
        "score",
        "--run-dir",
        run,
        "--folder",
        path(&folder),
        "--samples",
        "3",
    ];
    succeed(&[&score[..], &["--out", path(&csv)]].concat());
    let text = std::fs::read_to_string(&csv).unwrap();
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(rows.len(), 48);
    assert!(
        rows.iter().all(|row| row.rsplit(',').nth(3) == Some("")),
        "{text}"
    );
    let stderr = fail(&[&score[..], &["--normal-classes", "0"]].concat());
    assert!(stderr.contains("no class subfolders"), "{stderr}");
    let missing = dir.path().join("nowhere");
    let stderr = fail(&["score", "--run-dir", run, "--folder", path(&missing)]);
    assert!(
        stderr.contains("--folder") && stderr.contains("nowhere"),
        "{stderr}"
    );

    let evaluation = evaluate(run, "5", dir.path());
    // 10 % of 48, rounded.
    assert_eq!(evaluation["images"], json!(5));
}

#[test]
fn bad_folders_and_sections_are_clean_errors_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("images");
    std::fs::create_dir_all(folder.join("cats")).unwrap();
    std::fs::create_dir_all(folder.join("dogs")).unwrap();
    let settings = json!({"channels": 1, "height": 28, "width": 28, "resize": false});
    let settings = &settings;
    let config = folder_config(dir.path(), &folder, settings.clone(), |_| {});
    let run_dir = dir.path().join("run");
    let train = |config: &Path| fail(&train_args(config, &run_dir));
    let stderr = train(&config);
    assert!(
        stderr.contains("cats") && stderr.contains("no image files"),
        "{stderr}"
    );

    for i in 0..20 {
        for class in ["cats", "dogs"] {
            GrayImage::new(28, 28)
                .save(folder.join(class).join(format!("{i}.png")))
                .unwrap();
        }
    }
    GrayImage::new(30, 28)
        .save(folder.join("dogs/wide.png"))
        .unwrap();
    let stderr = train(&config);
    assert!(
        stderr.contains("wide.png") && stderr.contains("28x30") && stderr.contains("resize"),
        "{stderr}"
    );
    std::fs::remove_file(folder.join("dogs/wide.png")).unwrap();
    std::fs::write(folder.join("cats/truncated.png"), b"\x89PNG\r\n").unwrap();
    let stderr = train(&config);
    assert!(stderr.contains("truncated.png"), "{stderr}");
    assert!(!run_dir.join("model.bpk").exists());

    let config = folder_config(dir.path(), &folder, settings.clone(), |config| {
        config["image_folder"] = Value::Null;
    });
    let stderr = train(&config);
    assert!(stderr.contains("no `image_folder` section"), "{stderr}");
    let config = folder_config(
        dir.path(),
        &folder,
        json!({"channels": 3, "height": 28, "width": 28}),
        |_| {},
    );
    let stderr = train(&config);
    assert!(
        stderr.contains("`model.input_dim` is 784") && stderr.contains("2352"),
        "{stderr}"
    );

    // Classes are the folder's: 0 (cats) and 1 (dogs).
    std::fs::remove_file(folder.join("cats/truncated.png")).unwrap();
    let with = |edit: fn(&mut Value)| folder_config(dir.path(), &folder, settings.clone(), edit);
    let stderr = train(&with(|config| config["train_classes"] = json!([5])));
    assert!(
        stderr.contains("holds 5") && stderr.contains("2 classes (0 to 1: cats, dogs)"),
        "{stderr}"
    );
    let stderr = train(&with(|config| {
        config["image_folder"]["validation_fraction"] = json!(0.0);
    }));
    assert!(stderr.contains("no image to validate on"), "{stderr}");
    assert!(!run_dir.exists());

    // `--data-dir` replaces the folder, and the run keeps the one it read as an absolute path.
    let elsewhere = dir.path().join("moved");
    std::fs::rename(&folder, &elsewhere).unwrap();
    let config = with(|config| config["train_classes"] = json!([1]));
    let run = path(&run_dir);
    succeed(&[
        "train",
        "--config",
        path(&config),
        "--run-dir",
        run,
        "--data-dir",
        path(&elsewhere),
        "--plain",
    ]);
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("config.json")).unwrap())
            .unwrap();
    assert_eq!(saved["image_folder"]["path"], json!(path(&elsewhere)));
    let evaluation = evaluate(run, "2", dir.path());
    // Evaluated on the held-out images of the folder the run read, with no --data-dir.
    assert!(
        evaluation["data"].as_str().unwrap().contains("moved"),
        "{evaluation}"
    );
}

/// A conditional VAE on a folder of three classes: the one-hot size is `image_folder.classes`,
/// the per-class pictures have one row per class, a label outside the folder's classes is
/// refused, and a folder of another class count is named.
#[test]
fn a_conditional_model_on_a_three_class_folder_takes_its_own_class_count() {
    let test = ImageData::from_dir(Split::Test, &mnist_dir()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("digits");
    for (digit, name) in [(0u8, "zero"), (1, "one"), (7, "seven")] {
        std::fs::create_dir_all(folder.join(name)).unwrap();
        for (i, pixels) in digits(&test, digit, 30).into_iter().enumerate() {
            GrayImage::from_raw(28, 28, pixels.to_vec())
                .unwrap()
                .save(folder.join(name).join(format!("{i:02}.png")))
                .unwrap();
        }
    }
    let settings = json!({"channels": 1, "height": 28, "width": 28, "validation_fraction": 0.2});
    let unset = folder_config(dir.path(), &folder, settings.clone(), |config| {
        config["condition"] = json!("label");
    });
    let stderr = fail(&train_args(&unset, &dir.path().join("unset")));
    assert!(stderr.contains("needs `image_folder.classes`"), "{stderr}");
    let config = folder_config(dir.path(), &folder, settings, |config| {
        config["condition"] = json!("label");
        config["image_folder"]["classes"] = json!(3);
        config["num_epochs"] = json!(2);
    });
    let run_dir = train(dir.path(), &config);
    let run = path(&run_dir);
    // Each epoch's sample grid: one row of 8 per class, three classes.
    let (width, height, std) = picture(&run_dir.join("images/samples-epoch-2.png"));
    assert_eq!((width, height), (8 * 58 + 2, 3 * 58 + 2));
    assert!(std > 1.0, "the sample grid is blank");
    let out = dir.path().join("sample.png");
    succeed(&[
        "sample",
        "--run-dir",
        run,
        "--columns",
        "4",
        "--out",
        path(&out),
    ]);
    // Without --label: `columns` samples of each class, one row per class.
    assert_eq!(picture(&out).1, 3 * support::TILE + 2);
    assert_eq!(picture(&out).0, 4 * support::TILE + 2);
    let stderr = fail(&["sample", "--run-dir", run, "--label", "3"]);
    assert!(stderr.contains("classes are 0..=2"), "{stderr}");
    succeed(&[
        "sample",
        "--run-dir",
        run,
        "--label",
        "2",
        "--out",
        path(&out),
    ]);
    let evaluation = evaluate(run, "2", dir.path());
    assert!(
        evaluation["negative_elbo"].as_f64().unwrap().is_finite(),
        "{evaluation}"
    );

    // A fourth class folder: the run's model knows three, so its data is refused by name.
    std::fs::create_dir_all(folder.join("two")).unwrap();
    for (i, pixels) in digits(&test, 2, 5).into_iter().enumerate() {
        GrayImage::from_raw(28, 28, pixels.to_vec())
            .unwrap()
            .save(folder.join("two").join(format!("{i}.png")))
            .unwrap();
    }
    let stderr = fail(&["evaluate", "--run-dir", run, "--samples", "2"]);
    assert!(
        stderr.contains("holds 4 class subfolders")
            && stderr.contains("`image_folder.classes` is 3"),
        "{stderr}"
    );
}
