//! Peak resident memory of this process, from Linux's `/proc/self/status` (`VmHWM`).
//!
//! The peak is reset before each measured row by writing `5` to `/proc/self/clear_refs`, so
//! each row reports its own peak. Elsewhere than Linux both functions report nothing.

/// Resets the peak-RSS counter; `false` if the kernel does not allow it.
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The peak resident set size since the last reset, in MiB.
pub fn peak_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_kib(&status, "VmHWM:").map(|kib| kib as f64 / 1024.0)
}

fn parse_kib(status: &str, key: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_kib_figure() {
        let status = "Name:\tx\nVmHWM:\t  123456 kB\nVmRSS:\t 100 kB\n";
        assert_eq!(parse_kib(status, "VmHWM:"), Some(123456));
        assert_eq!(parse_kib(status, "VmPeak:"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn peak_grows_with_a_large_allocation() {
        assert!(reset_peak());
        let before = peak_mib().unwrap();
        let block = std::hint::black_box(vec![1u8; 64 << 20]);
        let after = peak_mib().unwrap();
        assert!(after >= before + 60.0, "{before} -> {after} MiB");
        drop(block);
    }
}
