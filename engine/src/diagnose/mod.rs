//! Kubernetes diagnosis: pure rules over objects the caller already fetched.
//!
//! Put the objects in a [`ClusterView`], choose a [`Scope`] and call [`diagnose`] with `now`
//! in [`DiagnoseOptions`]; nothing here reads the clock or the network (the fetching lives in
//! the server's cluster source, as kube-rs keeps `conditions` apart from `await_condition`).
//! Each rule family is one module: `containers`, `scheduling`, `probes`, `nodes`,
//! `workloads`, `services`, `autoscaling`, `storage`. [`Rule::ALL`] lists every rule.
//! Findings come back sorted by severity, then resource, then rule, so the same input always
//! gives the same output.

mod autoscaling;
mod containers;
mod context;
mod finding;
pub mod next;
mod nodes;
mod probes;
mod quantity;
mod scheduling;
mod scope;
mod services;
mod storage;
mod view;
mod workloads;

pub use finding::{Evidence, Finding, NextStep, ResourceRef, Rule, Severity};
pub use quantity::parse_quantity;
pub use scope::Scope;
pub use view::{ClusterView, ViewError, rfc3339_to_ms};

use context::Ctx;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `now` and the thresholds rules use. Build with [`DiagnoseOptions::at`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiagnoseOptions {
    /// The instant "now", Unix ms. The snapshot's capture time when replaying one.
    pub now_ms: i64,
    /// Events last seen longer ago than this are ignored. One hour, the API server's default
    /// event TTL: older events are usually gone anyway, and ones that linger are history.
    pub event_window_ms: i64,
    /// A Pending pod or claim younger than this, with no failure event, is still starting.
    pub pending_grace_ms: i64,
    /// Share of a ResourceQuota limit at which it is reported (info below 100%, warning at it).
    pub quota_warn_ratio: f64,
}

impl DiagnoseOptions {
    pub fn at(now_ms: i64) -> Self {
        DiagnoseOptions {
            now_ms,
            event_window_ms: 3_600_000,
            pending_grace_ms: 300_000,
            quota_warn_ratio: 0.9,
        }
    }
}

/// Findings and the tallies a summary line needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnosis {
    pub findings: Vec<Finding>,
    /// Findings per severity (`critical`, `warning`, `info`).
    pub by_severity: BTreeMap<Severity, usize>,
    /// Findings per rule id.
    pub by_rule: BTreeMap<String, usize>,
    /// Objects looked at, per kind, so "no findings" can be told apart from "no data".
    pub scanned: BTreeMap<String, usize>,
    /// Caveats, e.g. kinds that were not given and the rules that therefore could not run.
    pub notes: Vec<String>,
}

impl Diagnosis {
    /// Whether anything at warning or above was found.
    pub fn has_problems(&self) -> bool {
        self.findings
            .iter()
            .any(|f| f.severity <= Severity::Warning)
    }
}

/// Runs every rule over `view` and keeps the findings inside `scope`.
pub fn diagnose(view: &ClusterView, scope: &Scope, options: &DiagnoseOptions) -> Diagnosis {
    let ctx = Ctx::new(view, options);
    let mut findings = Vec::new();
    for pod in &view.pods {
        // Fetched once per pod: three rule families read the same events.
        let events = ctx.pod_events(pod);
        containers::check(&ctx, pod, &events, &mut findings);
        scheduling::check(&ctx, pod, &events, &mut findings);
        probes::check(&ctx, pod, &events, &mut findings);
    }
    nodes::check(&ctx, &mut findings);
    workloads::check(&ctx, &mut findings);
    services::check(&ctx, &mut findings);
    autoscaling::check(&ctx, &mut findings);
    storage::check(&ctx, &mut findings);
    let filter = scope::Filter::new(&ctx, scope);
    findings.retain(|f| filter.keeps(f));
    findings
        .sort_by(|a, b| (a.sort_key().cmp(&b.sort_key())).then_with(|| a.summary.cmp(&b.summary)));
    tally(view, findings)
}

fn tally(view: &ClusterView, findings: Vec<Finding>) -> Diagnosis {
    let mut by_severity = BTreeMap::new();
    let mut by_rule = BTreeMap::new();
    for f in &findings {
        *by_severity.entry(f.severity).or_insert(0) += 1;
        *by_rule.entry(f.rule.id().to_string()).or_insert(0) += 1;
    }
    let counts = view.counts();
    let scanned = counts.iter().map(|(k, n)| (k.to_string(), *n)).collect();
    Diagnosis {
        findings,
        by_severity,
        by_rule,
        scanned,
        notes: notes(&counts),
    }
}

/// Which rules were blind because their kinds were not in the view.
fn notes(counts: &[(&'static str, usize)]) -> Vec<String> {
    let empty = |kind: &str| counts.iter().any(|(k, n)| *k == kind && *n == 0);
    let mut notes = Vec::new();
    if empty("Event") {
        notes.push("no events were given: probe failures, image pull messages, FailedCreate and IP exhaustion cannot be seen".to_string());
    }
    if empty("EndpointSlice") && empty("Endpoints") && !empty("Service") {
        notes.push("no EndpointSlices or Endpoints were given: Service readiness is judged from pod Ready conditions".to_string());
    }
    if empty("ReplicaSet") && !empty("Deployment") {
        notes.push(
            "no ReplicaSets were given: pods cannot be traced to their Deployments".to_string(),
        );
    }
    notes
}
