//! Rules over HorizontalPodAutoscalers (autoscaling/v2): metrics it cannot read, and being
//! pinned at maxReplicas.

use super::context::*;
use super::finding::{Finding, ResourceRef, Rule, Severity};
use super::next;
use k8s_openapi::api::autoscaling::v2::{
    HorizontalPodAutoscaler, HorizontalPodAutoscalerCondition, MetricStatus,
};

const METRIC_EVENTS: &[&str] = &[
    "FailedGetResourceMetric",
    "FailedGetContainerResourceMetric",
    "FailedGetPodsMetric",
    "FailedGetObjectMetric",
    "FailedGetExternalMetric",
    "FailedComputeMetricsReplicas",
];

pub(super) fn check(ctx: &Ctx, out: &mut Vec<Finding>) {
    for hpa in &ctx.view.hpas {
        out.extend(metrics_unavailable(ctx, hpa));
        out.extend(at_max(hpa));
    }
}

fn condition<'h>(
    hpa: &'h HorizontalPodAutoscaler,
    type_: &str,
) -> Option<&'h HorizontalPodAutoscalerCondition> {
    let conditions = hpa.status.as_ref()?.conditions.as_ref()?;
    conditions.iter().find(|c| c.type_ == type_)
}

fn target(hpa: &HorizontalPodAutoscaler) -> (String, String) {
    let t = &hpa.spec.scale_target_ref;
    (t.kind.clone(), t.name.clone())
}

fn base(hpa: &HorizontalPodAutoscaler, rule: Rule) -> Finding {
    let (namespace, hpa_name) = (ns(&hpa.metadata), name(&hpa.metadata));
    let (kind, target_name) = target(hpa);
    let owner =
        (!target_name.is_empty()).then(|| ResourceRef::namespaced(&kind, namespace, &target_name));
    Finding::new(
        rule,
        Severity::Warning,
        ResourceRef::namespaced("HorizontalPodAutoscaler", namespace, hpa_name),
    )
    .owner(owner)
    .field("spec.scaleTargetRef", format!("{kind}/{target_name}"))
}

fn metrics_unavailable(ctx: &Ctx, hpa: &HorizontalPodAutoscaler) -> Option<Finding> {
    let inactive = condition(hpa, "ScalingActive").filter(|c| c.status == "False");
    let (namespace, hpa_name) = (ns(&hpa.metadata), name(&hpa.metadata));
    let events: Vec<_> = (ctx
        .events("HorizontalPodAutoscaler", namespace, hpa_name)
        .into_iter())
    .filter(|e| METRIC_EVENTS.contains(&reason(e)))
    .collect();
    if inactive.is_none() && events.is_empty() {
        return None;
    }
    let message = inactive
        .and_then(|c| c.message.as_deref())
        .or(latest_message(events.iter().copied()))
        .unwrap_or("");
    let mut f = base(hpa, Rule::HpaMetricsUnavailable)
        .summary("HPA cannot read its metrics, so it does not scale");
    if let Some(c) = inactive {
        f = f
            .field("status.conditions[type=ScalingActive].status", "False")
            .field_opt(
                "status.conditions[type=ScalingActive].reason",
                c.reason.as_deref(),
            )
            .field_opt(
                "status.conditions[type=ScalingActive].message",
                c.message.as_deref(),
            );
    }
    let (kind, target_name) = target(hpa);
    f.evidence(event_evidence(events, 2))
        .cause(metrics_cause(message, &kind, &target_name))
        .step(next::command(
            "kubectl get apiservices v1beta1.metrics.k8s.io && kubectl top pods -n ".to_string()
                + namespace,
            "whether metrics-server is registered and serving pod metrics",
        ))
        .step(next::describe(
            "HorizontalPodAutoscaler",
            Some(namespace),
            hpa_name,
            "the metric targets and the HPA's own error",
        ))
        .into()
}

fn metrics_cause(message: &str, kind: &str, target: &str) -> String {
    let m = message.to_lowercase();
    if let Some(rest) = m.split("missing request for ").nth(1) {
        let resource = rest.split_whitespace().next().unwrap_or("cpu");
        format!(
            "a container of {kind}/{target} sets no {resource} request, and utilization targets are a share of the request: set resources.requests.{resource} on every container"
        )
    } else if m.contains("no metrics returned") {
        format!(
            "metrics-server has no samples for {kind}/{target}'s pods: they are not running or just started"
        )
    } else if m.contains("metrics.k8s.io") || m.contains("resource metrics api") {
        "the resource metrics API is not served: metrics-server is not installed or not ready"
            .into()
    } else if m.contains("external") || m.contains("custom.metrics") {
        "the external or custom metrics adapter (KEDA, CloudWatch or Prometheus adapter) cannot serve the metric".into()
    } else {
        format!("the HPA cannot compute replicas: {}", clip(message, 200))
    }
}

fn at_max(hpa: &HorizontalPodAutoscaler) -> Option<Finding> {
    let spec = &hpa.spec;
    let status = hpa.status.as_ref()?;
    let max = spec.max_replicas;
    if spec.min_replicas == Some(max) {
        return None; // a fixed size, not a limit being hit
    }
    let limited = condition(hpa, "ScalingLimited")
        .filter(|c| c.status == "True" && c.reason.as_deref() == Some("TooManyReplicas"));
    let current = status.current_replicas.unwrap_or(0);
    if limited.is_none() && !(current >= max && status.desired_replicas >= max) {
        return None;
    }
    let mut f = base(hpa, Rule::HpaAtMax)
        .summary(format!(
            "HPA is pinned at maxReplicas={max}: demand may exceed what it may scale to"
        ))
        .field("spec.maxReplicas", max)
        .field("status.currentReplicas", current)
        .field("status.desiredReplicas", status.desired_replicas);
    if let Some(c) = limited {
        f = f
            .field(
                "status.conditions[type=ScalingLimited].reason",
                "TooManyReplicas",
            )
            .field_opt(
                "status.conditions[type=ScalingLimited].message",
                c.message.as_deref(),
            );
    }
    for m in status.current_metrics.iter().flatten() {
        if let Some((metric, value)) = metric_text(m) {
            f = f.field(format!("status.currentMetrics[name={metric}]"), value);
        }
    }
    let (kind, target_name) = target(hpa);
    let namespace = ns(&hpa.metadata);
    f.cause(format!("load per pod stays above the target with {max} replicas: raise maxReplicas (and check node capacity), or find why {kind}/{target_name} needs more per request"))
        .step(next::pod_metrics(namespace, &target_name, &["cpu_usage_cores", "cpu_throttled_ratio"], "per-pod load against the target"))
        .into()
}

/// ("cpu", "utilization 92%") for the kinds of metric an HPA reports.
fn metric_text(m: &MetricStatus) -> Option<(String, String)> {
    if let Some(r) = &m.resource {
        let value = match (r.current.average_utilization, &r.current.average_value) {
            (Some(u), _) => format!("utilization {u}%"),
            (None, Some(v)) => format!("average {}", v.0),
            _ => return None,
        };
        return Some((r.name.clone(), value));
    }
    if let Some(c) = &m.container_resource {
        let u = c.current.average_utilization?;
        return Some((
            format!("{}/{}", c.container, c.name),
            format!("utilization {u}%"),
        ));
    }
    let e = m.external.as_ref()?;
    let v = e
        .current
        .average_value
        .as_ref()
        .or(e.current.value.as_ref())?;
    Some((e.metric.name.clone(), v.0.clone()))
}
