//! The final value of each metric in the current epoch, by split, as Burn's renderer events
//! report them: the source of the `metrics.csv` row and the plain progress line.

use std::collections::{BTreeMap, HashMap};

use burn::train::metric::{MetricDefinition, MetricId, NumericEntry};
use burn::train::renderer::MetricState;
use vae_model::train::{Bound, Kl, Loss, PerImageTerm, Reconstruction};

/// The metric names, in `metrics.csv` column order (train then valid).
pub(crate) const METRICS: [&str; 3] = [Loss::NAME, Reconstruction::NAME, Kl::NAME];

/// Metric names by id, and the last final value of each (split, metric).
#[derive(Default)]
pub(crate) struct EpochValues {
    names: HashMap<MetricId, String>,
    finals: BTreeMap<(bool, String), f64>,
}

impl EpochValues {
    /// Learns a metric's name.
    pub(crate) fn register(&mut self, definition: &MetricDefinition) {
        self.names
            .insert(definition.metric_id.clone(), definition.name.to_string());
    }

    /// Keeps `state`'s value if it is a final (epoch-mean) one.
    pub(crate) fn record(&mut self, valid: bool, state: &MetricState) {
        if let MetricState::Numeric(entry, Some(NumericEntry::Final(value))) = state
            && let Some(name) = self.names.get(&entry.metric_id)
        {
            self.finals.insert((valid, name.clone()), *value);
        }
    }

    /// The last final value of `name` on the valid (or train) split; NaN if none yet.
    pub(crate) fn value(&self, valid: bool, name: &str) -> f64 {
        self.finals
            .get(&(valid, name.to_string()))
            .copied()
            .unwrap_or(f64::NAN)
    }

    /// Train loss, reconstruction, KL, then the valid ones: a `metrics.csv` row's values.
    pub(crate) fn row(&self) -> [f64; 6] {
        let mut values = [0.0; 6];
        let columns = [false, true]
            .into_iter()
            .flat_map(|valid| METRICS.into_iter().map(move |name| (valid, name)));
        for (slot, (valid, name)) in values.iter_mut().zip(columns) {
            *slot = self.value(valid, name);
        }
        values
    }
}

/// One plain progress line for a finished split (CI logs, or `--plain`).
pub(crate) fn progress_line(
    values: &EpochValues,
    (epoch, total_epochs): (usize, usize),
    split: &str,
    images_per_second: f64,
) -> String {
    let valid = split == "valid";
    let mut line = format!(
        "epoch {epoch}/{total_epochs} {split:<5} loss {:>8.3} | reconstruction {:>8.3} | KL {:>7.3} | {images_per_second:>6.0} img/s",
        values.value(valid, Loss::NAME),
        values.value(valid, Reconstruction::NAME),
        values.value(valid, Kl::NAME),
    );
    // Objectives with k > 1 samples also log the bound they train on.
    let bound = values.value(valid, Bound::NAME);
    if !bound.is_nan() {
        line.push_str(&format!(" | IW bound {bound:>8.3}"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_without_values_reads_nan_and_the_line_names_the_epoch() {
        let values = EpochValues::default();
        assert!(values.value(false, "Loss").is_nan());
        assert!(values.row().iter().all(|v| v.is_nan()));
        let line = progress_line(&values, (2, 10), "valid", 1234.4);
        assert!(line.starts_with("epoch 2/10 valid loss"), "{line}");
        assert!(line.ends_with("1234 img/s"), "{line}");
    }
}
