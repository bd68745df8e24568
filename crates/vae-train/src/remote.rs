//! Remote devices over Burn's own engine (`burn::server`, `burn::remote`): `vae serve` hosts
//! this machine's devices, and `vae train --remote ws://HOST:PORT` trains on one of them. The
//! autodiff graph, the optimizer's bookkeeping, the data and the run folder stay with the
//! client; the server runs the tensor operations.
//!
//! The transport is WebSocket, which is unencrypted. A token (`VAE_REMOTE_TOKEN`, the same on
//! both sides) keeps stray clients out; it travels in the clear, so a server that other machines
//! can reach belongs on a trusted network, or behind an SSH tunnel.
//!
//! Everything here needs the cargo feature `remote`; without it each entry point returns
//! [`RemoteError::NotCompiled`].

use std::net::SocketAddr;

use burn::prelude::*;

/// The environment variable that holds the token, for `vae serve` and for its clients.
pub const TOKEN_VARIABLE: &str = "VAE_REMOTE_TOKEN";

/// Devices on a `vae serve` server, as `vae train --remote` names them. Its `Debug` output
/// leaves the token out.
#[derive(Clone, PartialEq, Eq)]
pub struct RemoteTarget {
    /// The server's address, `ws://HOST:PORT`.
    pub url: String,
    /// Which of the server's devices (positions in the server's `--devices` list); several
    /// train data-parallel with Burn's multi-device strategy, the first being the main one.
    pub device_indices: Vec<usize>,
    /// The server's token, if it has one.
    pub token: Option<String>,
}

impl RemoteTarget {
    /// A target on `url` (checked), with the token from [`TOKEN_VARIABLE`] if set.
    pub fn new(url: &str, device_indices: Vec<usize>) -> Result<Self, RemoteError> {
        if device_indices.is_empty() {
            return Err(RemoteError::NoDevice);
        }
        Ok(Self {
            url: check_url(url)?,
            device_indices,
            token: token_from_env()?,
        })
    }

    /// Opens each device's session (the handshake and the token check happen here, so a server
    /// that is down or refuses the token fails before any work starts).
    pub fn connect(&self) -> Result<Vec<Device>, RemoteError> {
        self.device_indices
            .iter()
            .map(|&index| connect(self, index))
            .collect()
    }
}

impl std::fmt::Debug for RemoteTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteTarget")
            .field("url", &self.url)
            .field("device_indices", &self.device_indices)
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .finish()
    }
}

impl std::fmt::Display for RemoteTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let indices: Vec<String> = self.device_indices.iter().map(|i| i.to_string()).collect();
        let noun = if indices.len() == 1 {
            "device"
        } else {
            "devices"
        };
        write!(f, "{noun} {} of {}", indices.join(", "), self.url)
    }
}

/// What `vae serve` hosts, and where.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The devices, all of one backend; clients pick one by its position.
    pub devices: Vec<Device>,
    /// The devices as written, for the log.
    pub names: String,
    /// Address and port to listen on (port 0: any free port).
    pub listen: SocketAddr,
    /// Allow an address other than a loopback one.
    pub expose: bool,
    /// Only clients presenting this token get a session.
    pub token: Option<String>,
}

/// Why a remote device cannot be served or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemoteError {
    /// The binary was built without the `remote` feature.
    #[error(
        "remote devices are not compiled into this binary: rebuild with the `remote` feature \
         (`cargo build --release --features remote`)"
    )]
    NotCompiled,
    /// `--remote` is not a `ws://HOST:PORT` address.
    #[error(
        "--remote `{0}` is not a WebSocket address: write it as ws://HOST:PORT, e.g. \
         ws://127.0.0.1:3000 (the address `vae serve` prints)"
    )]
    BadUrl(String),
    /// `--remote-device` lists no device.
    #[error(
        "--remote-device lists no device: give one or more indices, e.g. `--remote-device 0,1`"
    )]
    NoDevice,
    /// The token variable is set but empty.
    #[error(
        "{TOKEN_VARIABLE} is set but empty: set it to the server's token, or unset it for a \
         server started without one"
    )]
    EmptyToken,
    /// The session could not be opened.
    #[error("cannot use the remote {target}: {}{advice}", sentence(reason))]
    Connect {
        /// The device and server, as written.
        target: String,
        /// Burn's reason.
        reason: String,
        /// What to do about it (empty, or a sentence after a space).
        advice: String,
    },
    /// `--listen` names an address other machines can reach, without `--expose`.
    #[error(
        "--listen {0} would let other machines reach the server, over unencrypted WebSocket: \
         pass --expose to do that deliberately (with {TOKEN_VARIABLE} set), or listen on \
         127.0.0.1 and reach the server through an SSH tunnel (`ssh -L 3000:127.0.0.1:3000 HOST`)"
    )]
    NotLoopback(SocketAddr),
    /// `--expose` without a token.
    #[error(
        "--listen {0} with --expose needs a token: set {TOKEN_VARIABLE} (e.g. `export \
         {TOKEN_VARIABLE}=$(openssl rand -hex 16)`), and give clients the same value"
    )]
    ExposedWithoutToken(SocketAddr),
    /// The listening socket cannot be bound.
    #[error(
        "cannot listen on {address}: {reason}. Choose another address or port with --listen \
         (port 0 picks a free one)"
    )]
    Listen {
        /// As given.
        address: SocketAddr,
        /// The operating system's reason.
        reason: String,
    },
    /// The server failed after it started.
    #[error("the server stopped: {0}")]
    Serve(String),
    /// A device to host failed the start-up check ([`check_devices`]).
    #[error(
        "device {index} ({name}) cannot run a small training step, so `vae serve` will not host \
         it: {} Leave it out of --devices, serve another backend (e.g. --backend flex, on the \
         CPU), or fix the device's driver",
        sentence(reason)
    )]
    DeviceCheck {
        /// Its position in the hosted list (what clients pass as `--remote-device`).
        index: usize,
        /// The device as written.
        name: String,
        /// What failed, on one line.
        reason: String,
    },
}

/// Runs two small training steps (an MLP VAE's and a conv VAE's forward pass, ELBO and
/// backward pass, with the loss read back) on each device before `vae serve` accepts clients.
/// Burn's remote server has no error path for an operation a device cannot run: the session's
/// thread panics and the client sees its session end as if the server had gone. Checked here,
/// a device that cannot run the core operations of `vae`'s two networks is refused at start-up
/// with [`RemoteError::DeviceCheck`], naming it (operations only some configs use, such as the
/// other likelihoods or the IWAE bound, are not checked). `names[i]` is device `i` as written.
pub fn check_devices(devices: &[Device], names: &[String]) -> Result<(), RemoteError> {
    silence_panics_of_checks();
    for (index, (device, name)) in devices.iter().zip(names).enumerate() {
        run_check(|| training_step_loss(device)).map_err(|reason| RemoteError::DeviceCheck {
            index,
            name: name.clone(),
            reason,
        })?;
    }
    Ok(())
}

thread_local! {
    /// Set while this thread runs a device check: its panic is reported as the check's error.
    static CHECKING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Installs (once) a panic hook that keeps a device check's panic off the terminal, on the
/// checking thread only: other threads' panics, and every panic outside a check, go to the hook
/// that was there before.
fn silence_panics_of_checks() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !CHECKING.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
}

/// The summed loss of one training step of a tiny MLP VAE and of a tiny conv VAE on `device`
/// (a panic if an operation fails).
fn training_step_loss(device: &Device) -> f32 {
    use vae_model::{
        ActivationConfig, Bernoulli, ConvDecoderConfig, ConvEncoderConfig, ImageShape, Vae,
        VaeConfig,
    };
    let device = device.clone().autodiff();
    let images = Tensor::<2>::full([2, 784], 0.5, &device);
    // tanh here, ReLU in the conv networks: the two activations `vae`'s configs use.
    let mlp = VaeConfig::new()
        .with_activation(ActivationConfig::Tanh)
        .with_hidden_dims(vec![8])
        .with_latent_dim(2)
        .init(&device);
    let mlp_loss = mlp.loss(images.clone(), None).mean_loss();
    let _gradients = mlp_loss.backward();
    let image = ImageShape::new(1, 28, 28);
    let encoder = ConvEncoderConfig::new(image, 2)
        .with_conv_channels(vec![4])
        .try_init(&device)
        .expect("a valid conv encoder");
    let decoder = ConvDecoderConfig::new(image, 2)
        .with_conv_channels(vec![4])
        .with_hidden_dim(8)
        .try_init(&device)
        .expect("a valid conv decoder");
    let conv = Vae::new(encoder, decoder, Bernoulli, 2);
    let conv_loss = conv.loss(images, None).mean_loss();
    let _gradients = conv_loss.backward();
    mlp_loss.into_scalar::<f32>() + conv_loss.into_scalar::<f32>()
}

/// `check` with a panic caught and a non-finite loss refused; the reason is one line.
fn run_check(check: impl FnOnce() -> f32) -> Result<(), String> {
    CHECKING.with(|checking| checking.set(true));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(check));
    CHECKING.with(|checking| checking.set(false));
    match outcome {
        Ok(loss) if loss.is_finite() => Ok(()),
        Ok(loss) => Err(format!("a training step's loss came out {loss}")),
        Err(payload) => Err(format!(
            "a training step failed ({})",
            panic_text(payload.as_ref())
        )),
    }
}

/// A panic payload's text, on one line.
pub(crate) fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into());
    one_line(&text)
}

/// `text` with every run of whitespace (newlines included) as one space.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `text` ending as a sentence does.
fn sentence(text: &str) -> String {
    if text.ends_with(['.', '?', '!']) {
        text.to_string()
    } else {
        format!("{text}.")
    }
}

/// `url` if it is `ws://HOST:PORT`.
fn check_url(url: &str) -> Result<String, RemoteError> {
    let bad = || RemoteError::BadUrl(url.to_string());
    let rest = url.strip_prefix("ws://").ok_or_else(bad)?;
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    let (host, port) = authority.rsplit_once(':').ok_or_else(bad)?;
    if host.is_empty() || authority.contains('/') || port.parse::<u16>().is_err() {
        return Err(bad());
    }
    Ok(format!("ws://{authority}"))
}

/// The token from [`TOKEN_VARIABLE`]: `None` when unset, an error when set but empty.
pub fn token_from_env() -> Result<Option<String>, RemoteError> {
    match std::env::var(TOKEN_VARIABLE) {
        Ok(token) if token.is_empty() => Err(RemoteError::EmptyToken),
        Ok(token) => Ok(Some(token)),
        Err(_) => Ok(None),
    }
}

/// The advice for a panic that ended training on a remote device: the server went away (or the
/// connection broke) in the middle of a step.
pub fn lost_advice(
    target: &RemoteTarget,
    run_dir: &std::path::Path,
    checkpoints: &std::path::Path,
) -> String {
    format!(
        "the connection to the remote {target} broke off during training: the server stopped or \
         the network failed. The checkpoints of the completed epochs are kept in {}; when the \
         server is back, continue with `vae train --resume {} --remote {}{}`",
        checkpoints.display(),
        run_dir.display(),
        target.url,
        if target.device_indices == [0] {
            String::new()
        } else {
            let indices: Vec<String> = target
                .device_indices
                .iter()
                .map(|i| i.to_string())
                .collect();
            format!(" --remote-device {}", indices.join(","))
        }
    )
}

#[cfg(feature = "remote")]
fn connect(target: &RemoteTarget, index: usize) -> Result<Device, RemoteError> {
    use burn::remote::{ConnectError, RemoteHost};

    let mut host = RemoteHost::websocket(&target.url);
    if let Some(token) = &target.token {
        host = host.with_credential(token.as_str());
    }
    Device::remote_options(&host)
        .device_index(index)
        .init()
        .map_err(|error| {
            let advice = match &error {
                ConnectError::Unauthorized => format!(
                    "Set {TOKEN_VARIABLE} to the token the server was started with (it refused \
                     {})",
                    if target.token.is_some() {
                        "this one"
                    } else {
                        "a client without one"
                    }
                ),
                ConnectError::Unreachable { .. } => format!(
                    "Is `vae serve` running there? Start it with `vae serve --listen \
                     127.0.0.1:PORT` on that machine; for another machine, forward its port \
                     through an SSH tunnel and use ws://127.0.0.1:PORT ({})",
                    target.url
                ),
                ConnectError::NoSuchDevice { device_count } => format!(
                    "Use --remote-device below {device_count} (the server's --devices list)"
                ),
                ConnectError::IncompatibleProtocol { .. } => "Run a server built from the same \
                     burn-vae version (both sides must use the same Burn release)"
                    .to_string(),
                ConnectError::Handshake { .. } => "Try again; if it persists, check that the \
                     server is a `vae serve` built from the same burn-vae version"
                    .to_string(),
                _ => String::new(),
            };
            let advice = if advice.is_empty() {
                advice
            } else {
                format!(" {advice}")
            };
            RemoteError::Connect {
                target: format!("device {index} of {}", target.url),
                reason: error.to_string(),
                advice,
            }
        })
}

#[cfg(not(feature = "remote"))]
fn connect(_target: &RemoteTarget, _index: usize) -> Result<Device, RemoteError> {
    Err(RemoteError::NotCompiled)
}

/// Binds the listening socket for `options` and returns it with its address (port 0 resolved).
pub fn bind(options: &ServeOptions) -> Result<(std::net::TcpListener, SocketAddr), RemoteError> {
    if !cfg!(feature = "remote") {
        return Err(RemoteError::NotCompiled);
    }
    if !options.listen.ip().is_loopback() {
        if !options.expose {
            return Err(RemoteError::NotLoopback(options.listen));
        }
        if options.token.is_none() {
            return Err(RemoteError::ExposedWithoutToken(options.listen));
        }
    }
    let listen_error = |error: std::io::Error| RemoteError::Listen {
        address: options.listen,
        reason: error.to_string(),
    };
    let listener = std::net::TcpListener::bind(options.listen).map_err(listen_error)?;
    let address = listener.local_addr().map_err(listen_error)?;
    Ok((listener, address))
}

/// Serves `options.devices` on `listener` until Ctrl-C or SIGTERM, logging each session a
/// client asks for (its address, the device, opened or refused) to standard error. A client
/// that disconnects mid-step ends only its own session.
#[cfg(feature = "remote")]
pub fn serve(options: ServeOptions, listener: std::net::TcpListener) -> Result<(), RemoteError> {
    use burn::server::{
        AuthorizationRequest, PeerAuthorizer, RemoteServer, TokenAuthorizer, WebSocketTransport,
    };

    let token = options
        .token
        .map(TokenAuthorizer::new)
        .transpose()
        .map_err(|_| RemoteError::EmptyToken)?;
    let hosted = options.devices.len();
    let authorize = move |request: AuthorizationRequest<'_>| {
        let (client, device) = (request.client, request.device_index);
        let verdict = match &token {
            Some(token) => token.authorize(request),
            None => Ok(()),
        };
        // Burn checks the device index after this (and refuses it with its own reply).
        match &verdict {
            Ok(()) if device as usize >= hosted => eprintln!(
                "session for device {device} refused: {client} asked for a device this server \
                 does not host (it hosts {hosted})"
            ),
            Ok(()) => eprintln!("session for device {device} opened: {client}"),
            Err(reason) => eprintln!("session for device {device} refused: {reason}"),
        }
        verdict
    };
    RemoteServer::new(options.devices)
        .with_authorizer(authorize)
        .serve(WebSocketTransport::from_listener(listener))
        .map_err(|error| RemoteError::Serve(error.to_string()))
}

/// Without the `remote` feature: [`RemoteError::NotCompiled`].
#[cfg(not(feature = "remote"))]
pub fn serve(_options: ServeOptions, _listener: std::net::TcpListener) -> Result<(), RemoteError> {
    Err(RemoteError::NotCompiled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "flex")]
    #[test]
    fn a_working_device_passes_the_start_up_check() {
        assert_eq!(check_devices(&[Device::flex()], &["flex".into()]), Ok(()));
    }

    #[test]
    fn a_device_that_fails_or_computes_garbage_is_refused_by_name() {
        let failed = run_check(|| panic!("no shader-f16\n  support")).unwrap_err();
        assert_eq!(failed, "a training step failed (no shader-f16 support)");
        let garbage = run_check(|| f32::NAN).unwrap_err();
        assert!(garbage.contains("NaN"), "{garbage}");
        assert_eq!(run_check(|| 543.2), Ok(()));
        let error = RemoteError::DeviceCheck {
            index: 1,
            name: "wgpu:1".into(),
            reason: failed,
        }
        .to_string();
        assert!(
            error.starts_with("device 1 (wgpu:1) cannot run a small training step")
                && error.contains("(no shader-f16 support). Leave it out of --devices"),
            "{error}"
        );
    }

    #[test]
    fn urls_must_be_websocket_addresses_with_a_port() {
        assert_eq!(
            check_url("ws://127.0.0.1:3000").unwrap(),
            "ws://127.0.0.1:3000"
        );
        assert_eq!(check_url("ws://gpu-box:80/").unwrap(), "ws://gpu-box:80");
        for bad in [
            "127.0.0.1:3000",
            "http://127.0.0.1:3000",
            "ws://127.0.0.1",
            "ws://:3000",
            "ws://host:port",
            "ws://host:3000/path",
            "ws://host:70000",
        ] {
            assert_eq!(
                check_url(bad),
                Err(RemoteError::BadUrl(bad.into())),
                "{bad}"
            );
        }
    }

    #[cfg(feature = "remote")]
    #[test]
    fn a_reachable_address_needs_expose_and_a_token() {
        let options = |listen: &str, expose, token: Option<&str>| ServeOptions {
            devices: Vec::new(),
            names: String::new(),
            listen: listen.parse().unwrap(),
            expose,
            token: token.map(String::from),
        };
        let anywhere = "0.0.0.0:0".parse().unwrap();
        let error = bind(&options("0.0.0.0:0", false, Some("t"))).unwrap_err();
        assert_eq!(error, RemoteError::NotLoopback(anywhere));
        assert!(error.to_string().contains("--expose"), "{error}");
        let error = bind(&options("0.0.0.0:0", true, None)).unwrap_err();
        assert_eq!(error, RemoteError::ExposedWithoutToken(anywhere));
        assert!(error.to_string().contains(TOKEN_VARIABLE), "{error}");
        let options = |listen: &str, expose| options(listen, expose, None);
        let (_listener, address) = bind(&options("127.0.0.1:0", false)).unwrap();
        assert!(address.ip().is_loopback() && address.port() != 0);
        // A taken port names the address and the fix.
        let taken = options(&address.to_string(), false);
        let error = bind(&taken).unwrap_err().to_string();
        assert!(
            error.contains(&address.to_string()) && error.contains("--listen"),
            "{error}"
        );
    }

    #[cfg(not(feature = "remote"))]
    #[test]
    fn without_the_feature_the_error_names_it() {
        let target = RemoteTarget {
            url: "ws://127.0.0.1:1".into(),
            device_indices: vec![0],
            token: None,
        };
        let error = target.connect().unwrap_err().to_string();
        assert!(error.contains("--features remote"), "{error}");
    }

    #[test]
    fn the_token_stays_out_of_debug_and_the_resume_advice_keeps_the_devices() {
        let target = RemoteTarget {
            url: "ws://127.0.0.1:3000".into(),
            device_indices: vec![0, 1],
            token: Some("s3cret".into()),
        };
        let debug = format!("{target:?}");
        assert!(
            !debug.contains("s3cret") && debug.contains("<set>"),
            "{debug}"
        );
        let run = std::path::Path::new("runs/x");
        let advice = lost_advice(&target, run, &run.join("checkpoint"));
        assert!(
            advice.contains("--resume runs/x --remote ws://127.0.0.1:3000 --remote-device 0,1"),
            "{advice}"
        );
        assert_eq!(target.to_string(), "devices 0, 1 of ws://127.0.0.1:3000");
    }
}
