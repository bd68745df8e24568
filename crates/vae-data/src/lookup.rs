//! Where a dataset is read from: `data_dir` (`--data-dir`), then the dataset's environment
//! variable, then its system folder (Fashion-MNIST), then the download cache.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::error::{DataError, DirOrigin};
use crate::kind::DatasetKind;

/// The source chosen for a dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    /// A folder of IDX files.
    Dir(PathBuf),
    /// The download cache (files fetched when missing).
    Download,
}

/// Applies the lookup order with the environment variable's value and the system folder given
/// (so that tests need not change the process environment).
pub(crate) fn locate(
    kind: DatasetKind,
    data_dir: Option<&Path>,
    env_value: Option<OsString>,
    system_dir: Option<&Path>,
) -> Result<Location, DataError> {
    if let Some(dir) = data_dir {
        return Ok(Location::Dir(dir.to_owned()));
    }
    if let Some(value) = env_value.filter(|v| !v.is_empty()) {
        return env_dir(kind, PathBuf::from(value)).map(Location::Dir);
    }
    if let Some(dir) = system_dir.filter(|dir| dir.is_dir()) {
        return Ok(Location::Dir(dir.to_owned()));
    }
    Ok(Location::Download)
}

/// The folder an environment variable names; a relative value is resolved against the current
/// directory, and an error says so when that folder does not exist.
fn env_dir(kind: DatasetKind, value: PathBuf) -> Result<PathBuf, DataError> {
    let resolved = if value.is_absolute() {
        value.clone()
    } else {
        std::env::current_dir()
            .map(|cwd| cwd.join(&value))
            .unwrap_or_else(|_| value.clone())
    };
    if resolved.is_dir() {
        Ok(resolved)
    } else if value.is_relative() {
        Err(DataError::RelativeEnvDir {
            dataset: kind,
            var: kind.env_var(),
            value,
            resolved,
        })
    } else {
        Err(DataError::DirNotFound {
            dataset: kind,
            dir: resolved,
            origin: DirOrigin::EnvVar(kind.env_var()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FASHION: DatasetKind = DatasetKind::FashionMnist;

    fn here() -> PathBuf {
        std::env::current_dir().unwrap()
    }

    #[test]
    fn data_dir_comes_first_then_the_env_var_then_the_system_folder() {
        let given = Path::new("/given");
        let env = Some(OsString::from(here()));
        let located = locate(FASHION, Some(given), env.clone(), Some(&here())).unwrap();
        assert_eq!(located, Location::Dir(given.to_owned()));
        let located = locate(FASHION, None, env, Some(Path::new("/"))).unwrap();
        assert_eq!(located, Location::Dir(here()));
        // An empty variable counts as unset.
        let located = locate(FASHION, None, Some(OsString::new()), Some(&here())).unwrap();
        assert_eq!(located, Location::Dir(here()));
    }

    #[test]
    fn without_a_folder_both_datasets_fall_back_to_the_download() {
        let nowhere = Path::new("/nonexistent/fashion-mnist");
        let located = locate(DatasetKind::Mnist, None, None, None).unwrap();
        assert_eq!(located, Location::Download);
        let located = locate(FASHION, None, None, Some(nowhere)).unwrap();
        assert_eq!(located, Location::Download);
    }

    #[test]
    fn a_relative_env_var_resolves_against_the_current_directory() {
        let relative = Path::new("..").join(here().file_name().unwrap());
        let located = locate(FASHION, None, Some(relative.clone().into()), None).unwrap();
        assert_eq!(located, Location::Dir(here().join(relative)));
    }

    #[test]
    fn a_relative_env_var_that_does_not_resolve_says_so_and_suggests_an_absolute_path() {
        let value = "../no-such-folder/mnist";
        let error = locate(DatasetKind::Mnist, None, Some(value.into()), None).unwrap_err();
        let message = error.to_string();
        let resolved = here().join(value);
        for part in [
            "VAE_MNIST_DIR=../no-such-folder/mnist is a relative path",
            &format!("resolves to {}", resolved.display()),
            "MNIST",
            "export VAE_MNIST_DIR=$(realpath ../no-such-folder/mnist)",
        ] {
            assert!(message.contains(part), "{part:?} not in: {message}");
        }
        assert!(matches!(error, DataError::RelativeEnvDir { .. }));
    }

    #[test]
    fn an_absolute_env_var_that_does_not_exist_names_the_variable() {
        let error = locate(FASHION, None, Some("/nonexistent/fm".into()), None)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("/nonexistent/fm")
                && error.contains("the environment variable VAE_FASHION_MNIST_DIR")
                && error.contains("Fashion-MNIST"),
            "{error}"
        );
    }
}
