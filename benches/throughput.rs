//! `cargo bench --workspace --bench throughput`: burn-vae's training step (MLP and conv),
//! inference, the importance-weighted evaluation and Learner epoch in images/s per backend,
//! beside PyTorch on the same machine, with the machine's matmul rate and each row's peak
//! memory. See README.md, "Speed".
//!
//! Options go after `--`, e.g. `cargo bench --workspace --bench throughput -- --backends flex`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Parser;
use vae_benches::reference::{self, ReferenceReport};
use vae_benches::stats::median;
use vae_benches::table::{Line, render};
use vae_benches::workloads::{
    EVAL_BATCH, EVAL_SAMPLES, Effort, HostPasses, ModelShape, config_train_step_rate, conv_config,
    conv_forward_macs, conv_model_name, evaluate_rate, inference_rate, learner_epoch_rate,
    matmul_gflops, train_step_rate,
};
use vae_train::backend::Backend;
use vae_train::config::NetworkChoice;
use vae_train::data::{ImageData, MNIST_DIR_ENV, Split};

/// Burn's CPU backends allocate large temporaries every step (matmul packing buffers,
/// activations). glibc's malloc hands blocks this large back to the kernel on free and
/// page-faults them in again, which made each matmul of a training step 1.5-4x slower;
/// mimalloc reuses them (README, "Speed").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(about = "burn-vae throughput beside PyTorch")]
struct Args {
    /// Backends to measure (compiled ones only: ndarray needs `--features vae-benches/ndarray`).
    #[arg(long, value_delimiter = ',', default_value = "flex")]
    backends: Vec<Backend>,
    /// Batch sizes of the training-step rows.
    #[arg(long, value_delimiter = ',', default_value = "128,1024")]
    batches: Vec<usize>,
    /// Workloads to measure: matmul, train, conv (the training step of configs/mnist-conv.json),
    /// infer, evaluate, epoch.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "matmul,train,conv,infer,evaluate,epoch"
    )]
    workloads: Vec<String>,
    /// Timed repeats per row (the median is reported).
    #[arg(long, default_value_t = 7)]
    repeats: usize,
    /// Images per timed repeat.
    #[arg(long, default_value_t = 8192)]
    images_per_repeat: usize,
    /// Epochs of the Learner rows (0 skips them).
    #[arg(long, default_value_t = 2)]
    epochs: usize,
    /// Rounds of (burn-vae, PyTorch); each figure is the median over rounds.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Skip the PyTorch reference.
    #[arg(long)]
    no_pytorch: bool,
    /// Train-step rows with Burn's Adam in place of the host pass `vae train` uses on flex (to
    /// compare the two).
    #[arg(long)]
    burn_adam: bool,
    /// Train-step, inference and evaluate rows with Burn's `Linear` and activations in place of
    /// the fused layers `vae` uses on flex (to compare the two; the Learner-epoch row runs `vae
    /// train`, which makes its own choice).
    #[arg(long)]
    burn_linear: bool,
    /// Where the PyTorch reference runs: `cpu`, or `cuda` / `cuda:N` for the GPU rows (its
    /// peak memory is then the GPU memory PyTorch allocated, not the resident set).
    #[arg(long, default_value = "cpu")]
    pytorch_device: String,
    /// Folder of the MNIST IDX files (default: $VAE_MNIST_DIR).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

const MATMUL_N: usize = 1024;
/// The evaluate row's name: images/s of the importance-weighted estimate at K samples.
const EVALUATE: &str = "evaluate, K = 1000";
const _: () = assert!(EVAL_SAMPLES == 1000, "EVALUATE names K");
const INFERENCE_BATCH: usize = 1024;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let data_dir = args
        .data_dir
        .clone()
        .or_else(|| std::env::var_os(MNIST_DIR_ENV).map(PathBuf::from))
        .with_context(|| {
            format!("the benchmark trains on real MNIST: pass --data-dir or set {MNIST_DIR_ENV}")
        })?;
    let data = ImageData::from_dir(Split::Train, &data_dir)?;
    let pixels: Vec<f32> = (0..4096)
        .flat_map(|i| data.pixels(i).iter().map(|&p| p as f32 / 255.0))
        .collect();
    drop(data);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let shapes = [
        ModelShape { hidden: vec![400] },
        ModelShape {
            hidden: vec![512, 256],
        },
    ];
    let effort = |batch: usize| Effort {
        warmup_steps: 3,
        steps: (args.images_per_repeat / batch).max(1),
        repeats: args.repeats,
    };

    // Rounds alternate burn-vae and PyTorch so that a machine slowing down or speeding up
    // during the run does not favour either; each figure is the median over rounds.
    let mut ours_rounds = Vec::new();
    let mut reference_rounds = Vec::new();
    let mut torch: Option<(String, usize, String)> = None;
    for round in 1..=args.rounds {
        eprintln!("round {round} of {}", args.rounds);
        ours_rounds.push(measure_ours(&args, &data_dir, &pixels, &shapes, effort)?);
        if !args.no_pytorch {
            match run_reference(&args, &data_dir, threads) {
                Ok(report) => {
                    torch = Some((
                        report.torch_version.clone(),
                        report.threads,
                        report.device.clone(),
                    ));
                    reference_rounds.push(report);
                }
                Err(error) => eprintln!("PyTorch reference not measured: {error}"),
            }
        }
    }
    let mut lines = ours_rounds[0].clone();
    for (i, line) in lines.iter_mut().enumerate() {
        let rates: Vec<f64> = ours_rounds.iter().map(|r| r[i].ours).collect();
        line.ours = median(&rates);
        let peaks: Vec<f64> = ours_rounds.iter().filter_map(|r| r[i].ours_mib).collect();
        line.ours_mib = peaks.iter().copied().reduce(f64::max);
    }
    let mut peak_gflops = lines
        .iter()
        .filter(|l| l.workload.starts_with("matmul"))
        .map(|l| l.ours)
        .fold(0.0, f64::max);
    if !reference_rounds.is_empty() {
        let reference_peak = attach_medians(&mut lines, &reference_rounds);
        peak_gflops = peak_gflops.max(reference_peak);
    }

    let mut header = format!(
        "burn-vae throughput, {threads} threads, images/s (median of {} repeats, median over {} \
         rounds)",
        args.repeats, args.rounds
    );
    if let Some((version, threads, device)) = torch {
        if device == "cpu" {
            header.push_str(&format!("; PyTorch {version} with {threads} threads"));
        } else {
            header.push_str(&format!(
                "; PyTorch {version} on {device} (its peak MiB: GPU memory allocated; burn-vae's: \
                 resident host memory)"
            ));
        }
    }
    if lines.is_empty() {
        bail!("nothing measured: name at least one compiled backend with --backends");
    }
    println!("{header}. Matmul peak: {peak_gflops:.1} GFLOP/s (best of the rows below).\n");
    println!("{}", render(&lines, peak_gflops));
    Ok(())
}

/// One round of burn-vae's rows, for every backend asked for.
fn measure_ours(
    args: &Args,
    data_dir: &std::path::Path,
    pixels: &[f32],
    shapes: &[ModelShape],
    effort: impl Fn(usize) -> Effort,
) -> anyhow::Result<Vec<Line>> {
    let mut lines = Vec::new();
    for &backend in &args.backends {
        let device = backend.device()?;
        let name = backend.label().to_string();
        eprintln!("measuring {name} ...");
        let wants = |w: &str| args.workloads.iter().any(|x| x == w);
        let host = HostPasses {
            on: backend == Backend::Flex,
            burn_adam: args.burn_adam,
            burn_linear: args.burn_linear,
        };
        if wants("matmul") {
            let matmul = matmul_gflops(
                &device,
                MATMUL_N,
                Effort {
                    warmup_steps: 2,
                    steps: 4,
                    repeats: args.repeats,
                },
            );
            lines.push(Line {
                workload: "matmul GFLOP/s".into(),
                model: format!("{MATMUL_N}×{MATMUL_N}×{MATMUL_N}"),
                batch: String::new(),
                backend: name.clone(),
                ours: matmul.rate,
                pytorch: None,
                flops_per_item: None,
                ours_mib: matmul.peak_mib,
                pytorch_mib: None,
            });
        }
        for shape in shapes.iter().filter(|_| wants("train")) {
            for &batch in &args.batches {
                let m = train_step_rate(&device, host, shape, batch, pixels, effort(batch));
                lines.push(line(
                    "train step",
                    shape,
                    batch,
                    &name,
                    m.rate,
                    Some(shape.train_flops()),
                    m.peak_mib,
                ));
            }
        }
        if wants("conv") {
            let config = conv_config()?;
            let m = config_train_step_rate(
                &device,
                backend == Backend::Flex,
                &config,
                pixels,
                effort(config.batch_size),
            )?;
            let flops = match &config.network {
                NetworkChoice::Conv { conv_channels, .. } => {
                    Some(6.0 * conv_forward_macs(conv_channels, config.model.latent_dim) as f64)
                }
                NetworkChoice::Mlp => None,
            };
            lines.push(Line {
                workload: "train step".into(),
                model: conv_model_name(&config),
                batch: config.batch_size.to_string(),
                backend: name.clone(),
                ours: m.rate,
                pytorch: None,
                flops_per_item: flops,
                ours_mib: m.peak_mib,
                pytorch_mib: None,
            });
        }
        for shape in shapes.iter().filter(|_| wants("infer")) {
            let m = inference_rate(
                &device,
                host,
                shape,
                INFERENCE_BATCH,
                pixels,
                effort(INFERENCE_BATCH),
            );
            lines.push(line(
                "inference",
                shape,
                INFERENCE_BATCH,
                &name,
                m.rate,
                Some(shape.inference_flops()),
                m.peak_mib,
            ));
        }
        if wants("evaluate") {
            let shape = &shapes[0];
            let m = evaluate_rate(&device, host, shape, pixels, args.repeats);
            lines.push(line(
                EVALUATE,
                shape,
                EVAL_BATCH,
                &name,
                m.rate,
                Some(shape.evaluate_flops()),
                m.peak_mib,
            ));
        }
        if args.epochs > 0 && wants("epoch") {
            let shape = &shapes[0];
            let m = learner_epoch_rate(backend, data_dir, shape, 128, args.epochs, 1000)?;
            lines.push(line(
                "Learner epoch (60k)",
                shape,
                128,
                &name,
                m.rate,
                Some(shape.train_flops()),
                m.peak_mib,
            ));
        }
    }

    Ok(lines)
}

/// One round of the PyTorch reference, on the same rows.
fn run_reference(
    args: &Args,
    data_dir: &std::path::Path,
    threads: usize,
) -> Result<ReferenceReport, String> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("pytorch/throughput.py");
    let batches: Vec<String> = args.batches.iter().map(usize::to_string).collect();
    let py_args = vec![
        "--threads".to_string(),
        threads.to_string(),
        "--data-dir".into(),
        data_dir.display().to_string(),
        "--batches".into(),
        batches.join(","),
        "--repeats".into(),
        args.repeats.to_string(),
        "--images-per-repeat".into(),
        args.images_per_repeat.to_string(),
        "--epochs".into(),
        args.epochs.to_string(),
        "--workloads".into(),
        args.workloads.join(","),
        "--matmul-n".into(),
        MATMUL_N.to_string(),
        "--device".into(),
        args.pytorch_device.clone(),
    ];
    reference::run(&script, &py_args)
}

/// Fills in PyTorch's medians over rounds (and its largest peak memory); returns its best
/// matmul rate.
fn attach_medians(lines: &mut [Line], reports: &[ReferenceReport]) -> f64 {
    let filled: Vec<Vec<Line>> = reports
        .iter()
        .map(|report| {
            let mut copy = lines.to_vec();
            attach(&mut copy, report);
            copy
        })
        .collect();
    for (i, line) in lines.iter_mut().enumerate() {
        let rates: Vec<f64> = filled.iter().filter_map(|f| f[i].pytorch).collect();
        if !rates.is_empty() {
            line.pytorch = Some(median(&rates));
            line.pytorch_mib = filled
                .iter()
                .filter_map(|f| f[i].pytorch_mib)
                .reduce(f64::max);
        }
    }
    reports
        .iter()
        .filter_map(|r| r.find("matmul", "", MATMUL_N))
        .map(|row| row.rate)
        .fold(0.0, f64::max)
}

fn line(
    workload: &str,
    shape: &ModelShape,
    batch: usize,
    backend: &str,
    rate: f64,
    flops_per_item: Option<f64>,
    peak_mib: Option<f64>,
) -> Line {
    Line {
        workload: workload.into(),
        model: shape.name(),
        batch: batch.to_string(),
        backend: backend.into(),
        ours: rate,
        pytorch: None,
        flops_per_item,
        ours_mib: peak_mib,
        pytorch_mib: None,
    }
}

/// Fills in PyTorch's figures; returns PyTorch's matmul rate.
fn attach(lines: &mut [Line], report: &ReferenceReport) -> f64 {
    let kind = |workload: &str| match workload {
        "train step" => "train",
        "inference" => "infer",
        "Learner epoch (60k)" => "epoch",
        EVALUATE => "evaluate",
        _ => "matmul",
    };
    for line in lines.iter_mut() {
        let (model, batch) = if kind(&line.workload) == "matmul" {
            (String::new(), MATMUL_N)
        } else {
            (line.model.clone(), line.batch.parse().unwrap_or(0))
        };
        if let Some(row) = report.find(kind(&line.workload), &model, batch) {
            line.pytorch = Some(row.rate);
            line.pytorch_mib = row.peak_mib;
        }
    }
    report
        .find("matmul", "", MATMUL_N)
        .map_or(0.0, |row| row.rate)
}
