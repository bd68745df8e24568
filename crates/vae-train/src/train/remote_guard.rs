//! Training on a remote device: Burn's remote client panics when the server goes away in the
//! middle of a step (tensor operations have no error path). [`LostServerGuard`] turns such a
//! panic into an error the caller can explain, without the panic's own report on standard error;
//! any other panic keeps its report and unwinds as before.

use std::panic::{AssertUnwindSafe, PanicHookInfo, catch_unwind, resume_unwind};
use std::sync::{Arc, Mutex};

use crate::remote::{one_line, panic_text as message};

/// The texts of Burn's remote client's panics when its session breaks (burn-remote 0.22.1:
/// `client/runner.rs`, `client/base.rs`, `client/service.rs`).
const LOST_SESSION: [&str; 5] = [
    "Failed to read tensor",
    "Service call failed",
    "Remote response channel closed",
    "remote session",
    "RecvError",
];

type Hook = Box<dyn Fn(&PanicHookInfo<'_>) + Sync + Send + 'static>;

/// A panic hook that records the first lost-session panic (of any thread) and passes every
/// other panic to the hook it replaced. Install it before Burn's terminal dashboard, which
/// chains its own hook (the one that restores the terminal) in front of it; dropping it puts
/// the replaced hook back.
pub(super) struct LostServerGuard {
    first: Arc<Mutex<Option<String>>>,
    previous: Arc<Mutex<Option<Hook>>>,
}

impl LostServerGuard {
    /// Installs the hook.
    pub(super) fn install() -> Self {
        let first: Arc<Mutex<Option<String>>> = Arc::default();
        let previous = Arc::new(Mutex::new(Some(std::panic::take_hook())));
        let (record, chained) = (first.clone(), previous.clone());
        std::panic::set_hook(Box::new(move |info| {
            let text = message(info.payload());
            if is_lost_session(&text) {
                if let Ok(mut first) = record.lock() {
                    first.get_or_insert(text);
                }
            } else if let Ok(previous) = chained.lock()
                && let Some(previous) = previous.as_ref()
            {
                previous(info);
            }
        }));
        Self { first, previous }
    }

    /// Runs `work`. `Err(message)` when it panicked after a lost-session panic (the first such
    /// message, on one line); any other panic unwinds on.
    pub(super) fn run<T>(&self, work: impl FnOnce() -> T) -> Result<T, String> {
        match catch_unwind(AssertUnwindSafe(work)) {
            Ok(value) => Ok(value),
            Err(payload) => match self.lost_session() {
                Some(text) => Err(text),
                None => resume_unwind(payload),
            },
        }
    }

    /// The first lost-session panic so far (also one in a worker thread that Burn caught).
    pub(super) fn lost_session(&self) -> Option<String> {
        self.first.lock().ok().and_then(|first| first.clone())
    }
}

impl Drop for LostServerGuard {
    fn drop(&mut self) {
        if let Some(previous) = self.previous.lock().ok().and_then(|mut p| p.take()) {
            std::panic::set_hook(previous);
        }
    }
}

/// Whether a panic's text is one of Burn's remote client's lost-session panics.
fn is_lost_session(text: &str) -> bool {
    LOST_SESSION.iter().any(|marker| text.contains(marker))
}

/// `error` on one line, if it reports a lost session (Burn's training error after a worker or
/// its metric processing failed to read from the server).
pub(super) fn lost_session_in(error: &str) -> Option<String> {
    is_lost_session(error).then(|| one_line(error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_lost_session_becomes_an_error() {
        let guard = LostServerGuard::install();
        assert_eq!(guard.run(|| 7), Ok(7));
        let error = guard
            .run(|| -> u8 { panic!("Failed to read tensor:\n  RecvError(())") })
            .unwrap_err();
        assert_eq!(error, "Failed to read tensor: RecvError(())");
        drop(guard);
        // Another panic is not blamed on the network: it unwinds on.
        let guard = LostServerGuard::install();
        let other = catch_unwind(AssertUnwindSafe(|| {
            guard.run(|| -> u8 { panic!("index out of bounds") })
        }));
        let payload = other.expect_err("the panic unwinds on");
        assert_eq!(message(payload.as_ref()), "index out of bounds");
        assert_eq!(guard.lost_session(), None);
        drop(guard);
        assert!(is_lost_session("Service call failed: Closed"));
        assert!(!is_lost_session("attempt to divide by zero"));
        assert_eq!(
            lost_session_in("Event processing failed:\n  Failed to read tensor: RecvError(())"),
            Some("Event processing failed: Failed to read tensor: RecvError(())".into())
        );
        assert_eq!(lost_session_in("disk full"), None);
    }
}
