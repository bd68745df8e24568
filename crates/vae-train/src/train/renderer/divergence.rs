//! Stopping a run whose loss is not finite: after a step (through the model's step guard) or
//! after an epoch (the epoch's mean losses), by giving Burn's interrupter a reason that starts
//! with [`DIVERGED`].

use burn::train::Interrupter;

use crate::train::step_guard::{NonFinitePolicy, StepGuard};

/// The start of the interruption reason given when the loss diverges.
pub const DIVERGED: &str = "the loss diverged";

/// Watches the step guard and the epoch losses; stops the run through its interrupter.
pub(crate) struct DivergenceWatch {
    interrupter: Interrupter,
    guard: StepGuard,
}

impl DivergenceWatch {
    /// Watches `guard` (the model's) and stops through `interrupter` (the run's).
    pub(crate) fn new(interrupter: Interrupter, guard: StepGuard) -> Self {
        Self { interrupter, guard }
    }

    /// A training epoch begins: the guard counts its steps from zero.
    pub(crate) fn start_epoch(&self) {
        self.guard.start_epoch();
    }

    /// After a training step: stops at the first non-finite step when the policy is `stop`.
    pub(crate) fn after_step(&self, epoch: usize) {
        if self.guard.policy() != NonFinitePolicy::Stop || self.interrupter.should_stop() {
            return;
        }
        if let Some(bad) = self.guard.report().first_non_finite {
            self.interrupter.stop(Some(&format!(
                "{DIVERGED}: the training loss was {} at epoch {epoch}, step {} (that update was \
                 not applied)",
                bad.loss, bad.step
            )));
        }
    }

    /// After the training phase of `epoch`: under the `skip` policy, says how many steps were
    /// skipped.
    pub(crate) fn end_training_phase(&self, epoch: usize) {
        let report = self.guard.report();
        if let (NonFinitePolicy::Skip, Some(first)) = (self.guard.policy(), report.first_non_finite)
        {
            eprintln!(
                "warning: epoch {epoch}: skipped {} of {} steps whose loss was not finite (the \
                 first at step {}, loss {})",
                report.non_finite_steps, report.steps, first.step, first.loss
            );
        }
    }

    /// After `epoch`, with its mean train and valid losses: stops the run if either is not
    /// finite.
    pub(crate) fn after_epoch(&self, epoch: usize, train: f64, valid: f64) {
        if !train.is_finite() || !valid.is_finite() {
            self.interrupter.stop(Some(&format!(
                "{DIVERGED}: in epoch {epoch} the train loss was {train} and the valid loss {valid}"
            )));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_non_finite_epoch_stops_the_run_with_a_reason_naming_it() {
        let interrupter = Interrupter::new();
        let watch =
            DivergenceWatch::new(interrupter.clone(), StepGuard::new(NonFinitePolicy::Stop));
        watch.after_epoch(1, 100.0, 99.0);
        assert!(!interrupter.should_stop());
        watch.after_epoch(2, f64::NAN, 99.0);
        let reason = interrupter.interruption().unwrap().reason.unwrap();
        assert!(reason.starts_with(DIVERGED), "{reason}");
        assert!(reason.contains("epoch 2"), "{reason}");
    }
}
