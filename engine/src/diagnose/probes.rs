//! Rules over probe failures: the kubelet's `Unhealthy` events, split into liveness (and
//! startup) probes, which restart the container, and readiness probes, which take it out of
//! its Services.

use super::context::*;
use super::finding::{Finding, Rule, Severity};
use super::next;
use k8s_openapi::api::core::v1::{Event, Pod, Probe};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Liveness,
    Startup,
    Readiness,
}

impl Kind {
    fn of(message: &str) -> Option<Kind> {
        let prefixes = [
            ("Liveness probe", Kind::Liveness),
            ("Startup probe", Kind::Startup),
            ("Readiness probe", Kind::Readiness),
        ];
        (prefixes.iter())
            .find(|(p, _)| message.starts_with(p))
            .map(|&(_, k)| k)
    }

    fn field(self) -> &'static str {
        match self {
            Kind::Liveness => "livenessProbe",
            Kind::Startup => "startupProbe",
            Kind::Readiness => "readinessProbe",
        }
    }
}

pub(super) fn check(ctx: &Ctx, pod: &Pod, events: &[&Event], out: &mut Vec<Finding>) {
    let mut groups: BTreeMap<(String, Kind), Vec<&Event>> = BTreeMap::new();
    for &e in events.iter().filter(|e| reason(e) == "Unhealthy") {
        if let Some(kind) = Kind::of(message(e)) {
            groups
                .entry((container_of(e, pod), kind))
                .or_default()
                .push(e);
        }
    }
    for ((container, kind), unhealthy) in groups {
        out.push(finding(ctx, pod, &container, kind, unhealthy, events));
    }
}

/// The container an event is about, from `involvedObject.fieldPath` (`spec.containers{app}`);
/// the pod's only container when the path is absent.
fn container_of(e: &Event, pod: &Pod) -> String {
    let path = e.involved_object.field_path.as_deref().unwrap_or("");
    let from_path = path
        .split_once('{')
        .and_then(|(_, rest)| rest.strip_suffix('}'));
    let first = pod
        .spec
        .as_ref()
        .and_then(|s| s.containers.first())
        .map(|c| c.name.as_str());
    from_path.or(first).unwrap_or("").to_string()
}

fn finding(
    ctx: &Ctx,
    pod: &Pod,
    container: &str,
    kind: Kind,
    unhealthy: Vec<&Event>,
    all: &[&Event],
) -> Finding {
    let statuses = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref());
    let cs = statuses.into_iter().flatten().find(|c| c.name == container);
    let ready = cs.is_some_and(|c| c.ready);
    let restarts = cs.map_or(0, |c| c.restart_count);
    let (rule, severity) = grade(kind, ready, restarts, all);
    let total: u64 = unhealthy.iter().map(|e| event_count(e)).sum();
    let sample = most_frequent(&unhealthy).to_string();
    let probe = container_spec(pod, container).and_then(|c| probe_of(c, kind));
    let path = format!("spec.containers[name={container}].{}", kind.field());
    let what = format!("{:?} probe", kind).to_lowercase();
    let mut f = Finding::new(rule, severity, pod_ref(pod))
        .owner(ctx.top_owner(&pod.metadata))
        .summary(format!(
            "{what} of container {container} failed {total} time{}",
            if total == 1 { "" } else { "s" }
        ))
        .evidence(event_evidence(unhealthy, 3))
        .field(
            format!("status.containerStatuses[name={container}].ready"),
            ready,
        )
        .field(
            format!("status.containerStatuses[name={container}].restartCount"),
            restarts,
        );
    if let Some(p) = probe {
        f = probe_evidence(f, &path, p);
    }
    let (namespace, pod_name) = (ns(&pod.metadata), name(&pod.metadata));
    f.cause(probe_cause(&sample, probe, kind))
        .step(next::pod_logs(
            namespace,
            pod_name,
            container,
            kind != Kind::Readiness && restarts > 0,
            "what the app was doing while the probe failed",
        ))
        .step(next::pod_metrics(
            namespace,
            pod_name,
            &[
                "cpu_usage_cores",
                "cpu_throttled_ratio",
                "memory_working_set_bytes",
            ],
            "whether CPU throttling or memory makes the app answer slowly",
        ))
}

/// Readiness failures matter while the container is out of its Services; liveness failures
/// are critical once the kubelet has restarted the container for them.
fn grade(kind: Kind, ready: bool, restarts: i32, all: &[&Event]) -> (Rule, Severity) {
    let killed = (all.iter()).any(|e| reason(e) == "Killing" && message(e).contains("probe"));
    match kind {
        Kind::Readiness if ready => (Rule::PodReadinessProbe, Severity::Info),
        Kind::Readiness => (Rule::PodReadinessProbe, Severity::Warning),
        _ if killed && restarts > 0 => (Rule::PodLivenessProbe, Severity::Critical),
        _ => (Rule::PodLivenessProbe, Severity::Warning),
    }
}

/// The message seen most often (ties: the greater message, for a stable answer).
fn most_frequent<'e>(events: &[&'e Event]) -> &'e str {
    let best = (events.iter())
        .max_by(|a, b| (event_count(a), message(a)).cmp(&(event_count(b), message(b))));
    best.map_or("", |e| message(e))
}

fn probe_of(c: &k8s_openapi::api::core::v1::Container, kind: Kind) -> Option<&Probe> {
    match kind {
        Kind::Liveness => c.liveness_probe.as_ref(),
        Kind::Startup => c.startup_probe.as_ref(),
        Kind::Readiness => c.readiness_probe.as_ref(),
    }
}

fn probe_evidence(f: Finding, path: &str, p: &Probe) -> Finding {
    let http = p.http_get.as_ref();
    let port = http
        .map(|h| &h.port)
        .or(p.tcp_socket.as_ref().map(|t| &t.port));
    let port = port.map(|p| match p {
        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(i) => i.to_string(),
        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(s) => s.clone(),
    });
    f.field_opt(
        format!("{path}.httpGet.path"),
        http.and_then(|h| h.path.as_deref()),
    )
    .field_opt(format!("{path}.port"), port)
    .field(
        format!("{path}.timeoutSeconds"),
        p.timeout_seconds.unwrap_or(1),
    )
    .field(
        format!("{path}.periodSeconds"),
        p.period_seconds.unwrap_or(10),
    )
    .field(
        format!("{path}.failureThreshold"),
        p.failure_threshold.unwrap_or(3),
    )
    .field(
        format!("{path}.initialDelaySeconds"),
        p.initial_delay_seconds.unwrap_or(0),
    )
}

fn probe_cause(message: &str, probe: Option<&Probe>, kind: Kind) -> String {
    let m = message.to_lowercase();
    let timeout = probe.and_then(|p| p.timeout_seconds).unwrap_or(1);
    let effect = match kind {
        Kind::Readiness => "the pod is removed from its Services' endpoints while it fails",
        _ => "the kubelet restarts the container after failureThreshold failures",
    };
    let why = if m.contains("deadline exceeded") || m.contains("timeout") || m.contains("timed out")
    {
        format!(
            "the app does not answer within timeoutSeconds={timeout} (CPU throttling, long GC pauses, or a blocked request thread)"
        )
    } else if m.contains("connection refused") {
        "nothing listens on the probe port: the app starts slower than the probe allows, crashed, or listens on another port".to_string()
    } else if let Some(code) = m.split("statuscode: ").nth(1).map(|s| s.trim()) {
        match code {
            "404" => {
                "the probe path does not exist (HTTP 404): the path or port in the probe is wrong"
                    .to_string()
            }
            c if c.starts_with('5') => format!(
                "the health endpoint answers HTTP {c}: the app reports itself unhealthy, often because a dependency is down"
            ),
            c => format!("the health endpoint answers HTTP {c}"),
        }
    } else {
        format!("the probe fails: {}", clip(message, 200))
    };
    format!("{why}; {effect}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_follow_the_kubelet_message() {
        let c = |m| probe_cause(m, None, Kind::Liveness);
        assert!(c(r#"Liveness probe failed: Get "http://10.0.1.5:8080/healthz": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"#).contains("timeoutSeconds=1"));
        assert!(
            c("Liveness probe failed: dial tcp 10.0.1.5:8080: connect: connection refused")
                .contains("nothing listens")
        );
        assert!(
            probe_cause(
                "Readiness probe failed: HTTP probe failed with statuscode: 503",
                None,
                Kind::Readiness
            )
            .contains("HTTP 503")
        );
        assert!(c("Liveness probe failed: HTTP probe failed with statuscode: 404").contains("404"));
    }
}
