//! Next steps: the eks-ops-mcp tool calls (and command-line equivalents) findings recommend.
//!
//! Tool names live only here, in [`TOOLS`], so the server's catalog test can check that every
//! tool a finding recommends exists.

use super::finding::NextStep;
use serde_json::{Value, json};
use std::collections::BTreeMap;

pub const POD_LOGS: &str = "k8s_get_pod_logs";
pub const EVENTS: &str = "k8s_get_events";
pub const DESCRIBE: &str = "k8s_get_resource";
pub const METRICS: &str = "k8s_workload_metrics";
pub const DIAGNOSE: &str = "k8s_diagnose";
pub const ROLLOUT_HISTORY: &str = "k8s_rollout_history";
pub const NODE_STATUS: &str = "k8s_node_status";

/// Every tool a finding may name.
pub const TOOLS: &[&str] = &[
    POD_LOGS,
    EVENTS,
    DESCRIBE,
    METRICS,
    DIAGNOSE,
    ROLLOUT_HISTORY,
    NODE_STATUS,
];

fn tool(name: &str, args: &[(&str, Value)], command: String, why: &str) -> NextStep {
    NextStep {
        tool: Some(name.to_string()),
        args: args
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        command,
        why: why.to_string(),
    }
}

/// Logs of one container; `previous` reads the instance that last terminated.
pub fn pod_logs(
    namespace: &str,
    pod: &str,
    container: &str,
    previous: bool,
    why: &str,
) -> NextStep {
    let flag = if previous { " --previous" } else { "" };
    tool(
        POD_LOGS,
        &[
            ("namespace", json!(namespace)),
            ("pod", json!(pod)),
            ("container", json!(container)),
            ("previous", json!(previous)),
        ],
        format!("kubectl logs -n {namespace} {pod} -c {container}{flag} --tail=200"),
        why,
    )
}

pub fn describe(kind: &str, namespace: Option<&str>, name: &str, why: &str) -> NextStep {
    let (args, ns_flag) = object_args(kind, namespace, name);
    let command = format!("kubectl describe {}{ns_flag} {name}", kind.to_lowercase());
    tool(DESCRIBE, &args, command, why)
}

pub fn events(kind: &str, namespace: Option<&str>, name: &str, why: &str) -> NextStep {
    let (args, ns_flag) = object_args(kind, namespace, name);
    let command = format!(
        "kubectl get events{ns_flag} --field-selector involvedObject.kind={kind},involvedObject.name={name} --sort-by=.lastTimestamp"
    );
    tool(EVENTS, &args, command, why)
}

/// Tool arguments naming one object, and the matching ` -n NAMESPACE` kubectl flag.
fn object_args(
    kind: &str,
    namespace: Option<&str>,
    name: &str,
) -> (Vec<(&'static str, Value)>, String) {
    let mut args = vec![("kind", json!(kind)), ("name", json!(name))];
    let ns_flag = match namespace {
        Some(ns) => {
            args.push(("namespace", json!(ns)));
            format!(" -n {ns}")
        }
        None => String::new(),
    };
    (args, ns_flag)
}

/// Metric series of one pod (names as in the snapshot's `workload.jsonl`).
pub fn pod_metrics(namespace: &str, pod: &str, metrics: &[&str], why: &str) -> NextStep {
    tool(
        METRICS,
        &[
            ("namespace", json!(namespace)),
            ("pod", json!(pod)),
            ("metrics", json!(metrics)),
        ],
        format!("kubectl top pod -n {namespace} {pod} --containers"),
        why,
    )
}

/// Re-run diagnosis on one workload, e.g. the pods behind a broken Service.
pub fn diagnose_workload(namespace: &str, kind: &str, name: &str, why: &str) -> NextStep {
    tool(
        DIAGNOSE,
        &[
            ("namespace", json!(namespace)),
            ("kind", json!(kind)),
            ("name", json!(name)),
        ],
        format!(
            "kubectl describe {} -n {namespace} {name}",
            kind.to_lowercase()
        ),
        why,
    )
}

/// The revisions of a Deployment: what changed, and when.
pub fn rollout_history(namespace: &str, deployment: &str, why: &str) -> NextStep {
    tool(
        ROLLOUT_HISTORY,
        &[("namespace", json!(namespace)), ("name", json!(deployment))],
        format!("kubectl rollout history deployment/{deployment} -n {namespace}"),
        why,
    )
}

/// A node's conditions, capacity, taints and pods.
pub fn node_status(node: &str, why: &str) -> NextStep {
    tool(
        NODE_STATUS,
        &[("node", json!(node))],
        format!("kubectl describe node {node}"),
        why,
    )
}

/// A step only a command can do (AWS CLI, kubectl edit).
pub fn command(command: impl Into<String>, why: &str) -> NextStep {
    NextStep {
        tool: None,
        args: BTreeMap::new(),
        command: command.into(),
        why: why.to_string(),
    }
}
