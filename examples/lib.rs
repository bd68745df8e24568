//! Runnable examples of burn-vae live next to this file; see `custom_loop.rs`.
