//! Rules over controllers: stuck Deployment rollouts, workloads short of available replicas,
//! FailedCreate from quota or admission, and failed Jobs.

use super::context::*;
use super::finding::{Finding, NextStep, ResourceRef, Rule, Severity};
use super::next;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use regex::Regex;
use std::collections::BTreeMap;
use std::sync::LazyLock;

pub(super) fn check(ctx: &Ctx, out: &mut Vec<Finding>) {
    for d in &ctx.view.deployments {
        out.extend(deployment(ctx, d));
    }
    for s in &ctx.view.stateful_sets {
        let status = s.status.as_ref();
        out.extend(short_of(
            ctx,
            Shortfall {
                kind: "StatefulSet",
                meta: &s.metadata,
                desired: s.spec.replicas.unwrap_or(1),
                available: status.and_then(|s| s.ready_replicas).unwrap_or(0),
                path: "status.readyReplicas",
                degraded: true,
            },
        ));
    }
    for d in &ctx.view.daemon_sets {
        let status = d.status.as_ref();
        out.extend(short_of(
            ctx,
            Shortfall {
                kind: "DaemonSet",
                meta: &d.metadata,
                desired: status.map_or(0, |s| s.desired_number_scheduled),
                available: status.map_or(0, |s| s.number_ready),
                path: "status.numberReady",
                degraded: true,
            },
        ));
    }
    failed_creates(ctx, out);
    for j in &ctx.view.jobs {
        out.extend(job_failed(ctx, j));
    }
}

fn deployment(ctx: &Ctx, d: &Deployment) -> Option<Finding> {
    let status = d.status.as_ref()?;
    let condition =
        |t: &str| (status.conditions.iter().flatten()).find(|c| c.type_.as_deref() == Some(t));
    let progressing = condition("Progressing");
    if let Some(c) = progressing.filter(|c| c.reason.as_deref() == Some("ProgressDeadlineExceeded"))
    {
        return Some(rollout_stuck(ctx, d, status, c));
    }
    let degraded = condition("Available").is_some_and(|c| c.status.as_deref() == Some("False"));
    let shortfall = Shortfall {
        kind: "Deployment",
        meta: &d.metadata,
        desired: d.spec.replicas.unwrap_or(1),
        available: status.available_replicas.unwrap_or(0),
        path: "status.availableReplicas",
        degraded,
    };
    short_of(ctx, shortfall)
}

fn rollout_stuck(
    ctx: &Ctx,
    d: &Deployment,
    status: &DeploymentStatus,
    c: &DeploymentCondition,
) -> Finding {
    let (namespace, deploy) = (ns(&d.metadata), name(&d.metadata));
    let message = c.message.as_deref();
    let f = Finding::new(
        Rule::RolloutStuck,
        Severity::Critical,
        ResourceRef::namespaced("Deployment", namespace, deploy),
    )
    .summary(format!(
        "rollout exceeded its progress deadline: {}",
        message.unwrap_or("")
    ))
    .field_opt(
        "status.conditions[type=Progressing].status",
        c.status.as_deref(),
    )
    .field(
        "status.conditions[type=Progressing].reason",
        "ProgressDeadlineExceeded",
    )
    .field_opt("status.conditions[type=Progressing].message", message)
    .field("spec.replicas", d.spec.replicas.unwrap_or(1))
    .field(
        "status.updatedReplicas",
        status.updated_replicas.unwrap_or(0),
    )
    .field(
        "status.availableReplicas",
        status.available_replicas.unwrap_or(0),
    )
    .field(
        "status.unavailableReplicas",
        status.unavailable_replicas.unwrap_or(0),
    )
    .field_opt(
        "spec.progressDeadlineSeconds",
        d.spec.progress_deadline_seconds,
    );
    new_replica_set_evidence(ctx, f, d)
        .step(next::diagnose_workload(
            namespace,
            "Deployment",
            deploy,
            "the findings on the new pods",
        ))
        .step(next::rollout_history(
            namespace,
            deploy,
            "what changed between revisions",
        ))
}

/// The newest ReplicaSet, its image and how its pods are doing: where a stuck rollout stalls.
fn new_replica_set_evidence(ctx: &Ctx, f: Finding, d: &Deployment) -> Finding {
    let Some(rs) = newest_replica_set(ctx, d) else {
        return f.cause("the new ReplicaSet's pods never became available");
    };
    let (namespace, rs_name) = (ns(&d.metadata), name(&rs.metadata));
    let states = pod_states(ctx.pods_owned_by(namespace, rs_name));
    let image_path =
        format!("ReplicaSet/{namespace}/{rs_name}:spec.template.spec.containers[0].image");
    f.derived("new_replicaset", rs_name)
        .derived("new_replicaset_pods", &states)
        .field_opt(image_path, first_image(rs))
        .cause(format!(
            "the new ReplicaSet {rs_name}'s pods never became available ({states}); their pod \
             findings say why. Roll back with `kubectl rollout undo` if the new version is at fault"
        ))
}

/// The Deployment's ReplicaSet with the highest `deployment.kubernetes.io/revision`.
fn newest_replica_set<'a>(ctx: &Ctx<'a>, d: &Deployment) -> Option<&'a ReplicaSet> {
    let (namespace, deploy) = (ns(&d.metadata), name(&d.metadata));
    let revision = |rs: &ReplicaSet| -> i64 {
        let annotations = rs.metadata.annotations.as_ref();
        let text = annotations.and_then(|a| a.get("deployment.kubernetes.io/revision"));
        text.and_then(|r| r.parse().ok()).unwrap_or(0)
    };
    ctx.replica_sets_of(namespace, deploy)
        .max_by_key(|rs| revision(rs))
}

fn first_image(rs: &ReplicaSet) -> Option<&str> {
    let template = rs.spec.template.as_ref()?;
    template.spec.as_ref()?.containers.first()?.image.as_deref()
}

/// "2 CrashLoopBackOff, 1 Running": how a set of pods is doing, by their most telling state.
pub(crate) fn pod_states(pods: &[&Pod]) -> String {
    if pods.is_empty() {
        return "no pods".into();
    }
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for pod in pods {
        *counts.entry(pod_state(pod)).or_default() += 1;
    }
    let parts: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
    parts.join(", ")
}

fn pod_state(pod: &Pod) -> String {
    let status = pod.status.as_ref();
    let statuses = status
        .and_then(|s| s.container_statuses.as_ref())
        .into_iter()
        .flatten();
    for cs in statuses {
        if let Some(reason) = cs
            .state
            .as_ref()
            .and_then(|s| s.waiting.as_ref())
            .and_then(|w| w.reason.as_deref())
        {
            return reason.to_string();
        }
    }
    if let Some(reason) = status.and_then(|s| s.reason.as_deref()) {
        return reason.to_string();
    }
    match (pod_phase(pod), pod_is_ready(pod)) {
        ("Running", true) => "Ready".into(),
        ("Running", false) => "Running, not ready".into(),
        ("", _) => "Unknown".into(),
        (phase, _) => phase.to_string(),
    }
}

/// A workload's available replicas against its desired count.
struct Shortfall<'m> {
    kind: &'static str,
    meta: &'m ObjectMeta,
    desired: i32,
    available: i32,
    /// The status field `available` was read from.
    path: &'static str,
    /// The controller itself reports less than minimum availability.
    degraded: bool,
}

/// Fewer available replicas than desired. Critical at zero; a warning when the controller says
/// it is below minimum availability (`degraded`); info otherwise, which covers the brief gap of
/// a healthy rolling update.
fn short_of(ctx: &Ctx, s: Shortfall) -> Option<Finding> {
    let Shortfall {
        kind,
        meta,
        desired,
        available,
        path,
        degraded,
    } = s;
    if available >= desired || desired <= 0 {
        return None;
    }
    let severity = match (available, degraded) {
        (0, _) => Severity::Critical,
        (_, true) => Severity::Warning,
        _ => Severity::Info,
    };
    let (namespace, workload) = (ns(meta), name(meta));
    let pods = ctx.pods_owned_by(namespace, workload);
    let pods: Vec<&Pod> = if kind == "Deployment" {
        deployment_pods(ctx, namespace, workload)
    } else {
        pods.to_vec()
    };
    let states = pod_states(&pods);
    let desired_path = if kind == "DaemonSet" {
        "status.desiredNumberScheduled"
    } else {
        "spec.replicas"
    };
    Finding::new(
        Rule::ReplicasUnavailable,
        severity,
        ResourceRef::namespaced(kind, namespace, workload),
    )
    .summary(format!("{available}/{desired} replicas available"))
    .field(desired_path, desired)
    .field(path, available)
    .derived("pods", &states)
    .cause(format!(
        "pods of the {kind} are not ready ({states}); their own findings give the reason"
    ))
    .step(next::diagnose_workload(
        namespace,
        kind,
        workload,
        "the findings on each pod of the workload",
    ))
    .into()
}

/// Pods of a Deployment, through its ReplicaSets.
fn deployment_pods<'a>(ctx: &Ctx<'a>, namespace: &str, deploy: &str) -> Vec<&'a Pod> {
    (ctx.replica_sets_of(namespace, deploy))
        .flat_map(|rs| {
            ctx.pods_owned_by(namespace, name(&rs.metadata))
                .iter()
                .copied()
        })
        .collect()
}

const CREATORS: &[&str] = &["ReplicaSet", "StatefulSet", "DaemonSet", "Job"];

fn failed_creates(ctx: &Ctx, out: &mut Vec<Finding>) {
    let mut by_object: BTreeMap<(&str, &str, &str), Vec<&Event>> = BTreeMap::new();
    let oldest = ctx.now_ms.saturating_sub(ctx.opts.event_window_ms);
    for e in &ctx.view.events {
        let o = &e.involved_object;
        let kind = o.kind.as_deref().unwrap_or("");
        if reason(e) != "FailedCreate"
            || !CREATORS.contains(&kind)
            || event_last_seen_ms(e).is_some_and(|t| t < oldest)
        {
            continue;
        }
        let key = (
            kind,
            o.namespace.as_deref().unwrap_or(""),
            o.name.as_deref().unwrap_or(""),
        );
        by_object.entry(key).or_default().push(e);
    }
    for ((kind, namespace, object), events) in by_object {
        out.push(failed_create(ctx, kind, namespace, object, events));
    }
}

static QUOTA: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"exceeded quota: ([^,]+), requested: (\S+?),? used: (\S+?),? limited: (\S+)")
        .expect("valid regex")
});
static WEBHOOK_DENIED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"admission webhook "([^"]+)" denied the request: (.*)"#).expect("valid regex")
});
static WEBHOOK_FAILED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"failed calling webhook "([^"]+)""#).expect("valid regex"));
static POD_SECURITY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"violates PodSecurity "([^"]+)": (.*)"#).expect("valid regex"));
static SERVICE_ACCOUNT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"serviceaccount "([^"]+)" not found"#).expect("valid regex"));

fn failed_create(
    ctx: &Ctx,
    kind: &str,
    namespace: &str,
    object: &str,
    events: Vec<&Event>,
) -> Finding {
    let latest = latest_message(events.iter().copied()).unwrap_or("");
    let owner = owner_of(ctx, kind, namespace, object);
    let f = Finding::new(
        Rule::FailedCreate,
        Severity::Critical,
        ResourceRef::namespaced(kind, namespace, object),
    )
    .owner(owner)
    .summary(format!("{kind} cannot create pods: {}", clip(latest, 200)))
    .evidence(event_evidence(events, 3));
    if let Some(c) = QUOTA.captures(latest) {
        return quota_finding(ctx, f, namespace, &c);
    }
    let (cause, step) = rejection(latest, kind, namespace, object);
    f.cause(cause).step(step)
}

/// Why the API server refused the controller's pods, other than quota, and where to look.
fn rejection(message: &str, kind: &str, namespace: &str, object: &str) -> (String, NextStep) {
    let webhooks = "kubectl get validatingwebhookconfigurations,mutatingwebhookconfigurations";
    if let Some(c) = WEBHOOK_DENIED.captures(message) {
        let cause = format!("admission webhook {} rejects the pod: {}", &c[1], &c[2]);
        return (
            cause,
            next::command(webhooks, "which policy engine owns the webhook"),
        );
    }
    if let Some(c) = WEBHOOK_FAILED.captures(message) {
        let cause = format!(
            "the API server cannot reach admission webhook {}; with failurePolicy=Fail every pod \
             creation fails until its service is back",
            &c[1]
        );
        let step = next::command(
            format!("{webhooks} -o wide"),
            "the webhook's service and failure policy",
        );
        return (cause, step);
    }
    if let Some(c) = POD_SECURITY.captures(message) {
        let cause = format!(
            "the namespace enforces Pod Security level {} and the pod template violates it: {}",
            &c[1], &c[2]
        );
        let step = next::describe(
            "Namespace",
            None,
            namespace,
            "the pod-security.kubernetes.io labels",
        );
        return (cause, step);
    }
    if let Some(c) = SERVICE_ACCOUNT.captures(message) {
        let cause = format!(
            "the pod template names service account {}, which does not exist in {namespace}",
            &c[1]
        );
        let why = "whether it exists (IRSA or Pod Identity annotations included)";
        return (
            cause,
            next::describe("ServiceAccount", Some(namespace), &c[1], why),
        );
    }
    let cause =
        "the API server rejects the controller's pod creation; the event message has the reason";
    let step = next::events(kind, Some(namespace), object, "the full rejection messages");
    (cause.to_string(), step)
}

fn owner_of(ctx: &Ctx, kind: &str, namespace: &str, object: &str) -> Option<ResourceRef> {
    if kind == "ReplicaSet" {
        let rs = ctx.replica_set(namespace, object)?;
        return ctx.top_owner(&rs.metadata);
    }
    let job =
        ctx.view.jobs.iter().find(|j| {
            kind == "Job" && ns(&j.metadata) == namespace && name(&j.metadata) == object
        })?;
    ctx.top_owner(&job.metadata)
}

fn quota_finding(ctx: &Ctx, f: Finding, namespace: &str, c: &regex::Captures) -> Finding {
    let quota = c[1].trim();
    let mut f = f
        .derived("quota", quota)
        .derived("requested", c[2].trim_end_matches(','))
        .derived("used", c[3].trim_end_matches(','))
        .derived("limited", c[4].trim_end_matches(','));
    let found = ctx
        .view
        .resource_quotas
        .iter()
        .find(|q| ns(&q.metadata) == namespace && name(&q.metadata) == quota);
    if let Some(status) = found.and_then(|q| q.status.as_ref()) {
        for (resource, hard) in status.hard.iter().flatten() {
            let used = status
                .used
                .as_ref()
                .and_then(|u| u.get(resource))
                .map_or("0", |q| q.0.as_str());
            let path = format!("ResourceQuota/{namespace}/{quota}:status");
            f = f
                .field(format!("{path}.used.{resource}"), used)
                .field(format!("{path}.hard.{resource}"), &hard.0);
        }
    }
    f.cause(format!("ResourceQuota {quota} in {namespace} is used up: a new pod would exceed it; raise the quota, lower the pods' requests/limits, or remove unused pods"))
        .step(next::describe("ResourceQuota", Some(namespace), quota, "hard limits against current use"))
}

fn job_failed(ctx: &Ctx, job: &Job) -> Option<Finding> {
    let status = job.status.as_ref()?;
    let failed =
        (status.conditions.iter().flatten()).find(|c| c.type_ == "Failed" && c.status == "True")?;
    let (namespace, job_name) = (ns(&job.metadata), name(&job.metadata));
    let reason = failed.reason.as_deref().unwrap_or("Failed");
    let spec = job.spec.as_ref();
    let mut f = Finding::new(
        Rule::JobFailed,
        Severity::Warning,
        ResourceRef::namespaced("Job", namespace, job_name),
    )
    .owner(ctx.top_owner(&job.metadata))
    .summary(format!(
        "Job failed ({reason}) after {} failed pods",
        status.failed.unwrap_or(0)
    ))
    .field("status.conditions[type=Failed].reason", reason)
    .field_opt(
        "status.conditions[type=Failed].message",
        failed.message.as_deref(),
    )
    .field("status.failed", status.failed.unwrap_or(0))
    .field(
        "spec.backoffLimit",
        spec.and_then(|s| s.backoff_limit).unwrap_or(6),
    )
    .field_opt(
        "spec.activeDeadlineSeconds",
        spec.and_then(|s| s.active_deadline_seconds),
    );
    let last = last_failed_pod(ctx, namespace, job_name);
    let mut cause = match reason {
        "DeadlineExceeded" => "the Job ran longer than activeDeadlineSeconds".to_string(),
        _ => "every retry failed until the backoff limit was reached".to_string(),
    };
    if let Some((pod, container, exit)) = &last {
        f = f.field(
            format!(
                "Pod/{namespace}/{}:status.containerStatuses[name={container}].state.terminated.exitCode",
                name(&pod.metadata)
            ),
            exit,
        );
        cause = format!("{cause}; the last pod's container {container} exited with code {exit}");
    }
    f = f.cause(cause);
    Some(match last {
        Some((pod, container, _)) => f.step(next::pod_logs(
            namespace,
            name(&pod.metadata),
            &container,
            false,
            "the error of the last failed attempt",
        )),
        None => f.step(next::events(
            "Job",
            Some(namespace),
            job_name,
            "the pods it created and why they failed",
        )),
    })
}

/// The Job's most recently started failed pod, with its first failed container and exit code.
fn last_failed_pod<'a>(
    ctx: &Ctx<'a>,
    namespace: &str,
    job: &str,
) -> Option<(&'a Pod, String, i32)> {
    let pods = ctx.pods_owned_by(namespace, job);
    let failed = pods.iter().filter(|p| pod_phase(p) == "Failed");
    let pod = failed.max_by_key(|p| {
        p.status
            .as_ref()
            .and_then(|s| s.start_time.as_ref())
            .map(time_ms)
    })?;
    let statuses = pod.status.as_ref()?.container_statuses.as_ref()?;
    statuses.iter().find_map(|cs| {
        let t = cs
            .state
            .as_ref()?
            .terminated
            .as_ref()
            .filter(|t| t.exit_code != 0)?;
        Some((*pod, cs.name.clone(), t.exit_code))
    })
}
