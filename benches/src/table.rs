//! The side-by-side table the bench prints (Markdown, so that it pastes into the README).

use std::fmt::Write;

/// One line of the table: our figure and, when measured, PyTorch's.
#[derive(Debug, Clone)]
pub struct Line {
    /// `train step`, `inference`, `Learner epoch` or `matmul`.
    pub workload: String,
    /// Model name (or matrix size).
    pub model: String,
    /// Batch size (empty for `matmul`).
    pub batch: String,
    /// The backend that ran our figure.
    pub backend: String,
    /// Our rate (images/s, or GFLOP/s for `matmul`).
    pub ours: f64,
    /// PyTorch's rate, if measured.
    pub pytorch: Option<f64>,
    /// FLOPs per image, to express rates as a fraction of the machine's matmul peak.
    pub flops_per_item: Option<f64>,
    /// Our peak memory, MiB.
    pub ours_mib: Option<f64>,
    /// PyTorch's peak memory, MiB.
    pub pytorch_mib: Option<f64>,
}

fn or_dash(value: Option<f64>, format: impl Fn(f64) -> String) -> String {
    value.map(format).unwrap_or_else(|| "–".into())
}

/// Renders `lines`; `peak_gflops` is the machine's achievable matmul rate.
pub fn render(lines: &[Line], peak_gflops: f64) -> String {
    let mut out = String::new();
    out.push_str(
        "| workload | model | batch | backend | burn-vae | PyTorch | burn-vae / PyTorch | \
         burn-vae % of matmul peak | PyTorch % of matmul peak | peak MiB burn-vae | peak MiB PyTorch |\n",
    );
    out.push_str("|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|\n");
    let rate = |v: f64| format!("{v:.0}");
    let percent = |flops: Option<f64>, rate: Option<f64>| match (flops, rate) {
        (Some(f), Some(r)) if peak_gflops > 0.0 => {
            format!("{:.0}%", 100.0 * f * r / 1e9 / peak_gflops)
        }
        _ => "–".into(),
    };
    for line in lines {
        let ratio = line
            .pytorch
            .map(|p| format!("**{:.2}×**", line.ours / p))
            .unwrap_or_else(|| "–".into());
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            line.workload,
            line.model,
            line.batch,
            line.backend,
            rate(line.ours),
            or_dash(line.pytorch, rate),
            ratio,
            percent(line.flops_per_item, Some(line.ours)),
            percent(line.flops_per_item, line.pytorch),
            or_dash(line.ours_mib, |m| format!("{m:.0}")),
            or_dash(line.pytorch_mib, |m| format!("{m:.0}")),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_and_fraction_of_peak() {
        let line = Line {
            workload: "train step".into(),
            model: "784-400-20".into(),
            batch: "128".into(),
            backend: "flex".into(),
            ours: 15_000.0,
            pytorch: Some(12_000.0),
            flops_per_item: Some(4e6),
            ours_mib: Some(300.0),
            pytorch_mib: None,
        };
        let table = render(&[line], 150.0);
        let row = table.lines().nth(2).unwrap();
        // 15000 / 12000 = 1.25; 15000 * 4 MFLOP = 60 GFLOP/s = 40% of 150.
        assert!(row.contains("**1.25×**"), "{row}");
        assert!(row.contains("| 40% | 32% |"), "{row}");
        assert!(row.ends_with("| 300 | – |"), "{row}");
    }
}
