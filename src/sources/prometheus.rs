//! Prometheus and Amazon Managed Prometheus over the HTTP API, as engine [`Series`].
//!
//! The same client serves a plain Prometheus URL and an AMP workspace, whose requests are
//! SigV4-signed for service `aps`. Response parsing is a pure function, tested on captured
//! bodies. Queries go through unchanged: there is no substring blocklist, so any label value is
//! allowed; PromQL errors come back with Prometheus' own message.

use std::time::Duration;

use aws_config::SdkConfig;
use eks_ops_engine::series::Series;
use serde_json::Value;

use super::PromQuery;
use super::aws::{credentials, sign_request};
use crate::config::Settings;
use crate::error::{ToolError, ToolResult};

const TIMEOUT: Duration = Duration::from_secs(30);

/// Where queries go and how they are signed.
#[derive(Clone)]
pub struct PromClient {
    base: String,
    /// Region and SDK config when the endpoint is an AMP workspace.
    amp: Option<(String, SdkConfig)>,
    http: reqwest::Client,
}

impl PromClient {
    /// `None` when neither a Prometheus URL nor an AMP workspace is configured.
    pub fn from_settings(
        settings: &Settings,
        sdk: Option<&SdkConfig>,
    ) -> ToolResult<Option<PromClient>> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| ToolError::backend("HTTP client", e))?;
        if let Some(url) = &settings.prometheus_url {
            return Ok(Some(PromClient {
                base: url.trim_end_matches('/').to_string(),
                amp: None,
                http,
            }));
        }
        let Some(workspace) = &settings.amp_workspace_id else {
            return Ok(None);
        };
        let Some(sdk) = sdk else {
            return Err(ToolError::NotConfigured {
                what: "AWS region and credentials for Amazon Managed Prometheus".into(),
                how: "set --region (or AWS_REGION) and credentials".into(),
            });
        };
        let region = sdk.region().map(|r| r.to_string()).unwrap_or_default();
        let base = std::env::var("AWS_ENDPOINT_URL_AMP")
            .map(|u| format!("{}/workspaces/{workspace}", u.trim_end_matches('/')))
            .unwrap_or_else(|_| {
                format!("https://aps-workspaces.{region}.amazonaws.com/workspaces/{workspace}")
            });
        Ok(Some(PromClient {
            base,
            amp: Some((region, sdk.clone())),
            http,
        }))
    }

    pub fn describe(&self) -> String {
        match &self.amp {
            Some((region, _)) => format!("Amazon Managed Prometheus ({region})"),
            None => format!("Prometheus {}", self.base),
        }
    }

    /// GETs an API path with query parameters and returns the `data` member.
    pub async fn get(&self, path: &str, params: &[(&str, String)]) -> ToolResult<Value> {
        let mut url = url::Url::parse(&format!("{}{path}", self.base))
            .map_err(|e| ToolError::backend("Prometheus URL", e))?;
        url.query_pairs_mut()
            .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())));
        // The signed host must be what reqwest sends: with the port when it is not the default.
        let host = &url[url::Position::BeforeHost..url::Position::AfterPort];
        let mut request = http::Request::get(url.as_str())
            .header("host", host)
            .body(Vec::new())
            .map_err(|e| ToolError::backend("Prometheus request", e))?;
        if let Some((region, sdk)) = &self.amp {
            let creds = credentials(sdk).await?;
            sign_request(
                &mut request,
                creds,
                region,
                "aps",
                std::time::SystemTime::now(),
                None,
            )?;
        }
        let mut builder = self.http.get(url.as_str());
        for (k, v) in request.headers() {
            if k != "host" {
                builder = builder.header(k, v);
            }
        }
        let what = self.describe();
        let response = builder.send().await.map_err(|e| {
            if e.is_timeout() {
                ToolError::Timeout {
                    what: format!("{what} query"),
                    after: TIMEOUT,
                }
            } else {
                ToolError::backend(&what, format!("cannot reach it: {e}"))
            }
        })?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|e| ToolError::backend(&what, e))?;
        if status.as_u16() == 403 && self.amp.is_some() {
            return Err(ToolError::AccessDenied {
                permission: "IAM action aps:QueryMetrics".into(),
                detail: body.chars().take(300).collect(),
            });
        }
        parse_envelope(&body, status.as_u16())
    }

    /// Series, label names or one label's values in a window: `/api/v1/series`, `/labels`,
    /// `/label/<name>/values`, optionally narrowed by a series selector.
    pub async fn discover(
        &self,
        what: &str,
        label: Option<&str>,
        selector: Option<&str>,
        window: crate::time::Window,
    ) -> ToolResult<Vec<String>> {
        let mut params = vec![
            ("start", window.start.timestamp().to_string()),
            ("end", window.end.timestamp().to_string()),
        ];
        if let Some(sel) = selector {
            params.push(("match[]", sel.to_string()));
        }
        let path = match (what, label) {
            ("labels", _) => "/api/v1/labels".to_string(),
            ("series", _) => "/api/v1/series".to_string(),
            ("label_values", Some(l)) if is_label_name(l) => format!("/api/v1/label/{l}/values"),
            ("label_values", _) => {
                return Err(ToolError::invalid(
                    "label",
                    "label_values needs `label`, a label name such as pod or namespace",
                ));
            }
            (w, _) => {
                return Err(ToolError::invalid(
                    "discover",
                    format!("`{w}` is not a discovery; use series, labels or label_values"),
                ));
            }
        };
        Ok(discovered(&self.get(&path, &params).await?))
    }

    pub async fn query(&self, q: &PromQuery) -> ToolResult<Vec<Series>> {
        let data = match q.step_secs {
            None => {
                self.get(
                    "/api/v1/query",
                    &[
                        ("query", q.query.clone()),
                        ("time", (q.window.end_ms() as f64 / 1000.0).to_string()),
                    ],
                )
                .await?
            }
            Some(step) => {
                self.get(
                    "/api/v1/query_range",
                    &[
                        ("query", q.query.clone()),
                        ("start", (q.window.start_ms() as f64 / 1000.0).to_string()),
                        ("end", (q.window.end_ms() as f64 / 1000.0).to_string()),
                        ("step", step.to_string()),
                    ],
                )
                .await?
            }
        };
        parse_data(&data)
    }
}

/// A Prometheus label name, so that it can go into a URL path unescaped.
pub fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Discovery answers as text: strings as they are, series as `name{k="v",...}`.
pub fn discovered(data: &Value) -> Vec<String> {
    data.as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Object(m) => {
                let name = m.get("__name__").and_then(Value::as_str).unwrap_or("");
                let labels: Vec<String> = m
                    .iter()
                    .filter(|(k, _)| *k != "__name__")
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                Some(format!("{name}{{{}}}", labels.join(",")))
            }
            _ => None,
        })
        .collect()
}

/// Checks the `{"status": ..., "data": ...}` envelope and returns `data`.
pub fn parse_envelope(body: &str, http_status: u16) -> ToolResult<Value> {
    let mut v: Value = serde_json::from_str(body).map_err(|_| {
        ToolError::backend(
            "Prometheus",
            format!(
                "HTTP {http_status}, not a Prometheus API answer: {}",
                body.chars().take(200).collect::<String>()
            ),
        )
    })?;
    if v.get("status").and_then(Value::as_str) == Some("success") {
        // Taken, not cloned: a day of many series is tens of megabytes.
        return Ok(v.get_mut("data").map(Value::take).unwrap_or(Value::Null));
    }
    let kind = v
        .get("errorType")
        .and_then(Value::as_str)
        .unwrap_or("error");
    let message = v
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or("unknown error");
    if kind == "bad_data" {
        return Err(ToolError::invalid(
            "query",
            format!("Prometheus rejected it ({kind}): {message}"),
        ));
    }
    Err(ToolError::backend(
        "Prometheus",
        format!("{kind}: {message}"),
    ))
}

/// Turns a query `data` member (matrix, vector or scalar) into series.
pub fn parse_data(data: &Value) -> ToolResult<Vec<Series>> {
    let result_type = data.get("resultType").and_then(Value::as_str).unwrap_or("");
    let result = data.get("result").unwrap_or(&Value::Null);
    let sample = |s: &Value| -> Option<(i64, f64)> {
        let t = s.get(0)?.as_f64()?;
        let v = s.get(1)?.as_str()?;
        // Prometheus encodes NaN and infinities as strings; normalize() maps them to missing.
        Some((
            (t * 1000.0).round() as i64,
            v.parse::<f64>().unwrap_or(f64::NAN),
        ))
    };
    let mut out = Vec::new();
    match result_type {
        "matrix" | "vector" => {
            for item in result.as_array().into_iter().flatten() {
                let metric = item
                    .get("metric")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                let name = metric
                    .get("__name__")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let points: Vec<(i64, f64)> = if result_type == "matrix" {
                    item.get("values")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(sample)
                        .collect()
                } else {
                    item.get("value").and_then(sample).into_iter().collect()
                };
                let mut s = Series::new(
                    name,
                    points.iter().map(|p| p.0).collect(),
                    points.iter().map(|p| p.1).collect(),
                );
                for (k, v) in metric {
                    if k != "__name__"
                        && let Some(v) = v.as_str()
                    {
                        s.labels.insert(k, v.to_string());
                    }
                }
                out.push(s);
            }
        }
        "scalar" | "string" => {
            if let Some((t, v)) = sample(result) {
                out.push(Series::new("scalar", vec![t], vec![v]));
            }
        }
        other => {
            return Err(ToolError::backend(
                "Prometheus",
                format!("unexpected resultType `{other}`"),
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_answers_and_label_names() {
        let data = serde_json::json!([{"__name__": "up", "job": "a\"b"}, "pod", 3]);
        assert_eq!(
            discovered(&data),
            vec![r#"up{job="a\"b"}"#.to_string(), "pod".to_string()]
        );
        assert!(is_label_name("pod_name") && is_label_name("_x1"));
        assert!(!is_label_name("") && !is_label_name("1x") && !is_label_name("../query"));
    }

    #[test]
    fn parses_a_matrix_with_nan() {
        let body = r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up","job":"k8s"},"values":[[1763647800,"1"],[1763647860,"NaN"]]}]}}"#;
        let data = parse_envelope(body, 200).unwrap();
        let series = parse_data(&data).unwrap();
        assert_eq!(series.len(), 1);
        assert_eq!(series[0].name, "up");
        assert_eq!(series[0].labels["job"], "k8s");
        assert_eq!(
            series[0].timestamps,
            vec![1_763_647_800_000, 1_763_647_860_000]
        );
        assert!(series[0].values[1].is_nan());
    }

    #[test]
    fn bad_data_is_an_argument_error_with_prometheus_words() {
        let body = r#"{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected end of input"}"#;
        let err = parse_envelope(body, 400).unwrap_err().to_string();
        assert!(
            err.contains("`query`") && err.contains("unexpected end of input"),
            "{err}"
        );
    }

    #[test]
    fn vector_and_scalar() {
        let v = serde_json::json!({"resultType":"vector","result":[{"metric":{"pod":"a"},"value":[1763647800.5,"2.5"]}]});
        assert_eq!(parse_data(&v).unwrap()[0].values, vec![2.5]);
        let s = serde_json::json!({"resultType":"scalar","result":[1763647800,"3"]});
        assert_eq!(parse_data(&s).unwrap()[0].values, vec![3.0]);
    }
}
