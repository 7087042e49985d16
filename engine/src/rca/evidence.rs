//! Evidence fusion: turns timestamped occurrences (Kubernetes events, rollouts, config changes,
//! scaling, alarms, node conditions, new log templates) into per-component score boosts and cited
//! evidence, relative to the incident onset.
//!
//! Weights are added to a component's metric score (a log-compressed robust z, so 1.0 is about
//! "the metric moved 1.7 scales"). Failure events after the onset are symptoms *of that component*
//! and raise it moderately; a rollout shortly before the onset is the single strongest prior in
//! operations (most incidents follow a change), so it raises its deploy the most; config changes
//! and scaling near the onset are cited, with a small boost for a config change only, because
//! scaling is usually a reaction to the incident rather than its cause.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What kind of thing happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OccurrenceKind {
    /// A Kubernetes event; `reason` carries e.g. `OOMKilled`, `BackOff`, `Evicted`.
    Event,
    /// A new ReplicaSet revision (or other rollout) of `component`.
    Rollout,
    /// A ConfigMap or Secret change referenced by `component`.
    ConfigChange,
    /// HPA or node-group scaling.
    Scaling,
    /// A CloudWatch or Prometheus alarm entering ALARM.
    Alarm,
    /// A node condition turning bad (MemoryPressure, DiskPressure, NotReady...).
    NodeCondition,
    /// A log template first seen in the window.
    LogTemplate,
}

/// One timestamped occurrence attached to a component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Occurrence {
    pub kind: OccurrenceKind,
    /// Component (workload, service or node) it belongs to.
    pub component: String,
    /// Short machine reason (`OOMKilled`, `revision 7`, `DiskPressure`, template id).
    pub reason: String,
    /// Human text (event message, alarm description, template text).
    pub message: String,
    /// Unix ms of the (first) occurrence.
    pub time_ms: i64,
    /// How many times it happened (events are aggregated by Kubernetes).
    pub count: u32,
}

/// One piece of evidence behind a hypothesis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Metric (`cpu`) or occurrence reason (`OOMKilled`).
    pub signal: String,
    pub time_ms: i64,
    /// Observed value (metric peak), when numeric.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// Baseline median the value is compared with, when numeric.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<f64>,
    /// One line for the model, e.g. event text or "cpu rose to 98.1 (baseline 12.0, z 41)".
    pub text: String,
}

/// Time windows for fusing occurrences around the onset.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EvidenceConfig {
    /// A rollout this long before the onset (or up to `after_slack_ms` after) is a suspect.
    pub rollout_lead_ms: i64,
    /// Config changes and scaling within this distance of the onset are cited.
    pub near_ms: i64,
    /// Failure occurrences count from `onset - after_slack_ms`, as clocks and scrapes disagree.
    pub after_slack_ms: i64,
}

impl Default for EvidenceConfig {
    fn default() -> Self {
        Self {
            rollout_lead_ms: 30 * 60_000,
            near_ms: 10 * 60_000,
            after_slack_ms: 60_000,
        }
    }
}

/// Failure event reasons that implicate their own component.
const FAILURE_REASONS: [(&str, f64); 8] = [
    ("OOMKilled", 1.5),
    ("BackOff", 1.0),
    ("CrashLoopBackOff", 1.0),
    ("Evicted", 1.0),
    ("FailedCreatePodSandBox", 1.0),
    ("FailedScheduling", 0.5),
    ("Unhealthy", 0.5),
    ("FailedMount", 0.5),
];

/// Boost and cited evidence per component.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fused {
    pub boost: f64,
    pub evidence: Vec<Evidence>,
}

/// Weight of an occurrence relative to `onset_ms` (`None`: every occurrence counts as after).
fn weight(o: &Occurrence, onset_ms: Option<i64>, cfg: &EvidenceConfig) -> Option<f64> {
    let dt = onset_ms.map_or(0, |on| o.time_ms.saturating_sub(on));
    let after = dt >= -cfg.after_slack_ms;
    let repeats = 1.0 + (f64::from(o.count.max(1))).ln() * 0.25;
    match o.kind {
        OccurrenceKind::Event => {
            let (_, w) = FAILURE_REASONS
                .iter()
                .find(|(r, _)| o.reason.eq_ignore_ascii_case(r))?;
            after.then_some(w * repeats)
        }
        OccurrenceKind::NodeCondition | OccurrenceKind::Alarm => after.then_some(repeats),
        OccurrenceKind::LogTemplate => after.then_some(0.5 * repeats),
        OccurrenceKind::Rollout => {
            (dt <= cfg.after_slack_ms && dt >= -cfg.rollout_lead_ms).then_some(2.0)
        }
        OccurrenceKind::ConfigChange => (dt.abs() <= cfg.near_ms).then_some(1.0),
        OccurrenceKind::Scaling => (dt.abs() <= cfg.near_ms).then_some(0.0),
    }
}

/// Fuses occurrences into per-component boosts; occurrences outside their window are ignored.
pub fn fuse(
    occurrences: &[Occurrence],
    onset_ms: Option<i64>,
    cfg: &EvidenceConfig,
) -> BTreeMap<String, Fused> {
    let mut out: BTreeMap<String, Fused> = BTreeMap::new();
    for o in occurrences {
        let Some(w) = weight(o, onset_ms, cfg) else {
            continue;
        };
        let entry = out.entry(o.component.clone()).or_default();
        entry.boost += w;
        let count = if o.count > 1 {
            format!(" (x{})", o.count)
        } else {
            String::new()
        };
        entry.evidence.push(Evidence {
            signal: o.reason.clone(),
            time_ms: o.time_ms,
            value: None,
            baseline: None,
            text: format!("{:?} {}: {}{count}", o.kind, o.reason, o.message),
        });
    }
    // Many events of one kind should not drown the metrics: cap the total at a strong rollout
    // plus a failure, so evidence reorders close calls but does not invent a cause on its own.
    for f in out.values_mut() {
        f.boost = f.boost.min(3.5);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn occ(kind: OccurrenceKind, component: &str, reason: &str, time_ms: i64) -> Occurrence {
        Occurrence {
            kind,
            component: component.into(),
            reason: reason.into(),
            message: "m".into(),
            time_ms,
            count: 1,
        }
    }

    #[test]
    fn failure_events_count_after_the_onset_only() {
        let cfg = EvidenceConfig::default();
        let list = [
            occ(OccurrenceKind::Event, "carts", "OOMKilled", 1_000_000),
            occ(
                OccurrenceKind::Event,
                "orders",
                "OOMKilled",
                1_000_000 - 3_600_000,
            ),
            occ(OccurrenceKind::Event, "user", "Scheduled", 1_000_000),
        ];
        let f = fuse(&list, Some(900_000), &cfg);
        assert!((f["carts"].boost - 1.5).abs() < 1e-12);
        assert!(!f.contains_key("orders"));
        assert!(!f.contains_key("user"));
    }

    #[test]
    fn a_rollout_before_the_onset_is_a_suspect_and_scaling_is_only_cited() {
        let cfg = EvidenceConfig::default();
        let on = 10_000_000;
        let list = [
            occ(
                OccurrenceKind::Rollout,
                "payment",
                "revision 7",
                on - 5 * 60_000,
            ),
            occ(
                OccurrenceKind::Rollout,
                "cart",
                "revision 3",
                on - 3 * 3_600_000,
            ),
            occ(
                OccurrenceKind::Scaling,
                "hpa/frontend",
                "scaled to 6",
                on + 60_000,
            ),
            occ(
                OccurrenceKind::ConfigChange,
                "payment",
                "configmap payment-cfg",
                on - 60_000,
            ),
        ];
        let f = fuse(&list, Some(on), &cfg);
        assert!((f["payment"].boost - 3.0).abs() < 1e-12);
        assert_eq!(f["payment"].evidence.len(), 2);
        assert!(!f.contains_key("cart"));
        assert_eq!(f["hpa/frontend"].boost, 0.0);
        assert_eq!(f["hpa/frontend"].evidence.len(), 1);
    }
}
