//! Training on a remote device: Burn's remote client panics when the server goes away in the
//! middle of a step (tensor operations have no error path). This turns that panic into an
//! error the caller can explain, without the panic's own report on standard error.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};

/// Runs `work`; a panic in it (or in a thread it starts meanwhile) becomes `Err(message)`,
/// the first panic's message on one line.
pub(super) fn run<T>(work: impl FnOnce() -> T) -> Result<T, String> {
    let first: Arc<Mutex<Option<String>>> = Arc::default();
    let previous = std::panic::take_hook();
    let record = first.clone();
    std::panic::set_hook(Box::new(move |info| {
        if let Ok(mut first) = record.lock() {
            first.get_or_insert_with(|| message(info.payload()));
        }
    }));
    let outcome = catch_unwind(AssertUnwindSafe(work));
    std::panic::set_hook(previous);
    outcome.map_err(|payload| {
        first
            .lock()
            .ok()
            .and_then(|first| first.clone())
            .unwrap_or_else(|| message(payload.as_ref()))
    })
}

/// A panic payload's text.
fn message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into());
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_its_message_and_a_value_passes_through() {
        assert_eq!(run(|| 7), Ok(7));
        let error = run(|| -> u8 { panic!("Remote response channel closed") }).unwrap_err();
        assert_eq!(error, "Remote response channel closed");
        let error =
            run(|| -> u8 { panic!("read failed\nCaused by:\n  device {}", 1) }).unwrap_err();
        assert_eq!(error, "read failed Caused by: device 1");
    }
}
