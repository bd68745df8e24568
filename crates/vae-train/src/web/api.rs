//! The HTTP side of `vae web`: routing, the JSON bodies, and errors as JSON with a 4xx status
//! (5xx only when the model itself fails or the server is busy).
//!
//! [`answer`] maps one request (method, path with query, body) to a [`Response`] without any
//! socket, so that the routes can be read, and tested, apart from [`super::http`].

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::http::Response;
use super::model::{WebError, WebModel};

/// The page, bundled into the binary.
const PAGE: &str = include_str!("page.html");

/// A JSON answer with status 200.
fn json(value: &impl Serialize) -> Response {
    match serde_json::to_string(value) {
        Ok(body) => Response {
            status: 200,
            content_type: "application/json",
            body,
        },
        Err(e) => Response::error(500, format!("cannot write the answer as JSON: {e}")),
    }
}

impl From<WebError> for Response {
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
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Response> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let status = if e.inner().is_data() { 422 } else { 400 };
        let path = e.path().to_string();
        let message = if path == "." {
            format!("the body is not the expected JSON: {}", e.inner())
        } else {
            format!("{path}: {}", e.inner())
        };
        Response::error(status, message)
    })?;
    deserializer
        .end()
        .map_err(|e| Response::error(400, format!("the body has more after its JSON: {e}")))?;
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

/// The routes: `(path, method it answers)`.
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
fn index_query(query: &str) -> Result<usize, Response> {
    let value = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("index="))
        .ok_or_else(|| Response::error(400, "index: missing; ask for /api/test-image?index=N"))?;
    value.parse().map_err(|_| {
        Response::error(
            400,
            format!("index: expected a whole number from 0, got {value:?}"),
        )
    })
}

/// Answers one request. The model is only lent (`with_model` runs the closure it is given on
/// it) once the request is known to be valid, so that a bad request never waits for it.
pub fn answer(
    method: &str,
    url: &str,
    body: &[u8],
    with_model: impl FnOnce(&dyn Fn(&WebModel) -> Response) -> Response,
) -> Response {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let Some(&(_, expected)) = ROUTES.iter().find(|(route, _)| *route == path) else {
        return Response::error(
            404,
            format!(
                "no route {method} {path}: the page is at /, the API under /api/ (info, decode, \
                 plane, reconstruct, test-image, interpolate)"
            ),
        );
    };
    if method != expected {
        let how = if expected == "GET" {
            "GET"
        } else {
            "POST with a JSON body"
        };
        return Response::error(405, format!("{path} does not answer {method}: use {how}"));
    }
    match route(path, query, body) {
        Ok(Call::Page) => Response {
            status: 200,
            content_type: "text/html; charset=utf-8",
            body: PAGE.to_string(),
        },
        Ok(call) => with_model(&|model: &WebModel| call.run(model)),
        Err(reply) => reply,
    }
}

/// A parsed request, ready to run on the model.
enum Call {
    Page,
    Info,
    Decode(DecodeRequest),
    Plane(PlaneRequest),
    Reconstruct(ReconstructRequest),
    TestImage(usize),
    Interpolate(InterpolateRequest),
}

fn route(path: &str, query: &str, body: &[u8]) -> Result<Call, Response> {
    Ok(match path {
        "/" => Call::Page,
        "/api/info" => Call::Info,
        "/api/decode" => Call::Decode(parse(body)?),
        "/api/plane" => Call::Plane(parse(body)?),
        "/api/reconstruct" => Call::Reconstruct(parse(body)?),
        "/api/test-image" => Call::TestImage(index_query(query)?),
        "/api/interpolate" => Call::Interpolate(parse(body)?),
        _ => unreachable!("answer only routes the paths of ROUTES"),
    })
}

impl Call {
    fn run(&self, model: &WebModel) -> Response {
        let result = match self {
            Self::Page => unreachable!("the page needs no model"),
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
        result.unwrap_or_else(Response::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers without a model: every call that reaches the model is a 599.
    fn no_model(method: &str, url: &str, body: &str) -> Response {
        answer(method, url, body.as_bytes(), |_| {
            Response::error(599, "model")
        })
    }

    #[test]
    fn unknown_routes_and_methods_are_named() {
        let reply = no_model("GET", "/api/nothing", "");
        assert_eq!(reply.status, 404);
        assert!(
            reply.body.contains("no route GET /api/nothing"),
            "{}",
            reply.body
        );
        let reply = no_model("GET", "/api/decode", "");
        assert_eq!(reply.status, 405);
        assert!(reply.body.contains("use POST"), "{}", reply.body);
        let reply = no_model("POST", "/api/info", "{}");
        assert_eq!(reply.status, 405);
        assert!(reply.body.contains("use GET"), "{}", reply.body);
    }

    #[test]
    fn bodies_are_checked_before_the_model_is_asked() {
        let reply = no_model("POST", "/api/decode", "{not json");
        assert_eq!(reply.status, 400, "{}", reply.body);
        let reply = no_model("POST", "/api/decode", r#"{"z": [0, "a"]}"#);
        assert_eq!(reply.status, 422);
        assert!(reply.body.contains("z[1]"), "{}", reply.body);
        let reply = no_model("POST", "/api/decode", r#"{"z": [0], "extra": 1}"#);
        assert_eq!(reply.status, 422);
        assert!(reply.body.contains("extra"), "{}", reply.body);
        let reply = no_model("POST", "/api/decode", r#"{"z": [0]} {"z": [1]}"#);
        assert_eq!(reply.status, 400, "{}", reply.body);
        let reply = no_model("GET", "/api/test-image?index=x", "");
        assert_eq!(reply.status, 400);
        assert!(reply.body.contains("index"), "{}", reply.body);
        let reply = no_model("GET", "/api/test-image", "");
        assert_eq!(reply.status, 400);
        // Valid requests reach the model; the page does not need it.
        assert_eq!(no_model("POST", "/api/decode", r#"{"z": [0]}"#).status, 599);
        assert_eq!(no_model("GET", "/api/test-image?index=3", "").status, 599);
        let page = no_model("GET", "/", "");
        assert_eq!(page.status, 200);
        assert!(page.content_type.starts_with("text/html"));
    }
}
