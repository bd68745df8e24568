//! The PyTorch reference: runs `benches/pytorch/throughput.py` and reads its JSON report.

use std::path::Path;
use std::process::Command;

use serde::Deserialize;

/// Environment variable naming the Python interpreter that has `torch` (default `python3`).
pub const PYTHON_ENV: &str = "VAE_BENCH_PYTHON";

/// What the reference script reports.
#[derive(Debug, Clone, Deserialize)]
pub struct ReferenceReport {
    /// `torch.__version__`.
    pub torch_version: String,
    /// `torch.get_num_threads()` during the run.
    pub threads: usize,
    /// `cpu`, or the CUDA device's name when the reference ran on a GPU.
    #[serde(default = "cpu")]
    pub device: String,
    /// One entry per measured row.
    pub rows: Vec<ReferenceRow>,
}

fn cpu() -> String {
    "cpu".into()
}

/// One measured row of the reference.
#[derive(Debug, Clone, Deserialize)]
pub struct ReferenceRow {
    /// `matmul`, `train`, `infer` or `epoch`.
    pub kind: String,
    /// Model name such as `784-400-20` (empty for `matmul`).
    #[serde(default)]
    pub model: String,
    /// Batch size (matrix size for `matmul`).
    pub batch: usize,
    /// Images/s (GFLOP/s for `matmul`).
    pub rate: f64,
    /// Peak resident memory during the row, MiB.
    pub peak_mib: Option<f64>,
}

impl ReferenceReport {
    /// The row of this kind, model and batch, if measured.
    pub fn find(&self, kind: &str, model: &str, batch: usize) -> Option<&ReferenceRow> {
        self.rows
            .iter()
            .find(|r| r.kind == kind && r.model == model && r.batch == batch)
    }
}

/// Runs the reference script with `args`; an error says how to install PyTorch.
pub fn run(script: &Path, args: &[String]) -> Result<ReferenceReport, String> {
    let python = std::env::var(PYTHON_ENV).unwrap_or_else(|_| "python3".into());
    let output = Command::new(&python)
        .arg(script)
        .args(args)
        .output()
        .map_err(|e| {
            format!("cannot start `{python}`: {e}. Set {PYTHON_ENV} to a Python with torch")
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().last().unwrap_or("").to_string();
        return Err(format!(
            "`{python} {}` failed ({last}). Install the reference with `pip install torch numpy`, \
             or point {PYTHON_ENV} at a Python that has it",
            script.display()
        ));
    }
    parse(&String::from_utf8_lossy(&output.stdout))
}

/// Parses the script's report (the last line of its standard output).
pub fn parse(stdout: &str) -> Result<ReferenceReport, String> {
    let line = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .ok_or("the PyTorch reference printed nothing")?;
    serde_json::from_str(line)
        .map_err(|e| format!("the PyTorch reference's report is not valid: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_rows_by_kind_model_and_batch() {
        let report = parse(
            "warming up\n{\"torch_version\":\"2.15\",\"threads\":2,\"rows\":[\
             {\"kind\":\"matmul\",\"batch\":1024,\"rate\":150.0,\"peak_mib\":null},\
             {\"kind\":\"train\",\"model\":\"784-400-20\",\"batch\":128,\"rate\":13000.0,\"peak_mib\":300.5}]}\n",
        )
        .unwrap();
        assert_eq!(report.threads, 2);
        assert_eq!(
            report.device, "cpu",
            "reports without a device ran on the CPU"
        );
        assert_eq!(
            report.find("train", "784-400-20", 128).unwrap().rate,
            13000.0
        );
        assert!(report.find("train", "784-400-20", 1024).is_none());
        assert_eq!(report.find("matmul", "", 1024).unwrap().peak_mib, None);
    }

    #[test]
    fn a_gpu_report_names_its_device() {
        let report = parse(
            "{\"torch_version\":\"2.15\",\"threads\":16,\"device\":\"NVIDIA H200\",\"rows\":[]}",
        )
        .unwrap();
        assert_eq!(report.device, "NVIDIA H200");
    }

    #[test]
    fn a_garbled_report_is_an_error() {
        assert!(parse("").is_err());
        assert!(parse("{\"rows\": 3}").is_err());
    }
}
