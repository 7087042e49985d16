//! Service dependency graphs for root-cause ranking: caller -> callee edges between services,
//! from X-Ray's service graph (live: `xray:GetServiceGraph`; snapshot: `graph/xray.json`, the
//! same response shape) or from service-mesh request metrics in Prometheus (Istio, Linkerd).
//!
//! Names are the services' own (X-Ray segment names, mesh workload labels); the caller maps them
//! onto its components.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_smithy_types::DateTime as SmithyTime;
use serde_json::Value;

use super::aws::map_sdk_error;
use super::snapshot::Bundle;
use super::{MetricsSource, PromQuery};
use crate::error::ToolResult;
use crate::time::Window;

/// One call relation: `caller` sends requests to `callee`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ServiceEdge {
    pub caller: String,
    pub callee: String,
}

/// A tracing backend's view of who calls whom.
#[async_trait]
pub trait TraceGraphSource: Send + Sync {
    /// Edges seen in `window`; empty when tracing saw no traffic.
    async fn service_edges(&self, window: Window) -> ToolResult<Vec<ServiceEdge>>;
}

/// One X-Ray service node: its reference id, name and the reference ids it calls.
struct XrayNode {
    id: i64,
    name: String,
    calls: Vec<i64>,
}

/// Edges between named services; X-Ray's client node and unnamed nodes are left out, since a
/// component must have a name to be ranked.
fn edges_of(nodes: &[XrayNode]) -> Vec<ServiceEdge> {
    let names: BTreeMap<i64, &str> = nodes
        .iter()
        .filter(|n| !n.name.is_empty())
        .map(|n| (n.id, n.name.as_str()))
        .collect();
    let mut edges = BTreeSet::new();
    for node in nodes.iter().filter(|n| !n.name.is_empty()) {
        for callee in node.calls.iter().filter_map(|id| names.get(id)) {
            if *callee != node.name {
                edges.insert(ServiceEdge {
                    caller: node.name.clone(),
                    callee: callee.to_string(),
                });
            }
        }
    }
    edges.into_iter().collect()
}

/// Edges from a GetServiceGraph response body in its JSON form (`{"Services": [...]}`).
pub fn edges_from_json(body: &Value) -> Vec<ServiceEdge> {
    let nodes: Vec<XrayNode> = body
        .get("Services")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|s| s.get("Type").and_then(Value::as_str) != Some("client"))
        .filter_map(|s| {
            Some(XrayNode {
                id: s.get("ReferenceId")?.as_i64()?,
                name: s.get("Name")?.as_str()?.to_string(),
                calls: s
                    .get("Edges")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|e| e.get("ReferenceId")?.as_i64())
                    .collect(),
            })
        })
        .collect();
    edges_of(&nodes)
}

/// X-Ray through the AWS SDK.
pub struct LiveXray {
    client: aws_sdk_xray::Client,
}

impl LiveXray {
    pub fn new(sdk: &SdkConfig) -> Self {
        LiveXray {
            client: aws_sdk_xray::Client::new(sdk),
        }
    }
}

/// Pages of GetServiceGraph read at most; a graph of thousands of services is not an incident's.
const MAX_PAGES: usize = 10;

#[async_trait]
impl TraceGraphSource for LiveXray {
    async fn service_edges(&self, window: Window) -> ToolResult<Vec<ServiceEdge>> {
        let mut nodes = Vec::new();
        let mut token = None;
        for _ in 0..MAX_PAGES {
            let out = self
                .client
                .get_service_graph()
                .start_time(SmithyTime::from_millis(window.start.timestamp_millis()))
                .end_time(SmithyTime::from_millis(window.end.timestamp_millis()))
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| map_sdk_error("xray:GetServiceGraph", e))?;
            nodes.extend(
                out.services()
                    .iter()
                    .filter(|s| s.r#type() != Some("client"))
                    .filter_map(|s| {
                        Some(XrayNode {
                            id: s.reference_id()?.into(),
                            name: s.name()?.to_string(),
                            calls: s
                                .edges()
                                .iter()
                                .filter_map(|e| e.reference_id().map(i64::from))
                                .collect(),
                        })
                    }),
            );
            token = out.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        Ok(edges_of(&nodes))
    }
}

/// A bundle's `graph/xray.json`, when it carries one.
#[async_trait]
impl TraceGraphSource for Bundle {
    async fn service_edges(&self, _window: Window) -> ToolResult<Vec<ServiceEdge>> {
        let Some(text) = self.read_file("graph/xray.json") else {
            return Ok(Vec::new());
        };
        let body: Value = serde_json::from_str(&text).map_err(|e| {
            crate::error::ToolError::backend("snapshot graph/xray.json", e.to_string())
        })?;
        Ok(edges_from_json(&body))
    }
}

/// Mesh request-count queries: (PromQL, caller label, callee label). Istio's source-reported
/// requests, then Linkerd's outbound responses.
const MESH_QUERIES: [(&str, &str, &str); 2] = [
    (
        "sum by (source_workload, destination_workload) (increase(istio_requests_total{reporter=\"source\"}[{range}]))",
        "source_workload",
        "destination_workload",
    ),
    (
        "sum by (deployment, dst_deployment) (increase(response_total{direction=\"outbound\"}[{range}]))",
        "deployment",
        "dst_deployment",
    ),
];

/// Caller -> callee edges with traffic in `window`, from the first mesh whose metrics exist.
pub async fn mesh_edges(metrics: &dyn MetricsSource, window: Window) -> Vec<ServiceEdge> {
    let range = format!("{}s", (window.end - window.start).num_seconds().max(60));
    for (template, caller_label, callee_label) in MESH_QUERIES {
        let query = PromQuery {
            query: template.replace("{range}", &range),
            window,
            step_secs: None,
        };
        let Ok(series) = metrics.promql(&query).await else {
            continue;
        };
        let edges: BTreeSet<ServiceEdge> = series
            .iter()
            .filter(|s| s.values.iter().any(|v| v.is_finite() && *v > 0.0))
            .filter_map(|s| {
                let caller = s.labels.get(caller_label)?;
                let callee = s.labels.get(callee_label)?;
                let known = |n: &str| !n.is_empty() && n != "unknown";
                (known(caller) && known(callee) && caller != callee).then(|| ServiceEdge {
                    caller: caller.clone(),
                    callee: callee.clone(),
                })
            })
            .collect();
        if !edges.is_empty() {
            return edges.into_iter().collect();
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn xray_json_becomes_named_edges_without_the_client() {
        let body = json!({"Services": [
            {"ReferenceId": 0, "Name": "web", "Type": "client", "Edges": [{"ReferenceId": 1}]},
            {"ReferenceId": 1, "Name": "frontend", "Type": "AWS::EKS::Container", "Edges": [{"ReferenceId": 2}, {"ReferenceId": 3}, {"ReferenceId": 1}]},
            {"ReferenceId": 2, "Name": "checkout", "Edges": [{"ReferenceId": 4}]},
            {"ReferenceId": 3, "Name": "cart", "Edges": []},
            {"ReferenceId": 4, "Name": "", "Edges": []},
            {"Name": "no-id"}
        ]});
        let edges = edges_from_json(&body);
        let pairs: Vec<(&str, &str)> = edges
            .iter()
            .map(|e| (e.caller.as_str(), e.callee.as_str()))
            .collect();
        assert_eq!(pairs, vec![("frontend", "cart"), ("frontend", "checkout")]);
        assert!(edges_from_json(&json!({"Services": "bad"})).is_empty());
        assert!(edges_from_json(&json!(null)).is_empty());
    }
}
