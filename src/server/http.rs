//! Streamable HTTP transport: `/mcp` (rmcp's service) behind our own guards, and `/healthz`.
//!
//! Guards, outermost first: a `Host` check (DNS rebinding gets 421), an `Origin` check (an
//! unlisted browser origin gets 403), a JSON check (a POST body that is not JSON gets 400 with a
//! JSON-RPC parse error, where rmcp would answer a bare status), then rmcp with a body-size cap
//! (413). Binding defaults to
//! loopback. On SIGTERM/SIGINT the listener stops accepting, in-flight tool calls finish, and
//! only then are sessions closed.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use super::EksOpsServer;

/// Largest request body accepted; tool arguments are small.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Options of the HTTP transport.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    pub bind: SocketAddr,
    /// No sessions: each POST stands alone (for hosted runtimes behind load balancers).
    pub stateless: bool,
    /// Host names accepted besides loopback names and the bound address.
    pub allowed_hosts: Vec<String>,
    /// Browser origins accepted; none by default.
    pub allowed_origins: Vec<String>,
}

#[derive(Clone)]
struct Guard {
    hosts: Arc<Vec<String>>,
    origins: Arc<Vec<String>>,
}

/// Builds the router; exposed so tests can serve it on their own listener.
pub fn router(server: EksOpsServer, options: &HttpOptions, cancel: CancellationToken) -> Router {
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(!options.stateless)
        .with_json_response(options.stateless)
        .with_max_request_body_bytes(MAX_BODY_BYTES)
        .with_cancellation_token(cancel)
        // Host and Origin are checked by `guard` below, with the status codes clients expect.
        .disable_allowed_hosts()
        .disable_allowed_origins();
    let factory_server = server.clone();
    let mcp = StreamableHttpService::new(
        move || Ok(factory_server.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let mut hosts = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "[::1]".to_string(),
        "::1".to_string(),
    ];
    hosts.push(options.bind.ip().to_string());
    hosts.extend(options.allowed_hosts.iter().map(|h| h.to_ascii_lowercase()));
    let guard = Guard {
        hosts: Arc::new(hosts),
        origins: Arc::new(options.allowed_origins.clone()),
    };
    Router::new()
        .route("/healthz", get(healthz))
        .nest_service("/mcp", mcp)
        .layer(middleware::from_fn(reject_unparsable_json))
        .layer(middleware::from_fn_with_state(guard, check_host_and_origin))
}

async fn healthz() -> impl IntoResponse {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        format!(
            r#"{{"status":"ok","live":true,"ready":true,"version":"{}"}}"#,
            env!("CARGO_PKG_VERSION")
        ),
    )
}

/// Answers a POST whose body is not JSON with JSON-RPC's parse error (-32700, id null), as
/// JSON-RPC 2.0 asks; everything else passes through with its body intact.
async fn reject_unparsable_json(request: Request, next: Next) -> Response {
    if request.method() != axum::http::Method::POST {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body exceeds {MAX_BODY_BYTES} bytes\n"),
            )
                .into_response();
        }
    };
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&bytes) {
        let reply = serde_json::json!({
            "jsonrpc": "2.0",
            "id": null,
            "error": {
                "code": -32700,
                "message": format!("Parse error: the body is not valid JSON ({e}). POST one JSON-RPC message."),
            }
        });
        return (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "application/json")],
            reply.to_string(),
        )
            .into_response();
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

fn host_name(host: &str) -> String {
    let host = host.trim().to_ascii_lowercase();
    if host.starts_with('[') {
        return host
            .split(']')
            .next()
            .map(|h| format!("{h}]"))
            .unwrap_or(host);
    }
    host.rsplit_once(':')
        .map(|(h, p)| {
            if p.chars().all(|c| c.is_ascii_digit()) {
                h.to_string()
            } else {
                host.clone()
            }
        })
        .unwrap_or(host)
}

async fn check_host_and_origin(
    State(guard): State<Guard>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(host_name);
    match host {
        Some(h) if guard.hosts.contains(&h) => {}
        _ => return (StatusCode::MISDIRECTED_REQUEST, "host not allowed\n").into_response(),
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        // A page served from loopback is as local as the client; a rebinding page is not.
        let local = url::Url::parse(origin)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
            .is_some_and(|h| ["localhost", "127.0.0.1", "[::1]", "::1"].contains(&h.as_str()));
        let allowed = local
            || guard
                .origins
                .iter()
                .any(|a| a.eq_ignore_ascii_case(origin) || a == "*");
        if !allowed {
            return (StatusCode::FORBIDDEN, "origin not allowed\n").into_response();
        }
    }
    next.run(request).await
}

/// Serves until SIGTERM/SIGINT, then drains in-flight calls.
pub async fn serve(server: EksOpsServer, options: HttpOptions) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(options.bind)
        .await
        .map_err(|e| anyhow::anyhow!("cannot bind {}: {e}", options.bind))?;
    let addr = listener.local_addr()?;
    eprintln!("listening on {addr}");
    tracing::info!(%addr, stateless = options.stateless, "serving MCP over streamable HTTP at /mcp");
    serve_on(listener, server, options, super::shutdown_signal()).await
}

/// Serves on an existing listener until `shutdown` resolves.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    server: EksOpsServer,
    options: HttpOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let sessions = CancellationToken::new();
    let app = router(server.clone(), &options, sessions.clone());
    let stopping = CancellationToken::new();
    let stop = stopping.clone();
    let drain_server = server.clone();
    let graceful = async move {
        shutdown.await;
        tracing::info!("shutting down: finishing in-flight calls");
        drain_server.drain().await;
        stop.cancel();
    };
    // A reply written in two segments (SSE headers, then the event) otherwise waits ~40 ms for
    // the client's delayed ACK under Nagle's algorithm.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("TCP_NODELAY not set: {e}");
        }
    });
    let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
        graceful.await;
    });
    // Long-lived SSE streams would hold graceful shutdown open forever; close sessions once
    // in-flight calls are done.
    let closer = async move {
        stopping.cancelled().await;
        sessions.cancel();
    };
    let (result, ()) = tokio::join!(serve, closer);
    result.map_err(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_drop_ports() {
        assert_eq!(host_name("127.0.0.1:8080"), "127.0.0.1");
        assert_eq!(host_name("LOCALHOST"), "localhost");
        assert_eq!(host_name("[::1]:9000"), "[::1]");
        assert_eq!(host_name("evil.example.com"), "evil.example.com");
    }
}
