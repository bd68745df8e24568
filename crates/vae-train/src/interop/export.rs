//! `vae export`: a trained run's parameters as a safetensors file.

use std::path::{Path, PathBuf};

use burn::nn::activation::ActivationConfig;
use burn::prelude::*;
use burn::store::{BurnToPyTorchAdapter, ModuleSnapshot, SafetensorsStore};

use super::WeightsError;
use super::names::{EXAMPLES_VAE, Naming};
use crate::config::TrainingConfig;
use crate::model::CliVae;
use crate::run::trained_run::TrainedRun;

/// How to write the file.
#[derive(Debug, Clone, Copy)]
pub struct ExportOptions {
    /// The tensor names (and so the layout) to write.
    pub naming: Naming,
    /// Replace an existing file.
    pub overwrite: bool,
}

/// The metadata key under which the file carries the run's `config.json`.
pub const CONFIG_METADATA_KEY: &str = "burn_vae_config";

/// The metadata key under which the file names its naming ([`Naming::id`]).
pub const NAMING_METADATA_KEY: &str = "burn_vae_naming";

/// Opens the run in `run_dir` on `device` and writes its parameters to `out`; returns the
/// number of tensors written.
pub fn export_run(
    run_dir: &Path,
    out: &Path,
    options: ExportOptions,
    device: &Device,
) -> anyhow::Result<usize> {
    check_out(out, options.overwrite)?;
    let run = TrainedRun::open(run_dir, device)?;
    Ok(export_model(&run.model, &run.config, out, options)?)
}

/// Refuses an output that is not `.safetensors`, or exists without `overwrite`.
fn check_out(out: &Path, overwrite: bool) -> Result<(), WeightsError> {
    let extension = out.extension().and_then(|e| e.to_str());
    if !extension.is_some_and(|e| e.eq_ignore_ascii_case("safetensors")) {
        return Err(WeightsError::write(
            out,
            "vae export writes safetensors: name the file FILE.safetensors",
        ));
    }
    if out.exists() && !overwrite {
        return Err(WeightsError::OutExists(out.to_owned()));
    }
    Ok(())
}

/// Writes `model`'s parameters to `out` (a `.safetensors` file) under `options.naming`, with
/// `config` as JSON in the file's metadata; returns the number of tensors written.
pub fn export_model(
    model: &CliVae,
    config: &TrainingConfig,
    out: &Path,
    options: ExportOptions,
) -> Result<usize, WeightsError> {
    check_out(out, options.overwrite)?;
    let names: Vec<String> = model
        .collect(None, None, false)
        .into_iter()
        .map(|t| t.name)
        .collect();
    if options.naming == Naming::PytorchExamplesVae {
        check_examples_vae(&names, config)?;
    }
    let config_json = serde_json::to_string(config).map_err(|e| WeightsError::write(out, e))?;
    let mut store = SafetensorsStore::from_file(PathBuf::from(out))
        .overwrite(options.overwrite)
        .metadata(CONFIG_METADATA_KEY, config_json)
        .metadata(NAMING_METADATA_KEY, options.naming.id());
    if options.naming == Naming::PytorchExamplesVae {
        store = store.with_to_adapter(BurnToPyTorchAdapter);
        for (from, to) in options.naming.save_patterns() {
            store = store.with_key_remapping(from, to);
        }
    }
    model
        .save_into(&mut store)
        .map_err(|e| WeightsError::write(out, e))?;
    Ok(names.len())
}

/// Refuses a model that PyTorch's `examples/vae` `VAE` class does not compute: its tensors
/// (`names`) must be exactly that class's ten, its activation ReLU, its likelihood Bernoulli.
fn check_examples_vae(names: &[String], config: &TrainingConfig) -> Result<(), WeightsError> {
    let refuse = |what: String| Err(WeightsError::NotExamplesVae(what));
    if config.condition_dim() > 0 {
        return refuse("a condition (the class label) concatenated to its inputs".into());
    }
    if !matches!(config.model.activation, ActivationConfig::Relu) {
        return refuse(format!("the activation {:?}", config.model.activation));
    }
    let likelihood = config.likelihood.to_config().name();
    if likelihood != "bernoulli" {
        return refuse(format!("the {likelihood} likelihood"));
    }
    if let Some(name) = names
        .iter()
        .find(|name| Naming::PytorchExamplesVae.file_key(name).is_none())
    {
        return refuse(format!("the tensor `{name}`"));
    }
    if names.len() != 2 * EXAMPLES_VAE.len() {
        return refuse(format!(
            "{} tensors where examples/vae has {}",
            names.len(),
            2 * EXAMPLES_VAE.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::NetworkChoice;
    use crate::model::build_model;

    fn repo_config(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../configs/{name}.json"))
    }

    fn refused(config: &TrainingConfig) -> String {
        let model = build_model(config, &Device::flex()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("vae.safetensors");
        let options = ExportOptions {
            naming: Naming::PytorchExamplesVae,
            overwrite: false,
        };
        let error = export_model(&model, config, &out, options).unwrap_err();
        assert!(!out.exists(), "a refused export wrote {}", out.display());
        error.to_string()
    }

    /// Only the examples/vae structure gets PyTorch's names; the error names what does not fit.
    #[test]
    fn pytorch_names_refuse_other_models() {
        let mut deep = TrainingConfig::default();
        deep.model.hidden_dims = vec![16, 16];
        assert!(refused(&deep).contains("the tensor `encoder.body.layers.1.weight`"));
        let mut flat = TrainingConfig::default();
        flat.model.hidden_dims = vec![];
        assert!(refused(&flat).contains("6 tensors where examples/vae has 10"));
        let conv = TrainingConfig {
            network: NetworkChoice::Conv {
                conv_channels: vec![4],
                hidden_dim: 8,
            },
            ..TrainingConfig::default()
        };
        assert!(refused(&conv).contains("the tensor `encoder."));
        let cvae = TrainingConfig::load(&repo_config("mnist-cvae")).unwrap();
        assert!(refused(&cvae).contains("a condition"));
        let gaussian = TrainingConfig::load(&repo_config("mnist-mlp-gaussian")).unwrap();
        assert!(refused(&gaussian).contains("the gaussian likelihood"));
        let mut tanh = TrainingConfig::default();
        tanh.model.activation = ActivationConfig::Tanh;
        assert!(refused(&tanh).contains("the activation Tanh"));
    }

    fn tensors(model: &CliVae) -> Vec<(String, Vec<usize>, Vec<u8>)> {
        model
            .collect(None, None, false)
            .into_iter()
            .map(|t| {
                let bytes = t.to_bytes().unwrap().to_vec();
                (t.name.clone(), t.shape.to_vec(), bytes)
            })
            .collect()
    }

    /// Every shipped model kind (conv, conditional, a likelihood with a learned parameter)
    /// goes out and back in under Burn's names with every tensor identical.
    #[test]
    fn every_model_kind_round_trips_with_burn_names() {
        let device = Device::flex();
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "mnist-conv",
            "mnist-cvae",
            "mnist-mlp-gaussian",
            "mnist-mlp-512-256",
        ] {
            let config_path = repo_config(name);
            let config = TrainingConfig::load(&config_path).unwrap();
            let model = build_model(&config, &device).unwrap();
            let out = dir.path().join(format!("{name}.safetensors"));
            let options = ExportOptions {
                naming: Naming::Burn,
                overwrite: false,
            };
            let written = export_model(&model, &config, &out, options).unwrap();
            let (loaded, report) =
                crate::interop::load_weights(&out, None, &config, &config_path, &device).unwrap();
            assert_eq!(report.naming, Naming::Burn, "{name}");
            assert!(!report.pytorch_layout, "{name}");
            assert_eq!(report.tensors, written, "{name}");
            assert_eq!(tensors(&loaded), tensors(&model), "{name}");
        }
    }

    #[test]
    fn export_writes_only_safetensors() {
        let config = TrainingConfig::default();
        let model = build_model(&config, &Device::flex()).unwrap();
        let options = ExportOptions {
            naming: Naming::Burn,
            overwrite: true,
        };
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("vae.pt");
        let error = export_model(&model, &config, &out, options).unwrap_err();
        assert!(error.to_string().contains("FILE.safetensors"), "{error}");
        assert!(!out.exists());
    }
}
