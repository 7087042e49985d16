//! What every rule reads besides its own object: the view indexed once per run, `now`, and
//! the options. Also the small helpers over events, times and owners that rules share.

use super::DiagnoseOptions;
use super::finding::{Evidence, ResourceRef};
use super::view::ClusterView;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{Container, Endpoints, Event, Pod};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use std::collections::{BTreeMap, HashMap};

/// Values grouped by namespace, then by a name within it.
type Nested<'a, T> = HashMap<&'a str, HashMap<&'a str, Vec<T>>>;

pub(crate) struct Ctx<'a> {
    pub view: &'a ClusterView,
    pub now_ms: i64,
    pub opts: &'a DiagnoseOptions,
    events: HashMap<&'a str, Vec<&'a Event>>,
    replica_sets: HashMap<(&'a str, &'a str), &'a ReplicaSet>,
    /// Pods by namespace, then controller name.
    pods_by_owner: Nested<'a, &'a Pod>,
    pods_by_node: HashMap<&'a str, usize>,
    pods_by_namespace: HashMap<&'a str, Vec<&'a Pod>>,
    /// EndpointSlices by namespace, then the Service they belong to.
    slices: Nested<'a, &'a EndpointSlice>,
    endpoints: Nested<'a, &'a Endpoints>,
}

impl<'a> Ctx<'a> {
    /// Indexes the view once, so that rules look objects up instead of scanning for them.
    pub fn new(view: &'a ClusterView, opts: &'a DiagnoseOptions) -> Self {
        let owned = (view.pods.iter())
            .filter_map(|p| controller(&p.metadata).map(|o| (ns(&p.metadata), o.name.as_str(), p)));
        let sliced = view.endpoint_slices.iter().filter_map(|s| {
            let labels = s.metadata.labels.as_ref()?;
            let service = labels.get("kubernetes.io/service-name")?;
            Some((ns(&s.metadata), service.as_str(), s))
        });
        let mut pods_by_node: HashMap<&str, usize> = HashMap::new();
        let mut pods_by_namespace: HashMap<&str, Vec<&Pod>> = HashMap::new();
        for pod in &view.pods {
            pods_by_namespace
                .entry(ns(&pod.metadata))
                .or_default()
                .push(pod);
            if let Some(node) = node_of(pod) {
                *pods_by_node.entry(node).or_default() += 1;
            }
        }
        Ctx {
            view,
            now_ms: opts.now_ms,
            opts,
            events: index_events(view),
            replica_sets: (view.replica_sets.iter())
                .map(|rs| ((ns(&rs.metadata), name(&rs.metadata)), rs))
                .collect(),
            pods_by_owner: nest(owned),
            pods_by_node,
            pods_by_namespace,
            slices: nest(sliced),
            endpoints: nest(
                view.endpoints
                    .iter()
                    .map(|e| (ns(&e.metadata), name(&e.metadata), e)),
            ),
        }
    }

    /// Events about an object last seen within the event window (or with no time at all).
    pub fn events(&self, kind: &str, namespace: &str, name: &str) -> Vec<&'a Event> {
        let oldest = self.now_ms.saturating_sub(self.opts.event_window_ms);
        let named = self.events.get(name).into_iter().flatten().copied();
        named
            .filter(|e| is_about(e, kind, namespace))
            .filter(|e| event_last_seen_ms(e).is_none_or(|t| t >= oldest))
            .collect()
    }

    /// Events about this pod. When both carry a uid, events about an earlier pod of the same
    /// name (a recreated StatefulSet replica) are left out.
    pub fn pod_events(&self, pod: &Pod) -> Vec<&'a Event> {
        let mut events = self.events("Pod", ns(&pod.metadata), name(&pod.metadata));
        if let Some(uid) = pod.metadata.uid.as_deref() {
            events.retain(|e| e.involved_object.uid.as_deref().is_none_or(|u| u == uid));
        }
        events
    }

    /// Pods whose controller is `owner` in `namespace` (any kind of controller).
    pub fn pods_owned_by(&self, namespace: &str, owner: &str) -> &[&'a Pod] {
        let owned = self.pods_by_owner.get(namespace).and_then(|m| m.get(owner));
        owned.map_or(&[], Vec::as_slice)
    }

    pub fn endpoint_slices(&self, namespace: &str, service: &str) -> &[&'a EndpointSlice] {
        let found = self.slices.get(namespace).and_then(|m| m.get(service));
        found.map_or(&[], Vec::as_slice)
    }

    pub fn endpoints(&self, namespace: &str, service: &str) -> Option<&'a Endpoints> {
        let found = self.endpoints.get(namespace).and_then(|m| m.get(service));
        found.and_then(|v| v.first().copied())
    }

    pub fn pods_in(&self, namespace: &str) -> &[&'a Pod] {
        self.pods_by_namespace
            .get(namespace)
            .map_or(&[], Vec::as_slice)
    }

    pub fn pods_on_node(&self, node: &str) -> usize {
        self.pods_by_node.get(node).copied().unwrap_or(0)
    }

    /// The ReplicaSets a Deployment controls.
    pub fn replica_sets_of<'s>(
        &'s self,
        namespace: &'s str,
        deployment: &'s str,
    ) -> impl Iterator<Item = &'a ReplicaSet> + 's {
        (self.view.replica_sets.iter()).filter(move |rs| {
            ns(&rs.metadata) == namespace
                && controller(&rs.metadata)
                    .is_some_and(|o| o.kind == "Deployment" && o.name == deployment)
        })
    }

    pub fn replica_set(&self, namespace: &str, name: &str) -> Option<&'a ReplicaSet> {
        self.replica_sets.get(&(namespace, name)).copied()
    }

    /// The top controller of an object: a ReplicaSet's Deployment when the ReplicaSet is in the
    /// view, otherwise the direct controller.
    pub fn top_owner(&self, meta: &ObjectMeta) -> Option<ResourceRef> {
        let owner = controller(meta)?;
        let namespace = ns(meta);
        if owner.kind == "ReplicaSet" {
            let rs = self.replica_set(namespace, &owner.name);
            if let Some(top) = rs.and_then(|rs| controller(&rs.metadata)) {
                return Some(ResourceRef::namespaced(&top.kind, namespace, &top.name));
            }
        }
        Some(ResourceRef::namespaced(&owner.kind, namespace, &owner.name))
    }

    /// Milliseconds from `t` to now, never negative.
    pub fn age_ms(&self, t: &Time) -> i64 {
        self.now_ms.saturating_sub(time_ms(t)).max(0)
    }

    pub fn within_window(&self, t: &Time) -> bool {
        self.age_ms(t) <= self.opts.event_window_ms
    }
}

/// Events by the name of the object they are about. The name alone is the key because it
/// is nearly unique and hashing one string instead of three is most of the indexing cost;
/// kind and namespace are checked on lookup.
fn index_events(view: &ClusterView) -> HashMap<&str, Vec<&Event>> {
    let mut events: HashMap<&str, Vec<&Event>> = HashMap::with_capacity(view.events.len());
    for e in &view.events {
        let name = e.involved_object.name.as_deref().unwrap_or("");
        events.entry(name).or_default().push(e);
    }
    events
}

/// Whether an event is about `kind` `namespace`/`name` (its name already matched). Node events
/// carry the namespace of the Event object ("default") or none, so theirs is not compared.
fn is_about(e: &Event, kind: &str, namespace: &str) -> bool {
    let o = &e.involved_object;
    o.kind.as_deref().unwrap_or("") == kind
        && (kind == "Node" || o.namespace.as_deref().unwrap_or("") == namespace)
}

fn nest<'a, T>(items: impl Iterator<Item = (&'a str, &'a str, T)>) -> Nested<'a, T> {
    let mut out: Nested<'a, T> = HashMap::new();
    for (namespace, key, value) in items {
        out.entry(namespace)
            .or_default()
            .entry(key)
            .or_default()
            .push(value);
    }
    out
}

pub(crate) fn ns(meta: &ObjectMeta) -> &str {
    meta.namespace.as_deref().unwrap_or("")
}

pub(crate) fn name(meta: &ObjectMeta) -> &str {
    meta.name.as_deref().unwrap_or("")
}

pub(crate) fn controller(meta: &ObjectMeta) -> Option<&OwnerReference> {
    let owners = meta.owner_references.as_deref()?;
    owners
        .iter()
        .find(|o| o.controller == Some(true))
        .or(owners.first())
}

pub(crate) fn pod_ref(pod: &Pod) -> ResourceRef {
    ResourceRef::namespaced("Pod", ns(&pod.metadata), name(&pod.metadata))
}

pub(crate) fn time_ms(t: &Time) -> i64 {
    t.0.as_millisecond()
}

/// RFC 3339 as the API prints it, for evidence values.
pub(crate) fn time_text(t: &Time) -> String {
    t.0.to_string()
}

/// `90m`, `3h5m`, `2d4h`: an age short enough for a summary line.
pub(crate) fn human_ms(ms: i64) -> String {
    let minutes = ms.max(0) / 60_000;
    match minutes {
        m if m < 60 => format!("{m}m"),
        m if m < 48 * 60 => format!("{}h{}m", m / 60, m % 60),
        m => format!("{}d{}h", m / 1440, (m % 1440) / 60),
    }
}

/// The number of times an event happened: the series count, the legacy count, or once.
pub(crate) fn event_count(e: &Event) -> u64 {
    let series = e.series.as_ref().and_then(|s| s.count);
    series.or(e.count).map_or(1, |c| c.max(1) as u64)
}

pub(crate) fn event_last_seen_ms(e: &Event) -> Option<i64> {
    let series = e
        .series
        .as_ref()
        .and_then(|s| s.last_observed_time.as_ref());
    (series.map(|t| t.0.as_millisecond()))
        .or(e.last_timestamp.as_ref().map(time_ms))
        .or(e.event_time.as_ref().map(|t| t.0.as_millisecond()))
        .or(e.first_timestamp.as_ref().map(time_ms))
        .or(e.metadata.creation_timestamp.as_ref().map(time_ms))
}

pub(crate) fn reason(e: &Event) -> &str {
    e.reason.as_deref().unwrap_or("")
}

pub(crate) fn message(e: &Event) -> &str {
    e.message.as_deref().unwrap_or("")
}

/// The message of the most recently seen event; ties go to the greater message so that the
/// input order never changes the answer.
pub(crate) fn latest_message<'e>(events: impl IntoIterator<Item = &'e Event>) -> Option<&'e str> {
    let newest = events.into_iter().max_by(|a, b| {
        (event_last_seen_ms(a).cmp(&event_last_seen_ms(b))).then_with(|| message(a).cmp(message(b)))
    });
    newest.map(message)
}

/// Events with the same reason and message summed into one piece of evidence each, most
/// frequent first, at most `limit` of them.
pub(crate) fn event_evidence<'e>(
    events: impl IntoIterator<Item = &'e Event>,
    limit: usize,
) -> Vec<Evidence> {
    let mut groups: BTreeMap<(&str, &str), (u64, Option<i64>)> = BTreeMap::new();
    for e in events {
        let entry = groups.entry((reason(e), message(e))).or_insert((0, None));
        entry.0 += event_count(e);
        entry.1 = entry.1.max(event_last_seen_ms(e));
    }
    let mut out: Vec<_> = groups.into_iter().collect();
    out.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(b.1.1.cmp(&a.1.1)));
    (out.into_iter().take(limit))
        .map(|((reason, message), (count, last))| Evidence::Event {
            reason: reason.to_string(),
            message: message.to_string(),
            count,
            last_seen_ms: last,
        })
        .collect()
}

/// The spec of container `name` (regular or init).
pub(crate) fn container_spec<'p>(pod: &'p Pod, name: &str) -> Option<&'p Container> {
    let spec = pod.spec.as_ref()?;
    let init = spec.init_containers.iter().flatten();
    spec.containers.iter().chain(init).find(|c| c.name == name)
}

/// A resource quantity of a container, `limits` or `requests`.
pub(crate) fn container_resource<'p>(
    c: &'p Container,
    section: &str,
    resource: &str,
) -> Option<&'p str> {
    let r = c.resources.as_ref()?;
    let map = if section == "limits" {
        r.limits.as_ref()
    } else {
        r.requests.as_ref()
    };
    map?.get(resource).map(|q| q.0.as_str())
}

pub(crate) fn pod_condition<'p>(
    pod: &'p Pod,
    type_: &str,
) -> Option<&'p k8s_openapi::api::core::v1::PodCondition> {
    let conditions = pod.status.as_ref()?.conditions.as_ref()?;
    conditions.iter().find(|c| c.type_ == type_)
}

pub(crate) fn pod_is_ready(pod: &Pod) -> bool {
    pod_condition(pod, "Ready").is_some_and(|c| c.status == "True")
}

pub(crate) fn pod_phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

pub(crate) fn node_of(pod: &Pod) -> Option<&str> {
    pod.spec.as_ref()?.node_name.as_deref()
}

/// Cuts long messages for evidence, on a character boundary.
pub(crate) use crate::logtemplate::clip;

/// `a=1,b=2`: a label selector or label set as kubectl prints it.
pub(crate) fn label_text(labels: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_durations() {
        assert_eq!(human_ms(-5), "0m");
        assert_eq!(human_ms(59 * 60_000), "59m");
        assert_eq!(human_ms(185 * 60_000), "3h5m");
        assert_eq!(human_ms(3 * 86_400_000 + 7_200_000), "3d2h");
    }
}
