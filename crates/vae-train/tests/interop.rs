//! Weights in and out: the weights API and `vae import` / `vae export`, against a fixture made
//! once with PyTorch (`tests/fixtures/pytorch/make_fixture.py`: a 784-8-3 network with the
//! structure of PyTorch's examples/vae, and PyTorch's outputs for four MNIST test images).

mod support;

use std::path::{Path, PathBuf};

use burn::prelude::*;
use burn::store::ModuleSnapshot;
use serde_json::Value;
use support::{fail, path, succeed};
use vae_model::{Decoder, Encoder, Likelihood};
use vae_train::config::TrainingConfig;
use vae_train::interop::{Naming, load_weights};
use vae_train::run::trained_run::TrainedRun;

/// `vae import --from FROM --config CONFIG --run-dir RUN_DIR [--overwrite]`.
fn import_args<'a>(
    from: &'a Path,
    config: &'a Path,
    run_dir: &'a Path,
    overwrite: bool,
) -> Vec<&'a str> {
    let mut args = vec!["import", "--from", path(from), "--config", path(config)];
    args.extend(["--run-dir", path(run_dir)]);
    if overwrite {
        args.push("--overwrite");
    }
    args
}

/// `(name, shape, values)` of float32 tensors.
type Tensors = Vec<(String, Vec<usize>, Vec<f32>)>;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/pytorch")
        .join(name)
}

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("expected.json")).unwrap()).unwrap()
}

fn rows(value: &Value) -> Vec<Vec<f64>> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect()
        })
        .collect()
}

fn matrix(values: &[Vec<f64>], device: &Device) -> Tensor<2> {
    let flat: Vec<f32> = values.iter().flatten().map(|&v| v as f32).collect();
    Tensor::from_data(
        TensorData::new(flat, [values.len(), values[0].len()]),
        device,
    )
}

fn to_rows(tensor: Tensor<2>) -> Vec<Vec<f64>> {
    let [_, width] = tensor.dims();
    let values: Vec<f32> = tensor.into_data().try_to_vec().unwrap();
    values
        .chunks(width)
        .map(|row| row.iter().map(|&v| f64::from(v)).collect())
        .collect()
}

fn assert_close(what: &str, ours: &[Vec<f64>], theirs: &[Vec<f64>], tolerance: f64) {
    assert_eq!(ours.len(), theirs.len(), "{what}: rows");
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        assert_eq!(a.len(), b.len(), "{what}: row {i} width");
        for (j, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= tolerance,
                "{what}[{i}][{j}]: ours {x}, PyTorch {y}"
            );
        }
    }
}

fn fixture_config() -> TrainingConfig {
    TrainingConfig::load(&fixture("config.json")).unwrap()
}

/// The imported model's posterior, decoder logits and loss terms at the posterior mean equal
/// PyTorch's within 1e-5 (the sums over 784 pixels relatively), from both file formats.
#[test]
fn pytorch_weights_reproduce_pytorch_outputs() {
    let device = Device::flex();
    let expected = expected();
    let pixels: Vec<Vec<f64>> = rows(&expected["pixels"])
        .into_iter()
        .map(|row| row.into_iter().map(|v| v / 255.0).collect())
        .collect();
    for file in ["small_vae.pt", "small_vae.safetensors"] {
        let (model, report) = load_weights(
            &fixture(file),
            None,
            &fixture_config(),
            &fixture("config.json"),
            &device,
        )
        .unwrap();
        assert_eq!(report.naming, Naming::PytorchExamplesVae, "{file}");
        assert!(report.pytorch_layout, "{file}");
        assert_eq!(report.tensors, 10, "{file}");
        let x = matrix(&pixels, &device);
        let posterior = model.encoder.encode(x.clone(), None);
        assert_close(
            file,
            &to_rows(posterior.mean.clone()),
            &rows(&expected["mean"]),
            1e-5,
        );
        assert_close(
            file,
            &to_rows(posterior.log_var.clone()),
            &rows(&expected["log_var"]),
            1e-5,
        );
        let logits = model.decoder.decode(posterior.mean.clone(), None);
        assert_close(
            file,
            &to_rows(logits.clone()),
            &rows(&expected["logits"]),
            1e-5,
        );
        let images = pixels.len();
        let nll = to_rows(model.likelihood.nll(logits, x).reshape([images, 1]));
        let kl = to_rows(posterior.kl_to_standard_normal().reshape([images, 1]));
        for (i, (ours, theirs)) in nll
            .iter()
            .zip(support::numbers(&expected["reconstruction_nll"]))
            .enumerate()
        {
            assert!(
                (ours[0] - theirs).abs() <= 1e-5 * theirs.abs(),
                "{file} nll[{i}]: {} vs {theirs}",
                ours[0]
            );
        }
        for (i, (ours, theirs)) in kl.iter().zip(support::numbers(&expected["kl"])).enumerate() {
            assert!(
                (ours[0] - theirs).abs() <= 1e-5 * theirs.abs().max(1.0),
                "{file} kl[{i}]: {} vs {theirs}",
                ours[0]
            );
        }
    }
}

/// Every parameter of the model in `run_dir`, by path.
fn parameters(run_dir: &Path) -> Tensors {
    let run = TrainedRun::open(run_dir, &Device::flex()).unwrap();
    run.model
        .collect(None, None, false)
        .into_iter()
        .map(|t| {
            let bytes = t.to_bytes().unwrap();
            let data = bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                .collect();
            (t.name.clone(), t.shape.to_vec(), data)
        })
        .collect()
}

/// A minimal safetensors file: `(name, shape, values)`, as float32 except the tensor named
/// `as_f64`, written as float64.
fn write_safetensors(file: &Path, tensors: &[(String, Vec<usize>, Vec<f32>)], as_f64: &str) {
    let mut header = serde_json::Map::new();
    let mut data = Vec::new();
    for (name, shape, values) in tensors {
        let start = data.len();
        let dtype = if name == as_f64 {
            data.extend(values.iter().flat_map(|&v| f64::from(v).to_le_bytes()));
            "F64"
        } else {
            data.extend(values.iter().flat_map(|v| v.to_le_bytes()));
            "F32"
        };
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": dtype, "shape": shape, "data_offsets": [start, data.len()]}),
        );
    }

    let header = serde_json::to_vec(&Value::Object(header)).unwrap();
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(header);
    bytes.extend(data);
    std::fs::write(file, bytes).unwrap();
}

/// The JSON header of a safetensors file.
fn safetensors_header(file: &Path) -> Value {
    let bytes = std::fs::read(file).unwrap();
    let length = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    serde_json::from_slice(&bytes[8..8 + length]).unwrap()
}

/// The `__metadata__` of a safetensors file.
fn safetensors_metadata(file: &Path) -> Value {
    safetensors_header(file)["__metadata__"].clone()
}

/// The tensor names and shapes in a safetensors file.
fn safetensors_keys(file: &Path) -> Vec<(String, Vec<u64>)> {
    let header = safetensors_header(file);
    let mut keys: Vec<(String, Vec<u64>)> = header
        .as_object()
        .unwrap()
        .iter()
        .filter(|(name, _)| *name != "__metadata__")
        .map(|(name, t)| {
            let shape = t["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap())
                .collect();
            (name.clone(), shape)
        })
        .collect();
    keys.sort();
    keys
}

/// `vae import` makes a run folder the inspection commands open; export -> import is
/// identical with both namings, and the PyTorch-named export has PyTorch's keys and shapes.
#[test]
fn import_then_export_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let imported = dir.path().join("imported");
    let config = fixture("config.json");
    let stdout = succeed(&import_args(
        &fixture("small_vae.pt"),
        &config,
        &imported,
        false,
    ));
    assert!(
        stdout.contains("imported 10 tensors (PyTorch examples/vae names"),
        "{stdout}"
    );
    assert!(imported.join("model.bpk").is_file() && imported.join("import.json").is_file());
    let data_dir = support::mnist_dir();
    let sample = dir.path().join("sample.png");
    succeed(&[
        "sample",
        "--run-dir",
        path(&imported),
        "--count",
        "4",
        "--out",
        path(&sample),
    ]);
    assert!(
        support::picture(&sample).2 > 1.0,
        "the sample picture is blank"
    );
    let stdout = succeed(&[
        "evaluate",
        "--run-dir",
        path(&imported),
        "--data-dir",
        path(&data_dir),
        "--images",
        "50",
        "--samples",
        "5",
    ]);
    assert!(stdout.contains("ELBO"), "{stdout}");

    // Nothing to resume and no curves: said plainly, without offering to delete the run.
    let stderr = fail(&["train", "--resume", path(&imported)]);
    assert!(
        stderr.contains("made by `vae import`")
            && stderr.contains("--init-from")
            && !stderr.contains("--overwrite"),
        "{stderr}"
    );
    // Fine-tuning the imported weights: a new run starts from them (one epoch of 256 images).
    let mut tune: Value = serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    tune["num_epochs"] = 1.into();
    tune["train_images"] = 256.into();
    tune["valid_images"] = 64.into();
    let tune_config = dir.path().join("tune.json");
    std::fs::write(&tune_config, tune.to_string()).unwrap();
    let tuned = dir.path().join("tuned");
    let stdout = succeed(&[
        "train",
        "--config",
        path(&tune_config),
        "--data-dir",
        path(&data_dir),
        "--run-dir",
        path(&tuned),
        "--init-from",
        path(&imported),
        "--plain",
    ]);
    assert!(stdout.contains("starting from the weights of"), "{stdout}");
    assert!(tuned.join("model.bpk").is_file() && tuned.join("init.json").is_file());
    let stderr = fail(&["curves", "--run-dir", path(&imported)]);
    assert!(stderr.contains("no training curves"), "{stderr}");
    assert!(imported.join("model.bpk").is_file());

    let original = parameters(&imported);
    for (flag, file, keys_like_fixture) in [
        (None, "burn.safetensors", false),
        (Some("--pytorch-names"), "pytorch.safetensors", true),
    ] {
        let out = dir.path().join(file);
        let mut args = vec!["export", "--run-dir", path(&imported), "--out", path(&out)];
        args.extend(flag);
        succeed(&args);
        let keys = safetensors_keys(&out);
        assert_eq!(keys.len(), 10);
        // The file carries the run's config and its naming.
        let metadata = safetensors_metadata(&out);
        let carried = TrainingConfig::from_json(metadata["burn_vae_config"].as_str().unwrap());
        assert_eq!(carried.unwrap().model.hidden_dims, vec![8]);
        let naming = if keys_like_fixture {
            "pytorch-examples-vae"
        } else {
            "burn"
        };
        assert_eq!(metadata["burn_vae_naming"], naming);
        if keys_like_fixture {
            assert_eq!(keys, safetensors_keys(&fixture("small_vae.safetensors")));
        } else {
            assert!(
                keys.iter()
                    .any(|(k, s)| k == "encoder.body.layers.0.weight" && s == &[784, 8])
            );
        }
        let again = dir.path().join(format!("again-{file}"));
        succeed(&import_args(&out, &config, &again, false));
        assert_eq!(
            parameters(&again),
            original,
            "{file}: export -> import changed the weights"
        );
        // An existing file is kept unless --overwrite.
        let stderr = fail(&["export", "--run-dir", path(&imported), "--out", path(&out)]);
        assert!(
            stderr.contains("already exists") && stderr.contains("--overwrite"),
            "{stderr}"
        );
        std::fs::write(&out, b"stale").unwrap();
        args.push("--overwrite");
        succeed(&args);
        assert_eq!(
            safetensors_keys(&out),
            keys,
            "--overwrite did not replace the file"
        );
    }
}

/// A training checkpoint (`{"epoch", "state_dict" under nn.DataParallel's `module.` names,
/// "optimizer"}`, made from `small_vae.pt`'s weights by `make_fixture.py --checkpoint`) imports
/// the same weights as the plain state_dict, found on its own or named with `--entry`; a wrong
/// entry, a config that does not fit, or `--entry` on a safetensors file is a clear error.
#[test]
fn a_training_checkpoint_imports_its_state_dict() {
    let dir = tempfile::tempdir().unwrap();
    let config = fixture("config.json");
    let checkpoint = fixture("small_vae_checkpoint.pt");
    let plain = dir.path().join("plain");
    succeed(&import_args(
        &fixture("small_vae.pt"),
        &config,
        &plain,
        false,
    ));

    let found = dir.path().join("found");
    let stdout = succeed(&import_args(&checkpoint, &config, &found, false));
    assert!(
        stdout.contains("imported 10 tensors")
            && stdout.contains("the checkpoint's 'state_dict' entry, without the 'module.' prefix"),
        "{stdout}"
    );
    assert_eq!(parameters(&found), parameters(&plain));
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(found.join("import.json")).unwrap()).unwrap();
    assert_eq!(record["entry"], "state_dict");
    assert_eq!(record["module_prefix"], true);

    let named = dir.path().join("named");
    let mut args = import_args(&checkpoint, &config, &named, false);
    args.extend(["--entry", "state_dict"]);
    succeed(&args);
    assert_eq!(parameters(&named), parameters(&plain));

    let refused = dir.path().join("refused");
    let with_entry = |entry: &'static str| {
        let mut args = import_args(&checkpoint, &config, &refused, false);
        args.extend(["--entry", entry]);
        fail(&args)
    };
    let stderr = with_entry("optimizer");
    assert!(
        stderr.contains("missing encoder.body.layers.0.weight"),
        "{stderr}"
    );
    let stderr = with_entry("nope");
    assert!(
        stderr.contains("no tensors under the entry 'nope'")
            && stderr.contains("top-level keys are optimizer, state_dict"),
        "{stderr}"
    );

    // A config the weights do not fit: the closest location's problems, and the entries.
    let mut wider: Value =
        serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    wider["model"]["hidden_dims"] = serde_json::json!([16]);
    let wider_config = dir.path().join("wider.json");
    std::fs::write(&wider_config, wider.to_string()).unwrap();
    let stderr = fail(&import_args(&checkpoint, &wider_config, &refused, false));
    assert!(
        stderr.contains("fc1.weight: the file has shape [8, 784], the model needs [16, 784]")
            && stderr.contains("under 2 top-level keys (optimizer, state_dict)")
            && stderr.contains("--entry KEY"),
        "{stderr}"
    );
    // A plain state_dict that only does not fit the config gets no checkpoint hint.
    let plain_file = fixture("small_vae.pt");
    let stderr = fail(&import_args(&plain_file, &wider_config, &refused, false));
    assert!(
        stderr.contains("fc1.weight: the file has shape [8, 784]") && !stderr.contains("--entry"),
        "{stderr}"
    );

    let safetensors = fixture("small_vae.safetensors");
    let mut args = import_args(&safetensors, &config, &refused, false);
    args.extend(["--entry", "state_dict"]);
    let stderr = fail(&args);
    assert!(stderr.contains("leave --entry out"), "{stderr}");
    assert!(
        !refused.exists(),
        "a refused import wrote {}",
        refused.display()
    );
}

/// Missing, extra and mis-shaped tensors, a file that is not weights, an unknown extension,
/// and a model PyTorch's names cannot hold: each a clear error, and no run folder touched.
#[test]
fn bad_weights_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let config = fixture("config.json");
    let good = dir.path().join("good");
    succeed(&import_args(
        &fixture("small_vae.safetensors"),
        &config,
        &good,
        false,
    ));
    let exported = dir.path().join("torch.safetensors");
    succeed(&[
        "export",
        "--run-dir",
        path(&good),
        "--out",
        path(&exported),
        "--pytorch-names",
    ]);
    let tensors: Tensors = parameters(&good).into_iter().collect();
    assert_eq!(tensors.len(), 10);
    let model_bpk = std::fs::read(good.join("model.bpk")).unwrap();

    let burn_names = |edit: &dyn Fn(&mut Tensors)| {
        let mut edited = tensors.clone();
        edit(&mut edited);
        let file = dir.path().join("edited.safetensors");
        write_safetensors(&file, &edited, "");
        fail(&import_args(&file, &config, &good, true))
    };
    let stderr = burn_names(&|t| t.retain(|(name, _, _)| name != "decoder.output.bias"));
    assert!(
        stderr.contains("missing decoder.output.bias (the model needs shape [784])"),
        "{stderr}"
    );
    let stderr = burn_names(&|t| t.push(("decoder.extra.weight".into(), vec![2], vec![0.0; 2])));
    assert!(
        stderr.contains("extra tensor decoder.extra.weight (shape [2])"),
        "{stderr}"
    );
    let stderr = burn_names(&|t| {
        let mean = t
            .iter_mut()
            .find(|(name, _, _)| name == "encoder.mean.weight")
            .unwrap();
        mean.1 = vec![7, 3];
        mean.2.truncate(21);
    });
    assert!(
        stderr.contains("encoder.mean.weight: the file has shape [7, 3], the model needs [8, 3]"),
        "{stderr}"
    );
    // In PyTorch's names the shapes are PyTorch's ([out, in]).
    let mut torch = tensors.clone();
    for (name, shape, _) in &mut torch {
        if name == "encoder.mean.weight" {
            *name = "fc21.weight".into();
            *shape = vec![3, 7];
        } else if name == "encoder.body.layers.0.weight" {
            *name = "fc1.weight".into();
        }
    }
    torch.retain(|(name, _, _)| name.starts_with("fc"));
    let file = dir.path().join("torch-bad.safetensors");
    let torch: Tensors = torch
        .iter()
        .map(|(n, s, v)| (n.clone(), s.clone(), v[..s.iter().product()].to_vec()))
        .collect();
    write_safetensors(&file, &torch, "");
    let stderr = fail(&import_args(&file, &config, &dir.path().join("x"), false));
    assert!(stderr.contains("PyTorch examples/vae names"), "{stderr}");
    assert!(
        stderr.contains("fc21.weight: the file has shape [3, 7], the model needs [3, 8]"),
        "{stderr}"
    );
    assert!(
        stderr.contains("fc1.weight: the file has shape [784, 8], the model needs [8, 784]"),
        "{stderr}"
    );
    assert!(
        stderr.contains("missing fc1.bias (the model needs shape [8])")
            && stderr.contains("... and 2 more"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("x").exists(),
        "a refused import created its run folder"
    );

    // Files that are not weights, and a name with no weights format.
    for (name, bytes, expected) in [
        (
            "garbage.safetensors",
            &b"not a safetensors file"[..],
            "cannot read",
        ),
        ("garbage.pt", &b"PK not a pickle"[..], "cannot read"),
        ("weights.txt", &b"fc1.weight"[..], "unknown weights format"),
    ] {
        let file = dir.path().join(name);
        std::fs::write(&file, bytes).unwrap();
        let stderr = fail(&import_args(&file, &config, &good, true));
        assert!(
            stderr.contains(expected) && stderr.contains(name),
            "{name}: {stderr}"
        );
    }
    // A float64 tensor (a PyTorch model saved after .double()).
    let file = dir.path().join("f64.safetensors");
    write_safetensors(&file, &tensors, "encoder.mean.bias");
    let stderr = fail(&import_args(&file, &config, &good, true));
    assert!(
        stderr.contains("encoder.mean.bias is F64, the model needs float32"),
        "{stderr}"
    );
    // A weights file inside the run folder that --overwrite would empty is kept.
    let inside = good.join("weights.safetensors");
    std::fs::copy(&exported, &inside).unwrap();
    let stderr = fail(&import_args(&inside, &config, &good, true));
    assert!(stderr.contains("is inside the run folder"), "{stderr}");
    assert!(inside.is_file(), "the weights file was deleted");
    std::fs::remove_file(&inside).unwrap();
    // A good file into an existing run folder without --overwrite.
    let stderr = fail(&import_args(&exported, &config, &good, false));
    assert!(stderr.contains("--overwrite"), "{stderr}");
    assert_eq!(
        std::fs::read(good.join("model.bpk")).unwrap(),
        model_bpk,
        "a refused import changed the run"
    );

    // A model with two hidden layers has no PyTorch examples/vae names.
    let deep_config = dir.path().join("deep.json");
    let mut deep = fixture_config();
    deep.model.hidden_dims = vec![8, 8];
    deep.save(&deep_config).unwrap();
    let stderr = fail(&import_args(
        &exported,
        &deep_config,
        &dir.path().join("deep"),
        false,
    ));
    assert!(
        stderr.contains("decoder.body.layers.1.weight has no name among PyTorch examples/vae's"),
        "{stderr}"
    );
}
