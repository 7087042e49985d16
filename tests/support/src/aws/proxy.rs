//! Forwarding to moto. Requests go on with their headers intact, because moto picks the service
//! from the SigV4 credential scope in `Authorization` (it never checks the signature); only
//! hop-by-hop headers and those the HTTP client sets itself are dropped.

use axum::body::Body;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use bytes::Bytes;

use super::errors::{AwsError, render};
use super::gateway::App;
use super::route::Call;

/// Headers that describe one hop or that reqwest/hyper recompute.
const HOP_HEADERS: &[&str] = &[
    "host",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "accept-encoding",
    "upgrade",
    "te",
    "trailer",
    "proxy-connection",
];

/// moto's answer to one request.
pub struct MotoReply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Sends one request to moto.
pub async fn send(
    app: &App,
    method: Method,
    path_and_query: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<MotoReply, String> {
    let url = format!("{}{path_and_query}", app.moto_url);
    let response = app
        .client
        .request(method, url)
        .headers(end_to_end(headers))
        .body(body)
        .send()
        .await
        .map_err(|e| format!("moto unreachable at {}: {e}", app.moto_url))?;
    let status = response.status();
    let headers = end_to_end(response.headers());
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("moto response body: {e}"))?;
    Ok(MotoReply {
        status,
        headers,
        body,
    })
}

/// Forwards `call` to moto and relays its answer as it is.
pub async fn forward(app: &App, call: &Call) -> Response {
    let path = call.uri.path_and_query().map_or("/", |p| p.as_str());
    match send(
        app,
        call.method.clone(),
        path,
        &call.headers,
        call.body.clone(),
    )
    .await
    {
        Ok(reply) => relay(reply),
        Err(message) => render(call.protocol, &unreachable(message)),
    }
}

/// An HTTP response carrying moto's reply unchanged.
pub fn relay(reply: MotoReply) -> Response {
    let mut response = Response::new(Body::from(reply.body));
    *response.status_mut() = reply.status;
    *response.headers_mut() = reply.headers;
    response
}

/// The error for a moto that cannot be reached: a 502 the SDKs see as a server fault.
pub fn unreachable(message: String) -> AwsError {
    AwsError::new(StatusCode::BAD_GATEWAY, "InternalFailure", message)
}

fn end_to_end(headers: &HeaderMap) -> HeaderMap {
    let mut out = headers.clone();
    for name in HOP_HEADERS {
        out.remove(*name);
    }
    out
}
