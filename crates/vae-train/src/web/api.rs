//! The routes of `vae web`: axum handlers, the JSON bodies, and errors as JSON with a 4xx
//! status (5xx only when the model itself fails or the server is busy).
//!
//! [`router`] builds the routes around a function that lends the model. A request is parsed
//! and checked before the model is asked, so that a bad request never waits for it, and so that
//! the routes can be tested without a model.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{Method, Uri};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::http::{Reply, read_body};
use super::model::{WebError, WebModel};

/// The page, bundled into the binary.
const PAGE: &str = include_str!("page.html");

/// A JSON answer with status 200.
fn json(value: &impl Serialize) -> Reply {
    match serde_json::to_string(value) {
        Ok(body) => Reply {
            status: 200,
            content_type: "application/json",
            body,
        },
        Err(e) => Reply::error(500, format!("cannot write the answer as JSON: {e}")),
    }
}

impl From<WebError> for Reply {
    fn from(error: WebError) -> Self {
        let status = match error {
            WebError::Invalid(_) => 400,
            WebError::Inspect(_) => 500,
        };
        Self::error(status, error.to_string())
    }
}

/// Parses a JSON body. Malformed JSON is a 400; JSON of the wrong shape a 422 whose message
/// names the field (`z[1]: invalid type: ...`).
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Reply> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let status = if e.inner().is_data() { 422 } else { 400 };
        let path = e.path().to_string();
        let message = if path == "." {
            format!("the body is not the expected JSON: {}", e.inner())
        } else {
            format!("{path}: {}", e.inner())
        };
        Reply::error(status, message)
    })?;
    deserializer
        .end()
        .map_err(|e| Reply::error(400, format!("the body has more after its JSON: {e}")))?;
    Ok(value)
}

/// `POST /api/decode`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DecodeRequest {
    z: Vec<f64>,
    label: Option<u8>,
}

#[derive(Debug, Serialize)]
struct Image {
    pixels: Vec<f32>,
}

/// `POST /api/plane`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlaneRequest {
    x: f64,
    y: f64,
    label: Option<u8>,
}

#[derive(Debug, Serialize)]
struct CodedImage {
    z: Vec<f64>,
    pixels: Vec<f32>,
}

/// `POST /api/reconstruct`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReconstructRequest {
    pixels: Vec<f32>,
    label: Option<u8>,
}

#[derive(Debug, Serialize)]
struct TestImage {
    pixels: Vec<f32>,
    label: u8,
    z: Vec<f64>,
}

/// `POST /api/interpolate`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InterpolateRequest {
    a: usize,
    b: usize,
    steps: usize,
}

#[derive(Debug, Serialize)]
struct Images {
    images: Vec<Vec<f32>>,
}

/// The routes: `(path, method it answers)`, as [`router`] routes them.
const ROUTES: [(&str, &str); 7] = [
    ("/", "GET"),
    ("/api/info", "GET"),
    ("/api/decode", "POST"),
    ("/api/plane", "POST"),
    ("/api/reconstruct", "POST"),
    ("/api/test-image", "GET"),
    ("/api/interpolate", "POST"),
];

/// `index` from a query string like `index=7`.
fn index_query(query: &str) -> Result<usize, Reply> {
    let value = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("index="))
        .ok_or_else(|| Reply::error(400, "index: missing; ask for /api/test-image?index=N"))?;
    value.parse().map_err(|_| {
        Reply::error(
            400,
            format!("index: expected a whole number from 0, got {value:?}"),
        )
    })
}

/// What lends the model to a request: runs the closure it is given on the model and returns
/// its answer.
type Lend = dyn Fn(&dyn Fn(&WebModel) -> Reply) -> Reply + Send + Sync;

/// The routes' shared state.
#[derive(Clone)]
struct Api {
    lend: Arc<Lend>,
}

impl Api {
    /// Runs `call` on the model, on a thread for blocking work (the model computes for
    /// milliseconds, which the server's own threads must not wait for).
    async fn run(self, call: Call) -> Reply {
        tokio::task::spawn_blocking(move || (self.lend)(&|model| call.run(model)))
            .await
            .unwrap_or_else(|_| {
                Reply::error(
                    500,
                    "the model failed on this request (see the server's log)",
                )
            })
    }

    /// Reads and parses a JSON body, then runs the call made of it.
    async fn run_posted<T: DeserializeOwned>(self, body: Body, call: fn(T) -> Call) -> Reply {
        let parsed = match read_body(body).await {
            Ok(bytes) => parse(&bytes),
            Err(refusal) => return refusal,
        };
        match parsed {
            Ok(request) => self.run(call(request)).await,
            Err(refusal) => refusal,
        }
    }
}

/// The routes (the table in [`super`]), with 404 and 405 answers that name them, around `lend`,
/// which lends the model to a request (see [`super::serve`]).
pub fn router(
    lend: impl Fn(&dyn Fn(&WebModel) -> Reply) -> Reply + Send + Sync + 'static,
) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/api/info", get(info))
        .route("/api/decode", post(decode))
        .route("/api/plane", post(plane))
        .route("/api/reconstruct", post(reconstruct))
        .route("/api/test-image", get(test_image))
        .route("/api/interpolate", post(interpolate))
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .with_state(Api {
            lend: Arc::new(lend),
        })
}

/// `GET /`.
async fn page() -> Reply {
    Reply {
        status: 200,
        content_type: "text/html; charset=utf-8",
        body: PAGE.to_string(),
    }
}

/// `GET /api/info`.
async fn info(State(api): State<Api>) -> Reply {
    api.run(Call::Info).await
}

/// `POST /api/decode`.
async fn decode(State(api): State<Api>, body: Body) -> Reply {
    api.run_posted(body, Call::Decode).await
}

/// `POST /api/plane`.
async fn plane(State(api): State<Api>, body: Body) -> Reply {
    api.run_posted(body, Call::Plane).await
}

/// `POST /api/reconstruct`.
async fn reconstruct(State(api): State<Api>, body: Body) -> Reply {
    api.run_posted(body, Call::Reconstruct).await
}

/// `POST /api/interpolate`.
async fn interpolate(State(api): State<Api>, body: Body) -> Reply {
    api.run_posted(body, Call::Interpolate).await
}

/// `GET /api/test-image?index=N`.
async fn test_image(State(api): State<Api>, RawQuery(query): RawQuery) -> Reply {
    match index_query(query.as_deref().unwrap_or_default()) {
        Ok(index) => api.run(Call::TestImage(index)).await,
        Err(refusal) => refusal,
    }
}

/// A path that is not a route: 404.
async fn no_route(method: Method, uri: Uri) -> Reply {
    Reply::error(
        404,
        format!(
            "no route {method} {}: the page is at /, the API under /api/ (info, decode, plane, \
             reconstruct, test-image, interpolate)",
            uri.path()
        ),
    )
}

/// A route asked with a method it does not answer: 405.
async fn wrong_method(method: Method, uri: Uri) -> Reply {
    let path = uri.path();
    let how = match ROUTES.iter().find(|(route, _)| *route == path) {
        Some((_, "GET")) => "GET",
        _ => "POST with a JSON body",
    };
    Reply::error(405, format!("{path} does not answer {method}: use {how}"))
}

/// A parsed request, ready to run on the model.
enum Call {
    Info,
    Decode(DecodeRequest),
    Plane(PlaneRequest),
    Reconstruct(ReconstructRequest),
    TestImage(usize),
    Interpolate(InterpolateRequest),
}

impl Call {
    fn run(&self, model: &WebModel) -> Reply {
        let result = match self {
            Self::Info => Ok(json(model.info())),
            Self::Decode(request) => model
                .decode(&request.z, request.label)
                .map(|pixels| json(&Image { pixels })),
            Self::Plane(request) => model
                .decode_plane(request.x, request.y, request.label)
                .map(|(z, pixels)| json(&CodedImage { z, pixels })),
            Self::Reconstruct(request) => model
                .reconstruct(&request.pixels, request.label)
                .map(|scored| json(&scored)),
            Self::TestImage(index) => model
                .test_image(*index)
                .map(|(pixels, label, z)| json(&TestImage { pixels, label, z })),
            Self::Interpolate(request) => model
                .interpolate(request.a, request.b, request.steps)
                .map(|images| json(&Images { images })),
        };
        result.unwrap_or_else(Reply::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;
    use tower::ServiceExt;

    /// Asks the routes without a model (every call that reaches it is a 599): status, content
    /// type and body.
    async fn ask(method: &str, url: &str, body: &str) -> (u16, String, String) {
        let request = Request::builder()
            .method(method)
            .uri(url)
            .body(Body::from(body.to_string()))
            .unwrap();
        let response = router(|_| Reply::error(599, "model"))
            .oneshot(request)
            .await
            .unwrap();
        let status = response.status().as_u16();
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_string();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (
            status,
            content_type,
            String::from_utf8(body.to_vec()).unwrap(),
        )
    }

    #[tokio::test]
    async fn unknown_routes_and_methods_are_named() {
        let (status, content_type, body) = ask("GET", "/api/nothing", "").await;
        assert_eq!(status, 404);
        assert_eq!(content_type, "application/json");
        assert!(body.contains("no route GET /api/nothing"), "{body}");
        let (status, _, body) = ask("GET", "/api/decode", "").await;
        assert_eq!(status, 405);
        assert!(body.contains("use POST"), "{body}");
        let (status, _, body) = ask("POST", "/api/info", "{}").await;
        assert_eq!(status, 405);
        assert!(body.contains("use GET"), "{body}");
        // Every route answers its own method and refuses the other.
        for (path, method) in ROUTES {
            let other = if method == "GET" { "POST" } else { "GET" };
            let (status, _, body) = ask(other, path, "").await;
            assert_eq!(status, 405, "{other} {path}: {body}");
            let (status, _, body) = ask(method, path, "").await;
            assert_ne!(status, 405, "{method} {path}: {body}");
            assert_ne!(status, 404, "{method} {path}: {body}");
        }
    }

    #[tokio::test]
    async fn bodies_are_checked_before_the_model_is_asked() {
        let (status, _, body) = ask("POST", "/api/decode", "{not json").await;
        assert_eq!(status, 400, "{body}");
        let (status, _, body) = ask("POST", "/api/decode", r#"{"z": [0, "a"]}"#).await;
        assert_eq!(status, 422);
        assert!(body.contains("z[1]"), "{body}");
        let (status, _, body) = ask("POST", "/api/decode", r#"{"z": [0], "extra": 1}"#).await;
        assert_eq!(status, 422);
        assert!(body.contains("extra"), "{body}");
        let (status, _, body) = ask("POST", "/api/decode", r#"{"z": [0]} {"z": [1]}"#).await;
        assert_eq!(status, 400, "{body}");
        let (status, _, body) = ask("GET", "/api/test-image?index=x", "").await;
        assert_eq!(status, 400);
        assert!(body.contains("index"), "{body}");
        let (status, _, _) = ask("GET", "/api/test-image", "").await;
        assert_eq!(status, 400);
        let big = format!("{{\"z\": [{}]}}", vec!["0"; 200_000].join(","));
        let (status, _, body) = ask("POST", "/api/decode", &big).await;
        assert_eq!(status, 413);
        assert!(body.contains("byte limit"), "{body}");
        // Valid requests reach the model; the page does not need it.
        assert_eq!(ask("POST", "/api/decode", r#"{"z": [0]}"#).await.0, 599);
        assert_eq!(ask("GET", "/api/test-image?index=3", "").await.0, 599);
        assert_eq!(ask("GET", "/api/info", "").await.0, 599);
        let (status, content_type, page) = ask("GET", "/", "").await;
        assert_eq!(status, 200);
        assert!(content_type.starts_with("text/html"));
        assert!(page.contains("<canvas"));
    }

    #[tokio::test]
    async fn a_model_that_panics_is_a_500_and_the_next_request_is_served() {
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let app = router(move |_| {
            if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                panic!("the model failed");
            }
            Reply::error(599, "model")
        });
        let info = || Request::get("/api/info").body(Body::empty()).unwrap();
        let first = app.clone().oneshot(info()).await.unwrap();
        assert_eq!(first.status().as_u16(), 500);
        let second = app.oneshot(info()).await.unwrap();
        assert_eq!(second.status().as_u16(), 599);
    }
}
