//! The learning-rate schedule, in epochs, built from Burn's schedulers (which count optimizer
//! steps): constant, exponential or step decay, and the IWAE paper's schedule.

use burn::optim::lr_scheduler::LrSchedulerConfig;
use burn::optim::lr_scheduler::exponential::ExponentialLrSchedulerConfig;
use burn::optim::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use burn::optim::lr_scheduler::sequential::SequentialLrSchedulerConfig;
use burn::optim::lr_scheduler::step::StepLrSchedulerConfig;
use serde::{Deserialize, Serialize};

use crate::error::InvalidConfig;

/// Stages of the IWAE paper's schedule: stage `i` (from 0) lasts `3^i` epochs.
pub const IWAE_STAGES: u32 = 8;

/// How the learning rate moves over the run, starting from `learning_rate`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum LrScheduleChoice {
    /// `learning_rate` throughout (PyTorch's `examples/vae`).
    #[default]
    Constant,
    /// Multiplied by `gamma_per_epoch` every epoch, smoothly (a factor
    /// `gamma_per_epoch^(1/steps per epoch)` each step).
    Exponential {
        /// The factor per epoch, in (0, 1].
        gamma_per_epoch: f64,
    },
    /// Multiplied by `gamma` after every `every_epochs` epochs.
    Step {
        /// Epochs between two decays.
        every_epochs: usize,
        /// The factor, in (0, 1].
        gamma: f64,
    },
    /// Burda et al. (2016), §5: for `i` = 0..7, `3^i` epochs at `learning_rate * 10^(-i/7)`
    /// (3,280 epochs in all; a shorter run stops part-way, a longer one stays at the last rate).
    Iwae,
}

impl LrScheduleChoice {
    /// `constant`, `exponential`, `step` or `iwae`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Constant => "constant",
            Self::Exponential { .. } => "exponential",
            Self::Step { .. } => "step",
            Self::Iwae => "iwae",
        }
    }

    /// Checks the factors and lengths.
    pub fn validate(self) -> Result<(), InvalidConfig> {
        let factor = |field: &str, value: f64| {
            if value.is_finite() && value > 0.0 && value <= 1.0 {
                Ok(())
            } else {
                Err(InvalidConfig::new(
                    format!("lr_schedule.{field}"),
                    format!(
                        "`lr_schedule.{field}` is {value}, but it must be in (0, 1] (a factor the \
                         learning rate is multiplied by; 1 keeps it constant)"
                    ),
                ))
            }
        };
        match self {
            Self::Constant | Self::Iwae => Ok(()),
            Self::Exponential { gamma_per_epoch } => factor("gamma_per_epoch", gamma_per_epoch),
            Self::Step {
                every_epochs,
                gamma,
            } => {
                if every_epochs == 0 {
                    return Err(InvalidConfig::new(
                        "lr_schedule.every_epochs",
                        "`lr_schedule.every_epochs` is 0, but it must be at least 1 (epochs \
                         between two decays)",
                    ));
                }
                factor("gamma", gamma)
            }
        }
    }

    /// The learning rate during epoch `epoch` (from 1) for the stepwise schedules, and at the
    /// start of the epoch for the exponential one.
    pub fn rate_in_epoch(self, learning_rate: f64, epoch: usize) -> f64 {
        let done = epoch.saturating_sub(1);
        match self {
            Self::Constant => learning_rate,
            Self::Exponential { gamma_per_epoch } => {
                learning_rate * gamma_per_epoch.powi(done as i32)
            }
            Self::Step {
                every_epochs,
                gamma,
            } => learning_rate * gamma.powi((done / every_epochs) as i32),
            Self::Iwae => {
                let stage = (0..IWAE_STAGES)
                    .find(|&i| done < iwae_stage_end(i))
                    .unwrap_or(IWAE_STAGES - 1);
                learning_rate * 10f64.powf(-f64::from(stage) / 7.0)
            }
        }
    }

    /// Burn's scheduler for epochs of `steps_per_epoch` optimizer steps.
    pub fn build(
        self,
        learning_rate: f64,
        steps_per_epoch: usize,
    ) -> Result<ModuleLrScheduler, InvalidConfig> {
        let steps_per_epoch = steps_per_epoch.max(1);
        let built = match self {
            Self::Constant => return Ok(learning_rate.into()),
            Self::Exponential { gamma_per_epoch } => ExponentialLrSchedulerConfig::new(
                learning_rate,
                gamma_per_epoch.powf(1.0 / steps_per_epoch as f64),
            )
            .init(),
            Self::Step {
                every_epochs,
                gamma,
            } => StepLrSchedulerConfig::new(
                learning_rate,
                every_epochs.saturating_mul(steps_per_epoch),
            )
            .with_gamma(gamma)
            .init(),
            Self::Iwae => {
                let rates = (0..IWAE_STAGES)
                    .map(|i| {
                        LrSchedulerConfig::Constant(
                            self.rate_in_epoch(learning_rate, iwae_stage_end(i)),
                        )
                    })
                    .collect();
                let milestones = (0..IWAE_STAGES - 1)
                    .map(|i| iwae_stage_end(i) * steps_per_epoch)
                    .collect();
                SequentialLrSchedulerConfig::new(rates, milestones).init()
            }
        };
        built.map_err(|reason| {
            InvalidConfig::new(
                "lr_schedule",
                format!("`lr_schedule` ({}) cannot be built: {reason}", self.name()),
            )
        })
    }
}

/// Epochs completed at the end of IWAE stage `i`: `Σ_{j<=i} 3^j = (3^(i+1) - 1) / 2`.
fn iwae_stage_end(stage: u32) -> usize {
    (3usize.pow(stage + 1) - 1) / 2
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The base learning rate of each of the first `steps` steps of `schedule`.
    fn rates(schedule: LrScheduleChoice, steps_per_epoch: usize, steps: usize) -> Vec<f64> {
        let mut scheduler = schedule.build(1e-3, steps_per_epoch).unwrap();
        (0..steps).map(|_| scheduler.step().base()).collect()
    }

    #[test]
    fn the_iwae_schedule_holds_3_to_the_i_epochs_at_each_rate() {
        // Stages end after epochs 1, 4, 13, 40, ...: with 2 steps per epoch, the rate changes
        // after steps 2, 8 and 26.
        let lr = rates(LrScheduleChoice::Iwae, 2, 30);
        let stage = |i: i32| 1e-3 * 10f64.powf(-f64::from(i) / 7.0);
        for (step, rate) in lr.iter().enumerate() {
            let expected = match step {
                0..2 => stage(0),
                2..8 => stage(1),
                8..26 => stage(2),
                _ => stage(3),
            };
            assert!(
                (rate - expected).abs() < 1e-15,
                "step {step}: {rate} vs {expected}"
            );
        }
        assert_eq!(iwae_stage_end(IWAE_STAGES - 1), 3280);
        let last = LrScheduleChoice::Iwae.rate_in_epoch(1e-3, 3280);
        assert!((last - 1e-4).abs() < 1e-15, "{last}");
    }

    #[test]
    fn step_and_exponential_decay_per_epoch() {
        let step = LrScheduleChoice::Step {
            every_epochs: 2,
            gamma: 0.5,
        };
        let lr = rates(step, 3, 12);
        assert_eq!(&lr[..6], &[1e-3; 6]);
        assert_eq!(&lr[6..], &[5e-4; 6]);
        let exponential = LrScheduleChoice::Exponential {
            gamma_per_epoch: 0.9,
        };
        let lr = rates(exponential, 4, 9);
        // One epoch (4 steps) later the rate has fallen by 0.9.
        assert!((lr[4] / lr[0] - 0.9).abs() < 1e-12, "{lr:?}");
        assert!((lr[8] - exponential.rate_in_epoch(1e-3, 3)).abs() < 1e-15);
        assert!(
            LrScheduleChoice::Step {
                every_epochs: 0,
                gamma: 0.5
            }
            .validate()
            .is_err()
        );
        assert!(
            LrScheduleChoice::Exponential {
                gamma_per_epoch: 1.5
            }
            .validate()
            .is_err()
        );
    }
}
