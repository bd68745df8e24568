//! Checkpoint files that survive crashes: atomic writes with a SHA-256 digest beside each file,
//! and the search for the last epoch whose checkpoint is complete and intact.
//!
//! A file is written to `<name>.partial`, hashed as read back from disk, renamed into place, and
//! its digest written (atomically too) to `<name>.sha256`. A process killed at any moment
//! leaves either the previous files or the new ones, never a half-written `.bpk`; a file
//! damaged later (a bad disk, a copy cut short) no longer matches its digest.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::OptimizerRecord;
use burn::optim::lr_scheduler::LrSchedulerRecord;
use burn::prelude::*;
use burn::train::checkpoint::{Checkpoint, CheckpointerError};
use sha2::{Digest, Sha256};

use crate::config::TrainingConfig;
use crate::model::build_model;
use crate::run::RunDir;

/// The record kinds checkpointed each epoch, in the order Burn saves them.
pub const KINDS: [&str; 3] = ["model", "optim", "scheduler"];

/// `checkpoint/<kind>-<epoch>.bpk`.
pub fn checkpoint_path(run: &RunDir, kind: &str, epoch: usize) -> PathBuf {
    run.checkpoints().join(format!("{kind}-{epoch}.bpk"))
}

/// The digest file beside `path`.
pub fn digest_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".sha256");
    path.with_file_name(name)
}

fn sha256_hex(path: &Path) -> std::io::Result<String> {
    let bytes = std::fs::read(path)?;
    Ok(format!("{:x}", Sha256::digest(&bytes)))
}

/// Writes `bytes` to `path` through `<path>.partial`, synced to disk, then renamed: `path` holds
/// the old contents or the new ones, never a part.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    let partial = path.with_file_name(name);
    let mut file = std::fs::File::create(&partial)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&partial, path)
}

/// Saves `record` to `path` atomically, with its digest.
pub fn save_atomically<R: Checkpoint>(record: R, path: &Path) -> Result<(), CheckpointerError> {
    let partial = path.with_extension("bpk.partial");
    let result = record.save(partial.clone()).and_then(|()| {
        let digest = sha256_hex(&partial).map_err(CheckpointerError::IOError)?;
        // A digest of the file being replaced must not outlive it: without one, the new file
        // is checked by loading it; with a stale one, a good file would read as corrupt.
        match std::fs::remove_file(digest_path(path)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(CheckpointerError::IOError(e));
            }
            _ => {}
        }
        std::fs::rename(&partial, path).map_err(CheckpointerError::IOError)?;
        write_atomically(&digest_path(path), format!("{digest}\n").as_bytes())
            .map_err(CheckpointerError::IOError)
    });
    if result.is_err() {
        // A failed write (disk full, say) leaves no partial file behind.
        let _ = std::fs::remove_file(&partial);
    }
    result
}

/// Why a checkpoint file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The file is not there.
    #[error("{} is missing", .0.display())]
    Missing(PathBuf),
    /// The file or its digest cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file does not match its digest.
    #[error("{} is corrupt: its SHA-256 does not match {}", path.display(), digest.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Its digest file.
        digest: PathBuf,
    },
    /// The file is intact but does not load (another architecture, or not a record).
    #[error("{} does not load: {reason}", path.display())]
    DoesNotLoad {
        /// The file.
        path: PathBuf,
        /// Burn's reason.
        reason: String,
    },
    /// The run's config describes no model that can be built.
    #[error(transparent)]
    Model(#[from] vae_model::VaeError),
}

/// Checks `path` against its digest; a file saved before digests existed passes unchecked.
pub fn verify(path: &Path) -> Result<(), CheckpointError> {
    if !path.is_file() {
        return Err(CheckpointError::Missing(path.to_owned()));
    }
    let digest = digest_path(path);
    if !digest.is_file() {
        return Ok(());
    }
    let unreadable = |path: &Path| {
        let path = path.to_owned();
        move |source| CheckpointError::Unreadable { path, source }
    };
    let expected = std::fs::read_to_string(&digest).map_err(unreadable(&digest))?;
    let actual = sha256_hex(path).map_err(unreadable(path))?;
    if expected.trim() != actual {
        return Err(CheckpointError::Corrupt {
            path: path.to_owned(),
            digest,
        });
    }
    Ok(())
}

/// Checks that epoch `epoch`'s three files are present, intact and load, the model into the
/// architecture `config` describes.
pub fn check_epoch(
    run: &RunDir,
    config: &TrainingConfig,
    epoch: usize,
) -> Result<(), CheckpointError> {
    for kind in KINDS {
        verify(&checkpoint_path(run, kind, epoch))?;
    }
    let load_error = |path: PathBuf, e: &dyn std::fmt::Display| CheckpointError::DoesNotLoad {
        path,
        reason: e.to_string(),
    };
    let path = checkpoint_path(run, "model", epoch);
    build_model(config, &Device::flex())?
        .try_load_file(&path)
        .map_err(|e| load_error(path.clone(), &e))?;
    let path = checkpoint_path(run, "optim", epoch);
    <OptimizerRecord as Checkpoint>::load(path.clone()).map_err(|e| load_error(path, &e))?;
    let path = checkpoint_path(run, "scheduler", epoch);
    <LrSchedulerRecord as Checkpoint>::load(path.clone()).map_err(|e| load_error(path, &e))?;
    Ok(())
}

/// The epochs that have at least one checkpoint file, highest first.
pub fn saved_epochs(run: &RunDir) -> Vec<usize> {
    let mut epochs: Vec<usize> = std::fs::read_dir(run.checkpoints())
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            let stem = name.strip_suffix(".bpk")?;
            let (kind, epoch) = stem.rsplit_once('-')?;
            KINDS.contains(&kind).then_some(())?;
            epoch.parse().ok()
        })
        .collect();
    epochs.sort_unstable_by(|a, b| b.cmp(a));
    epochs.dedup();
    epochs
}

/// The highest epoch whose checkpoint is complete and intact, with the reasons later ones were
/// not; `None` if no epoch qualifies.
pub fn last_good_epoch(run: &RunDir, config: &TrainingConfig) -> (Option<usize>, Vec<String>) {
    let mut skipped = Vec::new();
    for epoch in saved_epochs(run) {
        match check_epoch(run, config, epoch) {
            Ok(()) => return (Some(epoch), skipped),
            Err(reason) => skipped.push(format!("epoch {epoch}: {reason}")),
        }
    }
    (None, skipped)
}

/// Moves every checkpoint file of an epoch after `epoch` to `<file>.discarded` (kept, not
/// deleted), so that the resumed run writes fresh ones. Returns the moved files.
pub fn set_aside_after(run: &RunDir, epoch: usize) -> std::io::Result<Vec<PathBuf>> {
    let mut moved = Vec::new();
    for later in saved_epochs(run).into_iter().filter(|&e| e > epoch) {
        for kind in KINDS {
            let path = checkpoint_path(run, kind, later);
            for file in [digest_path(&path), path] {
                if file.exists() {
                    // `.discarded`, or `.discarded-2`, ... when an earlier resume set one aside.
                    let target = (1..)
                        .map(|n| {
                            let mut name = file.file_name().unwrap_or_default().to_os_string();
                            name.push(if n == 1 {
                                ".discarded".to_string()
                            } else {
                                format!(".discarded-{n}")
                            });
                            file.with_file_name(name)
                        })
                        .find(|candidate| !candidate.exists())
                        .expect("some numbered name is free");
                    std::fs::rename(&file, &target)?;
                    moved.push(target);
                }
            }
        }
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An empty run folder in a temporary directory, and a tiny model config.
    fn scratch_run() -> (tempfile::TempDir, RunDir, TrainingConfig) {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::open(dir.path());
        let mut config = TrainingConfig::default();
        config.model = config.model.with_hidden_dims(vec![8]).with_latent_dim(2);
        (dir, run, config)
    }

    fn saved_model(run: &RunDir, epoch: usize, config: &TrainingConfig) -> PathBuf {
        std::fs::create_dir_all(run.checkpoints()).unwrap();
        let model = build_model(config, &Device::flex()).unwrap();
        let path = checkpoint_path(run, "model", epoch);
        save_atomically(model.into_record(), &path).unwrap();
        path
    }

    #[test]
    fn a_saved_checkpoint_verifies_and_a_flipped_byte_does_not() {
        let (_dir, run, config) = scratch_run();
        let path = saved_model(&run, 1, &config);
        assert!(!path.with_extension("bpk.partial").exists());
        verify(&path).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x40;
        std::fs::write(&path, bytes).unwrap();
        let error = verify(&path).unwrap_err().to_string();
        assert!(error.contains("corrupt"), "{error}");
    }

    #[test]
    fn the_last_good_epoch_skips_incomplete_and_truncated_ones() {
        let (_dir, run, config) = scratch_run();
        // Epoch 2 has only a model file; epoch 1 has no optimizer file either.
        saved_model(&run, 1, &config);
        let path = saved_model(&run, 2, &config);
        assert_eq!(saved_epochs(&run), vec![2, 1]);
        let (epoch, skipped) = last_good_epoch(&run, &config);
        assert_eq!(epoch, None);
        assert_eq!(skipped.len(), 2);
        assert!(
            skipped[0].starts_with("epoch 2:") && skipped[0].contains("optim-2.bpk is missing")
        );
        // Truncation is caught by the digest, and by Burn's reader when there is no digest.
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        assert!(verify(&path).unwrap_err().to_string().contains("corrupt"));
        std::fs::remove_file(digest_path(&path)).unwrap();
        let model = build_model(&config, &Device::flex()).unwrap();
        assert!(model.try_load_file(&path).is_err());
    }

    #[test]
    fn later_epochs_are_set_aside_not_deleted() {
        let (_dir, run, config) = scratch_run();
        saved_model(&run, 1, &config);
        let later = saved_model(&run, 2, &config);
        let moved = set_aside_after(&run, 1).unwrap();
        assert_eq!(moved.len(), 2, "{moved:?}");
        assert!(!later.exists());
        assert!(later.with_file_name("model-2.bpk.discarded").exists());
        assert!(checkpoint_path(&run, "model", 1).exists());
        assert_eq!(saved_epochs(&run), vec![1]);
    }
}
