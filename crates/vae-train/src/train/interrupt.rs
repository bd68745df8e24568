//! Ctrl-C (SIGINT) and SIGTERM during training: the first stops the run after the current
//! step through Burn's interrupter (the partial epoch is dropped; the checkpoints of the
//! completed epochs stay, and `vae train --resume` continues from the last one exactly); a
//! second one exits at once. Checkpoints are written atomically, so even that loses nothing
//! already saved.
//!
//! Burn's terminal dashboard puts the terminal in raw mode, where Ctrl-C is a key, not a
//! signal: there, press `q` and then `s` (its own stop), or use `--plain`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use burn::train::Interrupter;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// The reason given to the interrupter on Ctrl-C.
pub const INTERRUPTED: &str = "interrupted (Ctrl-C or SIGTERM)";

/// Listens for the signals. Once dropped (training over), a signal exits the process with status
/// 130, as it would have without a handler: signal-hook cannot restore the default action.
pub struct SignalStop {
    finished: Arc<AtomicBool>,
}

impl SignalStop {
    /// Starts listening; the first signal stops `interrupter`, a second one exits with status 130.
    pub fn install(interrupter: Interrupter) -> std::io::Result<Self> {
        let mut signals = Signals::new([SIGINT, SIGTERM])?;
        let finished = Arc::new(AtomicBool::new(false));
        let over = finished.clone();
        let seen = AtomicBool::new(false);
        std::thread::Builder::new()
            .name("vae-signals".into())
            .spawn(move || {
                for _ in signals.forever() {
                    if over.load(Ordering::SeqCst) {
                        std::process::exit(130);
                    }
                    if seen.swap(true, Ordering::SeqCst) {
                        eprintln!("second interrupt: exiting now (saved checkpoints are intact)");
                        std::process::exit(130);
                    }
                    eprintln!("\ninterrupt: stopping after the current step (again to exit now)");
                    interrupter.stop(Some(INTERRUPTED));
                }
            })?;
        Ok(Self { finished })
    }
}

impl Drop for SignalStop {
    fn drop(&mut self) {
        self.finished.store(true, Ordering::SeqCst);
    }
}
