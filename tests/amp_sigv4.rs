//! Amazon Managed Prometheus signing, checked by a local HTTP server that recomputes the SigV4
//! signature of every request it receives.
//!
//! The server is an HTTP stand-in for an AMP workspace written in this test: it rebuilds the
//! signature for service `aps` from the received method, path, query and signed headers with the
//! test's static credentials (aws-sigv4), and answers a matrix only when it matches the
//! Authorization header; otherwise 403, as AMP does. The binary reaches it via
//! `AWS_ENDPOINT_URL_AMP`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;

use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

mod common;
use common::call_cli;

const ACCESS_KEY: &str = "AKIDAMPSIGV4TEST";
const SECRET_KEY: &str = "amp-sigv4-test-secret-key";
const REGION: &str = "eu-west-1";
const WORKSPACE: &str = "ws-0123abcd-4567-89ef-0123-456789abcdef";

#[derive(Clone, Default)]
struct Seen {
    verified: Arc<AtomicUsize>,
    refused: Arc<AtomicUsize>,
}

/// `Signature=` of an Authorization header.
fn signature_of(authorization: &str) -> Option<&str> {
    authorization
        .split(", ")
        .find_map(|part| part.strip_prefix("Signature="))
}

/// `SignedHeaders=` of an Authorization header.
fn signed_headers_of(authorization: &str) -> Vec<&str> {
    authorization
        .split(", ")
        .find_map(|part| part.strip_prefix("SignedHeaders="))
        .map(|h| h.split(';').collect())
        .unwrap_or_default()
}

/// The signature the request should carry, rebuilt from what arrived.
fn expected_signature(method: &Method, uri: &Uri, headers: &HeaderMap) -> Option<String> {
    let authorization = headers.get("authorization")?.to_str().ok()?;
    let amz_date = headers.get("x-amz-date")?.to_str().ok()?;
    let time = chrono::NaiveDateTime::parse_from_str(amz_date, "%Y%m%dT%H%M%SZ").ok()?;
    let time: SystemTime = time.and_utc().into();
    let signed: Vec<(String, String)> = signed_headers_of(authorization)
        .into_iter()
        .map(|name| {
            let value = headers.get(name).and_then(|v| v.to_str().ok());
            (name.to_string(), value.unwrap_or_default().to_string())
        })
        .collect();
    let host = headers.get("host")?.to_str().ok()?;
    let url = format!("http://{host}{}", uri.path_and_query()?.as_str());
    let identity =
        aws_credential_types::Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "test").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(REGION)
        .name("aps")
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .ok()?
        .into();
    let signable = SignableRequest::new(
        method.as_str(),
        &url,
        signed.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(&[]),
    )
    .ok()?;
    Some(sign(signable, &params).ok()?.signature().to_string())
}

async fn query_range(
    State(seen): State<Seen>,
    Path(workspace): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let received = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(signature_of);
    let expected = expected_signature(&method, &uri, &headers);
    if workspace != WORKSPACE || received.is_none() || received != expected.as_deref() {
        seen.refused.fetch_add(1, Ordering::SeqCst);
        let body = json!({"message": "The request signature we calculated does not match the signature you provided."});
        return (StatusCode::FORBIDDEN, axum::Json(body)).into_response();
    }
    seen.verified.fetch_add(1, Ordering::SeqCst);
    let values: Vec<_> = (0..60)
        .map(|t| {
            json!([
                1_763_647_800 + t * 60,
                format!("{}", 0.25 + t as f64 / 100.0)
            ])
        })
        .collect();
    axum::Json(
        json!({"status": "success", "data": {"resultType": "matrix", "result": [
            {"metric": {"__name__": "up", "job": "kubelet"}, "values": values}
        ]}}),
    )
    .into_response()
}

/// Starts the AMP stand-in; returns its endpoint and what it saw.
async fn amp_stand_in() -> (String, Seen) {
    let seen = Seen::default();
    let app = Router::new()
        .route("/workspaces/{id}/api/v1/query_range", get(query_range))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

async fn query(endpoint: &str, secret: &str) -> common::Answer {
    let env = [
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_string()),
        ("AWS_SECRET_ACCESS_KEY", secret.to_string()),
        ("AWS_REGION", REGION.to_string()),
        ("AWS_ENDPOINT_URL_AMP", endpoint.to_string()),
        ("EKS_OPS_AMP_WORKSPACE_ID", WORKSPACE.to_string()),
    ];
    let args = json!({"query": "up{job=\"kubelet\"} + 0 * rate(x[5m])", "since": "1h", "step": 60});
    call_cli(&[], &env, "prometheus_query", args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amp_requests_carry_a_signature_the_server_can_recompute() {
    let (endpoint, seen) = amp_stand_in().await;
    let r = query(&endpoint, SECRET_KEY).await;
    assert!(!r.is_error, "{}", r.text);
    assert_eq!(seen.verified.load(Ordering::SeqCst), 1);
    assert_eq!(seen.refused.load(Ordering::SeqCst), 0);
    assert!(
        r.data["source"]
            .as_str()
            .unwrap()
            .contains("Amazon Managed Prometheus (eu-west-1)"),
        "{}",
        r.text
    );
    let series = r.data["series"].as_array().unwrap();
    assert_eq!(series.len(), 1, "{}", r.text);
    assert_eq!(series[0]["labels"]["job"], "kubelet");
    assert_eq!(series[0]["summary"]["points"], 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_key_is_a_permission_error() {
    let (endpoint, seen) = amp_stand_in().await;
    let r = query(&endpoint, "not-the-secret-the-server-knows").await;
    assert!(r.is_error, "{}", r.text);
    assert!(r.text.contains("aps:QueryMetrics"), "{}", r.text);
    assert!(r.text.contains("signature"), "{}", r.text);
    assert_eq!(seen.verified.load(Ordering::SeqCst), 0);
    assert_eq!(seen.refused.load(Ordering::SeqCst), 1);
}
