//! The objects a diagnosis reads: [`ClusterView`], filled by the caller.
//!
//! The server's cluster source (live API or snapshot bundle) fetches the objects and puts them
//! here, either typed or as JSON through [`ClusterView::add_json`], which accepts what
//! `kubectl get ... -o json` prints (single objects or a `List`). Events may be core/v1 or
//! events.k8s.io/v1; the latter are converted to core/v1 so rules read one shape.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{
    Endpoints, Event, EventSeries, Node, PersistentVolumeClaim, Pod, ResourceQuota, Service,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::events::v1::Event as EventsV1;
use serde::de::DeserializeOwned;
use std::fmt;

/// Everything diagnosis looks at, as the caller fetched it. Missing kinds are fine: rules that
/// need them stay silent (and [`super::Diagnosis::notes`] says what was not given).
#[derive(Debug, Clone, Default)]
pub struct ClusterView {
    pub pods: Vec<Pod>,
    pub nodes: Vec<Node>,
    /// core/v1 events; see [`ClusterView::add_json`] for events.k8s.io/v1.
    pub events: Vec<Event>,
    pub deployments: Vec<Deployment>,
    pub replica_sets: Vec<ReplicaSet>,
    pub stateful_sets: Vec<StatefulSet>,
    pub daemon_sets: Vec<DaemonSet>,
    pub jobs: Vec<Job>,
    pub services: Vec<Service>,
    pub endpoints: Vec<Endpoints>,
    pub endpoint_slices: Vec<EndpointSlice>,
    pub hpas: Vec<HorizontalPodAutoscaler>,
    pub pvcs: Vec<PersistentVolumeClaim>,
    pub resource_quotas: Vec<ResourceQuota>,
}

/// An object that [`ClusterView::add_json`] could not read.
#[derive(Debug)]
pub struct ViewError {
    /// `apiVersion/kind name` of the offending object, as far as it could be read.
    pub object: String,
    pub source: serde_json::Error,
}

impl fmt::Display for ViewError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot read {}: {}", self.object, self.source)
    }
}

impl std::error::Error for ViewError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

impl ClusterView {
    /// Adds one object (with `apiVersion` and `kind`) or every item of a `List`. Returns how
    /// many objects were added; kinds that diagnosis does not read are skipped, not errors.
    pub fn add_json(&mut self, value: serde_json::Value) -> Result<usize, ViewError> {
        let kind = value
            .get("kind")
            .and_then(|k| k.as_str())
            .unwrap_or("")
            .to_string();
        if kind.ends_with("List") {
            let items = match value.get("items") {
                Some(serde_json::Value::Array(items)) => items.clone(),
                _ => Vec::new(),
            };
            let mut added = 0;
            for item in items {
                added += self.add_json(item)?;
            }
            return Ok(added);
        }
        self.add_object(&kind, value)
    }

    fn add_object(&mut self, kind: &str, value: serde_json::Value) -> Result<usize, ViewError> {
        let api = value
            .get("apiVersion")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        match (api, kind) {
            ("v1", "Pod") => push(&mut self.pods, value),
            ("v1", "Node") => push(&mut self.nodes, value),
            ("v1", "Event") => push(&mut self.events, value),
            ("events.k8s.io/v1", "Event") => {
                let event: EventsV1 = parse(value)?;
                self.events.push(core_event(event));
                Ok(1)
            }
            ("apps/v1", "Deployment") => push(&mut self.deployments, value),
            ("apps/v1", "ReplicaSet") => push(&mut self.replica_sets, value),
            ("apps/v1", "StatefulSet") => push(&mut self.stateful_sets, value),
            ("apps/v1", "DaemonSet") => push(&mut self.daemon_sets, value),
            ("batch/v1", "Job") => push(&mut self.jobs, value),
            ("v1", "Service") => push(&mut self.services, value),
            ("v1", "Endpoints") => push(&mut self.endpoints, value),
            ("discovery.k8s.io/v1", "EndpointSlice") => push(&mut self.endpoint_slices, value),
            ("autoscaling/v2", "HorizontalPodAutoscaler") => push(&mut self.hpas, value),
            ("v1", "PersistentVolumeClaim") => push(&mut self.pvcs, value),
            ("v1", "ResourceQuota") => push(&mut self.resource_quotas, value),
            _ => Ok(0),
        }
    }

    /// How many objects of each kind the view holds, for the "what was looked at" line.
    pub fn counts(&self) -> Vec<(&'static str, usize)> {
        vec![
            ("Pod", self.pods.len()),
            ("Node", self.nodes.len()),
            ("Event", self.events.len()),
            ("Deployment", self.deployments.len()),
            ("ReplicaSet", self.replica_sets.len()),
            ("StatefulSet", self.stateful_sets.len()),
            ("DaemonSet", self.daemon_sets.len()),
            ("Job", self.jobs.len()),
            ("Service", self.services.len()),
            ("Endpoints", self.endpoints.len()),
            ("EndpointSlice", self.endpoint_slices.len()),
            ("HorizontalPodAutoscaler", self.hpas.len()),
            ("PersistentVolumeClaim", self.pvcs.len()),
            ("ResourceQuota", self.resource_quotas.len()),
        ]
    }
}

fn push<T: DeserializeOwned>(
    list: &mut Vec<T>,
    value: serde_json::Value,
) -> Result<usize, ViewError> {
    list.push(parse(value)?);
    Ok(1)
}

fn parse<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ViewError> {
    let object = describe(&value);
    serde_json::from_value(value).map_err(|source| ViewError { object, source })
}

fn describe(value: &serde_json::Value) -> String {
    let get = |k: &str| {
        value
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("?")
            .to_string()
    };
    let name = value
        .pointer("/metadata/name")
        .and_then(|v| v.as_str())
        .unwrap_or("?");
    format!("{}/{} {}", get("apiVersion"), get("kind"), name)
}

/// events.k8s.io/v1 carries the same facts under other names (`regarding`, `note`,
/// `deprecatedCount`); rules read the core/v1 names.
fn core_event(e: EventsV1) -> Event {
    Event {
        metadata: e.metadata,
        involved_object: e.regarding.unwrap_or_default(),
        related: e.related,
        reason: e.reason,
        message: e.note,
        type_: e.type_,
        action: e.action,
        count: e.deprecated_count,
        first_timestamp: e.deprecated_first_timestamp,
        last_timestamp: e.deprecated_last_timestamp,
        event_time: e.event_time,
        series: e.series.map(|s| EventSeries {
            count: Some(s.count),
            last_observed_time: Some(s.last_observed_time),
        }),
        reporting_component: e.reporting_controller,
        reporting_instance: e.reporting_instance,
        source: e.deprecated_source,
    }
}

/// Parses an RFC 3339 time such as `2026-11-20T14:30:00Z` to Unix milliseconds, for callers
/// that hold `now` as text.
pub fn rfc3339_to_ms(text: &str) -> Option<i64> {
    text.parse::<k8s_openapi::jiff::Timestamp>()
        .ok()
        .map(|t| t.as_millisecond())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_lists_and_skips_unknown_kinds() {
        let list = json!({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "namespace": "shop"}},
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}},
            {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}
        ]});
        let mut view = ClusterView::default();
        assert_eq!(view.add_json(list).unwrap(), 2);
        assert_eq!((view.pods.len(), view.nodes.len()), (1, 1));
    }

    #[test]
    fn converts_events_v1() {
        let event = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "e", "namespace": "shop"},
            "eventTime": "2026-11-20T14:00:00.000000Z",
            "regarding": {"kind": "Pod", "name": "a", "namespace": "shop"},
            "reason": "BackOff", "note": "Back-off restarting failed container",
            "series": {"count": 7, "lastObservedTime": "2026-11-20T14:05:00.000000Z"}});
        let mut view = ClusterView::default();
        view.add_json(event).unwrap();
        let e = &view.events[0];
        assert_eq!(e.involved_object.name.as_deref(), Some("a"));
        assert_eq!(
            e.message.as_deref(),
            Some("Back-off restarting failed container")
        );
        assert_eq!(e.series.as_ref().and_then(|s| s.count), Some(7));
    }

    #[test]
    fn names_the_object_it_cannot_read() {
        let bad = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": 3});
        let err = ClusterView::default().add_json(bad).unwrap_err();
        assert!(
            err.to_string().starts_with("cannot read v1/Pod p:"),
            "{err}"
        );
    }

    #[test]
    fn parses_rfc3339() {
        assert_eq!(rfc3339_to_ms("1970-01-01T00:00:01.5Z"), Some(1500));
        assert_eq!(rfc3339_to_ms("yesterday"), None);
    }
}
