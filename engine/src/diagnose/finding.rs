//! What a diagnosis rule reports: the [`Finding`] type, its parts, and the catalog of rules.
//!
//! A finding names one resource, the rule that fired, the exact evidence (field paths with
//! their values, and events with counts), the likely cause and concrete next steps. The rule
//! catalog ([`Rule::ALL`]) is the single list that docs, tests and the server's tool
//! description draw from.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// How urgent a finding is. Orders critical first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Something is down or cannot start now.
    Critical,
    /// Degraded, or about to fail.
    Warning,
    /// Worth knowing; not a fault on its own.
    Info,
}

macro_rules! rules {
    ($( $(#[$doc:meta])* $variant:ident => $id:literal, $title:literal; )+) => {
        /// Every diagnosis rule, with a stable dotted id (`pod.oom_killed`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Rule { $( $(#[$doc])* $variant, )+ }

        impl Rule {
            /// The catalog, in a stable order.
            pub const ALL: &'static [Rule] = &[ $( Rule::$variant, )+ ];

            /// The stable id tools and tests refer to.
            pub fn id(self) -> &'static str {
                match self { $( Rule::$variant => $id, )+ }
            }

            /// One line saying what the rule detects.
            pub fn title(self) -> &'static str {
                match self { $( Rule::$variant => $title, )+ }
            }
        }
    };
}

rules! {
    PodCrashLoop => "pod.crash_loop_back_off", "container restarts in a loop (CrashLoopBackOff)";
    PodOomKilled => "pod.oom_killed", "container killed for exceeding memory (OOMKilled)";
    PodImagePull => "pod.image_pull_failed", "image cannot be pulled (ImagePullBackOff, ErrImagePull)";
    PodConfigError => "pod.create_container_config_error", "container config references a missing ConfigMap, Secret or key";
    PodUnschedulable => "pod.unschedulable", "pod stays Pending: the scheduler finds no node";
    PodLivenessProbe => "pod.liveness_probe_failing", "liveness or startup probe fails (Unhealthy events)";
    PodReadinessProbe => "pod.readiness_probe_failing", "readiness probe fails (Unhealthy events)";
    PodEvicted => "pod.evicted", "pod evicted by the kubelet under node pressure";
    PodIpExhausted => "pod.vpc_cni_ip_exhausted", "VPC CNI cannot assign a pod IP (FailedCreatePodSandBox)";
    NodeNotReady => "node.not_ready", "node is NotReady or Unknown";
    NodePressure => "node.pressure", "node reports memory, disk or PID pressure";
    NodeNetworkUnavailable => "node.network_unavailable", "node network is unavailable";
    NodeCordoned => "node.cordoned", "node is cordoned (unschedulable)";
    RolloutStuck => "workload.rollout_stuck", "Deployment rollout exceeded its progress deadline";
    ReplicasUnavailable => "workload.replicas_unavailable", "workload has fewer available replicas than desired";
    FailedCreate => "workload.failed_create", "controller cannot create pods (quota, admission, service account)";
    JobFailed => "job.failed", "Job failed (BackoffLimitExceeded or DeadlineExceeded)";
    ServiceNoReadyEndpoints => "service.no_ready_endpoints", "Service selects pods but none is ready";
    ServiceSelectorNoMatch => "service.selector_matches_no_pods", "Service selector matches no pod";
    HpaMetricsUnavailable => "hpa.metrics_unavailable", "HPA cannot read its metrics (ScalingActive=False)";
    HpaAtMax => "hpa.at_max_replicas", "HPA is pinned at maxReplicas (ScalingLimited)";
    PvcPending => "pvc.pending", "PersistentVolumeClaim is not bound";
    PvcLost => "pvc.lost", "PersistentVolumeClaim lost its volume";
    QuotaNearLimit => "quota.near_limit", "ResourceQuota is used up or nearly";
}

impl Rule {
    /// The rule with this id, if any.
    pub fn from_id(id: &str) -> Option<Rule> {
        Rule::ALL.iter().copied().find(|r| r.id() == id)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

impl<'de> Deserialize<'de> for Rule {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let id = String::deserialize(d)?;
        Rule::from_id(&id).ok_or_else(|| serde::de::Error::custom(format!("unknown rule `{id}`")))
    }
}

/// A Kubernetes object by kind, namespace (absent for cluster-scoped kinds) and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ResourceRef {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl ResourceRef {
    pub fn namespaced(kind: &str, namespace: &str, name: &str) -> Self {
        ResourceRef {
            kind: kind.to_string(),
            namespace: Some(namespace.to_string()),
            name: name.to_string(),
        }
    }

    pub fn cluster(kind: &str, name: &str) -> Self {
        ResourceRef {
            kind: kind.to_string(),
            namespace: None,
            name: name.to_string(),
        }
    }
}

impl fmt::Display for ResourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{}/{}", self.kind, ns, self.name),
            None => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}

/// One fact behind a finding, exact enough to check by hand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Evidence {
    /// A field as the API returned it. The path is relative to the finding's resource, or starts
    /// with `Kind/namespace/name:` when it belongs to a related object.
    Field { path: String, value: String },
    /// Events about the resource with the same reason and message, summed.
    Event {
        reason: String,
        message: String,
        count: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_seen_ms: Option<i64>,
    },
    /// A value the rule computed from the object, e.g. restarts per hour.
    Derived { name: String, value: String },
}

/// A concrete next action: an eks-ops-mcp tool call and the equivalent command line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NextStep {
    /// Tool to call (see [`super::next::TOOLS`]), or `None` when only a command does it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<String, serde_json::Value>,
    /// The kubectl or AWS CLI equivalent.
    pub command: String,
    /// What this step will show.
    pub why: String,
}

/// One diagnosed problem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub severity: Severity,
    pub rule: Rule,
    pub resource: ResourceRef,
    /// The top controller of the resource (a Pod's Deployment), to group findings by workload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<ResourceRef>,
    /// One sentence: what is wrong.
    pub summary: String,
    pub evidence: Vec<Evidence>,
    /// The most likely cause given the evidence.
    pub cause: String,
    pub next_steps: Vec<NextStep>,
}

impl Finding {
    pub(crate) fn new(rule: Rule, severity: Severity, resource: ResourceRef) -> Self {
        Finding {
            severity,
            rule,
            resource,
            owner: None,
            summary: String::new(),
            evidence: Vec::new(),
            cause: String::new(),
            next_steps: Vec::new(),
        }
    }

    pub(crate) fn summary(mut self, text: impl Into<String>) -> Self {
        self.summary = text.into();
        self
    }

    pub(crate) fn cause(mut self, text: impl Into<String>) -> Self {
        self.cause = text.into();
        self
    }

    pub(crate) fn owner(mut self, owner: Option<ResourceRef>) -> Self {
        self.owner = owner;
        self
    }

    pub(crate) fn field(mut self, path: impl Into<String>, value: impl fmt::Display) -> Self {
        self.evidence.push(Evidence::Field {
            path: path.into(),
            value: value.to_string(),
        });
        self
    }

    /// Adds the field only when it has a value, so absent fields do not show as "None".
    pub(crate) fn field_opt<T: fmt::Display>(
        self,
        path: impl Into<String>,
        value: Option<T>,
    ) -> Self {
        match value {
            Some(v) => self.field(path, v),
            None => self,
        }
    }

    pub(crate) fn derived(mut self, name: &str, value: impl fmt::Display) -> Self {
        self.evidence.push(Evidence::Derived {
            name: name.to_string(),
            value: value.to_string(),
        });
        self
    }

    pub(crate) fn evidence(mut self, items: impl IntoIterator<Item = Evidence>) -> Self {
        self.evidence.extend(items);
        self
    }

    pub(crate) fn step(mut self, step: NextStep) -> Self {
        self.next_steps.push(step);
        self
    }

    /// The order findings are reported in: severity, then resource, then rule.
    pub(crate) fn sort_key(&self) -> (Severity, &ResourceRef, &'static str) {
        (self.severity, &self.resource, self.rule.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_unique_dotted_and_round_trip() {
        let mut seen = std::collections::BTreeSet::new();
        for rule in Rule::ALL {
            assert!(seen.insert(rule.id()), "duplicate id {}", rule.id());
            assert!(rule.id().contains('.') && !rule.title().is_empty());
            let json = serde_json::to_string(rule).unwrap();
            assert_eq!(serde_json::from_str::<Rule>(&json).unwrap(), *rule);
        }
        assert!(serde_json::from_str::<Rule>("\"pod.nope\"").is_err());
    }

    #[test]
    fn severity_orders_critical_first() {
        assert!(Severity::Critical < Severity::Warning && Severity::Warning < Severity::Info);
        assert_eq!(
            serde_json::to_string(&Severity::Warning).unwrap(),
            "\"warning\""
        );
    }
}
