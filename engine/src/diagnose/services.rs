//! Rules over Services: a selector that matches no pod, and pods that match but none ready.
//!
//! Readiness comes from EndpointSlices when the caller gave any for the Service, else from its
//! Endpoints object, else from the matched pods' Ready condition; the evidence says which.

use super::context::*;
use super::finding::{Finding, ResourceRef, Rule, Severity};
use super::next;
use super::workloads::pod_states;
use k8s_openapi::api::core::v1::{EndpointSubset, Pod, Service};
use std::collections::BTreeMap;

pub(super) fn check(ctx: &Ctx, out: &mut Vec<Finding>) {
    for svc in &ctx.view.services {
        out.extend(service(ctx, svc));
    }
}

pub(crate) fn selector(svc: &Service) -> Option<&BTreeMap<String, String>> {
    let spec = svc.spec.as_ref()?;
    if spec.type_.as_deref() == Some("ExternalName") {
        return None;
    }
    spec.selector.as_ref().filter(|s| !s.is_empty())
}

pub(crate) fn selects(selector: &BTreeMap<String, String>, pod: &Pod) -> bool {
    let labels = pod.metadata.labels.as_ref();
    selector
        .iter()
        .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

fn service(ctx: &Ctx, svc: &Service) -> Option<Finding> {
    let selector = selector(svc)?;
    let namespace = ns(&svc.metadata);
    // A ready endpoint settles it without looking at pods: the common case stays cheap.
    let counts = endpoint_counts(ctx, svc);
    if counts.is_some_and(|(ready, _, _)| ready > 0) {
        return None;
    }
    let in_ns = ctx.pods_in(namespace).iter().copied();
    let matched: Vec<&Pod> = in_ns.filter(|p| selects(selector, p)).collect();
    let selector_text = label_text(selector);
    if matched.is_empty() {
        return Some(no_match(ctx, svc, selector, &selector_text));
    }
    let publish = svc
        .spec
        .as_ref()
        .and_then(|s| s.publish_not_ready_addresses)
        == Some(true);
    let (ready, not_ready, source) = counts.unwrap_or_else(|| pod_readiness(&matched));
    if ready > 0 || publish {
        return None;
    }
    let svc_name = name(&svc.metadata);
    let states = pod_states(&matched);
    let owner = matched.first().and_then(|p| ctx.top_owner(&p.metadata));
    let mut f = Finding::new(Rule::ServiceNoReadyEndpoints, Severity::Critical, ResourceRef::namespaced("Service", namespace, svc_name))
        .summary(format!("Service selects {} pods but none is ready: traffic to it fails", matched.len()))
        .field("spec.selector", &selector_text)
        .derived("ready_endpoints", ready)
        .derived("not_ready_endpoints", not_ready)
        .derived("readiness_source", source)
        .derived("selected_pods", &states)
        .cause(format!("every pod behind the Service is failing readiness ({states}); fix the pods and the endpoints return"));
    f = match &owner {
        Some(o) => f.step(next::diagnose_workload(
            namespace,
            &o.kind,
            &o.name,
            "why the pods behind the Service are not ready",
        )),
        None => f.step(next::describe(
            "Pod",
            Some(namespace),
            name(&matched[0].metadata),
            "why the pod is not ready",
        )),
    };
    f.step(next::describe(
        "EndpointSlice",
        Some(namespace),
        svc_name,
        "the addresses and their ready conditions",
    ))
    .into()
}

/// (ready, not ready, source) from the Service's EndpointSlices, else its Endpoints object;
/// `None` when the caller gave neither.
fn endpoint_counts(ctx: &Ctx, svc: &Service) -> Option<(usize, usize, &'static str)> {
    let (namespace, svc_name) = (ns(&svc.metadata), name(&svc.metadata));
    let slices = ctx.endpoint_slices(namespace, svc_name);
    if !slices.is_empty() {
        let endpoints = slices.iter().flat_map(|s| s.endpoints.iter().flatten());
        // An endpoint without a ready condition counts as ready, as kube-proxy treats it.
        let (mut ready, mut not_ready) = (0, 0);
        for e in endpoints {
            match e.conditions.as_ref().and_then(|c| c.ready) {
                Some(false) => not_ready += 1,
                _ => ready += 1,
            }
        }
        return Some((ready, not_ready, "EndpointSlice"));
    }
    let e = ctx.endpoints(namespace, svc_name)?;
    let subsets = e.subsets.iter().flatten();
    let count = |f: fn(&EndpointSubset) -> usize| subsets.clone().map(f).sum();
    let ready = count(|s| s.addresses.as_ref().map_or(0, Vec::len));
    let not_ready = count(|s| s.not_ready_addresses.as_ref().map_or(0, Vec::len));
    Some((ready, not_ready, "Endpoints"))
}

fn pod_readiness(matched: &[&Pod]) -> (usize, usize, &'static str) {
    let ready = matched.iter().filter(|p| pod_is_ready(p)).count();
    (ready, matched.len() - ready, "pod Ready conditions")
}

fn no_match(
    ctx: &Ctx,
    svc: &Service,
    selector: &BTreeMap<String, String>,
    selector_text: &str,
) -> Finding {
    let namespace = ns(&svc.metadata);
    let near = near_misses(ctx, namespace, selector);
    let cause = if near.is_empty() {
        format!(
            "no pod in {namespace} carries these labels: the workload is not deployed, scaled to zero, or labelled differently"
        )
    } else {
        format!(
            "pods in {namespace} carry {} instead: the Service selector or the pod template labels are wrong",
            near.join("; ")
        )
    };
    let svc_name = name(&svc.metadata);
    Finding::new(
        Rule::ServiceSelectorNoMatch,
        Severity::Warning,
        ResourceRef::namespaced("Service", namespace, svc_name),
    )
    .summary(format!("Service selector {selector_text} matches no pod"))
    .field("spec.selector", selector_text)
    .derived(
        "closest_pod_labels",
        if near.is_empty() {
            "none".to_string()
        } else {
            near.join("; ")
        },
    )
    .cause(cause)
    .step(next::command(
        format!("kubectl get pods -n {namespace} --show-labels"),
        "the labels the pods actually carry",
    ))
}

/// Label sets of pods that share a selector key with a different value: the likely typo.
fn near_misses(ctx: &Ctx, namespace: &str, selector: &BTreeMap<String, String>) -> Vec<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for pod in ctx.pods_in(namespace) {
        let Some(labels) = pod.metadata.labels.as_ref() else {
            continue;
        };
        let shared: Vec<String> = (selector.keys())
            .filter_map(|k| labels.get(k).map(|v| format!("{k}={v}")))
            .collect();
        if !shared.is_empty() {
            *seen.entry(shared.join(",")).or_default() += 1;
        }
    }
    seen.into_iter()
        .take(3)
        .map(|(labels, n)| format!("{labels} ({n} pods)"))
        .collect()
}
