//! Why a training run ended early, read once from the reason Burn's interrupter carries (a
//! string in Burn's API) into a [`StopReason`] that the rest of the crate matches on.

use std::fmt;

use crate::train::interrupt::INTERRUPTED;
use crate::train::renderer::DIVERGED;

/// Why a run stopped before its last epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// The loss was not finite (or exploded); the text says where.
    Diverged(String),
    /// Ctrl-C or SIGTERM.
    Interrupted,
    /// Any other stop (Burn's dashboard, another reason), with its text.
    Other(String),
}

impl StopReason {
    /// Reads the reason given to Burn's interrupter (`None`: a stop without a reason).
    pub fn from_interrupter(reason: Option<String>) -> Self {
        match reason {
            Some(text) if text.starts_with(DIVERGED) => Self::Diverged(text),
            Some(text) if text == INTERRUPTED => Self::Interrupted,
            Some(text) => Self::Other(text),
            None => Self::Other("stopped by the user".into()),
        }
    }
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Diverged(text) | Self::Other(text) => f.write_str(text),
            Self::Interrupted => f.write_str(INTERRUPTED),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_reason_the_crate_gives_reads_back_as_its_kind() {
        let diverged = format!("{DIVERGED}: the training loss was NaN at epoch 1, step 3");
        assert_eq!(
            StopReason::from_interrupter(Some(diverged.clone())),
            StopReason::Diverged(diverged)
        );
        assert_eq!(
            StopReason::from_interrupter(Some(INTERRUPTED.into())),
            StopReason::Interrupted
        );
        assert!(matches!(
            StopReason::from_interrupter(None),
            StopReason::Other(_)
        ));
        assert_eq!(StopReason::Interrupted.to_string(), INTERRUPTED);
    }
}
