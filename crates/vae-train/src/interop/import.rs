//! `vae import`: a run folder from a safetensors file or a PyTorch `state_dict`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::prelude::*;
use burn::store::{
    ModuleSnapshot, ModuleStore, PyTorchToBurnAdapter, PytorchStore, SafetensorsStore,
};
use burn::tensor::DType;

use super::WeightsError;
use super::names::{Naming, file_shape, regex_escape};
use crate::config::TrainingConfig;
use crate::model::{CliVae, build_model};
use crate::run::RunDir;
use crate::run::checkpoints::save_atomically;

/// The most problems on the model's side (missing or mis-shaped tensors) a mismatch error
/// lists one by one.
const LISTED_MODEL_PROBLEMS: usize = 8;
/// The most extra tensors it lists (they show a file's own names, e.g. a common prefix).
const LISTED_EXTRA: usize = 4;
/// Entries of a PyTorch training checkpoint that conventionally hold the model's weights
/// (`torch.save({"epoch": e, "state_dict": model.state_dict(), "optimizer": ...})`), tried in
/// this order when the file's root does not hold them.
const MODEL_ENTRIES: [&str; 4] = ["state_dict", "model_state_dict", "model", "net"];
/// The prefix `nn.DataParallel` and `DistributedDataParallel` put on every parameter name.
const MODULE_PREFIX: &str = "module.";

/// How to write the run folder.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Delete an existing run folder's contents first.
    pub overwrite: bool,
    /// The top-level entry of a PyTorch checkpoint that holds the model's weights; `None`
    /// looks at the root, then at the usual entries (`state_dict`, `model_state_dict`,
    /// `model`, `net`).
    pub entry: Option<String>,
}

/// Where a file keeps the model's tensors: under a top-level entry of a PyTorch checkpoint,
/// and/or behind the `module.` prefix of `nn.DataParallel` / DDP.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// The checkpoint entry, e.g. `state_dict`; `None`: the file's root.
    pub entry: Option<String>,
    /// Every name starts with `module.`, which is dropped.
    pub module_prefix: bool,
}

impl Location {
    /// The file's tensors as this location shows them: only those under the entry, names
    /// relative to it and without `module.`; `None` if there are none, or if some name
    /// lacks the `module.` prefix this location drops.
    fn view(&self, file: &FileTensors) -> Option<FileTensors> {
        let mut view = FileTensors::new();
        for (key, tensor) in file {
            let key = match &self.entry {
                Some(entry) => match key
                    .strip_prefix(entry.as_str())
                    .and_then(|k| k.strip_prefix('.'))
                {
                    Some(inside) => inside,
                    None => continue,
                },
                None => key.as_str(),
            };
            let key = if self.module_prefix {
                key.strip_prefix(MODULE_PREFIX)?
            } else {
                key
            };
            view.insert(key.to_owned(), tensor.clone());
        }
        (!view.is_empty()).then_some(view)
    }

    /// Where to look, in order: an explicit entry, else the root and then the usual entries
    /// present in the file; each without and then with the `module.` prefix.
    fn candidates(file: &FileTensors, format: Format, explicit: Option<&str>) -> Vec<Self> {
        let entries: Vec<Option<String>> = match explicit {
            Some(entry) => vec![Some(entry.to_owned())],
            None if format == Format::Pytorch => std::iter::once(None)
                .chain(
                    MODEL_ENTRIES
                        .iter()
                        .filter(|entry| file.keys().any(|k| k.starts_with(&format!("{entry}."))))
                        .map(|entry| Some(entry.to_string())),
                )
                .collect(),
            None => vec![None],
        };
        entries
            .into_iter()
            .flat_map(|entry| {
                [false, true].map(|module_prefix| Self {
                    entry: entry.clone(),
                    module_prefix,
                })
            })
            .collect()
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.entry {
            Some(entry) => write!(f, "the checkpoint's '{entry}' entry")?,
            None => f.write_str("the file's root")?,
        }
        if self.module_prefix {
            f.write_str(", without the 'module.' prefix")?;
        }
        Ok(())
    }
}

/// The distinct first parts of a file's tensor names (`state_dict`, `optimizer`, ...).
fn top_level_keys(file: &FileTensors) -> Vec<String> {
    let keys: std::collections::BTreeSet<&str> = file
        .keys()
        .map(|k| k.split('.').next().unwrap_or(k))
        .collect();
    keys.into_iter().map(str::to_owned).collect()
}

/// What an import read.
#[derive(Debug, Clone)]
pub struct ImportReport {
    /// The names the file uses.
    pub naming: Naming,
    /// Whether its linear weights were `[out, in]` (PyTorch's layout).
    pub pytorch_layout: bool,
    /// Tensors loaded.
    pub tensors: usize,
    /// Where in the file they were.
    pub location: Location,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Safetensors,
    Pytorch,
}

impl Format {
    fn of(path: &Path) -> Result<Self, WeightsError> {
        let extension = path.extension().and_then(|e| e.to_str());
        match extension.map(str::to_ascii_lowercase).as_deref() {
            Some("safetensors") => Ok(Self::Safetensors),
            Some("pt" | "pth") => Ok(Self::Pytorch),
            _ => Err(WeightsError::UnknownFormat(path.to_owned())),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Safetensors => "safetensors",
            Self::Pytorch => "a PyTorch state_dict",
        }
    }

    /// The store that reads `path` (only `entry`, if given), with `patterns` renaming its
    /// keys to Burn's paths; a `.pt` file keeps enum variants in paths as `vae export` writes
    /// them.
    fn pytorch_store(
        path: &Path,
        entry: Option<&str>,
        patterns: Vec<(String, String)>,
    ) -> PytorchStore {
        let mut store = PytorchStore::from_file(path).skip_enum_variants(false);
        if let Some(entry) = entry {
            store = store.with_top_level_key(entry);
        }
        patterns.into_iter().fold(store, |store, (from, to)| {
            store.with_key_remapping(from, to)
        })
    }
}

/// A tensor's dtype and shape as the file holds it.
type FileTensors = BTreeMap<String, (DType, Vec<usize>)>;

fn unreadable(path: &Path, format: Format, reason: impl std::fmt::Display) -> WeightsError {
    WeightsError::Unreadable {
        path: path.to_owned(),
        format: format.name(),
        reason: reason.to_string(),
    }
}

fn file_tensors<S: ModuleStore>(store: &mut S) -> Result<FileTensors, String> {
    Ok(store
        .get_all_tensors()
        .map_err(|e| e.to_string())?
        .iter()
        .map(|(name, t)| (name.clone(), (t.dtype, t.shape.to_vec())))
        .collect())
}

/// Reads the weights in `from` into the model that `config` (read from `config_path`)
/// describes, on `device`. Every tensor must be there, with the model's shape and float32;
/// a file with anything missing, extra or mis-shaped is refused with one line per problem.
///
/// A PyTorch training checkpoint that keeps the weights under an entry
/// (`{"state_dict": ..., "optimizer": ...}`) is read from `entry`, or when `entry` is `None`
/// from the first usual entry that holds exactly the model's tensors; a `module.` prefix
/// (`nn.DataParallel`, DDP) is dropped.
pub fn load_weights(
    from: &Path,
    entry: Option<&str>,
    config: &TrainingConfig,
    config_path: &Path,
    device: &Device,
) -> Result<(CliVae, ImportReport), WeightsError> {
    let format = Format::of(from)?;
    if !from.is_file() {
        return Err(WeightsError::NotFound(from.to_owned()));
    }
    if entry.is_some() && format == Format::Safetensors {
        return Err(WeightsError::EntryInSafetensors(from.to_owned()));
    }
    let file = match format {
        Format::Safetensors => file_tensors(&mut SafetensorsStore::from_file(PathBuf::from(from))),
        Format::Pytorch => file_tensors(&mut Format::pytorch_store(from, None, Vec::new())),
    }
    .map_err(|reason| unreadable(from, format, reason))?;
    let mut model = build_model(config, device).map_err(|e| WeightsError::Config {
        config: config_path.to_owned(),
        reason: e.to_string(),
    })?;
    let (location, naming, pytorch_layout) =
        locate(&model, &file, format, entry).map_err(|(naming, problems)| {
            WeightsError::Mismatch {
                path: from.to_owned(),
                config: config_path.to_owned(),
                naming,
                problems,
            }
        })?;
    let mut patterns = naming.load_patterns();
    if location.module_prefix {
        // Applied before the naming's patterns: burn-store runs them in order.
        patterns.insert(
            0,
            (format!("^{}", regex_escape(MODULE_PREFIX)), String::new()),
        );
    }
    let result = match format {
        Format::Safetensors => {
            let mut store = SafetensorsStore::from_file(PathBuf::from(from));
            if pytorch_layout {
                store = store.with_from_adapter(PyTorchToBurnAdapter);
            }
            for (from_pattern, to) in patterns {
                store = store.with_key_remapping(from_pattern, to);
            }
            model.load_from(&mut store).map_err(|e| e.to_string())
        }
        Format::Pytorch => model
            .load_from(&mut Format::pytorch_store(
                from,
                location.entry.as_deref(),
                patterns,
            ))
            .map_err(|e| e.to_string()),
    };
    let load_failed = |reason: String| WeightsError::LoadFailed {
        path: from.to_owned(),
        reason,
    };
    let result = result.map_err(load_failed)?;
    if !result.errors.is_empty() || !result.unused.is_empty() || !result.missing.is_empty() {
        return Err(load_failed(result.to_string()));
    }
    let report = ImportReport {
        naming,
        pytorch_layout,
        tensors: result.applied.len(),
        location,
    };
    Ok((model, report))
}

/// Where in `file` the model's tensors are (the first candidate location that holds exactly
/// them), with the naming and layout found there; else the naming and problems of the
/// candidate with the fewest, with a hint when the file looks like a checkpoint with several
/// entries.
fn locate(
    model: &CliVae,
    file: &FileTensors,
    format: Format,
    explicit: Option<&str>,
) -> Result<(Location, Naming, bool), (Naming, Vec<String>)> {
    let mut best_failure: Option<(Naming, Vec<String>)> = None;
    for location in Location::candidates(file, format, explicit) {
        let Some(view) = location.view(file) else {
            continue;
        };
        let naming = Naming::detect(view.keys());
        let pytorch_layout = format == Format::Pytorch || naming == Naming::PytorchExamplesVae;
        let problems = compare(model, &view, naming, pytorch_layout);
        if problems.is_empty() {
            return Ok((location, naming, pytorch_layout));
        }
        if best_failure
            .as_ref()
            .is_none_or(|(_, best)| problems.len() < best.len())
        {
            best_failure = Some((naming, problems));
        }
    }
    let top = top_level_keys(file);
    let Some((naming, mut problems)) = best_failure else {
        // Only an explicit entry can leave nothing to look at.
        return Err((
            Naming::detect(file.keys()),
            vec![format!(
                "no tensors under the entry '{}': the file's top-level keys are {}",
                explicit.unwrap_or_default(),
                top.join(", ")
            )],
        ));
    };
    // The hint is for a file whose root names none of the model's tensors (a checkpoint with
    // entries), not for a plain state_dict that only does not fit the config.
    let root_naming = Naming::detect(file.keys());
    let root_names_the_model = model.collect(None, None, false).iter().any(|tensor| {
        root_naming
            .file_key(&tensor.name)
            .is_some_and(|key| file.contains_key(&key))
    });
    if explicit.is_none()
        && format == Format::Pytorch
        && !root_names_the_model
        && top.len() > 1
        && top.len() <= 16
    {
        problems.push(format!(
            "the file's tensors sit under {} top-level keys ({}): if it is a training \
             checkpoint, name the entry that holds the model's weights with --entry KEY",
            top.len(),
            top.join(", ")
        ));
    }
    Err((naming, problems))
}

/// One line per tensor that is missing, extra, mis-shaped or not float32, in the file's own
/// names and layout.
fn compare(
    model: &CliVae,
    file: &FileTensors,
    naming: Naming,
    pytorch_layout: bool,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut expected = BTreeMap::new();
    for tensor in model.collect(None, None, false) {
        let Some(key) = naming.file_key(&tensor.name) else {
            problems.push(format!(
                "the model's tensor {} has no name among PyTorch examples/vae's (fc1, fc21, \
                 fc22, fc3, fc4): import this model from a file with Burn's names",
                tensor.name
            ));
            continue;
        };
        let shape = file_shape(&key, &tensor.shape, pytorch_layout);
        expected.insert(key, shape);
    }
    for (key, shape) in &expected {
        match file.get(key) {
            None => problems.push(format!("missing {key} (the model needs shape {shape:?})")),
            Some((_, found)) if found != shape => problems.push(format!(
                "{key}: the file has shape {found:?}, the model needs {shape:?}"
            )),
            Some((dtype, _)) if *dtype != DType::F32 => problems.push(format!(
                "{key} is {dtype:?}, the model needs float32 (in PyTorch, call model.float() \
                 before saving)"
            )),
            Some(_) => {}
        }
    }
    let extra: Vec<String> = file
        .iter()
        .filter(|(key, _)| !expected.contains_key(*key))
        .map(|(key, (_, shape))| {
            format!("extra tensor {key} (shape {shape:?}): the model has no place for it")
        })
        .collect();
    let more = problems.len().saturating_sub(LISTED_MODEL_PROBLEMS)
        + extra.len().saturating_sub(LISTED_EXTRA);
    problems.truncate(LISTED_MODEL_PROBLEMS);
    problems.extend(extra.into_iter().take(LISTED_EXTRA));
    if more > 0 {
        problems.push(format!("... and {more} more"));
    }
    problems
}

/// Reads `from` into the model `config_path` describes and writes a run folder in `run_dir`
/// (`config.json`, `model.bpk` with its digest, `import.json` saying where the weights came
/// from). Nothing is written unless the weights load.
pub fn import_weights(
    from: &Path,
    config_path: &Path,
    run_dir: &Path,
    options: ImportOptions,
    device: &Device,
) -> anyhow::Result<ImportReport> {
    let config = TrainingConfig::load(config_path)?;
    for file in [from, config_path] {
        refuse_inside(file, run_dir)?;
    }
    let (model, report) =
        load_weights(from, options.entry.as_deref(), &config, config_path, device)?;
    let run = RunDir::create(run_dir, options.overwrite)?;
    // import.json first: a folder left by a failed write still says where it came from.
    let provenance = serde_json::json!({
        "from": from.canonicalize().unwrap_or_else(|_| from.to_owned()).to_string_lossy(),
        "naming": report.naming.id(),
        "pytorch_layout": report.pytorch_layout,
        "tensors": report.tensors,
        "entry": report.location.entry,
        "module_prefix": report.location.module_prefix,
    });
    let import_json = run.import_record();
    std::fs::write(&import_json, format!("{provenance:#}\n"))
        .map_err(|e| WeightsError::write(&import_json, e))?;
    config
        .save(&run.config())
        .map_err(|e| WeightsError::write(&run.config(), e))?;
    save_atomically(model.into_record(), &run.model())
        .map_err(|e| WeightsError::write(&run.model(), e))?;
    Ok(report)
}

/// Refuses a `file` inside `run_dir`, which `--overwrite` would delete before writing.
fn refuse_inside(file: &Path, run_dir: &Path) -> Result<(), WeightsError> {
    if crate::run::lies_inside(file, run_dir) {
        return Err(WeightsError::InsideRunDir {
            file: file.to_owned(),
            run_dir: run_dir.to_owned(),
        });
    }
    Ok(())
}
