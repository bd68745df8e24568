//! The `vae` command: `vae train --config configs/mnist-mlp.json`, `vae print-config`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use vae_train::backend::Backend;
use vae_train::cli::{Cli, Command, PrintConfigArgs, ServeArgs, TrainArgs};
use vae_train::commands;
use vae_train::config::TrainingConfig;
use vae_train::devices::DeviceList;
use vae_train::error::ConfigError;
use vae_train::remote::{self, RemoteTarget, ServeOptions};
use vae_train::train::{ResumeOptions, TrainOptions, resume, train};

/// Burn's CPU backends allocate large temporaries every step (matmul packing buffers,
/// activations). glibc's malloc hands blocks this large back to the kernel on free and
/// page-faults them in again, which made each matmul of a training step 1.5-4x slower;
/// mimalloc reuses them (README, "Speed").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Train(args) => run_train(args),
        Command::PrintConfig(args) => print_config(args),
        Command::Sample(args) => commands::run_sample(&args).map(wrote),
        Command::Reconstruct(args) => commands::run_reconstruct(&args).map(wrote),
        Command::Interpolate(args) => commands::run_interpolate(&args).map(wrote),
        Command::Traverse(args) => commands::run_traverse(&args).map(|(path, order)| {
            println!("rows: latent dimensions {order:?} (by decreasing KL)");
            wrote(path)
        }),
        Command::Evaluate(args) => commands::run_evaluate(&args),
        Command::Score(args) => commands::run_score(&args),
        Command::Denoise(args) => commands::run_denoise(&args),
        Command::Experiment(args) => commands::run_experiment(&args),
        Command::TrainClassifier(args) => commands::run_train_classifier(&args),
        Command::LatentPlot(args) => {
            commands::run_latent_plot(&args).map(|paths| paths.into_iter().for_each(wrote))
        }
        Command::Curves(args) => commands::run_curves(&args).map(wrote),
        Command::Export(args) => commands::run_export(&args),
        Command::Import(args) => commands::run_import(&args),
        Command::Web(args) => commands::run_web(&args),
        Command::Probe(args) => commands::run_probe(&args),
        Command::Serve(args) => run_serve(args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn wrote(path: PathBuf) {
    println!("wrote {}", path.display());
}

fn run_train(args: TrainArgs) -> anyhow::Result<()> {
    let devices = args
        .devices
        .as_deref()
        .map(|text| DeviceList::parse(text, args.backend))
        .transpose()?;
    let backend = match &devices {
        Some(list) => list.backend,
        None => Backend::resolve(args.backend)?,
    };
    let remote = args
        .remote
        .as_deref()
        .map(|url| RemoteTarget::new(url, args.remote_device.clone()))
        .transpose()?;
    if let Some(run_dir) = args.resume {
        let report = resume(ResumeOptions {
            run_dir,
            epochs: args.epochs,
            backend,
            data_dir: args.data_dir,
            plain: args.plain,
            devices,
            remote,
        })?;
        println!(
            "done: {} epochs in all; model, checkpoints, metrics.csv and pictures in {}",
            report.epochs,
            report.run_dir.display()
        );
        return Ok(());
    }
    let mut config = match &args.config {
        Some(path) => TrainingConfig::load(path)?,
        None => TrainingConfig::default(),
    };
    if let Some(epochs) = args.epochs {
        config.num_epochs = epochs;
    }
    if let Some(batch_size) = args.batch_size {
        config.batch_size = batch_size;
    }
    if let Some(learning_rate) = args.learning_rate {
        config.learning_rate = learning_rate;
    }
    if let Some(seed) = args.seed {
        config.seed = seed;
    }
    config.validate().map_err(ConfigError::Override)?;
    let run_dir = args.run_dir.unwrap_or_else(|| {
        let stem = args
            .config
            .as_deref()
            .and_then(|p| p.file_stem())
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "default".into());
        PathBuf::from("runs").join(stem)
    });
    match (&remote, &devices) {
        (Some(target), _) => println!(
            "training on the remote {target}, run folder {}",
            run_dir.display()
        ),
        (None, Some(list)) => println!("training on {list}, run folder {}", run_dir.display()),
        (None, None) => println!("training on {backend}, run folder {}", run_dir.display()),
    }
    let report = train(TrainOptions {
        config,
        backend,
        data_dir: args.data_dir,
        run_dir,
        overwrite: args.overwrite,
        plain: args.plain,
        devices,
        init_from: args.init_from,
        remote,
    })?;
    println!(
        "done: {} epochs; model, checkpoints, metrics.csv and pictures in {}",
        report.epochs,
        report.run_dir.display()
    );
    Ok(())
}

/// `vae serve`: binds first (so that a taken port or a refused address fails at once), checks
/// that each device runs a training step, prints the address clients dial, then serves until
/// Ctrl-C or SIGTERM.
fn run_serve(args: ServeArgs) -> anyhow::Result<()> {
    let (devices, names) = match &args.devices {
        Some(text) => {
            let list = DeviceList::parse(text, args.backend)?;
            (list.devices, list.names)
        }
        None => {
            let backend = Backend::resolve(args.backend)?;
            (vec![backend.device()?], vec![backend.to_string()])
        }
    };
    let options = ServeOptions {
        devices,
        names: names.join(", "),
        listen: args.listen,
        expose: args.expose,
        token: remote::token_from_env()?,
    };
    let (listener, address) = remote::bind(&options)?;
    // A device that cannot run a training step is refused before any client comes.
    eprintln!(
        "checking that each device runs two small training steps (MLP and conv; on a GPU's \
         first run this compiles their kernels: seconds, or about a minute on a software driver)"
    );
    remote::check_devices(&options.devices, &names)?;
    let access = if options.token.is_some() {
        format!(
            "clients must present the token in {}",
            remote::TOKEN_VARIABLE
        )
    } else {
        format!(
            "no token: any client that reaches the port gets a session (set {} to require one)",
            remote::TOKEN_VARIABLE
        )
    };
    if options.expose && !address.ip().is_loopback() {
        eprintln!(
            "warning: listening on {address}, reachable from other machines over unencrypted \
             WebSocket"
        );
    }
    // Clients dial this machine's name or address, not the unspecified one.
    let dial = if address.ip().is_unspecified() {
        format!("ws://THIS_HOST:{}", address.port())
    } else {
        format!("ws://{address}")
    };
    println!(
        "serving {} ({} device(s)) on ws://{address}; {access}. Train with `vae train --remote \
         {dial} ...`; stop with Ctrl-C",
        options.names,
        options.devices.len()
    );
    remote::serve(options, listener)?;
    println!("server stopped");
    Ok(())
}

fn print_config(args: PrintConfigArgs) -> anyhow::Result<()> {
    let json = serde_json::to_string_pretty(&TrainingConfig::default())? + "\n";
    match args.out {
        Some(path) => std::fs::write(&path, json)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{json}"),
    }
    Ok(())
}
