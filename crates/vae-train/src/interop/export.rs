//! `vae export`: a trained run's parameters as a safetensors file.

use std::path::{Path, PathBuf};

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

/// Opens the run in `run_dir` on `device` and writes its parameters to `out`; returns the
/// number of tensors written.
pub fn export_run(
    run_dir: &Path,
    out: &Path,
    options: ExportOptions,
    device: &Device,
) -> anyhow::Result<usize> {
    let run = TrainedRun::open(run_dir, device)?;
    Ok(export_model(&run.model, &run.config, out, options)?)
}

/// Writes `model`'s parameters to `out` (a `.safetensors` file) under `options.naming`, with
/// `config` as JSON in the file's metadata; returns the number of tensors written.
pub fn export_model(
    model: &CliVae,
    config: &TrainingConfig,
    out: &Path,
    options: ExportOptions,
) -> Result<usize, WeightsError> {
    if out.extension().and_then(|e| e.to_str()) != Some("safetensors") {
        return Err(WeightsError::Write {
            path: out.to_owned(),
            reason: "vae export writes safetensors: name the file FILE.safetensors".into(),
        });
    }
    if out.exists() && !options.overwrite {
        return Err(WeightsError::OutExists(out.to_owned()));
    }
    let tensors = model.collect(None, None, false);
    if options.naming == Naming::PytorchExamplesVae {
        check_examples_vae(model, config)?;
    }
    let config_json = serde_json::to_string(config).map_err(|e| write_error(out, e))?;
    let mut store = SafetensorsStore::from_file(PathBuf::from(out))
        .overwrite(options.overwrite)
        .metadata(CONFIG_METADATA_KEY, config_json)
        .metadata("burn_vae_naming", options.naming.to_string());
    if options.naming == Naming::PytorchExamplesVae {
        store = store.with_to_adapter(BurnToPyTorchAdapter);
        for (from, to) in options.naming.save_patterns() {
            store = store.with_key_remapping(from, to);
        }
    }
    model
        .save_into(&mut store)
        .map_err(|e| write_error(out, e))?;
    Ok(tensors.len())
}

fn write_error(path: &Path, reason: impl std::fmt::Display) -> WeightsError {
    WeightsError::Write {
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

/// Refuses a model that PyTorch's `examples/vae` `VAE` class cannot hold.
fn check_examples_vae(model: &CliVae, config: &TrainingConfig) -> Result<(), WeightsError> {
    if config.condition.dim() > 0 {
        return Err(WeightsError::NotExamplesVae(
            "a condition (the class label) concatenated to its inputs".into(),
        ));
    }
    let names: Vec<String> = model
        .collect(None, None, false)
        .into_iter()
        .map(|t| t.name)
        .collect();
    if let Some(name) = names
        .iter()
        .find(|name| Naming::PytorchExamplesVae.file_key(name).is_none())
    {
        return Err(WeightsError::NotExamplesVae(format!("the tensor `{name}`")));
    }
    if names.len() != 2 * EXAMPLES_VAE.len() {
        return Err(WeightsError::NotExamplesVae(format!(
            "{} tensors where examples/vae has {}",
            names.len(),
            2 * EXAMPLES_VAE.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::NetworkChoice;
    use crate::model::build_model;

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
        let cvae = TrainingConfig::from_json(
            &std::fs::read_to_string("../../configs/mnist-cvae.json").unwrap(),
        )
        .unwrap();
        assert!(refused(&cvae).contains("a condition"));
    }

    #[test]
    fn export_writes_only_safetensors() {
        let config = TrainingConfig::default();
        let model = build_model(&config, &Device::flex()).unwrap();
        let options = ExportOptions {
            naming: Naming::Burn,
            overwrite: true,
        };
        let error = export_model(&model, &config, Path::new("vae.pt"), options).unwrap_err();
        assert!(error.to_string().contains("FILE.safetensors"), "{error}");
    }
}
