//! What a run shows while it trains: Burn's TUI in a terminal, or one plain line per split
//! (CI logs); in both cases a `metrics.csv` row per epoch.
//!
//! [`RunRenderer`] receives Burn's renderer events and hands them on: to Burn's TUI when there
//! is one, to [`EpochValues`] (the epoch's metric values, hence the CSV row and the plain line)
//! and to [`DivergenceWatch`] (stops a run whose loss is not finite).

mod divergence;
mod epoch_values;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use burn::train::logger::{EvaluationProgressLogger, TrainingProgressLogger};
use burn::train::metric::MetricDefinition;
use burn::train::renderer::{
    EvaluationName, MetricState, MetricsRenderer, MetricsRendererEvaluation,
    MetricsRendererTraining,
};
use burn::train::{Interrupter, LearnerSummary};

pub use divergence::DIVERGED;
use divergence::DivergenceWatch;
use epoch_values::{EpochValues, progress_line};

use crate::run::metrics_csv;
use crate::train::step_guard::StepGuard;

/// How a run ended early, as the interrupter said before Burn's dashboard reset it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EarlyEnd {
    /// The reason given to `Interrupter::stop`, if the run was stopped.
    pub stopped: Option<String>,
    /// The training error, if one ended it.
    pub error: Option<String>,
}

/// Where the renderer leaves [`EarlyEnd`] for the caller of `launch`.
pub type EarlyEndSlot = Arc<Mutex<EarlyEnd>>;

/// Renders a run and writes `metrics.csv`; wraps Burn's TUI when one is given. Stops the
/// run (through Burn's interrupter, before the epoch is checkpointed) when an epoch's loss is
/// NaN or infinite.
pub struct RunRenderer {
    inner: Option<Box<dyn MetricsRenderer>>,
    interrupter: Interrupter,
    csv: PathBuf,
    values: EpochValues,
    divergence: DivergenceWatch,
    epoch: usize,
    total_epochs: usize,
    epoch_start: Instant,
    split: String,
    split_start: Instant,
    split_items: usize,
    train_seconds: f64,
    early_end: EarlyEndSlot,
}

impl RunRenderer {
    /// `inner`: Burn's TUI (or any renderer) to forward to; `None` prints plain lines.
    /// `interrupter`: the run's, used to stop it when the loss diverges. `guard`: the model's
    /// step guard, read after each step. `early_end`: receives how the run ended early.
    pub fn new(
        inner: Option<Box<dyn MetricsRenderer>>,
        interrupter: Interrupter,
        csv: PathBuf,
        guard: StepGuard,
        early_end: EarlyEndSlot,
    ) -> Self {
        Self {
            inner,
            divergence: DivergenceWatch::new(interrupter.clone(), guard),
            interrupter,
            csv,
            values: EpochValues::default(),
            epoch: 1,
            total_epochs: 0,
            epoch_start: Instant::now(),
            split: String::new(),
            split_start: Instant::now(),
            split_items: 0,
            train_seconds: f64::NAN,
            early_end,
        }
    }

    fn write_csv_row(&self) -> std::io::Result<()> {
        metrics_csv::append_row(
            &self.csv,
            self.epoch,
            self.values.row(),
            self.train_seconds,
            self.epoch_start.elapsed().as_secs_f64(),
        )
    }
}

impl MetricsRendererTraining for RunRenderer {
    fn update_train(&mut self, state: MetricState) {
        self.values.record(false, &state);
        self.divergence.after_step(self.epoch);
        if let Some(inner) = &mut self.inner {
            inner.update_train(state);
        }
    }

    fn update_valid(&mut self, state: MetricState) {
        self.values.record(true, &state);
        if let Some(inner) = &mut self.inner {
            inner.update_valid(state);
        }
    }

    fn on_train_end(
        &mut self,
        summary: Option<LearnerSummary>,
    ) -> Result<(), Box<dyn core::error::Error>> {
        // Burn's dashboard resets the interrupter here: keep what it says first.
        if let Ok(mut end) = self.early_end.lock() {
            end.stopped = self
                .interrupter
                .interruption()
                .map(|i| i.reason.unwrap_or_else(|| "stopped by the user".into()));
            end.error = self.interrupter.error().map(|e| e.to_string());
        }
        match &mut self.inner {
            Some(inner) => inner.on_train_end(summary),
            None => {
                if let Some(summary) = summary {
                    println!("{summary}");
                }
                Ok(())
            }
        }
    }
}

impl MetricsRendererEvaluation for RunRenderer {
    fn update_test(&mut self, name: EvaluationName, state: MetricState) {
        if let Some(inner) = &mut self.inner {
            inner.update_test(name, state);
        }
    }
}

impl TrainingProgressLogger for RunRenderer {
    fn start(
        &mut self,
        total_epochs: usize,
        starting_epoch: usize,
        total_items: Option<usize>,
        label: Option<&str>,
    ) {
        self.total_epochs = total_epochs;
        self.epoch = starting_epoch;
        self.epoch_start = Instant::now();
        if let Some(inner) = &mut self.inner {
            inner.start(total_epochs, starting_epoch, total_items, label);
        }
    }

    fn update_epoch(&mut self, epoch: usize) {
        self.epoch = epoch;
        if let Err(error) = self.write_csv_row() {
            eprintln!("warning: cannot append to {}: {error}", self.csv.display());
        }
        self.divergence.after_epoch(
            epoch,
            self.values.value(false, "Loss"),
            self.values.value(true, "Loss"),
        );
        self.epoch = epoch + 1;
        self.epoch_start = Instant::now();
        if let Some(inner) = &mut self.inner {
            inner.update_epoch(epoch);
        }
    }

    fn start_split(&mut self, split: &str, total_items: usize) {
        if split == "train" {
            self.divergence.start_epoch();
        }
        self.split = split.to_string();
        self.split_start = Instant::now();
        self.split_items = total_items;
        if let Some(inner) = &mut self.inner {
            inner.start_split(split, total_items);
        }
    }

    fn update_split(&mut self, items_processed: usize) {
        if let Some(inner) = &mut self.inner {
            inner.update_split(items_processed);
        }
    }

    fn end_split(&mut self) {
        if self.split == "train" {
            self.train_seconds = self.split_start.elapsed().as_secs_f64();
            self.divergence.end_training_phase(self.epoch);
        }
        match &mut self.inner {
            Some(inner) => inner.end_split(),
            None => {
                let seconds = self.split_start.elapsed().as_secs_f64();
                println!(
                    "{}",
                    progress_line(
                        &self.values,
                        (self.epoch, self.total_epochs),
                        &self.split,
                        self.split_items as f64 / seconds.max(1e-9),
                    )
                );
            }
        }
    }

    fn end(&mut self) {
        if let Some(inner) = &mut self.inner {
            TrainingProgressLogger::end(inner.as_mut());
        }
    }

    fn log_event_training(&mut self, event: String) {
        if let Some(inner) = &mut self.inner {
            inner.log_event_training(event);
        }
    }
}

impl EvaluationProgressLogger for RunRenderer {
    fn start_global_progress(&mut self, total_tests: usize) {
        if let Some(inner) = &mut self.inner {
            inner.start_global_progress(total_tests);
        }
    }

    fn start_test(&mut self, name: &str, total_items: usize) {
        if let Some(inner) = &mut self.inner {
            inner.start_test(name, total_items);
        }
    }

    fn update_test_progress(&mut self, items_processed: usize) {
        if let Some(inner) = &mut self.inner {
            inner.update_test_progress(items_processed);
        }
    }

    fn end_test(&mut self) {
        if let Some(inner) = &mut self.inner {
            inner.end_test();
        }
    }

    fn end_global_progress(&mut self) {
        if let Some(inner) = &mut self.inner {
            inner.end_global_progress();
        }
    }

    fn log_event_evaluation(&mut self, event: String) {
        if let Some(inner) = &mut self.inner {
            inner.log_event_evaluation(event);
        }
    }
}

impl MetricsRenderer for RunRenderer {
    fn manual_close(&mut self) {
        if let Some(inner) = &mut self.inner {
            inner.manual_close();
        }
    }

    fn register_metric(&mut self, definition: MetricDefinition) {
        self.values.register(&definition);
        if let Some(inner) = &mut self.inner {
            inner.register_metric(definition);
        }
    }
}
