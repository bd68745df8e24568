//! `vae web`: every route against a real server on a free 127.0.0.1 port (a smoke-config run
//! trained on real MNIST), bad requests included; and the page in a real browser (Debian's
//! chromium driven through chromedriver): a slider moves, a stroke is drawn, and what the page
//! shows changes.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{mnist_dir, numbers as pixels, path, succeed};

/// A `vae web` process, killed when dropped.
struct Server {
    child: Child,
    base: String,
    /// The rest of its standard output, after the address line.
    stdout: BufReader<std::process::ChildStdout>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// Trains the smoke config into a temporary folder once, for every test of this file.
fn trained_run() -> &'static Path {
    static RUN: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &RUN.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let run_dir = dir.path().join("smoke");
        succeed(&[
            "train",
            "--config",
            &support::repo_file("configs/smoke.json"),
            "--data-dir",
            path(&mnist_dir()),
            "--run-dir",
            path(&run_dir),
            "--plain",
        ]);
        (dir, run_dir)
    })
    .1
}

/// Starts `vae web` on port 0 and waits for the address it prints.
fn start_server(run_dir: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vae"))
        .args(["web", "--run-dir", path(run_dir), "--listen", "127.0.0.1:0"])
        .args(["--data-dir", path(&mnist_dir())])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("vae web starts");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let base = line
        .split("at ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("vae web printed no address: {line:?}"))
        .trim_end_matches('/')
        .to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{line}");
    Server {
        child,
        base,
        stdout,
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// `(status, JSON body)` of a request; `body` None sends a GET.
fn request(server: &Server, route: &str, body: Option<&str>) -> (u16, Value) {
    let url = format!("{}{route}", server.base);
    let agent = agent();
    let response = match body {
        None => agent.get(&url).call(),
        Some(body) => agent
            .post(&url)
            .header("Content-Type", "application/json")
            .send(body),
    }
    .unwrap_or_else(|e| panic!("{route}: {e}"));
    let status = response.status().as_u16();
    let text = response.into_body().read_to_string().unwrap();
    let value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{route} answered {status} with no JSON ({e}): {text}"));
    (status, value)
}

/// Asserts an error answer: the status and a message containing `needle`.
fn assert_error(answer: (u16, Value), status: u16, needle: &str) {
    let message = answer.1["error"].as_str().unwrap_or_default().to_string();
    assert_eq!(answer.0, status, "{message}");
    assert!(message.contains(needle), "{message:?} lacks {needle:?}");
}

#[test]
fn every_route_answers_and_bad_requests_get_json_errors() {
    let server = start_server(trained_run());
    let (status, info) = request(&server, "/api/info", None);
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["latent_dim"], 4);
    assert_eq!(
        (info["width"].as_u64(), info["channels"].as_u64()),
        (Some(28), Some(1))
    );
    let mut order: Vec<u64> = info["dimensions_by_kl"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    order.sort_unstable();
    assert_eq!(order, [0, 1, 2, 3]);
    assert_eq!(
        info["curves"].as_array().unwrap().len(),
        2,
        "two epochs of curves"
    );
    assert!(info["classes"].as_array().unwrap().is_empty());

    // Two codes, two different images, each in [0, 1].
    let decode = |z: &str| request(&server, "/api/decode", Some(&format!("{{\"z\": {z}}}")));
    let (status, first) = decode("[0, 0, 0, 0]");
    assert_eq!(status, 200, "{first}");
    let (_, second) = decode("[2, -2, 2, -2]");
    let (a, b) = (pixels(&first["pixels"]), pixels(&second["pixels"]));
    assert_eq!(a.len(), 784);
    assert!(a.iter().chain(&b).all(|p| (0.0..=1.0).contains(p)));
    let change: f64 = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).sum();
    assert!(
        change > 1.0,
        "different codes decoded to the same image ({change})"
    );

    let (status, plane) = request(&server, "/api/plane", Some(r#"{"x": 1.5, "y": -0.5}"#));
    assert_eq!(status, 200, "{plane}");
    assert_eq!(plane["z"].as_array().unwrap().len(), 4);
    assert_eq!(pixels(&plane["pixels"]).len(), 784);

    // A real test image scores like the test set; a blank one sits elsewhere in it.
    let (status, image) = request(&server, "/api/test-image?index=7", None);
    assert_eq!(status, 200, "{image}");
    let body = json!({ "pixels": image["pixels"] }).to_string();
    let (status, scored) = request(&server, "/api/reconstruct", Some(&body));
    assert_eq!(status, 200, "{scored}");
    let percentile = scored["percentile"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&percentile), "{scored}");
    assert!(scored["negative_elbo"].as_f64().unwrap() > 0.0);
    assert_eq!(pixels(&scored["reconstruction"]).len(), 784);

    let (status, line) = request(
        &server,
        "/api/interpolate",
        Some(r#"{"a": 0, "b": 1, "steps": 6}"#),
    );
    assert_eq!(status, 200, "{line}");
    assert_eq!(line["images"].as_array().unwrap().len(), 6);

    // The page itself.
    let page = agent()
        .get(&server.base)
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap();
    assert!(page.contains("<canvas id=\"decoded\""), "{page}");

    // Bad requests: a 4xx and a JSON message naming the problem, and the server lives on.
    assert_error(decode("[0, 0]"), 400, "latent space has 4 dimensions");
    assert_error(decode("[0, \"a\", 0, 0]"), 422, "z[1]");
    assert_error(
        request(
            &server,
            "/api/decode",
            Some(r#"{"z": [0, 0, 0, 0], "label": 3}"#),
        ),
        400,
        "not conditional",
    );
    assert_error(request(&server, "/api/decode", Some("{not json")), 400, "");
    let huge = format!("{{\"z\": [{}]}}", vec!["0.0"; 100_000].join(","));
    assert_error(
        request(&server, "/api/decode", Some(&huge)),
        413,
        "byte limit",
    );
    assert_error(
        request(&server, "/api/reconstruct", Some(r#"{"pixels": [0.5]}"#)),
        400,
        "have 784",
    );
    let bright = json!({ "pixels": vec![2.0; 784] }).to_string();
    assert_error(
        request(&server, "/api/reconstruct", Some(&bright)),
        400,
        "intensity in [0, 1]",
    );
    assert_error(
        request(&server, "/api/test-image?index=10000", None),
        400,
        "out of range",
    );
    assert_error(
        request(&server, "/api/test-image?index=x", None),
        400,
        "index",
    );
    assert_error(
        request(
            &server,
            "/api/interpolate",
            Some(r#"{"a": 0, "b": 1, "steps": 1}"#),
        ),
        400,
        "steps must be within 2..=32",
    );
    assert_error(request(&server, "/api/nothing", None), 404, "no route");
    assert_error(request(&server, "/api/decode", None), 405, "POST");
    let (status, _) = decode("[0, 0, 0, 0]");
    assert_eq!(status, 200, "the server answers after the bad requests");
}

#[test]
fn a_run_that_cannot_be_served_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let stderr = support::fail(&["web", "--run-dir", path(dir.path())]);
    assert!(stderr.contains("has no config.json"), "{stderr}");

    // The port is taken: the error names it and the fix.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let stderr = support::fail(&[
        "web",
        "--run-dir",
        path(trained_run()),
        "--data-dir",
        path(&mnist_dir()),
        "--listen",
        &address,
    ]);
    assert!(
        stderr.contains(&format!("cannot listen on {address}")) && stderr.contains("--listen"),
        "{stderr}"
    );
}

#[test]
fn a_conditional_model_decodes_the_class_asked_for_and_names_a_missing_label() {
    let dir = tempfile::tempdir().unwrap();
    let smoke = std::fs::read_to_string(support::repo_file("configs/smoke.json")).unwrap();
    let mut config: Value = serde_json::from_str(&smoke).unwrap();
    config["condition"] = "label".into();
    let config_path = dir.path().join("smoke-cvae.json");
    std::fs::write(&config_path, config.to_string()).unwrap();
    let run_dir = dir.path().join("smoke-cvae");
    succeed(&[
        "train",
        "--config",
        path(&config_path),
        "--data-dir",
        path(&mnist_dir()),
        "--run-dir",
        path(&run_dir),
        "--plain",
    ]);
    let server = start_server(&run_dir);
    let (status, info) = request(&server, "/api/info", None);
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["classes"].as_array().unwrap().len(), 10, "{info}");

    // The same code decoded as two classes: two different images.
    let decode = |label: &str| {
        request(
            &server,
            "/api/decode",
            Some(&format!(r#"{{"z": [0, 0, 0, 0]{label}}}"#)),
        )
    };
    let (status, one) = decode(r#", "label": 1"#);
    assert_eq!(status, 200, "{one}");
    let (status, zero) = decode(r#", "label": 0"#);
    assert_eq!(status, 200, "{zero}");
    let (one, zero) = (pixels(&one["pixels"]), pixels(&zero["pixels"]));
    // The smoke model trains briefly, so the classes differ faintly but surely.
    let change: f64 = one.iter().zip(&zero).map(|(a, b)| (a - b).abs()).sum();
    assert!(
        change > 1.0,
        "labels 1 and 0 decode to the same image (total difference {change})"
    );

    assert_error(decode(""), 400, "send a label");
    assert_error(decode(r#", "label": 10"#), 400, "out of range");
    let (status, scored) = request(
        &server,
        "/api/reconstruct",
        Some(&json!({ "pixels": vec![0.0; 784], "label": 4 }).to_string()),
    );
    assert_eq!(status, 200, "{scored}");
    assert!(
        scored["negative_elbo"].as_f64().unwrap().is_finite(),
        "{scored}"
    );
}

#[test]
fn sigterm_stops_the_server() {
    let mut server = start_server(trained_run());
    let (status, _) = request(&server, "/api/info", None);
    assert_eq!(status, 200);
    let pid = server.child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = server.child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "vae web still runs 10 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "vae web ended with {exit} on SIGTERM");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut server.stdout, &mut rest).unwrap();
    assert!(rest.contains("stopped"), "{rest:?}");
}

// ---- the page in a real browser ---------------------------------------------------------------

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver session on headless chromium, closed when dropped.
struct Browser {
    driver: Child,
    url: String,
}

impl Drop for Browser {
    fn drop(&mut self) {
        agent().delete(&self.url).call().ok();
        self.driver.kill().ok();
        self.driver.wait().ok();
    }
}

impl Browser {
    fn start() -> Option<Self> {
        let (chromium, chromedriver) = ("/usr/bin/chromium", "/usr/bin/chromedriver");
        if !(Path::new(chromium).exists() && Path::new(chromedriver).exists()) {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but chromium or chromedriver is missing: .ci/run installs them"
            );
            eprintln!(
                "skipped: no chromium and chromedriver here (apt-get install chromium chromium-driver)"
            );
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let base = format!("http://127.0.0.1:{port}");
        let capabilities = json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1200,1000"]
        }}}});
        let deadline = Instant::now() + Duration::from_secs(30);
        let session = loop {
            let answer = agent()
                .post(&format!("{base}/session"))
                .header("Content-Type", "application/json")
                .send(capabilities.to_string());
            if let Ok(response) = answer {
                let value: Value =
                    serde_json::from_str(&response.into_body().read_to_string().unwrap()).unwrap();
                match value["value"]["sessionId"].as_str() {
                    Some(id) => break id.to_string(),
                    None => panic!("chromedriver refused the session: {value}"),
                }
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(200));
        };
        Some(Self {
            driver,
            url: format!("{base}/session/{session}"),
        })
    }

    fn command(&self, route: &str, body: Value) -> Value {
        let response = agent()
            .post(&format!("{}{route}", self.url))
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .unwrap();
        let value: Value =
            serde_json::from_str(&response.into_body().read_to_string().unwrap()).unwrap();
        assert!(value["value"]["error"].is_null(), "{route}: {value}");
        value["value"].clone()
    }

    fn script(&self, script: &str) -> Value {
        self.command("/execute/sync", json!({"script": script, "args": []}))
    }

    fn element(&self, css: &str) -> String {
        let found = self.command("/element", json!({"using": "css selector", "value": css}));
        found[ELEMENT].as_str().unwrap().to_string()
    }

    /// Waits until `document.body.dataset[counter]` reaches `at_least`.
    fn wait_for(&self, counter: &str, at_least: u64) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let value = self.script(&format!("return document.body.dataset.{counter} || '0';"));
            let count: u64 = value.as_str().unwrap_or("0").parse().unwrap();
            if count >= at_least {
                return;
            }
            let status = self.script("return document.getElementById('status').textContent;");
            assert!(
                Instant::now() < deadline,
                "the page's {counter} stayed at {count}; status: {status}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The element's screenshot: mean intensity and the pixels.
    fn screenshot(&self, css: &str) -> (f64, Vec<u8>) {
        use base64_decode::decode;
        let id = self.element(css);
        let response = agent()
            .get(&format!("{}/element/{id}/screenshot", self.url))
            .call()
            .unwrap();
        let value: Value =
            serde_json::from_str(&response.into_body().read_to_string().unwrap()).unwrap();
        let png = decode(value["value"].as_str().unwrap());
        let image = image::load_from_memory(&png).unwrap().to_luma8();
        let pixels = image.into_raw();
        let mean = pixels.iter().map(|&p| f64::from(p)).sum::<f64>() / pixels.len() as f64;
        (mean, pixels)
    }
}

/// A minimal standard base64 decoder for WebDriver's screenshots (no extra dependency).
mod base64_decode {
    pub fn decode(text: &str) -> Vec<u8> {
        let value = |c: u8| match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        };
        let bytes: Vec<u8> = text.bytes().filter(|&c| c != b'=' && c != b'\n').collect();
        let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
        for chunk in bytes.chunks(4) {
            let mut n = 0u32;
            for (i, &c) in chunk.iter().enumerate() {
                n |= u32::from(value(c)) << (18 - 6 * i);
            }
            out.extend(&n.to_be_bytes()[1..chunk.len()]);
        }
        out
    }
}

#[test]
fn the_page_decodes_when_a_slider_moves_and_scores_a_drawn_stroke() {
    let server = start_server(trained_run());
    let Some(browser) = Browser::start() else {
        return;
    };
    browser.command("/url", json!({"url": format!("{}/", server.base)}));
    browser.wait_for("decodes", 1);
    let (_, before) = browser.screenshot("#decoded");
    // The page interpolates between test images 0 and 1 as it opens.
    browser.wait_for("interpolations", 1);
    let (strip, _) = browser.screenshot("#interpolation");
    assert!(
        strip > 5.0,
        "the interpolation strip is blank: mean intensity {strip:.1}"
    );

    // Move the first slider (the highest-KL dimension) to its far end, as a user drags it (the
    // codes of a trained model sit well away from 0: the near end can change little).
    browser.script(
        "const s = document.getElementById('slider-0'); \
         s.value = Number(s.value) > 0 ? s.min : s.max; s.dispatchEvent(new Event('input'));",
    );
    browser.wait_for("decodes", 2);
    let (_, after) = browser.screenshot("#decoded");
    let changed = before
        .iter()
        .zip(&after)
        .filter(|(a, b)| a.abs_diff(**b) > 16)
        .count();
    assert!(
        changed > before.len() / 50,
        "moving the slider changed {changed} of {} pixels of the decoded image",
        before.len()
    );

    // Draw a stroke with the mouse on the drawing canvas: a reconstruction appears.
    let (blank, _) = browser.screenshot("#reconstruction");
    let canvas = browser.element("#draw");
    let origin = json!({ ELEMENT: canvas });
    browser.command(
        "/actions",
        json!({"actions": [{"type": "pointer", "id": "mouse",
            "parameters": {"pointerType": "mouse"},
            "actions": [
                {"type": "pointerMove", "origin": origin, "x": 0, "y": -70},
                {"type": "pointerDown", "button": 0},
                {"type": "pointerMove", "origin": origin, "x": 10, "y": 0, "duration": 100},
                {"type": "pointerMove", "origin": origin, "x": 0, "y": 70, "duration": 100},
                {"type": "pointerUp", "button": 0}]}]}),
    );
    browser.wait_for("reconstructions", 1);
    let (drawn, _) = browser.screenshot("#reconstruction");
    assert!(
        drawn > blank + 5.0,
        "the reconstruction stayed blank: mean intensity {blank:.1} -> {drawn:.1}"
    );
    let score = browser.script("return document.getElementById('score').textContent;");
    assert!(score.as_str().unwrap().contains("negative ELBO"), "{score}");

    if let Some(out) = std::env::var_os("VAE_WEB_SCREENSHOT") {
        let response = agent()
            .get(&format!("{}/screenshot", browser.url))
            .call()
            .unwrap();
        let value: Value =
            serde_json::from_str(&response.into_body().read_to_string().unwrap()).unwrap();
        std::fs::write(out, base64_decode::decode(value["value"].as_str().unwrap())).unwrap();
    }
}
