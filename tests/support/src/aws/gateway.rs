//! The gateway's HTTP server and the handle tests hold: [`AwsGateway::spawn`] starts it on
//! `127.0.0.1:0` in front of a moto URL; its methods drive the `/_gateway/` control plane over
//! HTTP, the same way an out-of-process test would.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State as AxumState};
use axum::response::Response;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::control::{self, Fault, RequestRecord, Route, SeedKind};
use super::errors::{access_denied, render};
use super::route::{Call, Protocol, classify};
use super::state::State;
use super::{GatewayError, cloudwatch, cost, eks, pricing, proxy, xray};

/// Request bodies above this are refused; the largest real call (PutMetricData) is 1 MB.
const MAX_BODY: usize = 16 * 1024 * 1024;
/// How long the gateway waits for moto; longer than any delay fault a test would set.
const MOTO_TIMEOUT: Duration = Duration::from_secs(120);

/// Shared by every request: the state, and the HTTP client that talks to moto.
pub struct App {
    pub state: Mutex<State>,
    pub client: reqwest::Client,
    /// moto's base URL without a trailing slash.
    pub moto_url: String,
}

impl App {
    /// The state; a panic in another request must not wedge the gateway, so poisoning is ignored.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Serves the gateway on `listener` until the task is dropped or aborted.
pub async fn serve(listener: TcpListener, moto_url: &str) -> std::io::Result<()> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(MOTO_TIMEOUT)
        .build()
        .map_err(std::io::Error::other)?;
    let app = Arc::new(App {
        state: Mutex::new(State::default()),
        client,
        moto_url: moto_url.trim_end_matches('/').to_owned(),
    });
    let router = Router::new().fallback(handle).with_state(app);
    axum::serve(listener, router).await
}

async fn handle(AxumState(app): AxumState<Arc<App>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(bytes) => bytes,
        Err(e) => return too_large(&e.to_string()),
    };
    if parts.uri.path().starts_with("/_gateway/") {
        return control::handle(&app, &parts.method, parts.uri.path(), body).await;
    }
    let call = classify(parts.method, parts.uri, parts.headers, body);
    let plan = app.lock().fault_plan(&call.service, &call.operation);
    if plan.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(plan.delay_ms)).await;
    }
    let (response, route) = match plan.deny_as {
        Some(principal) => (
            render(call.protocol, &access_denied(&call, &principal)),
            Route::Fault,
        ),
        None => dispatch(&app, &call).await,
    };
    app.lock().record(RequestRecord {
        service: call.service.clone(),
        operation: call.operation.clone(),
        method: call.method.to_string(),
        path: call.uri.path().to_owned(),
        route,
        status: response.status().as_u16(),
    });
    response
}

/// Picks the stand-in, the CBOR bridge, or moto.
async fn dispatch(app: &App, call: &Call) -> (Response, Route) {
    let op = call.operation.as_str();
    match (call.service.as_str(), call.protocol) {
        ("monitoring", Protocol::RpcV2Cbor) => cloudwatch::handle(app, call).await,
        ("eks", Protocol::RestJson) if eks::is_stand_in(op) => {
            (eks::handle(app, call).await, Route::StandIn)
        }
        ("ce", Protocol::AwsJson11) if cost::is_stand_in(op) => {
            let result = with_json_input(call, |input| cost::answer(&app.lock().seeds, op, input));
            (result, Route::StandIn)
        }
        ("xray", Protocol::RestJson) if op == "GetServiceGraph" => {
            let result = with_json_input(call, |input| {
                xray::service_graph(app.lock().seeds.service_graph.as_ref(), input)
            });
            (result, Route::StandIn)
        }
        ("pricing", Protocol::AwsJson11) if op == "GetProducts" => {
            let result = with_json_input(call, |input| {
                pricing::get_products(&app.lock().seeds.products, input)
            });
            (result, Route::StandIn)
        }
        _ => (proxy::forward(app, call).await, Route::Moto),
    }
}

/// Runs a JSON 1.1 stand-in over the request body and puts its answer on the wire.
fn with_json_input(
    call: &Call,
    answer: impl FnOnce(&Value) -> Result<Value, super::errors::AwsError>,
) -> Response {
    let parsed = if call.body.is_empty() {
        Ok(Value::Object(Default::default()))
    } else {
        serde_json::from_slice(&call.body)
    };
    let result = parsed
        .map_err(|e| {
            super::errors::AwsError::bad_request(
                "SerializationException",
                format!("request body is not JSON: {e}"),
            )
        })
        .and_then(|input| answer(&input));
    match result {
        Ok(value) => {
            let mut response =
                Response::new(Body::from(serde_json::to_vec(&value).unwrap_or_default()));
            let content_type = match call.protocol {
                Protocol::RestJson => "application/json",
                _ => "application/x-amz-json-1.1",
            };
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static(content_type),
            );
            response
        }
        Err(err) => render(call.protocol, &err),
    }
}

fn too_large(message: &str) -> Response {
    let mut response = Response::new(Body::from(format!("request body refused: {message}")));
    *response.status_mut() = http::StatusCode::PAYLOAD_TOO_LARGE;
    response
}

/// A running gateway, stopped when dropped.
pub struct AwsGateway {
    /// Where it listens (`127.0.0.1`, a free port).
    pub addr: SocketAddr,
    client: reqwest::Client,
    task: JoinHandle<()>,
}

impl AwsGateway {
    /// Starts a gateway in front of `moto_url` on a free loopback port.
    pub async fn spawn(moto_url: &str) -> Result<Self, GatewayError> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let moto_url = moto_url.to_owned();
        let task = tokio::spawn(async move {
            if let Err(e) = serve(listener, &moto_url).await {
                eprintln!("aws-gateway stopped: {e}");
            }
        });
        let client = reqwest::Client::builder().no_proxy().build()?;
        Ok(Self { addr, client, task })
    }

    /// The base URL to use as `AWS_ENDPOINT_URL`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replaces one stand-in family's state; `body` is in that operation's real response shape
    /// (see [`SeedKind`]).
    pub async fn seed(&self, kind: SeedKind, body: &Value) -> Result<(), GatewayError> {
        self.control(
            reqwest::Method::POST,
            &format!("seed/{}", kind.name()),
            Some(body),
        )
        .await
        .map(drop)
    }

    /// Adds a fault.
    pub async fn fault(&self, fault: &Fault) -> Result<(), GatewayError> {
        let body = serde_json::to_value(fault).unwrap_or_default();
        self.control(reqwest::Method::POST, "fault", Some(&body))
            .await
            .map(drop)
    }

    /// Removes every fault.
    pub async fn clear_faults(&self) -> Result<(), GatewayError> {
        self.control(reqwest::Method::DELETE, "fault", None)
            .await
            .map(drop)
    }

    /// Clears seeds, faults and the request log, and resets moto.
    pub async fn reset(&self) -> Result<(), GatewayError> {
        self.control(reqwest::Method::POST, "reset", None)
            .await
            .map(drop)
    }

    /// The requests seen since the last reset, oldest first.
    pub async fn requests(&self) -> Result<Vec<RequestRecord>, GatewayError> {
        let text = self.control(reqwest::Method::GET, "requests", None).await?;
        serde_json::from_str(&text).map_err(|e| GatewayError::Rejected {
            status: 200,
            body: format!("{e}: {text}"),
        })
    }

    async fn control(
        &self,
        method: reqwest::Method,
        tail: &str,
        body: Option<&Value>,
    ) -> Result<String, GatewayError> {
        let mut request = self
            .client
            .request(method, format!("{}/_gateway/{tail}", self.url()));
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        if status.is_success() {
            Ok(text)
        } else {
            Err(GatewayError::Rejected {
                status: status.as_u16(),
                body: text,
            })
        }
    }
}

impl Drop for AwsGateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}
