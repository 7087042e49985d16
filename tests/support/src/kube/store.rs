//! The indexed, typed objects of one bundle, and list semantics over them: selectors, key order
//! and continue tokens.
//!
//! Objects are kept per (group, plural) in etcd key order (`<namespace>/<name>`), because that is
//! the order a real list returns and the order continue tokens walk.

use std::collections::HashMap;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::StandinError;
use super::bundle::Bundle;
use super::catalog::{Catalog, Resource, split_api_version, typed};
use super::events::to_events_v1;
use super::selector::{FieldSelector, LabelSelector};
use super::status::ApiError;

/// Every object of a bundle, by resource.
#[derive(Debug)]
pub struct Store {
    pub catalog: Catalog,
    objects: HashMap<(String, String), Vec<(String, Value)>>,
    /// The highest `metadata.resourceVersion` in the bundle: the store's revision.
    pub revision: u64,
}

/// What one list call selects.
#[derive(Debug, Default)]
pub struct ListRequest<'a> {
    pub namespace: Option<&'a str>,
    pub labels: LabelSelector,
    pub fields: FieldSelector,
    pub limit: Option<usize>,
    pub continue_token: Option<&'a str>,
    /// The revision the server is at now; tokens from another revision are stale.
    pub revision: u64,
}

/// One page of a list.
#[derive(Debug)]
pub struct ListPage {
    pub items: Vec<Value>,
    pub continue_token: Option<String>,
    pub remaining: Option<i64>,
}

/// The continue token, shaped like the API server's (`v`, `rv`, `start`) and just as opaque.
#[derive(Serialize, Deserialize)]
struct ContinueToken {
    v: String,
    rv: u64,
    start: String,
}

const TOKEN_VERSION: &str = "meta.k8s.io/v1";

fn invalid(path: &Path, message: impl Into<String>) -> StandinError {
    StandinError::Parse {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The etcd-style key of an object within its resource.
fn key_of(obj: &Value) -> String {
    let name = str_at(obj, "/metadata/name");
    match obj.pointer("/metadata/namespace").and_then(Value::as_str) {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_string(),
    }
}

impl Store {
    /// Types and indexes a bundle; fails on the first object its type rejects.
    pub fn build(bundle: &Bundle) -> Result<Self, StandinError> {
        let crds = checked_crds(&bundle.objects)?;
        let seen: Vec<(String, String, bool)> = bundle
            .objects
            .iter()
            .map(|(_, o)| {
                let api_version = str_at(o, "/apiVersion").to_string();
                let namespaced = o.pointer("/metadata/namespace").is_some();
                (api_version, str_at(o, "/kind").to_string(), namespaced)
            })
            .collect();
        let mut store = Self {
            catalog: Catalog::build(&crds, &seen),
            objects: HashMap::new(),
            revision: 0,
        };
        for (path, obj) in &bundle.objects {
            store.insert(path, obj.clone())?;
        }
        for (path, event) in &bundle.events {
            store.insert(path, with_event_type(event.clone()))?;
        }
        store.derive_events_v1()?;
        store.finish();
        Ok(store)
    }

    fn insert(&mut self, path: &Path, obj: Value) -> Result<(), StandinError> {
        let group = split_api_version(str_at(&obj, "/apiVersion")).0.to_string();
        let kind = str_at(&obj, "/kind").to_string();
        let resource = self
            .catalog
            .by_kind(&group, &kind)
            .ok_or_else(|| invalid(path, format!("object without apiVersion/kind: {obj}")))?;
        let namespaced = obj.pointer("/metadata/namespace").is_some();
        if namespaced != resource.namespaced {
            let scope = if resource.namespaced {
                "namespaced"
            } else {
                "cluster-scoped"
            };
            return Err(invalid(path, format!("{kind} is {scope}")));
        }
        let obj = if resource.builtin {
            typed(&group, &kind, obj).map_err(|e| invalid(path, format!("{kind}: {e}")))?
        } else {
            obj
        };
        let key = (resource.group.clone(), resource.plural.clone());
        let entries = self.objects.entry(key).or_default();
        let obj_key = key_of(&obj);
        if entries.iter().any(|(k, _)| *k == obj_key) {
            return Err(invalid(path, format!("duplicate {kind} {obj_key}")));
        }
        entries.push((obj_key, obj));
        Ok(())
    }

    fn derive_events_v1(&mut self) -> Result<(), StandinError> {
        let core = self.objects.get(&(String::new(), "events".to_string()));
        let converted: Vec<(String, Value)> = core
            .into_iter()
            .flatten()
            .map(|(k, e)| to_events_v1(e.clone()).map(|v| (k.clone(), v)))
            .collect::<Result<_, _>>()
            .map_err(|e| invalid(Path::new("events"), e))?;
        let key = ("events.k8s.io".to_string(), "events".to_string());
        self.objects.insert(key, converted);
        Ok(())
    }

    fn finish(&mut self) {
        for entries in self.objects.values_mut() {
            entries.sort_by(|a, b| a.0.cmp(&b.0));
        }
        let versions = self
            .objects
            .values()
            .flatten()
            .filter_map(|(_, o)| str_at(o, "/metadata/resourceVersion").parse::<u64>().ok());
        self.revision = versions.max().unwrap_or(1).max(1);
    }

    fn entries(&self, r: &Resource) -> &[(String, Value)] {
        self.objects
            .get(&(r.group.clone(), r.plural.clone()))
            .map_or(&[], Vec::as_slice)
    }

    /// One object by namespace and name.
    pub fn get(&self, r: &Resource, namespace: Option<&str>, name: &str) -> Option<&Value> {
        let key = match namespace {
            Some(ns) => format!("{ns}/{name}"),
            None => name.to_string(),
        };
        self.entries(r)
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
    }

    /// One page of a list, as the API server pages it: up to `limit` matches, and a continue
    /// token whenever any object (matching or not) follows the last one returned.
    pub fn list(&self, r: &Resource, req: &ListRequest<'_>) -> Result<ListPage, ApiError> {
        check_field_labels(r, &req.fields)?;
        let start = match req.continue_token {
            Some(token) => decode_token(token, req.revision)?,
            None => String::new(),
        };
        let ns_prefix = req.namespace.map(|ns| format!("{ns}/"));
        let scope: Vec<&(String, Value)> = self
            .entries(r)
            .iter()
            .filter(|(k, _)| *k >= start)
            .filter(|(k, _)| ns_prefix.as_deref().is_none_or(|p| k.starts_with(p)))
            .collect();
        let limit = req.limit.filter(|l| *l > 0).unwrap_or(usize::MAX);
        let mut items = Vec::new();
        let mut scanned = 0;
        for (_, obj) in &scope {
            if items.len() == limit {
                break;
            }
            scanned += 1;
            if selects(r, obj, req) {
                items.push(obj.clone());
            }
        }
        let rest = scope.len() - scanned;
        let continue_token = (rest > 0).then(|| {
            let last = &scope[scanned - 1].0;
            encode_token(req.revision, &format!("{last}\u{0}"))
        });
        let unselective = req.labels == LabelSelector::default() && req.fields.0.is_empty();
        let remaining = (rest > 0 && unselective).then_some(rest as i64);
        Ok(ListPage {
            items,
            continue_token,
            remaining,
        })
    }
}

fn with_event_type(mut event: Value) -> Value {
    if let Some(map) = event.as_object_mut() {
        map.entry("apiVersion").or_insert_with(|| "v1".into());
        map.entry("kind").or_insert_with(|| "Event".into());
    }
    event
}

/// CRDs come first because the kinds they declare decide how other objects are filed.
fn checked_crds(objects: &[(std::path::PathBuf, Value)]) -> Result<Vec<Value>, StandinError> {
    objects
        .iter()
        .filter(|(_, o)| str_at(o, "/kind") == "CustomResourceDefinition")
        .map(|(path, o)| {
            typed(
                "apiextensions.k8s.io",
                "CustomResourceDefinition",
                o.clone(),
            )
            .map_err(|e| invalid(path, format!("CustomResourceDefinition: {e}")))
        })
        .collect()
}

fn selects(r: &Resource, obj: &Value, req: &ListRequest<'_>) -> bool {
    let labels = obj.pointer("/metadata/labels").and_then(Value::as_object);
    req.labels.matches(labels)
        && req
            .fields
            .matches(|f| field_value(r, obj, f).unwrap_or_default())
}

fn encode_token(revision: u64, start: &str) -> String {
    let token = ContinueToken {
        v: TOKEN_VERSION.into(),
        rv: revision,
        start: start.into(),
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&token).unwrap_or_default())
}

/// The start key of a continue token, or 410 Expired for a token this revision cannot resume.
fn decode_token(token: &str, revision: u64) -> Result<String, ApiError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .map_err(|e| ApiError::expired(format!("continue key is not valid: {e}")))?;
    let parsed: ContinueToken = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::expired(format!("continue key is not valid: {e}")))?;
    if parsed.v != TOKEN_VERSION {
        let message = format!(
            "continue key is not valid: unsupported version {}",
            parsed.v
        );
        return Err(ApiError::expired(message));
    }
    if parsed.rv != revision {
        return Err(ApiError::expired(
            "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
        ));
    }
    Ok(parsed.start)
}

/// (field label, JSON pointer, value when absent) per resource, beyond `metadata.name` and
/// `metadata.namespace`, which every resource accepts.
type FieldLabel = (&'static str, &'static str, &'static str);

fn field_labels(r: &Resource) -> &'static [FieldLabel] {
    const POD: &[FieldLabel] = &[
        ("spec.nodeName", "/spec/nodeName", ""),
        ("spec.restartPolicy", "/spec/restartPolicy", ""),
        ("spec.schedulerName", "/spec/schedulerName", ""),
        ("spec.serviceAccountName", "/spec/serviceAccountName", ""),
        ("spec.hostNetwork", "/spec/hostNetwork", "false"),
        ("status.phase", "/status/phase", ""),
        ("status.podIP", "/status/podIP", ""),
        ("status.nominatedNodeName", "/status/nominatedNodeName", ""),
    ];
    const EVENT: &[FieldLabel] = &[
        ("involvedObject.kind", "/involvedObject/kind", ""),
        ("involvedObject.namespace", "/involvedObject/namespace", ""),
        ("involvedObject.name", "/involvedObject/name", ""),
        ("involvedObject.uid", "/involvedObject/uid", ""),
        (
            "involvedObject.apiVersion",
            "/involvedObject/apiVersion",
            "",
        ),
        (
            "involvedObject.resourceVersion",
            "/involvedObject/resourceVersion",
            "",
        ),
        ("involvedObject.fieldPath", "/involvedObject/fieldPath", ""),
        ("reason", "/reason", ""),
        ("reportingComponent", "/reportingComponent", ""),
        ("source", "/source/component", ""),
        ("type", "/type", ""),
    ];
    const EVENT_V1: &[FieldLabel] = &[
        ("regarding.kind", "/regarding/kind", ""),
        ("regarding.namespace", "/regarding/namespace", ""),
        ("regarding.name", "/regarding/name", ""),
        ("regarding.uid", "/regarding/uid", ""),
        ("regarding.apiVersion", "/regarding/apiVersion", ""),
        (
            "regarding.resourceVersion",
            "/regarding/resourceVersion",
            "",
        ),
        ("regarding.fieldPath", "/regarding/fieldPath", ""),
        ("reason", "/reason", ""),
        ("reportingController", "/reportingController", ""),
        ("type", "/type", ""),
    ];
    match (r.group.as_str(), r.plural.as_str(), r.builtin) {
        ("", "pods", true) => POD,
        ("", "events", true) => EVENT,
        ("events.k8s.io", "events", true) => EVENT_V1,
        ("", "nodes", true) => &[("spec.unschedulable", "/spec/unschedulable", "false")],
        ("", "secrets", true) => &[("type", "/type", "")],
        ("", "namespaces", true) => &[("status.phase", "/status/phase", "")],
        ("apps", "replicasets", true) => &[("status.replicas", "/status/replicas", "0")],
        ("batch", "jobs", true) => &[("status.successful", "/status/succeeded", "0")],
        _ => &[],
    }
}

/// The string a field selector compares, or `None` when the resource has no such field label.
fn field_value(r: &Resource, obj: &Value, field: &str) -> Option<String> {
    let (pointer, default) = match field {
        "metadata.name" => ("/metadata/name", ""),
        "metadata.namespace" => ("/metadata/namespace", ""),
        _ => field_labels(r)
            .iter()
            .find(|(label, _, _)| *label == field)
            .map(|(_, p, d)| (*p, *d))?,
    };
    let value = match obj.pointer(pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => default.to_string(),
        Some(other) => other.to_string(),
    };
    Some(value)
}

fn check_field_labels(r: &Resource, fields: &FieldSelector) -> Result<(), ApiError> {
    let probe = Value::Null;
    match fields
        .0
        .iter()
        .find(|t| field_value(r, &probe, &t.field).is_none())
    {
        Some(t) => Err(ApiError::bad_request(format!(
            "field label not supported: {}",
            t.field
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_roundtrip_and_expire() {
        let token = encode_token(42, "shop/web\u{0}");
        assert_eq!(decode_token(&token, 42).unwrap(), "shop/web\u{0}");
        assert_eq!(decode_token(&token, 43).unwrap_err().code, 410);
        assert_eq!(decode_token("not a token", 42).unwrap_err().code, 410);
        let foreign = URL_SAFE_NO_PAD.encode(br#"{"v":"x","rv":42,"start":""}"#);
        assert_eq!(decode_token(&foreign, 42).unwrap_err().code, 410);
    }

    #[test]
    fn field_values_use_defaults_and_reject_unknown_labels() {
        let catalog = Catalog::build(&[], &[]);
        let pods = catalog.find("", "v1", "pods").unwrap();
        let pod = serde_json::json!({"metadata": {"name": "a"}, "status": {"phase": "Running"}});
        assert_eq!(
            field_value(pods, &pod, "status.phase").as_deref(),
            Some("Running")
        );
        assert_eq!(
            field_value(pods, &pod, "spec.hostNetwork").as_deref(),
            Some("false")
        );
        assert_eq!(
            field_value(pods, &pod, "spec.nodeName").as_deref(),
            Some("")
        );
        assert!(field_value(pods, &pod, "spec.containers").is_none());
        let sel = FieldSelector::parse("spec.containers=x").unwrap();
        assert_eq!(check_field_labels(pods, &sel).unwrap_err().code, 400);
    }
}
