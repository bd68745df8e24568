//! `metrics.csv`, one row per epoch, known here only: its header, the row written after each
//! epoch, reading it back (curves, the bench), and cutting it for a resumed run.

use std::io::Write;
use std::path::{Path, PathBuf};

/// A `metrics.csv` that cannot be read or rewritten.
#[derive(Debug, thiserror::Error)]
pub enum MetricsCsvError {
    /// The file cannot be read.
    #[error(
        "cannot read {}: {source}. Is this a run folder with at least one finished epoch?",
        path.display()
    )]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A row is not a row of numbers, or has too few columns.
    #[error(
        "{} line {line}: {problem}. The file was edited or damaged: restore it, or delete the \
         line",
        path.display()
    )]
    BadRow {
        /// The file.
        path: PathBuf,
        /// The line number, from 1.
        line: usize,
        /// What is wrong with it.
        problem: String,
    },
    /// The file has a header but no rows.
    #[error("{} has no epochs yet: train at least one epoch first", .0.display())]
    NoEpochs(PathBuf),
    /// The cut file cannot be written back.
    #[error("cannot rewrite {}: {source}. Check the run folder is writable", path.display())]
    Rewrite {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The header line.
pub const HEADER: &str = "epoch,train_loss,train_reconstruction,train_kl,valid_loss,valid_reconstruction,valid_kl,train_seconds,seconds";

/// Appends epoch `epoch`'s row (writing the header first if the file is new): the train loss,
/// reconstruction and KL, then the valid ones (`values`), the training phase's seconds and the
/// whole epoch's.
pub(crate) fn append_row(
    path: &Path,
    epoch: usize,
    values: [f64; 6],
    train_seconds: f64,
    seconds: f64,
) -> std::io::Result<()> {
    let new = !path.exists();
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    if new {
        writeln!(file, "{HEADER}")?;
    }
    let mut row = epoch.to_string();
    for value in values {
        row.push_str(&format!(",{value:.4}"));
    }
    row.push_str(&format!(",{train_seconds:.3},{seconds:.3}"));
    writeln!(file, "{row}")
}

/// One row of `metrics.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochMetrics {
    /// Epoch number, from 1.
    pub epoch: f64,
    /// train loss, reconstruction, KL, then valid loss, reconstruction, KL.
    pub values: [f64; 6],
    /// Seconds of the epoch's training phase (NaN in runs written before this column existed).
    pub train_seconds: f64,
}

/// Reads a run's `metrics.csv`.
pub fn read(path: &Path) -> Result<Vec<EpochMetrics>, MetricsCsvError> {
    let text = std::fs::read_to_string(path).map_err(|source| MetricsCsvError::Read {
        path: path.to_owned(),
        source,
    })?;
    let bad_row = |number: usize, problem: String| MetricsCsvError::BadRow {
        path: path.to_owned(),
        line: number + 1,
        problem,
    };
    let mut rows = Vec::new();
    for (number, line) in text.lines().enumerate().skip(1) {
        let fields: Vec<f64> = line
            .split(',')
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map_err(|e| bad_row(number, format!("not a row of numbers ({e})")))?;
        if fields.len() < 7 {
            return Err(bad_row(
                number,
                format!("expected at least 7 columns, found {}", fields.len()),
            ));
        }
        let mut values = [0.0; 6];
        values.copy_from_slice(&fields[1..7]);
        rows.push(EpochMetrics {
            epoch: fields[0],
            values,
            // epoch, 6 values, train_seconds, seconds; older runs lack train_seconds.
            train_seconds: if fields.len() >= 9 {
                fields[7]
            } else {
                f64::NAN
            },
        });
    }
    if rows.is_empty() {
        return Err(MetricsCsvError::NoEpochs(path.to_owned()));
    }
    Ok(rows)
}

/// Drops the `metrics.csv` rows of epochs after `epoch` (a resumed run writes them again).
pub(crate) fn keep_epochs_up_to(path: &Path, epoch: usize) -> Result<(), MetricsCsvError> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(());
    };
    let kept: Vec<&str> = text
        .lines()
        .enumerate()
        .filter(|(i, line)| {
            *i == 0
                || line
                    .split(',')
                    .next()
                    .and_then(|e| e.parse::<usize>().ok())
                    .is_some_and(|e| e <= epoch)
        })
        .map(|(_, line)| line)
        .collect();
    crate::run::checkpoints::write_atomically(path, (kept.join("\n") + "\n").as_bytes()).map_err(
        |source| MetricsCsvError::Rewrite {
            path: path.to_owned(),
            source,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_written_read_back_and_a_cut_keeps_the_earlier_epochs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.csv");
        for epoch in 1..=3 {
            let e = epoch as f64;
            append_row(&path, epoch, [e, e + 0.5, 0.25, e, e + 0.5, 0.25], 1.5, 2.0).unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().next(), Some(HEADER));
        let rows = read(&path).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[2].epoch, 3.0);
        assert_eq!(rows[2].values[1], 3.5);
        assert_eq!(rows[2].train_seconds, 1.5);
        keep_epochs_up_to(&path, 1).unwrap();
        let rows = read(&path).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].epoch, 1.0);
    }

    #[test]
    fn a_damaged_row_is_named_by_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.csv");
        std::fs::write(&path, format!("{HEADER}\n1,2,3,4,5,6,7,8,9\n2,oops,3\n")).unwrap();
        let error = read(&path).unwrap_err();
        assert!(
            matches!(error, MetricsCsvError::BadRow { line: 3, .. }),
            "{error}"
        );
        std::fs::write(&path, format!("{HEADER}\n")).unwrap();
        assert!(matches!(read(&path), Err(MetricsCsvError::NoEpochs(_))));
    }
}
