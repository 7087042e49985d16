//! The events.k8s.io/v1 view of core/v1 Events, as the API server converts between the two.
//!
//! Both resources are backed by one store in a real cluster, so a bundle only carries core/v1
//! Events and this module derives the other view: `involvedObject` becomes `regarding`, `message`
//! becomes `note`, `reportingComponent` becomes `reportingController`, and the legacy counters
//! move to the `deprecated*` fields. One deliberate addition: a core event with `count > 1` and no
//! `series` gets a `series` built from `count` and `lastTimestamp`, so clients' series handling
//! can be exercised from legacy events too.

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::events::v1 as events;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use serde_json::Value;

/// Converts one core/v1 Event (already type-checked) to events.k8s.io/v1.
pub fn to_events_v1(core_event: Value) -> Result<Value, String> {
    let e: core::Event = serde_json::from_value(core_event).map_err(|e| e.to_string())?;
    let converted = convert(e);
    serde_json::to_value(&converted).map_err(|e| e.to_string())
}

fn convert(e: core::Event) -> events::Event {
    let series = series(&e);
    events::Event {
        metadata: e.metadata,
        action: e.action,
        deprecated_count: e.count,
        deprecated_first_timestamp: e.first_timestamp,
        deprecated_last_timestamp: e.last_timestamp,
        deprecated_source: e.source,
        event_time: e.event_time,
        note: e.message,
        reason: e.reason,
        regarding: Some(e.involved_object),
        related: e.related,
        reporting_controller: e.reporting_component.filter(|s| !s.is_empty()),
        reporting_instance: e.reporting_instance.filter(|s| !s.is_empty()),
        series,
        type_: e.type_,
    }
}

fn series(e: &core::Event) -> Option<events::EventSeries> {
    if let Some(s) = &e.series {
        let last = s.last_observed_time.clone()?;
        return Some(events::EventSeries {
            count: s.count.unwrap_or(1),
            last_observed_time: last,
        });
    }
    let count = e.count.filter(|c| *c > 1)?;
    let last = e.last_timestamp.as_ref()?;
    Some(events::EventSeries {
        count,
        last_observed_time: MicroTime(last.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn legacy(count: i32) -> Value {
        json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "web.1", "namespace": "shop"},
            "involvedObject": {"kind": "Pod", "name": "web", "namespace": "shop", "uid": "u1"},
            "reason": "BackOff", "message": "Back-off restarting failed container",
            "type": "Warning", "count": count,
            "firstTimestamp": "2026-11-20T13:00:00Z", "lastTimestamp": "2026-11-20T14:00:00Z",
            "source": {"component": "kubelet", "host": "node-1"},
            "reportingComponent": "kubelet", "reportingInstance": "node-1"
        })
    }

    #[test]
    fn legacy_fields_move_to_their_events_v1_names() {
        let v = to_events_v1(legacy(7)).unwrap();
        assert_eq!(v["apiVersion"], "events.k8s.io/v1");
        assert_eq!(v["regarding"]["name"], "web");
        assert_eq!(v["note"], "Back-off restarting failed container");
        assert_eq!(v["reportingController"], "kubelet");
        assert_eq!(v["deprecatedCount"], 7);
        assert_eq!(v["deprecatedSource"]["host"], "node-1");
        assert_eq!(v["deprecatedFirstTimestamp"], "2026-11-20T13:00:00Z");
        assert_eq!(v["series"]["count"], 7);
        assert_eq!(
            v["series"]["lastObservedTime"],
            "2026-11-20T14:00:00.000000Z"
        );
        assert!(v.get("message").is_none());
    }

    #[test]
    fn single_events_have_no_series() {
        let v = to_events_v1(legacy(1)).unwrap();
        assert!(v.get("series").is_none());
    }

    #[test]
    fn native_series_is_kept() {
        let mut e = legacy(0);
        e["series"] = json!({"count": 12, "lastObservedTime": "2026-11-20T14:10:00.500000Z"});
        e["eventTime"] = json!("2026-11-20T13:00:00.000000Z");
        let v = to_events_v1(e).unwrap();
        assert_eq!(v["series"]["count"], 12);
        assert_eq!(v["eventTime"], "2026-11-20T13:00:00.000000Z");
    }
}
