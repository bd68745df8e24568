//! `vae web`: one page, bundled into the binary, to explore a trained run in the browser:
//! a slider per latent dimension (ordered by KL), a 2-D plane to click on, a canvas to draw
//! an image on and see its reconstruction and anomaly score, a class picker for conditional
//! models, interpolation between test images and the training curves.
//!
//! The server ([`http`]: axum's router on hyper and tokio) listens on 127.0.0.1 unless told
//! otherwise, takes request bodies up to [`http::MAX_BODY_BYTES`], gives a client
//! [`http::REQUEST_TIMEOUT`] to send a request's head and then its body, answers bad requests
//! with a 4xx status and `{"error": "..."}` (but for a head that is not HTTP or too large,
//! which hyper answers with a bare 400 or 431), and stops on Ctrl-C or SIGTERM.
//!
//! | route | body or query | answer |
//! | --- | --- | --- |
//! | `GET /` | | the page |
//! | `GET /api/info` | | [`model::ModelInfo`] |
//! | `POST /api/decode` | `{"z": [..], "label": 3?}` | `{"pixels": [..]}` |
//! | `POST /api/plane` | `{"x": 0.5, "y": -1, "label"?}` | `{"z": [..], "pixels": [..]}` |
//! | `POST /api/reconstruct` | `{"pixels": [..], "label"?}` | [`model::Scored`] |
//! | `GET /api/test-image` | `?index=N` | `{"pixels", "label", "z"}` |
//! | `POST /api/interpolate` | `{"a": 0, "b": 1, "steps": 8}` | `{"images": [[..], ..]}` |
//!
//! Pixels are intensities in `[0, 1]`, row by row, channel by channel.

pub mod api;
pub mod http;
pub mod model;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use anyhow::Context;
use tokio::signal::unix::{SignalKind, signal};

use crate::backend::Backend;
use crate::run::RunDir;
use crate::run::metrics_csv;
use crate::run::trained_run::TrainedRun;
use model::WebModel;

/// What `vae web` serves, and where.
#[derive(Debug, Clone)]
pub struct WebOptions {
    /// The run folder.
    pub run_dir: PathBuf,
    /// The dataset folder (see `vae sample --data-dir`).
    pub data_dir: Option<PathBuf>,
    /// The address to listen on.
    pub listen: SocketAddr,
    /// The compute backend.
    pub backend: Option<Backend>,
}

/// Opens the run and computes the test-set figures the page shows.
pub fn open_model(options: &WebOptions) -> anyhow::Result<WebModel> {
    let backend = Backend::resolve(options.backend)?;
    let device = backend.device()?;
    let mut run = TrainedRun::open(&options.run_dir, &device)?;
    // On flex, the host passes (a tanh network's activations, the reconstructions' means).
    run.model = crate::model::with_host_passes(run.model, backend == Backend::Flex);
    let test = run.test_set(options.data_dir.as_deref())?;
    // An imported run has no metrics.csv: the page then shows no curves.
    let metrics = RunDir::open(&options.run_dir).metrics_csv();
    let curves = if metrics.is_file() {
        metrics_csv::read(&metrics)?
    } else {
        Vec::new()
    };
    Ok(WebModel::new(
        run,
        test,
        curves,
        device,
        backend == Backend::Flex,
    )?)
}

/// Serves the page for `options.run_dir` until Ctrl-C or SIGTERM. Prints the address once it
/// listens (`serving ... at http://ADDRESS/`), which for port 0 is the port the system chose.
pub fn serve(options: &WebOptions) -> anyhow::Result<()> {
    let model = open_model(options)?;
    // Two threads answer HTTP; the model's work runs on tokio's threads for blocking work.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("vae-web")
        .enable_all()
        .build()
        .context("cannot start the web server's threads")?;
    runtime.block_on(serve_model(options, model))?;
    // Standard output may be gone by now (a closed pipe): no panic over it.
    writeln!(std::io::stdout(), "stopped").ok();
    Ok(())
}

/// Listens, prints the address and serves `model` until a signal.
async fn serve_model(options: &WebOptions, model: WebModel) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {}: is another program using the port? Choose another with \
                 --listen 127.0.0.1:PORT",
                options.listen
            )
        })?;
    let address = listener.local_addr()?;
    if !address.ip().is_loopback() {
        eprintln!(
            "warning: listening on {address}, reachable from other machines; the page has no \
             authentication"
        );
    }
    let stop = stop_signal().context("cannot install the Ctrl-C handler")?;
    println!(
        "serving {} at http://{address}/ (Ctrl-C stops)",
        options.run_dir.display()
    );
    std::io::stdout().flush().ok();
    let model = Mutex::new(model);
    let router = api::router(move |work| {
        // Requests only read the model, so after a panic in one the next can still be served
        // (a backend left in a bad state by the panic would show in the next answer).
        let model = model.lock().unwrap_or_else(PoisonError::into_inner);
        work(&model)
    });
    http::serve(listener, router, stop).await;
    Ok(())
}

/// Completes on the first Ctrl-C or SIGTERM; a second one, while connections finish, ends the
/// process at once.
fn stop_signal() -> std::io::Result<impl Future<Output = ()>> {
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        tokio::spawn(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            std::process::exit(130);
        });
    })
}
