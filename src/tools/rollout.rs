//! `k8s_rollout_history`: what was deployed when, for a Deployment, StatefulSet or DaemonSet.
//!
//! Revisions come from the objects the controllers keep anyway: ReplicaSets (by their
//! `deployment.kubernetes.io/revision` annotation) and ControllerRevisions (by `revision`). Each
//! revision's pod template is compared with the one before it, flattened so that containers and
//! env entries are keyed by name: a diff reads `container checkout image: 2.3.1 -> 2.4.0`, not
//! an array index. The rollout state now is judged the way `kubectl rollout status` does.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::k8s::list_all;
use super::params::{in_range, non_empty};
use super::{Context, READ, Reply, ToolDef};
use crate::error::{ToolError, ToolResult};
use crate::output::redact::is_sensitive_key;
use crate::output::text::{clip, table};
use crate::output::{Budget, Truncation};
use crate::sources::ClusterSource;
use crate::time::human_duration;

pub fn tools() -> Vec<ToolDef> {
    vec![ToolDef::new(
        "k8s_rollout_history",
        "Rollout history of a workload",
        "Revisions of a Deployment, StatefulSet or DaemonSet, newest first: created time, change-cause, images, ready replicas and the pod-template fields changed from the previous revision (image, env, resources...). Plus the rollout state now: complete, progressing, stuck, paused or unavailable.",
        READ,
        rollout_history,
    )]
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RolloutParams {
    /// Workload name.
    pub name: String,
    /// Namespace (default `default`).
    pub namespace: Option<String>,
    /// Deployment (default), StatefulSet or DaemonSet.
    pub kind: Option<String>,
    /// Newest revisions to return (1-50, default 10).
    pub limit: Option<u32>,
    /// Kubeconfig context or EKS cluster name.
    pub cluster: Option<String>,
}

/// One revision of the pod template.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Revision {
    pub revision: i64,
    /// The ReplicaSet or ControllerRevision holding it.
    pub object: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_cause: Option<String>,
    pub images: Vec<String>,
    /// Ready/desired pods of this revision now.
    pub ready: String,
    /// The revision the workload runs now.
    pub current: bool,
    /// Pod-template changes from the previous revision, `path: old -> new`.
    pub changes: Vec<String>,
}

/// One status condition, compact.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Condition {
    #[serde(rename = "type")]
    pub kind: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
}

/// The rollout now.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RolloutState {
    /// complete, progressing, stuck, paused or unavailable.
    pub state: String,
    /// Why, in kubectl's words.
    pub message: String,
    pub desired: i64,
    pub updated: i64,
    pub ready: i64,
    pub available: i64,
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RolloutOutput {
    pub cluster: String,
    pub workload: String,
    pub status: RolloutState,
    /// Revisions found in the cluster.
    pub total_revisions: usize,
    /// Newest first.
    pub revisions: Vec<Revision>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<Truncation>,
}

async fn rollout_history(
    ctx: Arc<Context>,
    p: RolloutParams,
    budget: Budget,
) -> ToolResult<Reply<RolloutOutput>> {
    let limit = in_range("limit", p.limit, 1, 50, 10)? as usize;
    let name = non_empty("name", &p.name)?;
    let namespace = p.namespace.clone().unwrap_or_else(|| "default".into());
    let cluster = ctx.sources.cluster(p.cluster.as_deref()).await?;
    let kind = cluster
        .resolve_kind(p.kind.as_deref().unwrap_or("Deployment"))
        .await?;
    if kind.group != "apps"
        || !matches!(
            kind.kind.as_str(),
            "Deployment" | "StatefulSet" | "DaemonSet"
        )
    {
        return Err(ToolError::invalid(
            "kind",
            format!(
                "{} has no rollouts; use Deployment, StatefulSet or DaemonSet",
                kind.kind
            ),
        ));
    }
    let workload = cluster.get(&kind, Some(&namespace), name).await?;
    let mut revisions = match kind.kind.as_str() {
        "Deployment" => deployment_revisions(cluster.as_ref(), &workload, &namespace).await?,
        _ => controller_revisions(cluster.as_ref(), &workload, &namespace).await?,
    };
    let redact = ctx.redactor.enabled();
    fill_changes(&mut revisions, redact);
    let status = rollout_state(&kind.kind, &workload);
    let total_revisions = revisions.len();
    let newest: Vec<Revision> = revisions
        .into_iter()
        .rev()
        .map(|r| r.revision)
        .take(limit)
        .collect();
    let (kept, _) = budget.take(newest, 0.7);
    let truncated = (kept.len() < total_revisions).then(|| Truncation {
        total: total_revisions,
        returned: kept.len(),
        how_to_get_more: "older revisions left out; raise limit (max 50) or response_bytes".into(),
    });
    let workload_name = format!("{}/{} in {namespace}", kind.kind, name);
    let summary = summary(
        &workload_name,
        &status,
        &kept,
        cluster.now(),
        truncated.as_ref(),
    );
    Ok(Reply {
        summary,
        data: RolloutOutput {
            cluster: cluster.name().to_string(),
            workload: workload_name,
            status,
            total_revisions,
            revisions: kept,
            truncated,
        },
    })
}

/// A revision with its pod template, before diffing.
struct Raw {
    revision: Revision,
    template: Value,
}

fn s<'a>(o: &'a Value, pointer: &str) -> Option<&'a str> {
    o.pointer(pointer).and_then(Value::as_str)
}

fn n(o: &Value, pointer: &str) -> i64 {
    o.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

fn owned_by(o: &Value, owner: &Value) -> bool {
    let (uid, name, kind) = (
        s(owner, "/metadata/uid"),
        s(owner, "/metadata/name"),
        s(owner, "/kind"),
    );
    o.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|r| match (uid, s(r, "/uid")) {
            (Some(a), Some(b)) => a == b,
            _ => s(r, "/name") == name && (kind.is_none() || s(r, "/kind") == kind),
        })
}

fn created(o: &Value) -> Option<DateTime<Utc>> {
    s(o, "/metadata/creationTimestamp")
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

fn images(template: &Value) -> Vec<String> {
    template
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| s(c, "/image").map(str::to_string))
        .collect()
}

async fn deployment_revisions(
    cluster: &dyn ClusterSource,
    deployment: &Value,
    namespace: &str,
) -> ToolResult<Vec<Raw>> {
    let rs_kind = cluster.resolve_kind("ReplicaSet").await?;
    let current = s(
        deployment,
        "/metadata/annotations/deployment.kubernetes.io~1revision",
    )
    .and_then(|r| r.parse::<i64>().ok());
    let mut out: Vec<Raw> = list_all(cluster, &rs_kind, Some(namespace), None, None)
        .await?
        .into_iter()
        .filter(|rs| owned_by(rs, deployment))
        .map(|rs| {
            let rev = s(
                &rs,
                "/metadata/annotations/deployment.kubernetes.io~1revision",
            )
            .and_then(|r| r.parse::<i64>().ok())
            .unwrap_or(0);
            let template = rs.pointer("/spec/template").cloned().unwrap_or(Value::Null);
            let revision = Revision {
                revision: rev,
                object: format!("ReplicaSet/{}", s(&rs, "/metadata/name").unwrap_or("")),
                created: created(&rs),
                change_cause: s(&rs, "/metadata/annotations/kubernetes.io~1change-cause")
                    .map(str::to_string),
                images: images(&template),
                ready: format!(
                    "{}/{}",
                    n(&rs, "/status/readyReplicas"),
                    n(&rs, "/spec/replicas")
                ),
                current: current == Some(rev),
                changes: Vec::new(),
            };
            Raw { revision, template }
        })
        .collect();
    out.sort_by_key(|r| (r.revision.revision, r.revision.created));
    Ok(out)
}

async fn controller_revisions(
    cluster: &dyn ClusterSource,
    workload: &Value,
    namespace: &str,
) -> ToolResult<Vec<Raw>> {
    let update = s(workload, "/status/updateRevision").map(str::to_string);
    let pods = workload_pods(cluster, workload, namespace).await?;
    // A cluster without the kind (or a bundle that did not capture it) still has the current
    // template on the workload itself.
    let crs = match cluster.resolve_kind("ControllerRevision").await {
        Ok(k) => list_all(cluster, &k, Some(namespace), None, None).await?,
        Err(ToolError::NotFound { .. }) => Vec::new(),
        Err(e) => return Err(e),
    };
    let mut out: Vec<Raw> = crs
        .into_iter()
        .filter(|cr| owned_by(cr, workload))
        .map(|cr| {
            let name = s(&cr, "/metadata/name").unwrap_or("").to_string();
            let hash = s(&cr, "/metadata/labels/controller-revision-hash").unwrap_or(&name);
            let template = cr
                .pointer("/data/spec/template")
                .cloned()
                .unwrap_or(Value::Null);
            let revision = Revision {
                revision: n(&cr, "/revision"),
                object: format!("ControllerRevision/{name}"),
                created: created(&cr),
                change_cause: s(&cr, "/metadata/annotations/kubernetes.io~1change-cause")
                    .map(str::to_string),
                images: images(&template),
                ready: ready_pods(&pods, &[hash, &name]),
                current: update.as_deref() == Some(name.as_str()),
                changes: Vec::new(),
            };
            Raw { revision, template }
        })
        .collect();
    out.sort_by_key(|r| (r.revision.revision, r.revision.created));
    // DaemonSets carry no updateRevision: the newest revision is the one being rolled out.
    if !out.iter().any(|r| r.revision.current)
        && let Some(last) = out.last_mut()
    {
        last.revision.current = true;
    }
    if out.is_empty() {
        let template = workload
            .pointer("/spec/template")
            .cloned()
            .unwrap_or(Value::Null);
        out.push(Raw {
            revision: Revision {
                revision: n(workload, "/metadata/generation"),
                object: "spec.template (no ControllerRevisions found)".into(),
                created: None,
                change_cause: None,
                images: images(&template),
                ready: format!(
                    "{}/{}",
                    pods.iter().filter(|p| pod_ready(p)).count(),
                    pods.len()
                ),
                current: true,
                changes: Vec::new(),
            },
            template,
        });
    }
    Ok(out)
}

async fn workload_pods(
    cluster: &dyn ClusterSource,
    workload: &Value,
    namespace: &str,
) -> ToolResult<Vec<Value>> {
    let pod_kind = cluster.resolve_kind("Pod").await?;
    let Some(selector) = super::k8s::selector_of(workload).filter(|s| !s.is_empty()) else {
        return Ok(Vec::new());
    };
    let pods = list_all(cluster, &pod_kind, Some(namespace), Some(selector), None).await?;
    Ok(pods.into_iter().filter(|p| owned_by(p, workload)).collect())
}

fn pod_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| s(c, "/type") == Some("Ready") && s(c, "/status") == Some("True"))
}

fn ready_pods(pods: &[Value], hashes: &[&str]) -> String {
    let mine: Vec<&Value> = pods
        .iter()
        .filter(|p| {
            s(p, "/metadata/labels/controller-revision-hash").is_some_and(|h| hashes.contains(&h))
        })
        .collect();
    let ready = mine.iter().filter(|p| pod_ready(p)).count();
    format!("{ready}/{}", mine.len())
}

/// Longest value shown in a diff line; images and env values fit, whole commands do not.
const MAX_VALUE: usize = 80;
/// Diff lines per revision; a template rewrite is summarised by its first changes and a count.
const MAX_CHANGES: usize = 12;

fn fill_changes(revisions: &mut [Raw], redact: bool) {
    let flat: Vec<BTreeMap<String, String>> = revisions
        .iter()
        .map(|r| flatten_template(&r.template, redact))
        .collect();
    for i in 1..revisions.len() {
        revisions[i].revision.changes = diff(&flat[i - 1], &flat[i]);
    }
}

/// A pod template as `path -> value`, containers and env entries keyed by name, the
/// per-ReplicaSet `pod-template-hash` label dropped (it differs in every revision).
pub fn flatten_template(template: &Value, redact: bool) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    flatten(template, String::new(), &mut out, redact);
    out.remove("metadata.labels.pod-template-hash");
    out.remove("metadata.labels.controller-revision-hash");
    out
}

fn flatten(v: &Value, path: String, out: &mut BTreeMap<String, String>, redact: bool) {
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                flatten(child, join(k), out, redact);
            }
        }
        Value::Array(items)
            if items.iter().all(|i| s(i, "/name").is_some()) && !items.is_empty() =>
        {
            for item in items {
                let name = s(item, "/name").unwrap_or("");
                let key = join(&format!("[{name}]"));
                if redact && path.ends_with(".env") && is_sensitive_key(name) {
                    out.insert(key, "[REDACTED]".into());
                    continue;
                }
                let fields: Vec<(&String, &Value)> = item
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(k, _)| *k != "name")
                    .collect();
                match fields.as_slice() {
                    // `{name, value}` env entries read best as `env[NAME]: value`.
                    [(k, v)] if *k == "value" => flatten(v, key, out, redact),
                    [] => {
                        out.insert(key, String::new());
                    }
                    _ => {
                        for (k, child) in fields {
                            flatten(child, format!("{key}.{k}"), out, redact);
                        }
                    }
                }
            }
        }
        Value::Array(items) => {
            out.insert(
                path,
                clip(&Value::Array(items.clone()).to_string(), MAX_VALUE),
            );
        }
        Value::String(text) => {
            out.insert(path, clip(text, MAX_VALUE));
        }
        Value::Null => {}
        other => {
            out.insert(path, other.to_string());
        }
    }
}

/// `path: old -> new` lines, image changes first, then in path order.
pub fn diff(old: &BTreeMap<String, String>, new: &BTreeMap<String, String>) -> Vec<String> {
    let mut lines = Vec::new();
    for (k, v) in new {
        match old.get(k) {
            Some(o) if o == v => {}
            Some(o) => lines.push(format!("{}: {} -> {}", short_path(k), shown(o), shown(v))),
            None => lines.push(format!("{}: added {}", short_path(k), shown(v))),
        }
    }
    for (k, o) in old {
        if !new.contains_key(k) {
            lines.push(format!("{}: removed (was {})", short_path(k), shown(o)));
        }
    }
    // Image changes are what a release is; they lead.
    lines.sort_by_key(|l| !l.contains("].image: "));
    if lines.len() > MAX_CHANGES {
        let more = lines.len() - MAX_CHANGES;
        lines.truncate(MAX_CHANGES);
        lines.push(format!("... {more} more changed fields"));
    }
    lines
}

fn shown(v: &str) -> String {
    if v.is_empty() {
        "{}".into()
    } else {
        v.to_string()
    }
}

fn short_path(path: &str) -> String {
    path.strip_prefix("spec.")
        .unwrap_or(path)
        .replace("containers.[", "container[")
        .replace(".env.[", " env[")
}

fn conditions(o: &Value) -> Vec<Condition> {
    o.pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| Condition {
            kind: s(c, "/type").unwrap_or("").to_string(),
            status: s(c, "/status").unwrap_or("").to_string(),
            reason: s(c, "/reason").map(str::to_string),
            message: s(c, "/message").map(|m| clip(m, 200)),
            since: s(c, "/lastTransitionTime").map(str::to_string),
        })
        .collect()
}

/// The rollout state now, as `kubectl rollout status` would judge it.
pub fn rollout_state(kind: &str, o: &Value) -> RolloutState {
    let stale = n(o, "/status/observedGeneration") < n(o, "/metadata/generation");
    let (desired, updated, ready, available) = match kind {
        "DaemonSet" => (
            n(o, "/status/desiredNumberScheduled"),
            n(o, "/status/updatedNumberScheduled"),
            n(o, "/status/numberReady"),
            n(o, "/status/numberAvailable"),
        ),
        _ => (
            o.pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(1),
            n(o, "/status/updatedReplicas"),
            n(o, "/status/readyReplicas"),
            n(o, "/status/availableReplicas"),
        ),
    };
    let total = n(o, "/status/replicas");
    let conds = conditions(o);
    let deadline = conds.iter().find(|c| {
        c.kind == "Progressing" && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
    });
    let sts_pending = kind == "StatefulSet"
        && s(o, "/status/updateRevision").is_some()
        && s(o, "/status/updateRevision") != s(o, "/status/currentRevision");
    let (state, message) = if o.pointer("/spec/paused").and_then(Value::as_bool) == Some(true) {
        (
            "paused",
            "rollout paused (spec.paused); resume it to continue".to_string(),
        )
    } else if let Some(c) = deadline {
        (
            "stuck",
            format!(
                "progress deadline exceeded: {}",
                c.message.clone().unwrap_or_default()
            ),
        )
    } else if stale {
        (
            "progressing",
            "waiting for the controller to observe the new spec".to_string(),
        )
    } else if updated < desired || sts_pending {
        (
            "progressing",
            format!("{updated} of {desired} replicas updated"),
        )
    } else if kind == "Deployment" && total > updated {
        (
            "progressing",
            format!("{} old replicas pending termination", total - updated),
        )
    } else if available < desired {
        (
            "unavailable",
            format!(
                "all {updated} replicas updated but only {available} of {desired} available ({ready} ready)"
            ),
        )
    } else {
        (
            "complete",
            format!("{available} of {desired} replicas updated and available"),
        )
    };
    RolloutState {
        state: state.into(),
        message,
        desired,
        updated,
        ready,
        available,
        conditions: conds,
    }
}

fn summary(
    workload: &str,
    st: &RolloutState,
    revisions: &[Revision],
    now: DateTime<Utc>,
    truncated: Option<&Truncation>,
) -> String {
    let mut out = format!("{workload}: rollout {}: {}\n", st.state, st.message);
    for c in st
        .conditions
        .iter()
        .filter(|c| c.status != "True" || c.kind == "Progressing")
    {
        out.push_str(&format!(
            "condition {}={} {} {}\n",
            c.kind,
            c.status,
            c.reason.as_deref().unwrap_or(""),
            c.message.as_deref().unwrap_or("")
        ));
    }
    let rows: Vec<Vec<String>> = revisions
        .iter()
        .map(|r| {
            vec![
                format!("{}{}", r.revision, if r.current { "*" } else { "" }),
                r.created
                    .map(|t| {
                        format!(
                            "{} ({} ago)",
                            t.format("%Y-%m-%d %H:%M"),
                            human_duration(now - t)
                        )
                    })
                    .unwrap_or_else(|| "-".into()),
                r.ready.clone(),
                r.images
                    .iter()
                    .map(|i| i.rsplit('/').next().unwrap_or(i))
                    .collect::<Vec<_>>()
                    .join(","),
                r.change_cause.clone().unwrap_or_default(),
            ]
        })
        .collect();
    out.push_str(&table(
        &["REV", "CREATED", "READY", "IMAGES", "CHANGE-CAUSE"],
        &rows,
    ));
    for r in revisions.iter().filter(|r| !r.changes.is_empty()) {
        out.push_str(&format!("\nrevision {} changed:", r.revision));
        for c in &r.changes {
            out.push_str(&format!("\n  {c}"));
        }
    }
    if let Some(t) = truncated {
        out.push_str(&format!(
            "\n[showing {} of {} revisions; {}]",
            t.returned, t.total, t.how_to_get_more
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template(image: &str, env: &str, secret: &str) -> Value {
        json!({
            "metadata": {"labels": {"app": "checkout", "pod-template-hash": image}},
            "spec": {"containers": [
                {"name": "app", "image": image, "env": [
                    {"name": "MODE", "value": env},
                    {"name": "DB_PASSWORD", "value": secret}
                ]},
                {"name": "proxy", "image": "envoy:1"}
            ]}
        })
    }

    #[test]
    fn diff_names_containers_and_env_and_hides_secret_values() {
        let a = flatten_template(&template("checkout:2.3.1", "fast", "hunter2"), true);
        let b = flatten_template(&template("checkout:2.4.0", "safe", "hunter3"), true);
        let d = diff(&a, &b);
        assert_eq!(
            d,
            vec![
                "container[app].image: checkout:2.3.1 -> checkout:2.4.0".to_string(),
                "container[app] env[MODE]: fast -> safe".to_string(),
            ],
            "{d:?}"
        );
        let raw = diff(
            &flatten_template(&template("x", "m", "hunter2"), false),
            &flatten_template(&template("x", "m", "hunter3"), false),
        );
        assert_eq!(
            raw,
            vec!["container[app] env[DB_PASSWORD]: hunter2 -> hunter3"]
        );
    }

    #[test]
    fn added_and_removed_fields_and_a_cap() {
        let a = flatten_template(
            &json!({"spec": {"containers": [{"name": "a", "image": "i"}]}}),
            true,
        );
        let b = flatten_template(
            &json!({"spec": {"containers": [{"name": "a", "image": "i", "resources": {"limits": {"memory": "1Gi"}}}]}}),
            true,
        );
        assert_eq!(
            diff(&a, &b),
            vec!["container[a].resources.limits.memory: added 1Gi"]
        );
        assert_eq!(
            diff(&b, &a),
            vec!["container[a].resources.limits.memory: removed (was 1Gi)"]
        );
        let many: serde_json::Map<String, Value> =
            (0..30).map(|i| (format!("k{i:02}"), json!(i))).collect();
        let c = flatten_template(&json!({"metadata": {"annotations": many}}), true);
        let d = diff(&BTreeMap::new(), &c);
        assert_eq!(d.len(), MAX_CHANGES + 1);
        assert_eq!(d.last().unwrap(), "... 18 more changed fields");
    }

    #[test]
    fn states_follow_kubectl() {
        let dep = |spec: Value, status: Value| json!({"metadata": {"generation": 3}, "spec": spec, "status": status});
        let st = |o: &Value| rollout_state("Deployment", o).state;
        let base = json!({"observedGeneration": 3, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3});
        assert_eq!(st(&dep(json!({"replicas": 3}), base.clone())), "complete");
        assert_eq!(
            st(&dep(json!({"replicas": 3, "paused": true}), base.clone())),
            "paused"
        );
        let mut stale = base.clone();
        stale["observedGeneration"] = json!(2);
        assert_eq!(st(&dep(json!({"replicas": 3}), stale)), "progressing");
        let mut half = base.clone();
        half["updatedReplicas"] = json!(1);
        assert_eq!(st(&dep(json!({"replicas": 3}), half)), "progressing");
        let mut down = base.clone();
        down["availableReplicas"] = json!(1);
        assert_eq!(st(&dep(json!({"replicas": 3}), down)), "unavailable");
        let mut stuck = base;
        stuck["conditions"] = json!([{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "ReplicaSet x has timed out progressing."}]);
        assert_eq!(st(&dep(json!({"replicas": 3}), stuck)), "stuck");
        // Nothing in the status at all: no panic, and not "complete".
        assert_eq!(st(&json!({})), "progressing");
        let sts = json!({"spec": {"replicas": 2}, "status": {"replicas": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2, "currentRevision": "a", "updateRevision": "b"}});
        assert_eq!(rollout_state("StatefulSet", &sts).state, "progressing");
    }
}
