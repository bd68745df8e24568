//! `vae serve` and `vae train --remote` (cargo feature `remote`): a server process on
//! 127.0.0.1 (a free port) and client processes training `configs/smoke.json` on real MNIST
//! through it. Every wait is bounded; every server is killed when its test ends.
#![cfg(feature = "remote")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

mod support;
use support::{expect_clean_failure, mnist_dir, path, repo_file};

/// A `vae serve` process; killed on drop.
struct Server {
    child: Child,
    url: String,
    /// Everything it printed to standard error so far.
    log: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `vae serve` on 127.0.0.1 port 0 (with `token` as `VAE_REMOTE_TOKEN`) and waits
    /// (at most 60 s) for the address it prints.
    fn start(token: Option<&str>) -> Self {
        Self::hosting("flex", token)
    }

    /// [`start`](Self::start), hosting the `--devices` list `devices`.
    fn hosting(devices: &str, token: Option<&str>) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_vae"));
        command
            .args(["serve", "--devices", devices, "--listen", "127.0.0.1:0"])
            .env_remove("VAE_REMOTE_TOKEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(token) = token {
            command.env("VAE_REMOTE_TOKEN", token);
        }
        let mut child = command.spawn().expect("vae serve starts");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let (sender, receiver) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
        let line = receiver
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                let log = log.lock().unwrap().clone();
                panic!("vae serve printed no address within 60 s; its log: {log}")
            });
        let url = line
            .split_whitespace()
            .find(|word| word.starts_with("ws://"))
            .map(|word| word.trim_end_matches([';', '.', ',']).to_string())
            .unwrap_or_else(|| panic!("no ws:// address in `{line}`"));
        assert!(url.starts_with("ws://127.0.0.1:"), "{line}");
        Self { child, url, log }
    }

    fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `vae ARGS` with `token` as `VAE_REMOTE_TOKEN` (unset when `None`).
fn vae_command(args: &[&str], token: Option<&str>) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vae"));
    command.args(args).env_remove("VAE_REMOTE_TOKEN");
    if let Some(token) = token {
        command.env("VAE_REMOTE_TOKEN", token);
    }
    command
}

/// `vae train` on `configs/smoke.json` into `run_dir` with `extra` arguments.
fn train_command(run_dir: &Path, extra: &[&str], token: Option<&str>) -> Command {
    let config = repo_file("configs/smoke.json");
    let data = mnist_dir();
    let mut args = vec!["train", "--config", &config, "--data-dir", path(&data)];
    args.extend(["--run-dir", path(run_dir), "--plain"]);
    args.extend(extra);
    vae_command(&args, token)
}

/// A thread reading one of a process's pipes to its end.
type Reader = JoinHandle<Vec<u8>>;

/// A `vae` process whose output is read in the background; killed on drop, so that a failed
/// assertion leaves no client running.
struct Client {
    child: Child,
    started: Instant,
    /// The threads reading standard output and standard error, until `finish` joins them.
    output: Option<(Reader, Reader)>,
}

impl Client {
    fn spawn(mut command: Command) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("vae runs");
        let read = |mut pipe: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut text = Vec::new();
                let _ = pipe.read_to_end(&mut text);
                text
            })
        };
        let stdout = read(Box::new(child.stdout.take().unwrap()));
        let stderr = read(Box::new(child.stderr.take().unwrap()));
        Self {
            child,
            started: Instant::now(),
            output: Some((stdout, stderr)),
        }
    }

    /// Waits for the end (at most `limit`, then kills it and fails); returns the output and
    /// how long it ran.
    fn finish(mut self, limit: Duration) -> (Output, Duration) {
        let waiting = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                waiting.elapsed() < limit,
                "vae ran past {limit:?}: it should have ended by itself"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let (stdout, stderr) = self.output.take().unwrap();
        let output = Output {
            status,
            stdout: stdout.join().unwrap(),
            stderr: stderr.join().unwrap(),
        };
        (output, self.started.elapsed())
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `command` to its end, killing it after `limit`; returns its output and how long it took.
fn run_bounded(command: Command, limit: Duration) -> (Output, Duration) {
    Client::spawn(command).finish(limit)
}

/// Validation loss of each epoch in `run_dir/metrics.csv`.
fn valid_losses(run_dir: &Path) -> Vec<f64> {
    let csv = std::fs::read_to_string(run_dir.join("metrics.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = header
        .iter()
        .position(|name| name.starts_with("valid_loss"))
        .unwrap_or_else(|| panic!("no valid_loss column in {header:?}"));
    lines
        .map(|line| line.split(',').nth(column).unwrap().parse().unwrap())
        .collect()
}

/// The last epoch whose checkpoint files (model, optimizer, scheduler, with digests) are all
/// written.
fn last_checkpoint(run_dir: &Path) -> Option<usize> {
    let folder = run_dir.join("checkpoint");
    let complete = |epoch: usize| {
        ["model", "optim", "scheduler"].iter().all(|kind| {
            let file = folder.join(format!("{kind}-{epoch}.bpk"));
            file.is_file() && folder.join(format!("{kind}-{epoch}.bpk.sha256")).is_file()
        })
    };
    (1..=1000).rev().find(|&epoch| complete(epoch))
}

const LIMIT: Duration = Duration::from_secs(300);

/// Trains `configs/smoke.json` into `run_dir` with `extra` arguments (no token), asserting
/// success within [`LIMIT`]; returns what it printed.
fn train_succeeds(run_dir: &Path, extra: &[&str]) -> String {
    let (output, _) = run_bounded(train_command(run_dir, extra, None), LIMIT);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Waits (at most [`LIMIT`]) until `client`, still running, has checkpointed an epoch in
/// `run_dir`.
fn await_first_checkpoint(run_dir: &Path, client: &mut Child) {
    let start = Instant::now();
    while last_checkpoint(run_dir).is_none() {
        assert!(start.elapsed() < LIMIT, "no epoch done in {LIMIT:?}");
        assert!(
            client.try_wait().unwrap().is_none(),
            "the client ended early"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_remote_device_trains_like_the_local_one_and_the_server_survives_bad_clients() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(None);

    // Garbage on the server's port: it answers or closes, and keeps serving.
    let address = server.url.trim_start_matches("ws://").to_string();
    for garbage in [
        (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect::<Vec<u8>>(),
        b"GET /session HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n\
          \x82\x7f\xff\xff\xff\xff\xff\xff\xff\xff"
            .to_vec(),
    ] {
        let mut stream = TcpStream::connect(&address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let _ = stream.write_all(&garbage);
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let mut reply = Vec::new();
        let _ = stream.read_to_end(&mut reply);
    }
    assert!(server.is_running(), "garbage stopped the server");

    // A client that is killed in the middle of training ends only its own session.
    let killed = dir.path().join("killed");
    let mut client = Client::spawn(train_command(
        &killed,
        &["--remote", &server.url, "--epochs", "50"],
        None,
    ));
    await_first_checkpoint(&killed, &mut client.child);
    drop(client);
    assert!(
        server.is_running(),
        "a client's disconnect stopped the server"
    );

    // The same run on the remote device and on the local one.
    let remote = dir.path().join("remote");
    let stdout = train_succeeds(&remote, &["--remote", &server.url]);
    assert!(
        stdout.contains(&format!(
            "training on the remote device 0 of {}",
            server.url
        )),
        "{stdout}"
    );
    let local = dir.path().join("local");
    train_succeeds(&local, &["--backend", "flex"]);
    let (remote_losses, local_losses) = (valid_losses(&remote), valid_losses(&local));
    assert_eq!(remote_losses.len(), 2);
    assert!(remote_losses[1] < remote_losses[0], "{remote_losses:?}");
    // The same seed gives the same weights and the same noise draws on the server's flex
    // device; local flex fuses the reconstruction term and tanh on the host, the server runs
    // Burn's own kernels, so the sums round differently: 0.1 % of the loss.
    for (remote, local) in remote_losses.iter().zip(&local_losses) {
        assert!(
            (remote - local).abs() <= 1e-3 * local.abs(),
            "remote {remote_losses:?} against local {local_losses:?}"
        );
    }
    assert!(remote.join("model.bpk").is_file());
    assert!(server.is_running());
    let log = server.log();
    assert!(
        log.contains("session for device 0 opened: WebSocket client 127.0.0.1:"),
        "the server logs no session: {log}"
    );
}

#[test]
fn tokens_unreachable_hosts_and_bad_addresses_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(Some("s3cret-token"));
    let one_epoch = |name: &str, token: Option<&str>| {
        let mut extra = vec!["--remote", server.url.as_str()];
        extra.extend(["--epochs", "1"]);
        run_bounded(train_command(&dir.path().join(name), &extra, token), LIMIT)
    };
    for (name, token) in [("wrong", Some("guess")), ("none", None)] {
        let (output, took) = one_epoch(name, token);
        let stderr = expect_clean_failure(&output);
        assert!(
            stderr.contains("VAE_REMOTE_TOKEN") && stderr.contains(&server.url),
            "{stderr}"
        );
        assert!(took < Duration::from_secs(60), "took {took:?}");
    }
    assert!(
        server.log().contains("presented the wrong token"),
        "{}",
        server.log()
    );
    let (output, _) = one_epoch("right", Some("s3cret-token"));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // Nothing listens on a port just freed: a clean error after the client's bounded retries.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}", free.local_addr().unwrap());
    drop(free);
    let (output, took) = run_bounded(
        train_command(&dir.path().join("nobody"), &["--remote", &url], None),
        LIMIT,
    );
    let stderr = expect_clean_failure(&output);
    assert!(
        stderr.contains(&url) && stderr.contains("vae serve"),
        "{stderr}"
    );
    assert!(took < Duration::from_secs(90), "took {took:?}");

    let (output, _) = run_bounded(
        train_command(
            &dir.path().join("bad"),
            &["--remote", "127.0.0.1:3000"],
            None,
        ),
        LIMIT,
    );
    let stderr = expect_clean_failure(&output);
    assert!(stderr.contains("ws://HOST:PORT"), "{stderr}");
}

#[test]
fn a_server_killed_mid_run_keeps_the_checkpoints_and_resume_finishes_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir: PathBuf = dir.path().join("run");
    let mut server = Server::start(None);
    let epochs = "40";
    let mut client = Client::spawn(train_command(
        &run_dir,
        &["--remote", &server.url, "--epochs", epochs],
        None,
    ));
    await_first_checkpoint(&run_dir, &mut client.child);
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    // The client notices within the bound, or `finish` fails the test.
    let (output, _) = client.finish(Duration::from_secs(120));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "the client finished without its server"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains(&server.url) && stderr.contains("--resume"),
        "{stderr}"
    );
    let kept = last_checkpoint(&run_dir).expect("the completed epochs' checkpoints are kept");
    assert!(kept < 40, "the run finished before its server was killed");

    // The server is back (on another port): the run continues from its last checkpoint.
    let server = Server::start(None);
    let data = mnist_dir();
    let resume = [
        "train",
        "--resume",
        path(&run_dir),
        "--remote",
        &server.url,
        "--data-dir",
        path(&data),
        "--plain",
    ];
    let (output, _) = run_bounded(vae_command(&resume, None), LIMIT);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(valid_losses(&run_dir).len(), 40);
    assert!(run_dir.join("model.bpk").is_file());
}

#[test]
fn two_devices_of_one_server_train_data_parallel() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::hosting("flex,flex", None);
    let two = dir.path().join("two");
    let extra = ["--remote", server.url.as_str(), "--remote-device", "0,1"];
    let stdout = train_succeeds(&two, &extra);
    assert!(
        stdout.contains("training on 2 devices (remote:0, remote:1)")
            && stdout.contains("one batch of 64"),
        "{stdout}"
    );
    let losses = valid_losses(&two);
    assert!(losses.len() == 2 && losses[1] < losses[0], "{losses:?}");

    // A device the server does not host: the error says how many it has.
    let extra = ["--remote", server.url.as_str(), "--remote-device", "2"];
    let (output, _) = run_bounded(
        train_command(&dir.path().join("third"), &extra, None),
        LIMIT,
    );
    let stderr = expect_clean_failure(&output);
    assert!(
        stderr.contains("hosts only 2 device(s)") && stderr.contains("--remote-device below 2"),
        "{stderr}"
    );
    assert!(
        server.log().contains("does not host (it hosts 2)"),
        "{}",
        server.log()
    );
}
