//! The gateway's control plane under `/_gateway/`, and the typed bodies it speaks:
//! - `POST /_gateway/reset` clears seeds, faults and the log, and resets moto;
//! - `POST /_gateway/seed/<kind>` replaces one stand-in family's state ([`SeedKind`]);
//! - `POST /_gateway/fault` adds a [`Fault`]; `DELETE /_gateway/fault` removes them all;
//! - `GET /_gateway/requests` lists the [`RequestRecord`]s seen since the last reset;
//! - `GET /_gateway/health` answers `ok`.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::gateway::App;

/// The stand-in families that take seeded state, each named by its path segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedKind {
    /// `{"addons": [Addon...], "addonInfos": [AddonInfo...]}`: DescribeAddon's `addon` objects
    /// and DescribeAddonVersions' `addons` objects.
    Addons,
    /// `{"clusterName": "demo", "insights": [Insight...]}`: DescribeInsight's `insight` objects;
    /// replaces that cluster's insights only.
    Insights,
    /// A GetCostForecast response: `{"Total": {...}, "ForecastResultsByTime": [...]}`.
    Forecast,
    /// `{"Anomalies": [Anomaly...], "AnomalyMonitors": [AnomalyMonitor...]}`.
    Anomalies,
    /// A GetCostAndUsageComparisons response.
    Comparisons,
    /// A GetCostComparisonDrivers response.
    Drivers,
    /// A GetProducts response: `{"PriceList": ["<product JSON>", ...]}` (objects accepted too).
    Pricing,
    /// A DescribeAlarmHistory response in JSON 1.0 form: `{"AlarmHistoryItems": [...]}`, with
    /// `Timestamp` as epoch seconds or RFC 3339.
    AlarmHistory,
    /// A GetServiceGraph response: `{"Services": [Service...]}`, each with `Name`,
    /// `ReferenceId` and `Edges[].ReferenceId`.
    ServiceGraph,
}

impl SeedKind {
    pub const ALL: [SeedKind; 9] = [
        Self::Addons,
        Self::Insights,
        Self::Forecast,
        Self::Anomalies,
        Self::Comparisons,
        Self::Drivers,
        Self::Pricing,
        Self::AlarmHistory,
        Self::ServiceGraph,
    ];

    /// The `<kind>` in `/_gateway/seed/<kind>`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Addons => "addons",
            Self::Insights => "insights",
            Self::Forecast => "forecast",
            Self::Anomalies => "anomalies",
            Self::Comparisons => "comparisons",
            Self::Drivers => "drivers",
            Self::Pricing => "pricing",
            Self::AlarmHistory => "alarm_history",
            Self::ServiceGraph => "service_graph",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// A fault for one `(service, operation)`, e.g.
/// `{"service": "eks", "operation": "DescribeCluster", "action": "access_denied"}` or
/// `{"service": "monitoring", "operation": "*", "action": "delay", "delay_ms": 3000}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// The SigV4 signing name (`eks`, `monitoring`, `ce`, `pricing`, `logs`, `sts`); `cloudwatch`
    /// and `costexplorer` are accepted as aliases, `*` matches any service.
    pub service: String,
    /// The operation name (`DescribeCluster`), or `*` for all.
    pub operation: String,
    #[serde(flatten)]
    pub action: FaultAction,
}

/// What a fault does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum FaultAction {
    /// Answer AccessDenied in the service's error shape, naming `principal` (default
    /// `arn:aws:sts::123456789012:assumed-role/x/y`).
    AccessDenied {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        principal: Option<String>,
    },
    /// Wait this long, then answer normally (for timeout tests).
    Delay { delay_ms: u64 },
}

impl Fault {
    pub fn access_denied(service: &str, operation: &str) -> Self {
        Self::new(
            service,
            operation,
            FaultAction::AccessDenied { principal: None },
        )
    }

    pub fn delay(service: &str, operation: &str, delay_ms: u64) -> Self {
        Self::new(service, operation, FaultAction::Delay { delay_ms })
    }

    fn new(service: &str, operation: &str, action: FaultAction) -> Self {
        Self {
            service: service.to_owned(),
            operation: operation.to_owned(),
            action,
        }
    }

    /// Whether the fault applies to a call of `operation` on signing name `service`.
    pub fn matches(&self, service: &str, operation: &str) -> bool {
        let wanted = match self.service.as_str() {
            "cloudwatch" => "monitoring",
            "costexplorer" | "cost-explorer" => "ce",
            other => other,
        };
        (wanted == "*" || wanted == service)
            && (self.operation == "*" || self.operation == operation)
    }
}

/// Who answered a request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// Forwarded to moto unchanged.
    #[default]
    Moto,
    /// CloudWatch CBOR re-encoded to JSON 1.0 for moto, and back.
    Bridge,
    /// Served from seeded state by a stand-in.
    StandIn,
    /// Answered by an AccessDenied fault.
    Fault,
}

/// One request the gateway saw (control-plane calls are not logged).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// SigV4 signing name, or "" when the request was unsigned.
    pub service: String,
    /// Operation name, or "" when it could not be told.
    pub operation: String,
    pub method: String,
    pub path: String,
    pub route: Route,
    pub status: u16,
}

/// Answers one control-plane request.
pub async fn handle(app: &App, method: &Method, path: &str, body: Bytes) -> Response {
    let tail = path.trim_start_matches("/_gateway/");
    match (method.as_str(), tail) {
        ("POST", "reset") => reset(app).await,
        ("GET", "health") => reply(StatusCode::OK, "ok".into()),
        ("GET", "requests") => json(&app.lock().log),
        ("POST", "fault") => add_fault(app, &body),
        ("DELETE", "fault") => {
            app.lock().faults.clear();
            reply(StatusCode::NO_CONTENT, String::new())
        }
        ("POST", seed) if seed.starts_with("seed/") => {
            apply_seed(app, &seed["seed/".len()..], &body)
        }
        _ => reply(
            StatusCode::NOT_FOUND,
            format!("no control endpoint {method} {path}"),
        ),
    }
}

async fn reset(app: &App) -> Response {
    *app.lock() = Default::default();
    let url = format!("{}/moto-api/reset", app.moto_url);
    match app.client.post(url).send().await {
        Ok(r) if r.status().is_success() => reply(StatusCode::NO_CONTENT, String::new()),
        Ok(r) => reply(
            StatusCode::BAD_GATEWAY,
            format!("moto reset answered {}", r.status()),
        ),
        Err(e) => reply(StatusCode::BAD_GATEWAY, format!("moto reset failed: {e}")),
    }
}

fn add_fault(app: &App, body: &[u8]) -> Response {
    match serde_json::from_slice::<Fault>(body) {
        Ok(fault) => {
            app.lock().faults.push(fault);
            reply(StatusCode::NO_CONTENT, String::new())
        }
        Err(e) => reply(StatusCode::BAD_REQUEST, format!("bad fault body: {e}")),
    }
}

fn apply_seed(app: &App, name: &str, body: &[u8]) -> Response {
    let Some(kind) = SeedKind::from_name(name) else {
        let known: Vec<_> = SeedKind::ALL.iter().map(|k| k.name()).collect();
        return reply(
            StatusCode::NOT_FOUND,
            format!("unknown seed {name:?}; known: {}", known.join(", ")),
        );
    };
    let parsed = serde_json::from_slice(body).map_err(|e| format!("seed body is not JSON: {e}"));
    match parsed.and_then(|value| app.lock().seed(kind, value)) {
        Ok(()) => reply(StatusCode::NO_CONTENT, String::new()),
        Err(message) => reply(
            StatusCode::BAD_REQUEST,
            format!("bad {name} seed: {message}"),
        ),
    }
}

fn json<T: Serialize>(value: &T) -> Response {
    let mut response = reply(
        StatusCode::OK,
        serde_json::to_string(value).unwrap_or_default(),
    );
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

fn reply(status: StatusCode, text: String) -> Response {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_json_shape() {
        let fault: Fault = serde_json::from_str(
            r#"{"service":"cloudwatch","operation":"*","action":"delay","delay_ms":5}"#,
        )
        .unwrap();
        assert_eq!(fault, Fault::delay("cloudwatch", "*", 5));
        assert!(fault.matches("monitoring", "GetMetricData"));
        assert!(!fault.matches("eks", "GetMetricData"));
        let text = serde_json::to_string(&Fault::access_denied("eks", "DescribeCluster")).unwrap();
        assert_eq!(
            text,
            r#"{"service":"eks","operation":"DescribeCluster","action":"access_denied"}"#
        );
        assert!(
            serde_json::from_str::<Fault>(
                r#"{"service":"eks","operation":"x","action":"explode"}"#
            )
            .is_err()
        );
    }

    #[test]
    fn seed_names_round_trip() {
        for kind in SeedKind::ALL {
            assert_eq!(SeedKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(SeedKind::from_name("nope"), None);
    }
}
