//! A guard on each training step's loss: a NaN or infinite loss is caught before its gradients
//! reach the optimizer, and either stops the run or skips that one update.
//! [`TrainingVae`](crate::train::step::TrainingVae) checks; the renderer reads the report.

use std::sync::{Arc, Mutex};

/// What to do when a training step's loss is NaN or infinite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NonFinitePolicy {
    /// Skip the update and ask the training loop to stop (the default).
    #[default]
    Stop,
    /// Skip the update and carry on with the next batch.
    Skip,
}

/// A step whose loss was not finite.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NonFiniteStep {
    /// The step within the epoch, from 1.
    pub step: usize,
    /// The loss (sum over the batch) that step computed.
    pub loss: f64,
}

/// What the guard has seen since the epoch started.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GuardReport {
    /// Steps checked.
    pub steps: usize,
    /// The first non-finite step, if any.
    pub first_non_finite: Option<NonFiniteStep>,
    /// How many steps had a non-finite loss (and were not applied).
    pub non_finite_steps: usize,
}

/// Shared by the training step (which checks) and the training loop (which reads the
/// report); clones share one report.
#[derive(Debug, Clone, Default)]
pub struct StepGuard {
    policy: NonFinitePolicy,
    report: Arc<Mutex<GuardReport>>,
}

impl StepGuard {
    /// A guard applying `policy`.
    pub fn new(policy: NonFinitePolicy) -> Self {
        Self {
            policy,
            report: Arc::default(),
        }
    }

    /// The policy.
    pub fn policy(&self) -> NonFinitePolicy {
        self.policy
    }

    /// Counts one step with loss `loss`; `true` if its update may be applied.
    pub fn check(&self, loss: f64) -> bool {
        let mut report = self.report.lock().unwrap_or_else(|e| e.into_inner());
        report.steps += 1;
        if loss.is_finite() {
            return true;
        }
        report.non_finite_steps += 1;
        let step = report.steps;
        report
            .first_non_finite
            .get_or_insert(NonFiniteStep { step, loss });
        false
    }

    /// Starts counting a new epoch.
    pub fn start_epoch(&self) {
        *self.report.lock().unwrap_or_else(|e| e.into_inner()) = GuardReport::default();
    }

    /// What the guard has seen this epoch.
    pub fn report(&self) -> GuardReport {
        self.report
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_steps_and_remembers_the_first_bad_one() {
        let guard = StepGuard::new(NonFinitePolicy::Skip);
        let shared = guard.clone();
        assert!(guard.check(10.0));
        assert!(!guard.check(f64::NAN));
        assert!(!guard.check(f64::INFINITY));
        let report = shared.report();
        assert_eq!((report.steps, report.non_finite_steps), (3, 2));
        assert_eq!(report.first_non_finite.unwrap().step, 2);
        shared.start_epoch();
        assert_eq!(guard.report(), GuardReport::default());
    }
}
