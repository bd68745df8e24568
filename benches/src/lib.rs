//! Throughput and memory measurements of burn-vae, used by the `throughput` bench target
//! (`cargo bench --workspace --bench throughput`), which also runs the PyTorch reference in
//! `benches/pytorch/throughput.py` and prints both side by side.

pub mod memory;
pub mod reference;
pub mod stats;
pub mod table;
pub mod workloads;
