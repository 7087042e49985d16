//! The HTTP server: builder, bearer-token check, request recording and lifetime.
//!
//! [`KubeStandin::builder`] loads and types the bundle before binding, so a broken fixture fails
//! the test that spawns it with the file and object at fault. The server runs on the caller's tokio
//! runtime and stops when the [`KubeStandin`] handle is dropped.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::StandinError;
use super::api::{self, Answer};
use super::bundle::Bundle;
use super::kubeconfig;
use super::logs::Logs;
use super::query::Query;
use super::rbac::{DEFAULT_USER, DenyRule};
use super::status::ApiError;
use super::store::Store;

/// The path that returns the recorded requests; it needs no token and is not recorded itself.
pub const REQUESTS_PATH: &str = "/_standin/requests";

/// How many characters of an `Authorization` header a record keeps: enough to tell
/// `Bearer k8s-aws-v1.` from a static token, too few to leak one.
const AUTH_PREFIX_CHARS: usize = 24;

/// Which bearer tokens the stand-in accepts when it requires one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenRule {
    /// Exactly this token.
    Exact(String),
    /// Any token starting with this, e.g. `k8s-aws-v1.` for EKS IAM tokens.
    Prefix(String),
}

impl TokenRule {
    fn accepts(&self, token: &str) -> bool {
        match self {
            Self::Exact(t) => token == t,
            Self::Prefix(p) => token.starts_with(p.as_str()) && token.len() > p.len(),
        }
    }

    /// A token this rule accepts, for kubeconfigs.
    fn example(&self) -> String {
        match self {
            Self::Exact(t) => t.clone(),
            Self::Prefix(p) => format!("{p}a3ViZS1zdGFuZGlu"),
        }
    }
}

/// One request as the stand-in saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedRequest {
    pub method: String,
    /// Path and query string, exactly as sent.
    pub path: String,
    /// The first characters of the `Authorization` header, when one was sent.
    pub authorization: Option<String>,
    pub accept: Option<String>,
    /// The HTTP status code of the answer.
    pub status: u16,
}

/// State shared by every request.
pub struct Shared {
    pub store: Store,
    pub logs: Logs,
    pub now: DateTime<Utc>,
    pub deny: Vec<DenyRule>,
    pub user: String,
    pub server_address: String,
    revision: AtomicU64,
    token: Option<TokenRule>,
    requests: Mutex<Vec<RecordedRequest>>,
}

impl Shared {
    /// The store revision lists report; advancing it expires every continue token issued.
    pub fn revision(&self) -> u64 {
        self.revision.load(Ordering::SeqCst)
    }

    fn authenticated(&self, header: Option<&str>) -> bool {
        let Some(rule) = &self.token else {
            return true;
        };
        let token = header.and_then(|h| h.strip_prefix("Bearer "));
        token.is_some_and(|t| rule.accepts(t.trim()))
    }

    fn record(&self, entry: RecordedRequest) {
        if let Ok(mut requests) = self.requests.lock() {
            requests.push(entry);
        }
    }

    fn recorded(&self) -> Vec<RecordedRequest> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

/// Options for one stand-in; see [`KubeStandin::builder`].
#[derive(Debug, Clone)]
pub struct KubeStandinBuilder {
    dir: PathBuf,
    now: Option<DateTime<Utc>>,
    token: Option<TokenRule>,
    deny: Vec<DenyRule>,
    user: Option<String>,
    port: u16,
}

impl KubeStandinBuilder {
    /// The instant `sinceSeconds` counts back from (default: the manifest's `captured_at`).
    pub fn now(mut self, now: DateTime<Utc>) -> Self {
        self.now = Some(now);
        self
    }

    /// Answers 401 unless `Authorization: Bearer <token>` carries exactly this token.
    pub fn require_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(TokenRule::Exact(token.into()));
        self
    }

    /// Answers 401 unless the bearer token starts with `prefix` (e.g. `k8s-aws-v1.`).
    pub fn require_token_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.token = Some(TokenRule::Prefix(prefix.into()));
        self
    }

    /// Adds a refusal on top of the bundle's `rbac-deny.yaml`.
    pub fn deny(mut self, rule: DenyRule) -> Self {
        self.deny.push(rule);
        self
    }

    /// The user named in 403 messages (default `system:serviceaccount:ops:eks-ops-mcp`).
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// The port to bind on 127.0.0.1 (default 0: any free port).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Loads the bundle, binds 127.0.0.1 and starts serving on the current tokio runtime.
    pub async fn spawn(self) -> Result<KubeStandin, StandinError> {
        let bundle = Bundle::load(&self.dir)?;
        let store = Store::build(&bundle)?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .map_err(StandinError::Bind)?;
        let addr = listener.local_addr().map_err(StandinError::Bind)?;
        let mut deny = bundle.deny_rules().to_vec();
        deny.extend(self.deny);
        let user = self.user.or(bundle.deny.user.clone());
        let shared = Arc::new(Shared {
            revision: AtomicU64::new(store.revision),
            logs: Logs::new(&bundle.logs),
            store,
            now: self.now.unwrap_or(bundle.captured_at()),
            deny,
            user: user.unwrap_or_else(|| DEFAULT_USER.to_string()),
            server_address: addr.to_string(),
            token: self.token,
            requests: Mutex::new(Vec::new()),
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serving = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            let _ = serving.await;
        });
        Ok(KubeStandin {
            addr,
            cluster: bundle.cluster().to_string(),
            shared,
            stop: Some(stop),
            task,
        })
    }
}

/// A running stand-in; dropping it stops the server.
pub struct KubeStandin {
    /// Where it listens (127.0.0.1 and the bound port).
    pub addr: SocketAddr,
    cluster: String,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl KubeStandin {
    /// Starts configuring a stand-in for the bundle in `bundle_dir`.
    pub fn builder(bundle_dir: impl Into<PathBuf>) -> KubeStandinBuilder {
        KubeStandinBuilder {
            dir: bundle_dir.into(),
            now: None,
            token: None,
            deny: Vec::new(),
            user: None,
            port: 0,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The cluster name from the bundle's manifest.
    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    /// A bearer token the stand-in accepts (any token when none is required).
    pub fn token(&self) -> String {
        self.shared
            .token
            .as_ref()
            .map_or_else(|| "kube-standin".to_string(), TokenRule::example)
    }

    /// Every request served so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.recorded()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        if let Ok(mut requests) = self.shared.requests.lock() {
            requests.clear();
        }
    }

    /// The revision lists currently report.
    pub fn revision(&self) -> u64 {
        self.shared.revision()
    }

    /// Advances the store revision, as an etcd compaction would: every continue token issued
    /// so far then answers 410 Expired.
    pub fn expire_continue_tokens(&self) {
        self.shared.revision.fetch_add(1, Ordering::SeqCst);
    }

    /// Writes a kubeconfig with one context per name (the manifest's cluster name when
    /// `contexts` is empty), each pointing at this stand-in with a token user; the first
    /// context is the current one.
    pub fn write_kubeconfig(
        &self,
        path: impl AsRef<Path>,
        contexts: &[&str],
    ) -> std::io::Result<()> {
        let default = [self.cluster.as_str()];
        let names = if contexts.is_empty() {
            &default[..]
        } else {
            contexts
        };
        let text = kubeconfig::render(&self.url(), &self.token(), names);
        std::fs::write(path, text)
    }
}

impl Drop for KubeStandin {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Keep-alive connections would hold a graceful shutdown open; tests want the port gone.
        self.task.abort();
    }
}

fn header(req: &Request, name: http::header::HeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

async fn handle(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    if path == REQUESTS_PATH {
        let body = serde_json::to_vec(&shared.recorded()).unwrap_or_default();
        return respond(200, "application/json", body);
    }
    let authorization = header(&req, AUTHORIZATION);
    let accept = header(&req, ACCEPT);
    let answer = if shared.authenticated(authorization) {
        let request = api::Request {
            method: req.method().as_str(),
            path: &path,
            query: Query::parse(req.uri().query()),
            accept,
        };
        api::answer(&shared, &request)
    } else {
        Answer::error(&ApiError::unauthorized(), false)
    };
    shared.record(RecordedRequest {
        method: req.method().to_string(),
        path: req
            .uri()
            .path_and_query()
            .map_or(path.clone(), |p| p.to_string()),
        authorization: authorization.map(|a| a.chars().take(AUTH_PREFIX_CHARS).collect()),
        accept: accept.map(str::to_string),
        status: answer.code,
    });
    respond(answer.code, answer.content_type, answer.body)
}

fn respond(code: u16, content_type: &str, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() =
        http::StatusCode::from_u16(code).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(value) = http::HeaderValue::from_str(content_type) {
        response.headers_mut().insert(CONTENT_TYPE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_rules() {
        let exact = TokenRule::Exact("s3cret".into());
        assert!(exact.accepts("s3cret"));
        assert!(!exact.accepts("s3cret2"));
        let prefix = TokenRule::Prefix("k8s-aws-v1.".into());
        assert!(prefix.accepts("k8s-aws-v1.abc"));
        assert!(!prefix.accepts("k8s-aws-v1."));
        assert!(prefix.accepts(&prefix.example()));
    }
}
