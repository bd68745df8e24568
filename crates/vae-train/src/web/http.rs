//! The HTTP/1.1 server under `vae web`: one thread per connection, one request per connection
//! (every answer says `Connection: close`), and every limit explicit:
//!
//! - a request (headers and body) must arrive within [`REQUEST_TIMEOUT`] of the connection's
//!   start, else it is answered 408 and closed; the answer must be taken within the same time;
//! - headers are at most [`MAX_HEADER_BYTES`] (431) and [`MAX_HEADERS`] lines, a body at most
//!   [`MAX_BODY_BYTES`] with a `Content-Length` (413; 411 without one);
//! - at most [`MAX_CONNECTIONS`] connections are served at once; the next is answered 503.
//!
//! httparse parses the request head. Why not a server crate: axum (on hyper and tokio) turns on
//! features of crates Burn shares (futures-core's `std`, serde_json's `raw_value`), which
//! rebuilt all of Burn (about 40 minutes on a 2-core machine) for one page; and tiny_http 0.12
//! allocates a buffer of the declared `Content-Length` when it discards an unread body, so one
//! request with a huge declared length aborts the process.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The time a client has to send its whole request, and to take the answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest request head (request line and headers).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// The most header lines in a request.
pub const MAX_HEADERS: usize = 64;
/// The largest request body accepted: a 3 × 64 × 64 image as JSON numbers fits.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// The most connections served at once.
pub const MAX_CONNECTIONS: usize = 32;
/// The most body bytes read and dropped after refusing a body as too large, so that the
/// client, still sending, reads the refusal instead of a reset connection.
const MAX_DISCARD_BYTES: usize = 4 * 1024 * 1024;
/// After an answer, how long the server reads and drops what the client still sends (bytes it
/// did not read, such as a pipelined request) before closing: closing with unread bytes makes
/// the system send a reset, which can destroy the answer before the client reads it.
const LINGER: Duration = Duration::from_secs(1);
/// The most bytes dropped while lingering.
const MAX_LINGER_BYTES: usize = 1024 * 1024;
/// The shortest time between two warnings about failed accepts (a process out of file
/// descriptors fails every accept).
const ACCEPT_WARNING_INTERVAL: Duration = Duration::from_secs(10);

/// A request as the handler sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path with its query, e.g. `/api/test-image?index=3`.
    pub url: String,
    /// The body (empty when none was sent).
    pub body: Vec<u8>,
}

/// An answer: status, content type and body.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// `Content-Type` header value.
    pub content_type: &'static str,
    /// The body.
    pub body: String,
}

impl Response {
    /// A JSON error answer, `{"error": message}`.
    pub fn error(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            content_type: "application/json",
            body: serde_json::json!({ "error": message.into() }).to_string(),
        }
    }
}

/// Serves `listener` until `stop` is set and the next connection arrives (see [`shut_down`]),
/// calling `handler` on a connection's thread for each well-formed request.
pub fn serve<H>(listener: TcpListener, stop: &AtomicBool, handler: H) -> std::io::Result<()>
where
    H: Fn(Request) -> Response + Send + Sync + 'static,
{
    listener.set_nonblocking(false)?;
    let handler = Arc::new(handler);
    let open = Arc::new(AtomicUsize::new(0));
    let mut last_warning: Option<Instant> = None;
    loop {
        let accepted = listener.accept();
        if stop.load(Ordering::Acquire) {
            return Ok(());
        }
        let stream = match accepted {
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
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let deadline = Instant::now() + REQUEST_TIMEOUT;
        if open.fetch_add(1, Ordering::AcqRel) >= MAX_CONNECTIONS {
            open.fetch_sub(1, Ordering::AcqRel);
            let busy = Response::error(
                503,
                format!("the server is busy with {MAX_CONNECTIONS} connections: try again"),
            );
            // Answered on the accepting thread, so without waiting: what the client sent so far
            // is dropped, the answer is written while the send buffer takes it, no lingering.
            let mut stream = stream;
            if stream.set_nonblocking(true).is_ok() {
                drop_pending(&mut stream);
                stream.write_all(&encode(&busy)).ok();
                stream.shutdown(Shutdown::Write).ok();
                drop_pending(&mut stream);
            }
            continue;
        }
        let handler = Arc::clone(&handler);
        let counted = Arc::clone(&open);
        let spawned = std::thread::Builder::new()
            .name("vae-web-connection".into())
            .spawn(move || {
                let _open = Release(&counted);
                serve_connection(stream, deadline, handler.as_ref());
            });
        if let Err(e) = spawned {
            // The closure, and with it the connection, was dropped without running.
            open.fetch_sub(1, Ordering::AcqRel);
            warn(&format!("cannot start a thread for a connection: {e}"));
        }
    }
}

/// Stops [`serve`] on `address`: sets `stop`, then connects once so that the waiting `accept`
/// returns and sees it.
pub fn shut_down(stop: &AtomicBool, address: SocketAddr) {
    stop.store(true, Ordering::Release);
    let mut local = address;
    if local.ip().is_unspecified() {
        local.set_ip(match address {
            SocketAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
        });
    }
    TcpStream::connect_timeout(&local, Duration::from_secs(1)).ok();
}

/// Writes a warning to standard error, which may be closed: no panic over it.
fn warn(message: &str) {
    writeln!(std::io::stderr(), "warning: {message}").ok();
}

/// Reads and drops what has already arrived on a non-blocking `stream`, without waiting.
fn drop_pending(stream: &mut TcpStream) {
    let mut chunk = [0u8; 16 * 1024];
    for _ in 0..64 {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// Decrements the open-connection count when the connection's thread ends, panicking or not.
struct Release<'a>(&'a AtomicUsize);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Reads one request from `stream`, answers it and closes the connection.
fn serve_connection<H: Fn(Request) -> Response>(
    mut stream: TcpStream,
    deadline: Instant,
    handler: &H,
) {
    // Accepted sockets inherit the listener's non-blocking mode on some systems.
    if stream.set_nonblocking(false).is_err() {
        return;
    }
    let response = match read_request(&mut stream, deadline) {
        Ok(request) => handler(request),
        Err(Refusal { response, discard }) => {
            if let Some(response) = response
                && write_response(&mut stream, &response, deadline).is_ok()
            {
                discard_body(&mut stream, discard, deadline);
                linger(&mut stream);
            }
            return;
        }
    };
    if write_response(&mut stream, &response, deadline).is_ok() {
        linger(&mut stream);
    }
}

/// Ends the connection gently: says no more will be sent, then reads and drops what the client
/// still sends, until it closes, [`LINGER`] passes or [`MAX_LINGER_BYTES`] arrive.
fn linger(stream: &mut TcpStream) {
    if stream.shutdown(Shutdown::Write).is_err() {
        return;
    }
    let until = Instant::now() + LINGER;
    let mut chunk = [0u8; 16 * 1024];
    let mut dropped = 0;
    while dropped < MAX_LINGER_BYTES {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match stream.read(&mut chunk) {
            Ok(0) => return,
            Ok(read) => dropped += read,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

/// Why no request reached the handler: the answer to send (none when the client went away),
/// and how many body bytes to read and drop before closing.
#[derive(Debug)]
struct Refusal {
    response: Option<Response>,
    discard: usize,
}

impl Refusal {
    fn with(status: u16, message: impl Into<String>) -> Self {
        Self {
            response: Some(Response::error(status, message)),
            discard: 0,
        }
    }

    fn gone() -> Self {
        Self {
            response: None,
            discard: 0,
        }
    }
}

/// Reads into `buffer` until `deadline`; `Ok(0)` is the end of the stream.
fn read_some(
    stream: &mut TcpStream,
    buffer: &mut [u8],
    deadline: Instant,
) -> Result<usize, Refusal> {
    let timed_out = || {
        Refusal::with(
            408,
            format!(
                "the request did not arrive within {} s",
                REQUEST_TIMEOUT.as_secs()
            ),
        )
    };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(timed_out());
        }
        stream
            .set_read_timeout(Some(left))
            .map_err(|_| Refusal::gone())?;
        match stream.read(buffer) {
            Ok(read) => return Ok(read),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err(timed_out());
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return Err(Refusal::gone()),
        }
    }
}

/// Reads one request: its head, then `Content-Length` bytes of body.
fn read_request(stream: &mut TcpStream, deadline: Instant) -> Result<Request, Refusal> {
    let mut buffer = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let (head_length, method, url, content_length, expects_continue) = loop {
        let read = read_some(stream, &mut chunk, deadline)?;
        if read == 0 {
            return Err(Refusal::gone());
        }
        buffer.extend_from_slice(&chunk[..read]);
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&buffer) {
            Ok(httparse::Status::Complete(head_length)) => {
                let content_length = body_length(request.headers)?;
                let expects_continue = request.headers.iter().any(|header| {
                    header.name.eq_ignore_ascii_case("expect")
                        && header.value.eq_ignore_ascii_case(b"100-continue")
                });
                break (
                    head_length,
                    request.method.unwrap_or_default().to_string(),
                    request.path.unwrap_or_default().to_string(),
                    content_length,
                    expects_continue,
                );
            }
            Ok(httparse::Status::Partial) if buffer.len() > MAX_HEADER_BYTES => {
                return Err(Refusal::with(
                    431,
                    format!("the request head is over the {MAX_HEADER_BYTES}-byte limit"),
                ));
            }
            Ok(httparse::Status::Partial) => {}
            Err(httparse::Error::TooManyHeaders) => {
                return Err(Refusal::with(
                    431,
                    format!("the request has over {MAX_HEADERS} header lines"),
                ));
            }
            Err(e) => {
                return Err(Refusal::with(400, format!("not an HTTP/1.1 request: {e}")));
            }
        }
    };
    if content_length > MAX_BODY_BYTES {
        return Err(Refusal {
            response: Some(Response::error(
                413,
                format!("the request body is over the {MAX_BODY_BYTES}-byte limit"),
            )),
            discard: content_length.saturating_sub(buffer.len() - head_length),
        });
    }
    let mut body = buffer.split_off(head_length);
    // A client that asked whether to send its body (curl does, for large ones) waits for this.
    if expects_continue && body.len() < content_length {
        write_all_by(stream, b"HTTP/1.1 100 Continue\r\n\r\n", deadline)
            .map_err(|_| Refusal::gone())?;
    }
    while body.len() < content_length {
        let read = read_some(stream, &mut chunk, deadline)?;
        if read == 0 {
            return Err(Refusal::gone());
        }
        body.extend_from_slice(&chunk[..read]);
    }
    body.truncate(content_length);
    Ok(Request { method, url, body })
}

/// The body length a request declares: its `Content-Length`, or 0 without one. A chunked body
/// is refused (411): browsers and HTTP libraries send a length for a body they hold whole.
fn body_length(headers: &[httparse::Header<'_>]) -> Result<usize, Refusal> {
    let mut length = None;
    for header in headers {
        if header.name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(Refusal::with(
                411,
                "send the body with a Content-Length (chunked transfer is not accepted)",
            ));
        }
        if header.name.eq_ignore_ascii_case("content-length") {
            let value = std::str::from_utf8(header.value).unwrap_or_default().trim();
            let parsed: usize = value.parse().map_err(|_| {
                Refusal::with(400, format!("Content-Length {value:?} is not a byte count"))
            })?;
            if length.is_some_and(|previous| previous != parsed) {
                return Err(Refusal::with(
                    400,
                    "the request has two different Content-Lengths",
                ));
            }
            length = Some(parsed);
        }
    }
    Ok(length.unwrap_or(0))
}

/// Reads and drops up to `bytes` (at most [`MAX_DISCARD_BYTES`]) before the connection closes.
fn discard_body(stream: &mut TcpStream, bytes: usize, deadline: Instant) {
    let mut left = bytes.min(MAX_DISCARD_BYTES);
    let mut chunk = [0u8; 16 * 1024];
    while left > 0 {
        match read_some(stream, &mut chunk, deadline) {
            Ok(0) | Err(_) => return,
            Ok(read) => left = left.saturating_sub(read),
        }
    }
}

/// The reason phrase of the statuses this server sends.
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        422 => "Unprocessable Content",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "",
    }
}

/// The bytes of `response` on the wire: status line, headers, body.
fn encode(response: &Response) -> Vec<u8> {
    let mut bytes = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n\
         Connection: close\r\n\r\n",
        response.status,
        reason(response.status),
        response.content_type,
        response.body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(response.body.as_bytes());
    bytes
}

/// Writes `response`; the client has until `deadline`, and at least a second, to take it.
fn write_response(
    stream: &mut TcpStream,
    response: &Response,
    deadline: Instant,
) -> std::io::Result<()> {
    let deadline = deadline.max(Instant::now() + Duration::from_secs(1));
    write_all_by(stream, &encode(response), deadline)
}

/// Writes all of `bytes` by `deadline` in total (a socket's write timeout counts per write, so
/// a client taking a byte at a time would otherwise hold the connection for ever).
fn write_all_by(
    stream: &mut TcpStream,
    mut bytes: &[u8],
    deadline: Instant,
) -> std::io::Result<()> {
    while !bytes.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ErrorKind::TimedOut.into());
        }
        stream.set_write_timeout(Some(left))?;
        match stream.write(bytes) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(written) => bytes = &bytes[written..],
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server on a free port that echoes method, URL and body length; stopped when dropped.
    struct Echo {
        address: SocketAddr,
        stop: Arc<AtomicBool>,
        thread: Option<std::thread::JoinHandle<()>>,
    }

    impl Echo {
        fn start() -> Self {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let address = listener.local_addr().unwrap();
            let stop = Arc::new(AtomicBool::new(false));
            let flag = Arc::clone(&stop);
            let thread = std::thread::spawn(move || {
                serve(listener, &flag, |request: Request| Response {
                    status: 200,
                    content_type: "text/plain",
                    body: format!("{} {} {}", request.method, request.url, request.body.len()),
                })
                .unwrap();
            });
            Self {
                address,
                stop,
                thread: Some(thread),
            }
        }

        /// Sends `raw`, returns the whole answer.
        fn exchange(&self, raw: &[u8]) -> String {
            let mut stream = TcpStream::connect(self.address).unwrap();
            stream.set_read_timeout(Some(REQUEST_TIMEOUT * 3)).unwrap();
            stream.write_all(raw).unwrap();
            let mut answer = String::new();
            stream.read_to_string(&mut answer).unwrap();
            answer
        }
    }

    impl Drop for Echo {
        fn drop(&mut self) {
            shut_down(&self.stop, self.address);
            if let Some(thread) = self.thread.take() {
                thread.join().unwrap();
            }
        }
    }

    #[test]
    fn a_request_reaches_the_handler_with_its_body() {
        let echo = Echo::start();
        let answer = echo.exchange(
            b"POST /api/decode?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
        );
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.contains("Connection: close"), "{answer}");
        assert!(
            answer.ends_with("\r\n\r\nPOST /api/decode?x=1 5"),
            "{answer}"
        );
        // The body may arrive in pieces after the head.
        let mut stream = TcpStream::connect(echo.address).unwrap();
        stream
            .write_all(b"POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nab")
            .unwrap();
        std::thread::sleep(Duration::from_millis(100));
        stream.write_all(b"cd").unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(answer.ends_with("POST / 4"), "{answer}");
    }

    #[test]
    fn bytes_the_server_does_not_read_do_not_reset_the_answer() {
        let echo = Echo::start();
        // A request followed by 256 KiB the server never parses (a pipelined upload, say):
        // closing with them unread would send a reset instead of the answer's end.
        let mut raw = b"GET /first HTTP/1.1\r\n\r\n".to_vec();
        raw.extend(std::iter::repeat_n(b'x', 256 * 1024));
        for _ in 0..5 {
            let answer = echo.exchange(&raw);
            assert!(answer.ends_with("GET /first 0"), "{answer}");
        }
    }

    #[test]
    fn a_client_that_expects_100_continue_is_told_to_send_its_body() {
        let echo = Echo::start();
        let mut stream = TcpStream::connect(echo.address).unwrap();
        stream
            .write_all(b"POST /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n")
            .unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
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
        let too_long = format!(
            "POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY_BYTES + 1
        );
        let mut raw = too_long.into_bytes();
        raw.extend(std::iter::repeat_n(b'0', MAX_BODY_BYTES + 1));
        let answer = echo.exchange(&raw);
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        assert!(answer.contains("byte limit"), "{answer}");

        // A declared length far beyond memory is refused from the header alone.
        let answer = echo.exchange(b"POST / HTTP/1.1\r\nContent-Length: 99999999999999\r\n\r\n");
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");

        let chunked =
            echo.exchange(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
        assert!(chunked.starts_with("HTTP/1.1 411"), "{chunked}");

        let long_head = format!("GET /{} HTTP/1.1\r\n", "a".repeat(MAX_HEADER_BYTES));
        let answer = echo.exchange(long_head.as_bytes());
        assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");

        let answer = echo.exchange(b"NOT HTTP\r\n\r\n");
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    }

    #[test]
    fn a_stalled_client_is_answered_408_while_others_are_served() {
        let echo = Echo::start();
        let started = Instant::now();
        let mut stalled = TcpStream::connect(echo.address).unwrap();
        stalled.set_read_timeout(Some(REQUEST_TIMEOUT * 3)).unwrap();
        // Half a head, then nothing.
        stalled.write_all(b"POST / HTTP/1.1\r\nContent-Le").unwrap();
        // Another client is served in the meantime.
        let answer = echo.exchange(b"GET /api/info HTTP/1.1\r\n\r\n");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(
            started.elapsed() < REQUEST_TIMEOUT,
            "served only after the stall"
        );

        let mut answer = String::new();
        stalled.read_to_string(&mut answer).unwrap();
        let waited = started.elapsed();
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(
            waited >= REQUEST_TIMEOUT && waited < REQUEST_TIMEOUT * 2,
            "answered after {waited:?}"
        );
    }
}
