//! The HTTP/1.1 server under `vae web`: hyper's HTTP/1.1 connections on tokio, each serving an
//! axum [`Router`], with every limit explicit:
//!
//! - a request head must arrive within [`REQUEST_TIMEOUT`], else the connection is closed
//!   (hyper sends no answer to a head that never ends); a kept-alive connection with no next
//!   request is closed after the same time; a body must arrive within it too ([`read_body`]:
//!   408);
//! - a head has at most [`MAX_HEADER_BYTES`] and [`MAX_HEADERS`] lines (431), a body at most
//!   [`MAX_BODY_BYTES`] (413), whether it comes with a `Content-Length` or in chunks;
//! - a client that takes no byte of its answer for [`REQUEST_TIMEOUT`] is closed
//!   (hyper itself has no write timeout: the stream under it has one);
//! - at most [`MAX_CONNECTIONS`] connections are served at once; the next ones are answered
//!   503 (at most [`MAX_REFUSALS`] at once; beyond, a connection is closed unread).
//!
//! hyper answers a head that is not HTTP (400) or too large (431) itself, without a JSON body.
//! On shutdown the server closes its listener, lets each connection finish the request it is
//! serving (at most [`REQUEST_TIMEOUT`]) and closes idle ones.

use std::io::Write;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use http_body_util::BodyExt;
use hyper::body::Body as _;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::Sleep;

/// The time a client has to send a request's head, then its body, and to take each part of the
/// answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest request head (request line and headers).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// The most header lines in a request.
pub const MAX_HEADERS: usize = 64;
/// The largest request body accepted: a 3 × 64 × 64 image as JSON numbers fits.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// The most connections served at once.
pub const MAX_CONNECTIONS: usize = 32;
/// The most connections being told 503 at once; beyond it, new connections are closed unread.
pub const MAX_REFUSALS: usize = 64;
/// The most body bytes read and dropped after a body went over [`MAX_BODY_BYTES`], so that the
/// client, still sending, reads the refusal instead of a reset connection. A body declared
/// longer than this is refused from its `Content-Length` alone.
const MAX_DISCARD_BYTES: usize = 4 * 1024 * 1024;
/// The shortest time between two warnings about failed accepts (a process out of file
/// descriptors fails every accept).
const ACCEPT_WARNING_INTERVAL: Duration = Duration::from_secs(10);

/// An answer: status, content type and body.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// `Content-Type` header value.
    pub content_type: &'static str,
    /// The body.
    pub body: String,
}

impl Reply {
    /// A JSON error answer, `{"error": message}`.
    pub fn error(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            content_type: "application/json",
            body: serde_json::json!({ "error": message.into() }).to_string(),
        }
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> axum::response::Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (
            status,
            [(header::CONTENT_TYPE, self.content_type)],
            self.body,
        )
            .into_response()
    }
}

/// Reads a request body within [`REQUEST_TIMEOUT`] and [`MAX_BODY_BYTES`]: 408 when it comes
/// too slowly, 413 when it is too long, 400 when the connection fails while it is read.
pub async fn read_body(body: Body) -> Result<Bytes, Reply> {
    let too_long = |has: String| {
        Reply::error(
            413,
            format!(
                "the body {has} bytes, over the {MAX_BODY_BYTES} byte limit: send a smaller \
                 request"
            ),
        )
    };
    let declared = body.size_hint().lower();
    if declared > MAX_DISCARD_BYTES as u64 {
        return Err(too_long(format!("declares {declared}")));
    }
    match tokio::time::timeout(REQUEST_TIMEOUT, collect_limited(body)).await {
        Ok(Ok(Collected::Whole(bytes))) => Ok(bytes),
        Ok(Ok(Collected::TooLong(seen))) if seen > MAX_DISCARD_BYTES => {
            Err(too_long(format!("has more than {MAX_DISCARD_BYTES}")))
        }
        Ok(Ok(Collected::TooLong(seen))) => Err(too_long(format!("has {seen}"))),
        Ok(Err(e)) => Err(Reply::error(400, format!("cannot read the body: {e}"))),
        Err(_) => Err(Reply::error(
            408,
            format!(
                "the body did not arrive within {} s",
                REQUEST_TIMEOUT.as_secs()
            ),
        )),
    }
}

/// A body read by [`collect_limited`].
enum Collected {
    /// All of it, within [`MAX_BODY_BYTES`].
    Whole(Bytes),
    /// Over the limit: how many bytes were read (and dropped) before stopping.
    TooLong(usize),
}

/// Reads a body whole; once it is over [`MAX_BODY_BYTES`], reads and drops the rest, up to
/// [`MAX_DISCARD_BYTES`].
async fn collect_limited(mut body: Body) -> Result<Collected, axum::Error> {
    let mut kept = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue;
        };
        seen += data.len();
        if seen <= MAX_BODY_BYTES {
            kept.extend_from_slice(&data);
        } else if seen > MAX_DISCARD_BYTES {
            break;
        }
    }
    Ok(if seen > MAX_BODY_BYTES {
        Collected::TooLong(seen)
    } else {
        Collected::Whole(Bytes::from(kept))
    })
}

/// Serves `router` on `listener` until `shutdown` completes, then lets the open connections
/// finish (see the module's documentation). Failed accepts are warned about on standard error
/// and do not stop it.
pub async fn serve(listener: TcpListener, router: Router, shutdown: impl Future<Output = ()>) {
    let places = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS));
    let busy = Router::new().fallback(async || {
        Reply::error(
            503,
            format!("the server is busy with {MAX_CONNECTIONS} connections: try again"),
        )
    });
    let (closing, closing_seen) = watch::channel(false);
    let mut last_warning: Option<Instant> = None;
    let mut shutdown = pin!(shutdown);
    loop {
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // A connection that failed before it was accepted, or no file descriptor left:
                // the next one may do better.
                Err(e) => {
                    if last_warning.is_none_or(|at| at.elapsed() >= ACCEPT_WARNING_INTERVAL) {
                        warn(&format!(
                            "accepting a connection failed: {e} (repeats are not shown for {} s)",
                            ACCEPT_WARNING_INTERVAL.as_secs()
                        ));
                        last_warning = Some(Instant::now());
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // Answers are small and awaited by a person: send them at once.
        stream.set_nodelay(true).ok();
        let (permit, app, keep_alive) = match Arc::clone(&places).try_acquire_owned() {
            Ok(permit) => (permit, router.clone(), true),
            Err(_) => match Arc::clone(&refusals).try_acquire_owned() {
                Ok(permit) => (permit, busy.clone(), false),
                Err(_) => continue,
            },
        };
        let closing_seen = closing_seen.clone();
        tokio::spawn(async move {
            drive(stream, app, keep_alive, closing_seen).await;
            drop(permit);
        });
    }
    // New clients are refused by the system from now on, instead of waiting in its backlog.
    drop(listener);
    closing.send_replace(true);
    // Every place back means every connection ended; each has REQUEST_TIMEOUT to end once told.
    const ALL: u32 = MAX_CONNECTIONS as u32;
    tokio::time::timeout(REQUEST_TIMEOUT * 2, places.acquire_many(ALL))
        .await
        .ok();
}

/// Serves one connection until it ends, or until the server closes: it then finishes its
/// current request (within [`REQUEST_TIMEOUT`]) and closes.
async fn drive(
    stream: TcpStream,
    app: Router,
    keep_alive: bool,
    mut closing: watch::Receiver<bool>,
) {
    let mut connection = pin!(
        http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(REQUEST_TIMEOUT)
            .max_headers(MAX_HEADERS)
            .max_header_size(MAX_HEADER_BYTES)
            .keep_alive(keep_alive)
            .serve_connection(
                TokioIo::new(WriteTimeout::new(stream)),
                TowerToHyperService::new(app)
            )
    );
    tokio::select! {
        // A client that goes away, or sends what is not HTTP, is no news for the server's log.
        _ = connection.as_mut() => return,
        _ = closing.wait_for(|closing| *closing) => {}
    }
    connection.as_mut().graceful_shutdown();
    tokio::time::timeout(REQUEST_TIMEOUT, connection).await.ok();
}

/// A TCP stream whose writes fail once the client has taken no byte for [`REQUEST_TIMEOUT`]:
/// hyper has no write timeout, and a client that sends requests but never reads the answers
/// would otherwise hold its connection for good.
struct WriteTimeout {
    stream: TcpStream,
    /// Set while a write waits for the client; cleared by any progress.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl WriteTimeout {
    fn new(stream: TcpStream) -> Self {
        Self {
            stream,
            stalled: None,
        }
    }

    /// A write's outcome: progress clears the stall; `Pending` starts or continues it, and is
    /// an error once the stall is [`REQUEST_TIMEOUT`] long.
    fn track<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<std::io::Result<T>>,
    ) -> Poll<std::io::Result<T>> {
        if !polled.is_pending() {
            self.stalled = None;
            return polled;
        }
        let stalled = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(REQUEST_TIMEOUT)));
        match stalled.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the client took no part of its answer in time",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for WriteTimeout {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for WriteTimeout {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.track(cx, polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.track(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_flush(cx);
        this.track(cx, polled)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// Writes a warning to standard error, which may be closed: no panic over it.
fn warn(message: &str) {
    writeln!(std::io::stderr(), "warning: {message}").ok();
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{Method, Uri};
    use std::io::Read;
    use std::net::SocketAddr;

    /// The length of `GET /big`'s answer: more than the system's socket buffers hold.
    const BIG_ANSWER_BYTES: usize = 32 * 1024 * 1024;

    /// A server on a free port whose every route (but `/big`) echoes method, URL and body length (or the
    /// body's refusal); stopped when dropped.
    struct Echo {
        address: SocketAddr,
        stop: Option<tokio::sync::oneshot::Sender<()>>,
        thread: Option<std::thread::JoinHandle<()>>,
    }

    impl Echo {
        fn start() -> Self {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.set_nonblocking(true).unwrap();
            let address = listener.local_addr().unwrap();
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let echo = Router::new()
                .route(
                    "/big",
                    axum::routing::get(async || "x".repeat(BIG_ANSWER_BYTES)),
                )
                .fallback(async |method: Method, uri: Uri, body: Body| {
                    match read_body(body).await {
                        Ok(body) => Reply {
                            status: 200,
                            content_type: "text/plain",
                            body: format!("{method} {uri} {}", body.len()),
                        },
                        Err(refusal) => refusal,
                    }
                });
            let thread = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async {
                    let listener = TcpListener::from_std(listener).unwrap();
                    serve(listener, echo, async {
                        stopped.await.ok();
                    })
                    .await;
                });
            });
            Self {
                address,
                stop: Some(stop),
                thread: Some(thread),
            }
        }

        fn connect(&self) -> std::net::TcpStream {
            let stream = std::net::TcpStream::connect(self.address).unwrap();
            stream.set_read_timeout(Some(REQUEST_TIMEOUT * 3)).unwrap();
            stream
        }

        /// Sends `raw` (which should ask for `Connection: close`), returns the whole answer.
        fn exchange(&self, raw: &[u8]) -> String {
            let mut stream = self.connect();
            stream.write_all(raw).unwrap();
            let mut answer = Vec::new();
            stream.read_to_end(&mut answer).unwrap();
            String::from_utf8_lossy(&answer).into_owned()
        }
    }

    impl Drop for Echo {
        fn drop(&mut self) {
            if let Some(stop) = self.stop.take() {
                stop.send(()).ok();
            }
            if let Some(thread) = self.thread.take() {
                thread.join().unwrap();
            }
        }
    }

    #[test]
    fn a_request_reaches_the_handler_with_its_body() {
        let echo = Echo::start();
        let answer = echo.exchange(
            b"POST /api/decode?x=1 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\
              Content-Length: 5\r\n\r\nhello",
        );
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(
            answer.ends_with("\r\n\r\nPOST /api/decode?x=1 5"),
            "{answer}"
        );
        // The body may arrive in pieces after the head, or in chunks.
        let mut stream = echo.connect();
        stream
            .write_all(b"POST / HTTP/1.1\r\nConnection: close\r\nContent-Length: 4\r\n\r\nab")
            .unwrap();
        std::thread::sleep(Duration::from_millis(100));
        stream.write_all(b"cd").unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(answer.ends_with("POST / 4"), "{answer}");
        let chunked = echo.exchange(
            b"POST / HTTP/1.1\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n\
              3\r\nabc\r\n0\r\n\r\n",
        );
        assert!(chunked.ends_with("POST / 3"), "{chunked}");
    }

    #[test]
    fn a_kept_alive_connection_serves_one_request_after_another() {
        let echo = Echo::start();
        let mut stream = echo.connect();
        stream.write_all(b"GET /first HTTP/1.1\r\n\r\n").unwrap();
        // The answer may come in pieces: read up to its end.
        let mut first = Vec::new();
        let mut chunk = [0u8; 4096];
        while !first.ends_with(b"GET /first 0") {
            let read = stream.read(&mut chunk).unwrap();
            assert!(read > 0, "{}", String::from_utf8_lossy(&first));
            first.extend_from_slice(&chunk[..read]);
        }
        stream
            .write_all(b"GET /second HTTP/1.1\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut second = String::new();
        stream.read_to_string(&mut second).unwrap();
        assert!(second.ends_with("GET /second 0"), "{second}");
    }

    #[test]
    fn a_client_that_expects_100_continue_is_told_to_send_its_body() {
        let echo = Echo::start();
        let mut stream = echo.connect();
        stream
            .write_all(
                b"POST /x HTTP/1.1\r\nConnection: close\r\nExpect: 100-continue\r\n\
                  Content-Length: 3\r\n\r\n",
            )
            .unwrap();
        let mut interim = [0u8; 25];
        stream.read_exact(&mut interim).unwrap();
        assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
        stream.write_all(b"abc").unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("POST /x 3"), "{answer}");
    }

    #[test]
    fn limits_are_answered_with_their_status() {
        let echo = Echo::start();
        let head = format!(
            "POST / HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY_BYTES + 1
        );
        let mut raw = head.into_bytes();
        raw.extend(std::iter::repeat_n(b'0', MAX_BODY_BYTES + 1));
        let answer = echo.exchange(&raw);
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        assert!(answer.contains("byte limit"), "{answer}");
        assert!(
            answer.contains(&(MAX_BODY_BYTES + 1).to_string()),
            "{answer}"
        );

        // Chunks are counted as they come.
        let mut raw =
            b"POST / HTTP/1.1\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        for _ in 0..(MAX_BODY_BYTES / 4096 + 1) {
            raw.extend(b"1000\r\n");
            raw.extend(std::iter::repeat_n(b'0', 4096));
            raw.extend(b"\r\n");
        }
        raw.extend(b"0\r\n\r\n");
        let answer = echo.exchange(&raw);
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");

        // A declared length far beyond memory is refused from the header alone.
        let answer = echo.exchange(
            b"POST / HTTP/1.1\r\nConnection: close\r\nContent-Length: 99999999999999\r\n\r\n",
        );
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");

        let long_head = format!(
            "GET / HTTP/1.1\r\nX-Long: {}\r\n\r\n",
            "a".repeat(MAX_HEADER_BYTES)
        );
        let answer = echo.exchange(long_head.as_bytes());
        assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
        let many: String = (0..=MAX_HEADERS).map(|i| format!("X-{i}: a\r\n")).collect();
        let answer = echo.exchange(format!("GET / HTTP/1.1\r\n{many}\r\n").as_bytes());
        assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");

        let answer = echo.exchange(b"NOT HTTP\r\n\r\n");
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    }

    #[test]
    fn stalled_clients_are_closed_while_others_are_served() {
        let echo = Echo::start();
        let started = Instant::now();
        let mut stalled = echo.connect();
        // Half a head, then nothing.
        stalled.write_all(b"POST / HTTP/1.1\r\nContent-Le").unwrap();
        // Half a body, then nothing.
        let mut slow_body = echo.connect();
        slow_body
            .write_all(b"POST / HTTP/1.1\r\nConnection: close\r\nContent-Length: 5\r\n\r\nab")
            .unwrap();
        // A request for an answer larger than the socket buffers, never read.
        let mut deaf = echo.connect();
        deaf.write_all(b"GET /big HTTP/1.1\r\nConnection: close\r\n\r\n")
            .unwrap();
        // Another client is served in the meantime.
        let answer = echo.exchange(b"GET /api/info HTTP/1.1\r\nConnection: close\r\n\r\n");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(
            started.elapsed() < REQUEST_TIMEOUT,
            "served only after the stall"
        );
        let mut answer = Vec::new();
        stalled.read_to_end(&mut answer).ok();
        let waited = started.elapsed();
        assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
        assert!(
            waited >= REQUEST_TIMEOUT && waited < REQUEST_TIMEOUT * 2,
            "closed after {waited:?}"
        );
        let mut answer = String::new();
        slow_body.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("did not arrive"), "{answer}");
        // By now the deaf client's answer has waited over REQUEST_TIMEOUT: the server gave up,
        // so reading gets at most what the buffers held, then the end or a reset.
        std::thread::sleep(REQUEST_TIMEOUT / 2);
        let mut answer = Vec::new();
        deaf.read_to_end(&mut answer).ok();
        assert!(
            answer.len() < BIG_ANSWER_BYTES,
            "the whole answer came: the server waited for the client"
        );
        assert!(answer.starts_with(b"HTTP/1.1 200"));
    }

    #[test]
    fn connections_beyond_the_limit_are_told_503_and_the_server_stops_with_clients_open() {
        let echo = Echo::start();
        let held: Vec<_> = (0..MAX_CONNECTIONS)
            .map(|_| {
                let mut stream = echo.connect();
                stream.write_all(b"GET /held HTTP/1.1\r\n\r\n").unwrap();
                let mut answer = [0u8; 4096];
                let read = stream.read(&mut answer).unwrap();
                assert!(answer[..read].starts_with(b"HTTP/1.1 200"));
                stream
            })
            .collect();
        let answer = echo.exchange(b"GET / HTTP/1.1\r\n\r\n");
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
        assert!(answer.contains("busy"), "{answer}");
        // Dropping the server closes the idle connections held open, at once.
        let started = Instant::now();
        drop(echo);
        assert!(
            started.elapsed() < REQUEST_TIMEOUT,
            "{:?}",
            started.elapsed()
        );
        drop(held);
    }
}
