//! `k8s_node_status`: one node or all, as a compact row each: conditions, taints, capacity vs
//! allocatable vs the requests of the pods scheduled there, pod count vs max pods, where the node
//! comes from (instance type, capacity type, node group or Karpenter NodePool, zone) and the
//! problem pods on it.
//!
//! Requests are summed the way the scheduler counts them: per pod the larger of its containers'
//! sum and its largest init container, pods that finished (Succeeded/Failed) not counted.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use eks_ops_engine::diagnose::parse_quantity;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::k8s::{list_all, pod_status};
use super::params::in_range;
use super::{Context, READ, Reply, ToolDef};
use crate::error::ToolResult;
use crate::output::text::table;
use crate::output::{Budget, Truncation};
use crate::time::human_duration;

pub fn tools() -> Vec<ToolDef> {
    vec![ToolDef::new(
        "k8s_node_status",
        "Node status",
        "One node or all: conditions, taints, cpu/memory/pods as capacity vs allocatable vs requested by its pods, kubelet version, instance type, capacity type, node group or NodePool, zone, age, and its problem pods. Unhealthy and fullest nodes first.",
        READ,
        node_status,
    )]
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeParams {
    /// One node by name; omit for all.
    pub node: Option<String>,
    /// Node label selector, e.g. `karpenter.sh/nodepool=batch`.
    pub label_selector: Option<String>,
    /// Nodes to return (1-500, default 50).
    pub limit: Option<u32>,
    /// Kubeconfig context or EKS cluster name.
    pub cluster: Option<String>,
}

/// One resource on a node, in cores, MiB or pods.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct Usage {
    pub capacity: f64,
    pub allocatable: f64,
    pub requested: f64,
    /// Requested as a share of allocatable, in percent.
    pub requested_pct: f64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct NodeRow {
    pub name: String,
    /// Ready, NotReady or Unknown, plus SchedulingDisabled when cordoned.
    pub status: String,
    /// Ready, MemoryPressure, DiskPressure, PIDPressure, NetworkUnavailable: True/False/Unknown.
    pub conditions: BTreeMap<String, String>,
    /// Conditions in a bad state, with reason and message.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub taints: Vec<String>,
    /// Cores.
    pub cpu: Usage,
    /// MiB.
    pub memory_mib: Usage,
    /// Pods scheduled vs max pods.
    pub pods: Usage,
    pub kubelet: String,
    pub instance_type: String,
    pub capacity_type: String,
    /// EKS node group, or `nodepool/<name>` for Karpenter.
    pub group: String,
    pub zone: String,
    pub age: String,
    /// Pods on the node that are not running and ready, as `ns/name STATUS restarts`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problem_pods: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct NodeOutput {
    pub cluster: String,
    pub total: usize,
    /// Nodes per status.
    pub status_counts: BTreeMap<String, usize>,
    pub nodes: Vec<NodeRow>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<Truncation>,
}

/// Problem pods listed per node; the rest are counted.
const MAX_PROBLEM_PODS: usize = 8;

async fn node_status(
    ctx: Arc<Context>,
    p: NodeParams,
    budget: Budget,
) -> ToolResult<Reply<NodeOutput>> {
    let limit = in_range("limit", p.limit, 1, 500, 50)? as usize;
    let cluster = ctx.sources.cluster(p.cluster.as_deref()).await?;
    let node_kind = cluster.resolve_kind("Node").await?;
    let pod_kind = cluster.resolve_kind("Pod").await?;
    let nodes = match &p.node {
        Some(name) => vec![cluster.get(&node_kind, None, name).await?],
        None => {
            list_all(
                cluster.as_ref(),
                &node_kind,
                None,
                p.label_selector.clone(),
                None,
            )
            .await?
        }
    };
    let field = p.node.as_ref().map(|n| format!("spec.nodeName={n}"));
    let pods = list_all(cluster.as_ref(), &pod_kind, None, None, field).await?;
    let mut by_node: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for pod in &pods {
        if let Some(n) = pod.pointer("/spec/nodeName").and_then(Value::as_str) {
            by_node.entry(n).or_default().push(pod);
        }
    }
    let now = cluster.now();
    let mut rows: Vec<NodeRow> = nodes
        .iter()
        .map(|n| {
            let name = s(n, "/metadata/name").unwrap_or("");
            node_row(n, by_node.get(name).map(Vec::as_slice).unwrap_or(&[]), now)
        })
        .collect();
    rows.sort_by(|a, b| {
        let key = |r: &NodeRow| {
            (
                r.status == "Ready" && r.problems.is_empty(),
                -(r.cpu.requested_pct.max(r.memory_mib.requested_pct) as i64),
            )
        };
        key(a).cmp(&key(b)).then_with(|| a.name.cmp(&b.name))
    });
    let mut status_counts = BTreeMap::new();
    for r in &rows {
        *status_counts.entry(r.status.clone()).or_insert(0) += 1;
    }
    let total = rows.len();
    let (kept, _) = budget.take(rows.into_iter().take(limit).collect(), 0.75);
    let truncated = (kept.len() < total).then(|| Truncation {
        total,
        returned: kept.len(),
        how_to_get_more:
            "ask for one `node`, narrow with label_selector, or raise limit/response_bytes".into(),
    });
    let summary = summary(
        cluster.name(),
        total,
        &status_counts,
        &kept,
        truncated.as_ref(),
    );
    Ok(Reply {
        summary,
        data: NodeOutput {
            cluster: cluster.name().to_string(),
            total,
            status_counts,
            nodes: kept,
            truncated,
        },
    })
}

fn s<'a>(o: &'a Value, pointer: &str) -> Option<&'a str> {
    o.pointer(pointer).and_then(Value::as_str)
}

fn label<'a>(node: &'a Value, keys: &[&str]) -> Option<&'a str> {
    let labels = node.pointer("/metadata/labels")?;
    keys.iter()
        .find_map(|k| labels.get(*k).and_then(Value::as_str))
}

fn quantity(o: &Value, pointer: &str) -> f64 {
    s(o, pointer).and_then(parse_quantity).unwrap_or(0.0)
}

/// The conditions the kubelet reports, and whether a status is the healthy one.
const CONDITIONS: [(&str, &str); 5] = [
    ("Ready", "True"),
    ("MemoryPressure", "False"),
    ("DiskPressure", "False"),
    ("PIDPressure", "False"),
    ("NetworkUnavailable", "False"),
];

/// The projection of one node and the pods bound to it.
pub fn node_row(node: &Value, pods: &[&Value], now: DateTime<Utc>) -> NodeRow {
    let mut conditions = BTreeMap::new();
    let mut problems = Vec::new();
    for c in node
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let kind = s(c, "/type").unwrap_or("");
        let Some((_, good)) = CONDITIONS.iter().find(|(k, _)| *k == kind) else {
            continue;
        };
        let status = s(c, "/status").unwrap_or("Unknown");
        conditions.insert(kind.to_string(), status.to_string());
        if status != *good {
            problems.push(format!(
                "{kind}={status} {}: {}",
                s(c, "/reason").unwrap_or(""),
                s(c, "/message").unwrap_or("")
            ));
        }
    }
    let mut status = match conditions.get("Ready").map(String::as_str) {
        Some("True") => "Ready".to_string(),
        Some("False") => "NotReady".to_string(),
        _ => "Unknown".to_string(),
    };
    if node.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        status.push_str(",SchedulingDisabled");
    }
    let active: Vec<&Value> = pods
        .iter()
        .copied()
        .filter(|p| !matches!(s(p, "/status/phase"), Some("Succeeded" | "Failed")))
        .collect();
    let (cpu_req, mem_req) = active.iter().fold((0.0, 0.0), |(c, m), p| {
        (c + pod_request(p, "cpu"), m + pod_request(p, "memory"))
    });
    let mib = 1024.0 * 1024.0;
    NodeRow {
        name: s(node, "/metadata/name").unwrap_or("").to_string(),
        status,
        conditions,
        problems,
        taints: taints(node),
        cpu: usage(
            quantity(node, "/status/capacity/cpu"),
            quantity(node, "/status/allocatable/cpu"),
            cpu_req,
            1000.0,
        ),
        memory_mib: usage(
            quantity(node, "/status/capacity/memory") / mib,
            quantity(node, "/status/allocatable/memory") / mib,
            mem_req / mib,
            1.0,
        ),
        pods: usage(
            quantity(node, "/status/capacity/pods"),
            quantity(node, "/status/allocatable/pods"),
            active.len() as f64,
            1.0,
        ),
        kubelet: s(node, "/status/nodeInfo/kubeletVersion")
            .unwrap_or("-")
            .to_string(),
        instance_type: label(
            node,
            &[
                "node.kubernetes.io/instance-type",
                "beta.kubernetes.io/instance-type",
            ],
        )
        .unwrap_or("-")
        .to_string(),
        capacity_type: label(
            node,
            &[
                "eks.amazonaws.com/capacityType",
                "karpenter.sh/capacity-type",
            ],
        )
        .map(str::to_ascii_uppercase)
        .unwrap_or_else(|| "-".into()),
        group: label(node, &["eks.amazonaws.com/nodegroup"])
            .map(str::to_string)
            .or_else(|| label(node, &["karpenter.sh/nodepool"]).map(|p| format!("nodepool/{p}")))
            .unwrap_or_else(|| "-".into()),
        zone: label(
            node,
            &[
                "topology.kubernetes.io/zone",
                "failure-domain.beta.kubernetes.io/zone",
            ],
        )
        .unwrap_or("-")
        .to_string(),
        age: s(node, "/metadata/creationTimestamp")
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| human_duration(now - t.with_timezone(&Utc)))
            .unwrap_or_else(|| "-".into()),
        problem_pods: problem_pods(pods),
    }
}

/// Rounds to `1/scale` (millicores for cpu) so rows stay short.
fn usage(capacity: f64, allocatable: f64, requested: f64, scale: f64) -> Usage {
    let round = |v: f64| (v * scale).round() / scale;
    let pct = if allocatable > 0.0 {
        requested / allocatable * 100.0
    } else {
        0.0
    };
    Usage {
        capacity: round(capacity),
        allocatable: round(allocatable),
        requested: round(requested),
        requested_pct: (pct * 10.0).round() / 10.0,
    }
}

fn taints(node: &Value) -> Vec<String> {
    node.pointer("/spec/taints")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|t| {
            let value = s(t, "/value").map(|v| format!("={v}")).unwrap_or_default();
            format!(
                "{}{value}:{}",
                s(t, "/key").unwrap_or(""),
                s(t, "/effect").unwrap_or("")
            )
        })
        .collect()
}

/// A pod's effective request of one resource: max(sum of containers, largest init container),
/// plus the pod overhead.
pub fn pod_request(pod: &Value, resource: &str) -> f64 {
    let req = |c: &Value| {
        c.pointer(&format!("/resources/requests/{resource}"))
            .and_then(Value::as_str)
            .and_then(parse_quantity)
            .unwrap_or(0.0)
    };
    let list = |p: &str| {
        pod.pointer(p)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let inits = list("/spec/initContainers");
    // Restartable init containers (sidecars) run alongside the app containers.
    let sidecars: f64 = inits
        .iter()
        .filter(|c| s(c, "/restartPolicy") == Some("Always"))
        .map(req)
        .sum();
    let app: f64 = list("/spec/containers").iter().map(req).sum::<f64>() + sidecars;
    let init = inits.iter().map(req).fold(0.0, f64::max);
    app.max(init) + quantity(pod, &format!("/spec/overhead/{resource}"))
}

fn problem_pods(pods: &[&Value]) -> Vec<String> {
    let mut out: Vec<String> = pods
        .iter()
        .filter_map(|p| {
            let (status, ready, total, restarts) = pod_status(p);
            let fine = (status == "Running" && ready == total)
                || status == "Succeeded"
                || status == "Completed";
            (!fine).then(|| {
                format!(
                    "{}/{} {status} {ready}/{total} ready, {restarts} restarts",
                    s(p, "/metadata/namespace").unwrap_or(""),
                    s(p, "/metadata/name").unwrap_or("")
                )
            })
        })
        .collect();
    out.sort();
    if out.len() > MAX_PROBLEM_PODS {
        let more = out.len() - MAX_PROBLEM_PODS;
        out.truncate(MAX_PROBLEM_PODS);
        out.push(format!("... and {more} more"));
    }
    out
}

fn summary(
    cluster: &str,
    total: usize,
    counts: &BTreeMap<String, usize>,
    rows: &[NodeRow],
    truncated: Option<&Truncation>,
) -> String {
    let counts_text = counts
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut out = format!("{total} nodes in cluster {cluster} ({counts_text})\n");
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.name.clone(),
                r.status.clone(),
                format!(
                    "{}/{} ({}%)",
                    r.cpu.requested, r.cpu.allocatable, r.cpu.requested_pct
                ),
                format!(
                    "{:.0}/{:.0}Mi ({}%)",
                    r.memory_mib.requested, r.memory_mib.allocatable, r.memory_mib.requested_pct
                ),
                format!("{}/{}", r.pods.requested, r.pods.allocatable),
                format!("{} {}", r.instance_type, r.capacity_type),
                r.group.clone(),
                r.zone.clone(),
                r.kubelet.clone(),
                r.age.clone(),
            ]
        })
        .collect();
    out.push_str(&table(
        &[
            "NAME",
            "STATUS",
            "CPU REQ/ALLOC",
            "MEM REQ/ALLOC",
            "PODS",
            "TYPE",
            "GROUP",
            "ZONE",
            "KUBELET",
            "AGE",
        ],
        &cells,
    ));
    for r in rows {
        let details: Vec<String> = r
            .problems
            .iter()
            .cloned()
            .chain(r.taints.iter().map(|t| format!("taint {t}")))
            .chain(r.problem_pods.iter().map(|p| format!("pod {p}")))
            .collect();
        if !details.is_empty() {
            out.push_str(&format!("\n{}:\n  {}", r.name, details.join("\n  ")));
        }
    }
    if let Some(t) = truncated {
        out.push_str(&format!(
            "\n[showing {} of {} nodes; {}]",
            t.returned, t.total, t.how_to_get_more
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        "2026-11-20T14:30:00Z".parse().unwrap()
    }

    #[test]
    fn requests_follow_the_scheduler() {
        let pod = json!({"spec": {
            "initContainers": [
                {"name": "migrate", "resources": {"requests": {"cpu": "2", "memory": "1Gi"}}},
                {"name": "proxy", "restartPolicy": "Always", "resources": {"requests": {"cpu": "100m"}}}
            ],
            "containers": [
                {"name": "a", "resources": {"requests": {"cpu": "500m", "memory": "256Mi"}}},
                {"name": "b", "resources": {"requests": {"cpu": "250m"}}},
                {"name": "c"}
            ],
            "overhead": {"cpu": "50m"}
        }});
        assert!((pod_request(&pod, "cpu") - 2.05).abs() < 1e-9);
        assert!((pod_request(&pod, "memory") - 1024.0 * 1024.0 * 1024.0).abs() < 1.0);
        assert_eq!(pod_request(&json!({}), "cpu"), 0.0);
        assert_eq!(
            pod_request(
                &json!({"spec": {"containers": [{"resources": {"requests": {"cpu": "lots"}}}]}}),
                "cpu"
            ),
            0.0
        );
    }

    #[test]
    fn a_pressured_cordoned_node_with_a_crashing_pod() {
        let node = json!({
            "metadata": {"name": "n1", "creationTimestamp": "2026-11-18T14:30:00Z", "labels": {
                "node.kubernetes.io/instance-type": "c6i.2xlarge", "karpenter.sh/capacity-type": "spot",
                "karpenter.sh/nodepool": "batch", "topology.kubernetes.io/zone": "eu-west-1c"}},
            "spec": {"unschedulable": true, "taints": [{"key": "workload", "value": "batch", "effect": "NoSchedule"}]},
            "status": {
                "capacity": {"cpu": "8", "memory": "16Gi", "pods": "58"},
                "allocatable": {"cpu": "7910m", "memory": "15Gi", "pods": "58"},
                "conditions": [
                    {"type": "Ready", "status": "True"},
                    {"type": "MemoryPressure", "status": "True", "reason": "KubeletHasInsufficientMemory", "message": "kubelet has insufficient memory available"},
                    {"type": "SomethingElse", "status": "True"}
                ],
                "nodeInfo": {"kubeletVersion": "v1.34.2-eks-b3126f4"}
            }
        });
        let running = json!({"metadata": {"namespace": "a", "name": "ok"}, "spec": {"containers": [{"name": "x", "resources": {"requests": {"cpu": "1", "memory": "3Gi"}}}]},
            "status": {"phase": "Running", "containerStatuses": [{"name": "x", "ready": true, "restartCount": 0, "state": {"running": {}}}]}});
        let crashing = json!({"metadata": {"namespace": "a", "name": "bad"}, "spec": {"containers": [{"name": "x", "resources": {"requests": {"cpu": "500m"}}}]},
            "status": {"phase": "Running", "containerStatuses": [{"name": "x", "ready": false, "restartCount": 7, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}});
        let done = json!({"metadata": {"namespace": "a", "name": "job"}, "spec": {"containers": [{"name": "x", "resources": {"requests": {"cpu": "4"}}}]}, "status": {"phase": "Succeeded"}});
        let row = node_row(&node, &[&running, &crashing, &done], now());
        assert_eq!(row.status, "Ready,SchedulingDisabled");
        assert_eq!(row.conditions.len(), 2);
        assert_eq!(row.problems.len(), 1);
        assert!(row.problems[0].starts_with("MemoryPressure=True KubeletHasInsufficientMemory"));
        assert_eq!(row.taints, vec!["workload=batch:NoSchedule"]);
        assert_eq!(
            row.cpu,
            Usage {
                capacity: 8.0,
                allocatable: 7.91,
                requested: 1.5,
                requested_pct: 19.0
            }
        );
        assert_eq!(row.memory_mib.requested, 3072.0);
        assert_eq!(row.memory_mib.requested_pct, 20.0);
        assert_eq!(row.pods.requested, 2.0);
        assert_eq!(
            (
                row.capacity_type.as_str(),
                row.group.as_str(),
                row.age.as_str()
            ),
            ("SPOT", "nodepool/batch", "2d")
        );
        assert_eq!(
            row.problem_pods,
            vec!["a/bad CrashLoopBackOff 0/1 ready, 7 restarts"]
        );
        // An empty object is a row of unknowns, not a panic.
        let empty = node_row(&json!({}), &[], now());
        assert_eq!(empty.status, "Unknown");
        assert_eq!(empty.cpu.requested_pct, 0.0);
    }
}
