//! Rules about getting a pod onto a node and keeping it there: Pending with FailedScheduling,
//! evictions under node pressure, and VPC CNI IP exhaustion at sandbox creation.

use super::context::*;
use super::finding::{Finding, Rule, Severity};
use super::next;
use super::quantity::parse_quantity;
use k8s_openapi::api::core::v1::{Event, Pod};
use regex::Regex;
use std::sync::LazyLock;

pub(super) fn check(ctx: &Ctx, pod: &Pod, events: &[&Event], out: &mut Vec<Finding>) {
    out.extend(unschedulable(ctx, pod, events));
    out.extend(evicted(ctx, pod));
    out.extend(ip_exhausted(ctx, pod, events));
}

/// Why nodes were rejected, from the scheduler's "0/N nodes are available: ..." message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Blocker {
    UnboundPvc,
    InsufficientCpu,
    InsufficientMemory,
    InsufficientOther,
    TooManyPods,
    Taint,
    Affinity,
    VolumeAffinity,
    Other,
}

fn blocker_of(text: &str) -> Blocker {
    let t = text.to_lowercase();
    let has = |w: &str| t.contains(w);
    match () {
        _ if has("unbound") && has("persistentvolumeclaim") => Blocker::UnboundPvc,
        _ if has("insufficient cpu") => Blocker::InsufficientCpu,
        _ if has("insufficient memory") => Blocker::InsufficientMemory,
        _ if has("insufficient") => Blocker::InsufficientOther,
        _ if has("too many pods") => Blocker::TooManyPods,
        _ if has("taint") => Blocker::Taint,
        _ if has("volume node affinity") => Blocker::VolumeAffinity,
        _ if has("affinity") || has("selector") => Blocker::Affinity,
        _ => Blocker::Other,
    }
}

static AVAILABLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\d+/\d+ nodes are available: (.*)").expect("valid regex"));

/// The "N reason" parts of a FailedScheduling message, before its preemption clause.
fn scheduling_reasons(message: &str) -> Vec<String> {
    let head = message.split(" preemption:").next().unwrap_or(message);
    let list = AVAILABLE
        .captures(head)
        .map_or(head, |c| c.get(1).map_or(head, |m| m.as_str()));
    (list.split(", "))
        .map(|r| r.trim().trim_end_matches('.').to_string())
        .filter(|r| !r.is_empty())
        .collect()
}

fn unschedulable(ctx: &Ctx, pod: &Pod, events: &[&Event]) -> Option<Finding> {
    if pod_phase(pod) != "Pending" || node_of(pod).is_some() {
        return None;
    }
    let condition = pod_condition(pod, "PodScheduled").filter(|c| c.status == "False");
    let events: Vec<&Event> = (events.iter().copied())
        .filter(|e| reason(e) == "FailedScheduling")
        .collect();
    let latest = latest_message(events.iter().copied());
    let message = latest.or(condition.and_then(|c| c.message.as_deref()));
    let age = pod
        .metadata
        .creation_timestamp
        .as_ref()
        .map(|t| ctx.age_ms(t));
    if message.is_none() && age.is_none_or(|a| a < ctx.opts.pending_grace_ms) {
        return None;
    }
    let reasons = message.map(scheduling_reasons).unwrap_or_default();
    let blocker = reasons
        .iter()
        .map(|r| blocker_of(r))
        .min()
        .unwrap_or(Blocker::Other);
    let mut f = Finding::new(Rule::PodUnschedulable, Severity::Warning, pod_ref(pod))
        .owner(ctx.top_owner(&pod.metadata))
        .summary(match message {
            Some(m) => format!("pod is Pending: {}", clip(m, 200)),
            None => format!(
                "pod has been Pending for {} with no scheduling decision",
                human_ms(age.unwrap_or(0))
            ),
        })
        .field("status.phase", "Pending");
    if let Some(c) = condition {
        f = f
            .field("status.conditions[type=PodScheduled].status", &c.status)
            .field_opt(
                "status.conditions[type=PodScheduled].reason",
                c.reason.as_deref(),
            )
            .field_opt(
                "status.conditions[type=PodScheduled].message",
                c.message.as_deref(),
            );
    }
    for r in &reasons {
        f = f.derived("rejected_nodes", r);
    }
    f = f.evidence(event_evidence(events, 2));
    f = requests_evidence(f, pod);
    let cause = scheduling_cause(ctx, pod, blocker, message.is_some());
    f.cause(cause)
        .step(next::events("Pod", Some(ns(&pod.metadata)), name(&pod.metadata), "the scheduler's latest verdict"))
        .step(next::command("kubectl get nodes -o custom-columns=NAME:.metadata.name,CPU:.status.allocatable.cpu,MEM:.status.allocatable.memory,TAINTS:.spec.taints", "free capacity and taints of every node"))
        .into()
}

/// Summed container requests: what the scheduler had to fit.
fn requests_evidence(f: Finding, pod: &Pod) -> Finding {
    let containers = pod
        .spec
        .as_ref()
        .map(|s| s.containers.as_slice())
        .unwrap_or(&[]);
    let sum = |resource: &str| -> Option<f64> {
        let values: Vec<f64> = (containers.iter())
            .filter_map(|c| container_resource(c, "requests", resource).and_then(parse_quantity))
            .collect();
        (!values.is_empty()).then(|| values.iter().sum())
    };
    let cpu = sum("cpu").map(|v| format!("{v}"));
    let memory = sum("memory").map(|v| format!("{:.0}Mi", v / 1_048_576.0));
    f.field_opt("spec.containers[*].resources.requests.cpu (sum)", cpu)
        .field_opt("spec.containers[*].resources.requests.memory (sum)", memory)
}

fn scheduling_cause(ctx: &Ctx, pod: &Pod, blocker: Blocker, has_message: bool) -> String {
    if !has_message {
        return "no scheduler has acted on the pod: check spec.schedulerName and scheduling gates"
            .into();
    }
    match blocker {
        Blocker::UnboundPvc => format!("it waits for a PersistentVolumeClaim to bind ({}); see the pvc.pending finding", pvc_names(pod).join(", ")),
        Blocker::InsufficientCpu | Blocker::InsufficientMemory | Blocker::InsufficientOther => {
            "no node has enough unreserved capacity for the pod's requests: the node group (Cluster Autoscaler or Karpenter NodePool limits) is not adding nodes, or the requests are too large".into()
        }
        Blocker::TooManyPods => "nodes are at their max-pods limit (for the VPC CNI, set by the instance type's ENI and IP count); add nodes or enable prefix delegation".into(),
        Blocker::Taint => "the nodes with room carry taints the pod does not tolerate (for node.kubernetes.io/not-ready or unreachable, the nodes are unhealthy)".into(),
        Blocker::Affinity => format!("no node matches the pod's nodeSelector/affinity{}", selector_text(pod)),
        Blocker::VolumeAffinity => "the pod's volume is zonal (EBS) and no node in that availability zone has room".into(),
        Blocker::Other => format!("the scheduler rejects every node; see its message ({} nodes in view)", ctx.view.nodes.len()),
    }
}

fn pvc_names(pod: &Pod) -> Vec<String> {
    let volumes = pod.spec.as_ref().and_then(|s| s.volumes.as_ref());
    (volumes.into_iter().flatten())
        .filter_map(|v| {
            v.persistent_volume_claim
                .as_ref()
                .map(|p| p.claim_name.clone())
        })
        .collect()
}

fn selector_text(pod: &Pod) -> String {
    let selector = pod.spec.as_ref().and_then(|s| s.node_selector.as_ref());
    match selector.filter(|s| !s.is_empty()) {
        Some(s) => format!(" ({})", label_text(s)),
        None => String::new(),
    }
}

static LOW_ON: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"low on resource: ([A-Za-z-]+)").expect("valid regex"));
static HAD_CONDITION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"had condition: \[(\w+)\]").expect("valid regex"));

fn evicted(ctx: &Ctx, pod: &Pod) -> Option<Finding> {
    let status = pod.status.as_ref()?;
    if status.reason.as_deref() != Some("Evicted") {
        return None;
    }
    let message = status.message.as_deref().unwrap_or("");
    let pressure = (LOW_ON.captures(message).or(HAD_CONDITION.captures(message)))
        .map_or_else(|| "unknown".to_string(), |c| c[1].to_string());
    let when = pod_condition(pod, "DisruptionTarget").and_then(|c| c.last_transition_time.as_ref());
    let old = when.is_some_and(|t| !ctx.within_window(t));
    let node = node_of(pod).unwrap_or("unknown");
    Finding::new(
        Rule::PodEvicted,
        if old {
            Severity::Info
        } else {
            Severity::Warning
        },
        pod_ref(pod),
    )
    .owner(ctx.top_owner(&pod.metadata))
    .summary(format!(
        "pod was evicted from node {node}: node low on {pressure}"
    ))
    .field("status.phase", pod_phase(pod))
    .field("status.reason", "Evicted")
    .field("status.message", clip(message, 400))
    .field("spec.nodeName", node)
    .field_opt(
        "status.conditions[type=DisruptionTarget].lastTransitionTime",
        when.map(time_text),
    )
    .derived("pressure", &pressure)
    .cause(eviction_cause(&pressure, node))
    .step(next::node_status(
        node,
        "the node's pressure conditions and allocatable resources",
    ))
    .step(next::command(
        format!(
            "kubectl get pods -n {} --field-selector=status.phase=Failed",
            ns(&pod.metadata)
        ),
        "other evicted pods left behind (delete them once understood)",
    ))
    .into()
}

fn eviction_cause(pressure: &str, node: &str) -> String {
    match pressure {
        "memory" | "MemoryPressure" => format!(
            "node {node} ran low on memory and the kubelet evicted pods using more than they request: set memory requests close to real use"
        ),
        "ephemeral-storage" | "nodefs" | "imagefs" | "DiskPressure" => format!(
            "node {node} ran low on disk: container logs, emptyDir or image layers filled it; set ephemeral-storage limits or grow the root volume"
        ),
        "pids" | "PIDPressure" => {
            format!("node {node} ran out of process ids: a container is forking without bound")
        }
        _ => format!("the kubelet on {node} evicted the pod under resource pressure"),
    }
}

const IP_MESSAGE: &str = "failed to assign an ip address to container";

fn ip_exhausted(ctx: &Ctx, pod: &Pod, events: &[&Event]) -> Option<Finding> {
    let events: Vec<&Event> = (events.iter().copied())
        .filter(|e| {
            reason(e) == "FailedCreatePodSandBox" && message(e).to_lowercase().contains(IP_MESSAGE)
        })
        .collect();
    if events.is_empty() {
        return None;
    }
    let running = pod_phase(pod) == "Running" && pod_is_ready(pod);
    let severity = if running {
        Severity::Warning
    } else {
        Severity::Critical
    };
    let node = node_of(pod).unwrap_or("unknown");
    let f = Finding::new(Rule::PodIpExhausted, severity, pod_ref(pod))
        .owner(ctx.top_owner(&pod.metadata))
        .summary(format!(
            "the VPC CNI on node {node} cannot assign the pod an IP address"
        ))
        .field("status.phase", pod_phase(pod))
        .field("spec.nodeName", node)
        .derived("pods_on_node", ctx.pods_on_node(node));
    let f = match node_allocatable_pods(ctx, node) {
        Some(max) => f.field(format!("Node/{node}:status.allocatable.pods"), max),
        None => f,
    };
    f.evidence(event_evidence(events, 2))
        .cause(format!("node {node} has no free secondary IP: its ENIs are full for the instance type, or the subnet has no addresses left; enable prefix delegation (ENABLE_PREFIX_DELEGATION=true on aws-node), lower WARM_IP_TARGET, or add subnets"))
        .step(aws_node_logs(ctx, node))
        .step(next::command("aws ec2 describe-subnets --filters Name=tag:kubernetes.io/role/internal-elb,Values=1 --query 'Subnets[].{id:SubnetId,free:AvailableIpAddressCount}'", "free addresses left in the cluster's subnets"))
        .into()
}

fn node_allocatable_pods(ctx: &Ctx, node: &str) -> Option<String> {
    let n = ctx.view.nodes.iter().find(|n| name(&n.metadata) == node)?;
    let pods = n.status.as_ref()?.allocatable.as_ref()?.get("pods")?;
    Some(pods.0.clone())
}

/// The aws-node (VPC CNI) logs on `node`: the pod's own log when it is in the view.
fn aws_node_logs(ctx: &Ctx, node: &str) -> super::finding::NextStep {
    let why = "the IP address manager's view of the node's ENIs and free addresses";
    let cni = (ctx.pods_in("kube-system").iter())
        .find(|p| node_of(p) == Some(node) && name(&p.metadata).starts_with("aws-node"));
    match cni {
        Some(p) => next::pod_logs("kube-system", name(&p.metadata), "aws-node", false, why),
        None => next::command(
            format!(
                "kubectl logs -n kube-system -l k8s-app=aws-node --field-selector spec.nodeName={node} -c aws-node --tail=200"
            ),
            why,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduling_messages_split_into_reasons() {
        let m = "0/6 nodes are available: 2 Insufficient memory, 3 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/6 nodes are available: 6 Preemption is not helpful for scheduling.";
        let reasons = scheduling_reasons(m);
        assert_eq!(
            reasons,
            [
                "2 Insufficient memory",
                "3 node(s) had untolerated taint {dedicated: gpu}",
                "1 node(s) didn't match Pod's node affinity/selector"
            ]
        );
        let blockers: Vec<Blocker> = reasons.iter().map(|r| blocker_of(r)).collect();
        assert_eq!(
            blockers,
            [
                Blocker::InsufficientMemory,
                Blocker::Taint,
                Blocker::Affinity
            ]
        );
        let pvc = "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.";
        assert_eq!(blocker_of(&scheduling_reasons(pvc)[0]), Blocker::UnboundPvc);
    }
}
