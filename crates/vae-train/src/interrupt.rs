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
use signal_hook::iterator::{Handle, Signals};

/// The reason given to the interrupter on Ctrl-C.
pub const INTERRUPTED: &str = "interrupted (Ctrl-C or SIGTERM)";

/// Listens for the signals while alive.
pub struct SignalStop {
    handle: Handle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SignalStop {
    /// Starts listening; each signal stops `interrupter`, a second one exits with status 130.
    pub fn install(interrupter: Interrupter) -> std::io::Result<Self> {
        let mut signals = Signals::new([SIGINT, SIGTERM])?;
        let handle = signals.handle();
        let seen = Arc::new(AtomicBool::new(false));
        let thread = std::thread::Builder::new()
            .name("vae-signals".into())
            .spawn(move || {
                for _ in signals.forever() {
                    if seen.swap(true, Ordering::SeqCst) {
                        eprintln!("second interrupt: exiting now (saved checkpoints are intact)");
                        std::process::exit(130);
                    }
                    eprintln!("\ninterrupt: stopping after the current step (again to exit now)");
                    interrupter.stop(Some(INTERRUPTED));
                }
            })?;
        Ok(Self {
            handle,
            thread: Some(thread),
        })
    }
}

impl Drop for SignalStop {
    fn drop(&mut self) {
        self.handle.close();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
