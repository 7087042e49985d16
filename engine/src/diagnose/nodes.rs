//! Rules over node conditions: NotReady/Unknown, memory/disk/PID pressure, network
//! unavailable, and cordoned nodes.

use super::context::*;
use super::finding::{Finding, NextStep, ResourceRef, Rule, Severity};
use super::next;
use k8s_openapi::api::core::v1::{Node, NodeCondition};

pub(super) fn check(ctx: &Ctx, out: &mut Vec<Finding>) {
    for node in &ctx.view.nodes {
        let conditions = node.status.as_ref().and_then(|s| s.conditions.as_ref());
        for c in conditions.into_iter().flatten() {
            out.extend(condition_finding(ctx, node, c));
        }
        if node.spec.as_ref().and_then(|s| s.unschedulable) == Some(true) {
            out.push(cordoned(ctx, node));
        }
    }
}

fn condition_finding(ctx: &Ctx, node: &Node, c: &NodeCondition) -> Option<Finding> {
    let bad = match c.type_.as_str() {
        "Ready" => c.status != "True",
        "MemoryPressure" | "DiskPressure" | "PIDPressure" | "NetworkUnavailable" => {
            c.status == "True"
        }
        _ => false,
    };
    if !bad {
        return None;
    }
    let node_name = name(&node.metadata);
    let (rule, severity) = match c.type_.as_str() {
        "Ready" => (Rule::NodeNotReady, Severity::Critical),
        "NetworkUnavailable" => (Rule::NodeNetworkUnavailable, Severity::Critical),
        _ => (Rule::NodePressure, Severity::Warning),
    };
    let path = format!("status.conditions[type={}]", c.type_);
    let since = c.last_transition_time.as_ref();
    let mut f = Finding::new(rule, severity, ResourceRef::cluster("Node", node_name))
        .summary(summary(c, since.map(|t| human_ms(ctx.age_ms(t)))))
        .field(format!("{path}.status"), &c.status)
        .field_opt(format!("{path}.reason"), c.reason.as_deref())
        .field_opt(format!("{path}.message"), c.message.as_deref())
        .field_opt(format!("{path}.lastTransitionTime"), since.map(time_text))
        .derived("pods_on_node", ctx.pods_on_node(node_name));
    for t in node
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .into_iter()
        .flatten()
    {
        f = f.field(
            "spec.taints[]",
            format!(
                "{}={}:{}",
                t.key,
                t.value.as_deref().unwrap_or(""),
                t.effect
            ),
        );
    }
    let events = ctx.events("Node", "", node_name);
    f.evidence(event_evidence(events, 3))
        .cause(cause(c))
        .step(next::node_status(
            node_name,
            "all conditions, capacity and the pods on the node",
        ))
        .step(instance_step(node))
        .into()
}

fn summary(c: &NodeCondition, since: Option<String>) -> String {
    let since = since.map(|s| format!(" for {s}")).unwrap_or_default();
    match c.type_.as_str() {
        "Ready" if c.status == "Unknown" => {
            format!("node stopped reporting status (Ready=Unknown){since}")
        }
        "Ready" => format!("node is NotReady{since}"),
        t => format!("node has {t}{since}"),
    }
}

fn cause(c: &NodeCondition) -> String {
    let m = c.message.as_deref().unwrap_or("").to_lowercase();
    match c.type_.as_str() {
        "Ready" if c.status == "Unknown" || m.contains("stopped posting") => "the kubelet stopped posting status: the instance is down, out of memory, or cut off from the API server".into(),
        "Ready" if m.contains("cni") || m.contains("network plugin") => "the container network is not ready: the aws-node (VPC CNI) pod on this node is not running or cannot start".into(),
        "Ready" if m.contains("pleg") || m.contains("container runtime") => "the container runtime is unresponsive (PLEG not healthy): the node is overloaded or containerd is failing".into(),
        "Ready" => format!("the kubelet reports NotReady: {}", c.message.as_deref().unwrap_or("no message")),
        "MemoryPressure" => "available memory is below the kubelet's eviction threshold: pods without accurate memory requests are being evicted".into(),
        "DiskPressure" => "the root or image filesystem is nearly full: logs, emptyDir volumes or unused images; the kubelet evicts pods and garbage-collects images".into(),
        "PIDPressure" => "the node is running out of process ids: a container forks without bound".into(),
        "NetworkUnavailable" => "the node's pod network is not configured: the CNI has not set up routes on it".into(),
        t => format!("condition {t} is {}", c.status),
    }
}

/// The EC2 status check of the node's instance, from `spec.providerID` (`aws:///zone/i-...`).
fn instance_step(node: &Node) -> NextStep {
    let provider = node
        .spec
        .as_ref()
        .and_then(|s| s.provider_id.as_deref())
        .unwrap_or("");
    let instance = provider.rsplit('/').next().filter(|i| i.starts_with("i-"));
    match instance {
        Some(id) => next::command(
            format!("aws ec2 describe-instance-status --include-all-instances --instance-ids {id}"),
            "whether EC2 sees the instance as running and passing its status checks",
        ),
        None => next::command("kubectl get nodes -o wide", "the state of every node"),
    }
}

fn cordoned(ctx: &Ctx, node: &Node) -> Finding {
    let node_name = name(&node.metadata);
    Finding::new(
        Rule::NodeCordoned,
        Severity::Info,
        ResourceRef::cluster("Node", node_name),
    )
    .summary("node is cordoned: no new pods are scheduled on it")
    .field("spec.unschedulable", true)
    .derived("pods_on_node", ctx.pods_on_node(node_name))
    .cause("someone or something (a drain, Karpenter disruption, a node upgrade) cordoned the node")
    .step(next::events(
        "Node",
        None,
        node_name,
        "who cordoned it and whether a drain is in progress",
    ))
}
