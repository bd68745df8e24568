//! The run folder: one per run, never silently overwritten.
//!
//! ```text
//! <run_dir>/
//!   config.json                 the complete config of the run (replays it)
//!   model.bpk                   the trained model (Burn burnpack record)
//!   metrics.csv                 one row per epoch: losses, reconstruction, KL, train and epoch seconds
//!   checkpoint/                 model-N.bpk, optim-N.bpk, scheduler-N.bpk for every epoch N
//!   import.json                 only in a folder made by `vae import`: where its weights came from
//!   images/                     reconstruction-epoch-N.png, samples-epoch-N.png
//!   train/epoch-N/*.log         Burn's per-batch metric logs (valid/ likewise)
//!   experiment.log              Burn's application log
//! ```

pub(crate) mod checkpoints;
pub mod metrics_csv;
pub mod trained_run;

use std::path::{Path, PathBuf};

use crate::error::RunDirError;

pub use checkpoints::CheckpointError;

/// Whether `path` is `folder` or lies inside it, both resolved (links followed) where they
/// exist: what `--overwrite` on `folder` would delete.
pub(crate) fn lies_inside(path: &Path, folder: &Path) -> bool {
    let resolve = |p: &Path| {
        p.canonicalize()
            .or_else(|_| std::path::absolute(p))
            .unwrap_or_else(|_| p.to_owned())
    };
    resolve(path).starts_with(resolve(folder))
}

/// Paths inside a run folder.
#[derive(Debug, Clone)]
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    /// Prepares `root` for a new run: creates it, refuses a non-empty one unless `overwrite`,
    /// in which case its contents are deleted. Checks that it is writable.
    pub fn create(root: &Path, overwrite: bool) -> Result<Self, RunDirError> {
        let unwritable = |source| RunDirError::Unwritable {
            path: root.to_owned(),
            source,
        };
        if root.exists() {
            let mut entries = std::fs::read_dir(root).map_err(unwritable)?;
            if entries.next().is_some() {
                if !overwrite {
                    return Err(RunDirError::NotEmpty(root.to_owned()));
                }
                std::fs::remove_dir_all(root).map_err(unwritable)?;
            }
        }
        std::fs::create_dir_all(root.join("images")).map_err(unwritable)?;
        // Prove it is writable before any training time is spent.
        let probe = root.join(".write-test");
        std::fs::write(&probe, b"").map_err(unwritable)?;
        std::fs::remove_file(probe).map_err(unwritable)?;
        Ok(Self {
            root: root.to_owned(),
        })
    }

    /// Opens an existing run folder (for reading).
    pub fn open(root: &Path) -> Self {
        Self {
            root: root.to_owned(),
        }
    }

    /// The folder itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `config.json`.
    pub fn config(&self) -> PathBuf {
        self.root.join("config.json")
    }

    /// `model.bpk`: the final model.
    pub fn model(&self) -> PathBuf {
        self.root.join("model.bpk")
    }

    /// `metrics.csv`.
    pub fn metrics_csv(&self) -> PathBuf {
        self.root.join("metrics.csv")
    }

    /// `import.json`: written by `vae import`, which gives a run weights but no training.
    pub fn import_record(&self) -> PathBuf {
        self.root.join("import.json")
    }

    /// `init.json`: written by `vae train --init-from`, naming the run whose weights it started
    /// from.
    pub fn init_record(&self) -> PathBuf {
        self.root.join("init.json")
    }

    /// `checkpoint/`.
    pub fn checkpoints(&self) -> PathBuf {
        self.root.join("checkpoint")
    }

    /// `images/reconstruction-epoch-N.png`.
    pub fn reconstruction_image(&self, epoch: usize) -> PathBuf {
        self.root
            .join("images")
            .join(format!("reconstruction-epoch-{epoch}.png"))
    }

    /// `images/samples-epoch-N.png`.
    pub fn samples_image(&self, epoch: usize) -> PathBuf {
        self.root
            .join("images")
            .join(format!("samples-epoch-{epoch}.png"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_used_folder_and_keeps_its_files() {
        let dir = tempfile::tempdir().unwrap();
        let kept = dir.path().join("model.bpk");
        std::fs::write(&kept, b"precious").unwrap();
        let error = RunDir::create(dir.path(), false).unwrap_err();
        assert!(matches!(error, RunDirError::NotEmpty(_)));
        assert!(error.to_string().contains("--overwrite"));
        assert_eq!(std::fs::read(&kept).unwrap(), b"precious");
        RunDir::create(dir.path(), true).unwrap();
        assert!(!kept.exists());
        assert!(dir.path().join("images").is_dir());
    }
}
