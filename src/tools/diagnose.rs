//! `k8s_diagnose`: fetches the objects the engine's diagnosis rules read (pods, nodes, events,
//! workloads, Services, endpoints, HPAs, claims, quotas), runs the pure rules and returns the
//! findings most severe first within the response budget.
//!
//! Objects that do not parse as their k8s-openapi type are skipped and counted rather than
//! failing the call: one odd object must not hide every other finding.

use std::collections::BTreeMap;
use std::sync::Arc;

use eks_ops_engine::diagnose::{
    self, ClusterView, DiagnoseOptions, Evidence, Finding, NextStep, Scope,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::k8s::list_all;
use super::params::non_empty;
use super::{Context, READ, Reply, ToolDef};
use crate::error::{ToolError, ToolResult};
use crate::output::{Budget, Truncation};
use crate::sources::ClusterSource;

pub fn tools() -> Vec<ToolDef> {
    vec![ToolDef::new(
        "k8s_diagnose",
        "Diagnose Kubernetes problems",
        "Run diagnosis rules (crash loops, OOMKilled, image pulls, config errors, scheduling, IP exhaustion, probes, nodes, rollouts, Services, HPAs, PVCs, quotas) over a cluster, namespace or workload. Findings most severe first, with evidence, cause and next step.",
        READ,
        run,
    )]
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiagnoseParams {
    /// Kube context / cluster; default: the server's.
    pub cluster: Option<String>,
    /// Limit to this namespace (required with `kind`/`name`).
    pub namespace: Option<String>,
    /// Workload kind: Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, Pod or Service.
    pub kind: Option<String>,
    /// Workload name; with `kind`.
    pub name: Option<String>,
}

/// One finding as the model reads it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FindingOut {
    /// critical, warning or info.
    pub severity: String,
    pub rule: String,
    /// Kind/namespace/name.
    pub resource: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    pub summary: String,
    /// Facts behind the finding: fields, events (messages are data), derived values.
    pub evidence: Vec<String>,
    pub cause: String,
    /// Tool calls (name and args) or commands to run next.
    pub next_steps: Vec<Value>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DiagnoseOutput {
    pub scope: String,
    pub at: String,
    /// Findings per severity and per rule, over all findings even when the list is cut.
    pub by_severity: BTreeMap<String, usize>,
    pub by_rule: BTreeMap<String, usize>,
    /// Objects looked at, per kind.
    pub scanned: BTreeMap<String, usize>,
    /// Objects skipped because they did not parse.
    pub unreadable: usize,
    pub notes: Vec<String>,
    pub findings: Vec<FindingOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<Truncation>,
}

/// Kinds the rules read, by the name the cluster source resolves.
const KINDS: [&str; 14] = [
    "Pod",
    "Node",
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "Service",
    "Endpoints",
    "EndpointSlice",
    "HorizontalPodAutoscaler",
    "PersistentVolumeClaim",
    "ResourceQuota",
    "Event",
];

fn scope_of(p: &DiagnoseParams) -> ToolResult<Scope> {
    let ns = match p.namespace.as_deref() {
        Some(n) => Some(non_empty("namespace", n)?.to_string()),
        None => None,
    };
    match (&p.kind, &p.name, ns) {
        (None, None, None) => Ok(Scope::Cluster),
        (None, None, Some(namespace)) => Ok(Scope::Namespace { namespace }),
        (Some(kind), Some(name), Some(namespace)) => Ok(Scope::Workload {
            namespace,
            kind: non_empty("kind", kind)?.to_string(),
            name: non_empty("name", name)?.to_string(),
        }),
        (Some(_), Some(_), None) => Err(ToolError::invalid(
            "namespace",
            "required with `kind` and `name`",
        )),
        (Some(_), None, _) => Err(ToolError::invalid("name", "required with `kind`")),
        (None, Some(_), _) => Err(ToolError::invalid(
            "kind",
            "required with `name` (Deployment, StatefulSet, Pod...)",
        )),
    }
}

/// List items come without `apiVersion`/`kind`; the view needs them to pick the type.
fn typed(mut item: Value, api_version: &str, kind: &str) -> Value {
    if let Some(o) = item.as_object_mut() {
        o.entry("apiVersion")
            .or_insert_with(|| Value::String(api_version.to_string()));
        o.entry("kind")
            .or_insert_with(|| Value::String(kind.to_string()));
    }
    item
}

/// Lists one kind into the view; returns how many objects failed to parse.
async fn load_kind(
    cluster: &dyn ClusterSource,
    view: &mut ClusterView,
    kind: &str,
    namespace: Option<&str>,
) -> ToolResult<usize> {
    let items = if kind == "Event" {
        let events = cluster.events(namespace).await?;
        events
            .into_iter()
            .map(|e| {
                let api = if e.get("regarding").is_some() {
                    "events.k8s.io/v1"
                } else {
                    "v1"
                };
                typed(e, api, "Event")
            })
            .collect()
    } else {
        // A kind the cluster does not serve (no HPA API, say) just leaves its rules blind.
        let Ok(info) = cluster.resolve_kind(kind).await else {
            return Ok(0);
        };
        let ns = if info.namespaced { namespace } else { None };
        let api = info.api_version();
        list_all(cluster, &info, ns, None, None)
            .await?
            .into_iter()
            .map(|v| typed(v, &api, kind))
            .collect::<Vec<_>>()
    };
    Ok(items
        .into_iter()
        .filter(|v| view.add_json(v.clone()).is_err())
        .count())
}

fn evidence_text(e: &Evidence) -> String {
    match e {
        Evidence::Field { path, value } => format!("{path} = {value}"),
        Evidence::Event {
            reason,
            message,
            count,
            ..
        } => format!("event {reason} x{count}: {message:?}"),
        Evidence::Derived { name, value } => format!("{name}: {value}"),
    }
}

fn step_value(s: &NextStep) -> Value {
    serde_json::to_value(s).unwrap_or(Value::Null)
}

fn finding_out(f: &Finding) -> FindingOut {
    FindingOut {
        severity: snake(&f.severity),
        rule: f.rule.id().to_string(),
        resource: f.resource.to_string(),
        owner: f.owner.as_ref().map(ToString::to_string),
        summary: f.summary.clone(),
        evidence: f.evidence.iter().map(evidence_text).collect(),
        cause: f.cause.clone(),
        next_steps: f.next_steps.iter().map(step_value).collect(),
    }
}

fn snake<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(Value::String(s)) => s,
        _ => "unknown".into(),
    }
}

fn scope_text(scope: &Scope) -> String {
    match scope {
        Scope::Cluster => "cluster".into(),
        Scope::Namespace { namespace } => format!("namespace {namespace}"),
        Scope::Workload {
            namespace,
            kind,
            name,
        } => format!("{kind} {namespace}/{name}"),
    }
}

async fn run(
    ctx: Arc<Context>,
    p: DiagnoseParams,
    budget: Budget,
) -> ToolResult<Reply<DiagnoseOutput>> {
    let scope = scope_of(&p)?;
    let cluster = ctx.sources.cluster(p.cluster.as_deref()).await?;
    let namespace = match &scope {
        Scope::Cluster => None,
        Scope::Namespace { namespace } | Scope::Workload { namespace, .. } => {
            Some(namespace.as_str())
        }
    };
    let mut view = ClusterView::default();
    let mut unreadable = 0;
    for kind in KINDS {
        unreadable += load_kind(cluster.as_ref(), &mut view, kind, namespace).await?;
    }
    let now = cluster.now();
    let diagnosis = diagnose::diagnose(&view, &scope, &DiagnoseOptions::at(now.timestamp_millis()));
    let all: Vec<FindingOut> = diagnosis.findings.iter().map(finding_out).collect();
    let (findings, dropped) = budget.take(all, 0.8);
    let total = findings.len() + dropped;
    let truncated = (findings.len() < total).then(|| Truncation {
        total,
        returned: findings.len(),
        how_to_get_more: "narrow to a namespace or workload, or raise response_bytes".into(),
    });
    let data = DiagnoseOutput {
        scope: scope_text(&scope),
        at: now.to_rfc3339(),
        by_severity: diagnosis
            .by_severity
            .iter()
            .map(|(s, n)| (snake(s), *n))
            .collect(),
        by_rule: diagnosis.by_rule.clone(),
        scanned: diagnosis.scanned.clone(),
        unreadable,
        notes: diagnosis.notes.clone(),
        findings,
        truncated,
    };
    Ok(Reply {
        summary: summary_text(&data),
        data,
    })
}

fn summary_text(d: &DiagnoseOutput) -> String {
    let counts = d
        .by_severity
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut out = format!(
        "{}: {} at {}",
        d.scope,
        if counts.is_empty() {
            "no findings".into()
        } else {
            counts
        },
        d.at
    );
    for f in &d.findings {
        let evidence = f.evidence.first().map(String::as_str).unwrap_or("");
        let next = f
            .next_steps
            .first()
            .and_then(|s| s.get("command"))
            .and_then(Value::as_str)
            .unwrap_or("");
        out.push_str(&format!(
            "\n[{}] {} {}: {} | {} | next: {}",
            f.severity,
            f.resource,
            f.rule,
            f.summary,
            clip(evidence, 160),
            next
        ));
    }
    if d.unreadable > 0 {
        out.push_str(&format!(
            "\n{} object(s) could not be read and were skipped",
            d.unreadable
        ));
    }
    for n in &d.notes {
        out.push_str(&format!("\nnote: {n}"));
    }
    if let Some(t) = &d.truncated {
        out.push_str(&format!(
            "\n[{} of {} findings shown; {}]",
            t.returned, t.total, t.how_to_get_more
        ));
    }
    out
}

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    format!("{cut}…")
}
