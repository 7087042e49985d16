//! Routing one authenticated request to discovery, list, get or pod log, with the API server's
//! path layout, parameter checks and authorization order (authorize, then decode parameters).

use serde::Serialize;
use serde_json::{Value, json};

use super::catalog::Resource;
use super::discovery;
use super::logs;
use super::query::{self, Query};
use super::rbac::Access;
use super::selector::{FieldSelector, LabelSelector};
use super::server::Shared as State;
use super::status::{ApiError, Target};
use super::store::ListRequest;

/// A finished answer, ready to become an HTTP response.
#[derive(Debug)]
pub struct Answer {
    pub code: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

const JSON: &str = "application/json";

fn to_bytes<T: Serialize>(value: &T, pretty: bool) -> Vec<u8> {
    let encoded = if pretty {
        serde_json::to_vec_pretty(value)
    } else {
        serde_json::to_vec(value)
    };
    encoded.unwrap_or_default()
}

impl Answer {
    fn json<T: Serialize>(value: &T, pretty: bool) -> Self {
        Self {
            code: 200,
            content_type: JSON,
            body: to_bytes(value, pretty),
        }
    }

    pub fn error(err: &ApiError, pretty: bool) -> Self {
        Self {
            code: err.code,
            content_type: JSON,
            body: to_bytes(&err.status, pretty),
        }
    }
}

/// One request as the router sees it.
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: Query,
    pub accept: Option<&'a str>,
}

/// Answers one request; every failure is a `Status`.
pub fn answer(state: &State, req: &Request<'_>) -> Answer {
    let pretty = req.query.flag("pretty").unwrap_or(false);
    match route(state, req) {
        Ok(answer) => answer,
        Err(err) => Answer::error(&err, pretty),
    }
}

fn route(state: &State, req: &Request<'_>) -> Result<Answer, ApiError> {
    let segments: Vec<&str> = req.path.split('/').filter(|s| !s.is_empty()).collect();
    if req.method != "GET" {
        return Err(ApiError::method_not_allowed(
            "the server does not allow this method on the requested resource",
        ));
    }
    match segments.as_slice() {
        ["version"] | ["api"] | ["api", "v1"] | ["apis"] | ["apis", _] | ["apis", _, _] => {
            discovery_doc(state, req, &segments)
        }
        ["api", "v1", rest @ ..] => resource(state, req, "", "v1", rest),
        ["apis", group, version, rest @ ..] => resource(state, req, group, version, rest),
        _ => Err(ApiError::path_not_found(req.path)),
    }
}

fn discovery_doc(state: &State, req: &Request<'_>, segments: &[&str]) -> Result<Answer, ApiError> {
    req.query.check_known(query::DISCOVERY, "discovery")?;
    let pretty = req.query.flag("pretty")?;
    let catalog = &state.store.catalog;
    let not_found = || ApiError::path_not_found(req.path);
    let aggregated = discovery::wants_aggregated(req.accept);
    let answer = match segments {
        ["version"] => Answer::json(&discovery::version(), pretty),
        ["api"] if aggregated => aggregated_answer(discovery::aggregated(catalog, true), pretty),
        ["api"] => Answer::json(&discovery::core_versions(&state.server_address), pretty),
        ["apis"] if aggregated => aggregated_answer(discovery::aggregated(catalog, false), pretty),
        ["apis"] => Answer::json(&discovery::group_list(catalog), pretty),
        ["apis", g] => Answer::json(&discovery::group(catalog, g).ok_or_else(not_found)?, pretty),
        ["api", v] => Answer::json(
            &discovery::resource_list(catalog, "", v).ok_or_else(not_found)?,
            pretty,
        ),
        [_, g, v] => Answer::json(
            &discovery::resource_list(catalog, g, v).ok_or_else(not_found)?,
            pretty,
        ),
        _ => return Err(not_found()),
    };
    Ok(answer)
}

fn aggregated_answer(doc: Value, pretty: bool) -> Answer {
    Answer {
        content_type: discovery::AGGREGATED_V2,
        ..Answer::json(&doc, pretty)
    }
}

/// What a resource path names once `namespaces/{ns}/` is taken off.
struct Located<'a> {
    resource: &'a Resource,
    namespace: Option<&'a str>,
}

fn resource(
    state: &State,
    req: &Request<'_>,
    group: &str,
    version: &str,
    rest: &[&str],
) -> Result<Answer, ApiError> {
    let (namespace, rest) = match rest {
        ["namespaces", ns, tail @ ..] if !tail.is_empty() => (Some(*ns), tail),
        _ => (None, rest),
    };
    let Some(plural) = rest.first() else {
        return Err(ApiError::path_not_found(req.path));
    };
    let resource = state
        .store
        .catalog
        .find(group, version, plural)
        .filter(|r| r.namespaced || namespace.is_none())
        .ok_or_else(|| ApiError::path_not_found(req.path))?;
    let at = Located {
        resource,
        namespace,
    };
    match rest {
        [_] => list(state, req, &at),
        [_, name] => get(state, req, &at, name),
        ["pods", name, "log"] if group.is_empty() && namespace.is_some() => {
            pod_log(state, req, &at, name)
        }
        _ => Err(ApiError::path_not_found(req.path)),
    }
}

fn target<'a>(at: &'a Located<'_>, name: Option<&'a str>) -> Target<'a> {
    Target {
        group: &at.resource.group,
        plural: &at.resource.plural,
        name,
    }
}

/// 403 when the deny list refuses the access.
fn authorize(
    state: &State,
    at: &Located<'_>,
    verb: &str,
    sub: &str,
    name: Option<&str>,
) -> Result<(), ApiError> {
    let resource = if sub.is_empty() {
        at.resource.plural.clone()
    } else {
        format!("{}/{sub}", at.resource.plural)
    };
    let access = Access {
        verb,
        group: &at.resource.group,
        resource: &resource,
        namespace: at.namespace,
        namespaced: at.resource.namespaced,
    };
    if state.deny.iter().any(|rule| rule.refuses(&access)) {
        let t = target(at, name);
        return Err(ApiError::forbidden(
            &state.user,
            t,
            verb,
            &resource,
            at.namespace,
        ));
    }
    Ok(())
}

fn list(state: &State, req: &Request<'_>, at: &Located<'_>) -> Result<Answer, ApiError> {
    let q = &req.query;
    let watch = q.flag("watch");
    let verb = if matches!(watch, Ok(false)) {
        "list"
    } else {
        "watch"
    };
    authorize(state, at, verb, "", None)?;
    q.check_known(query::LIST, "list")?;
    if watch? {
        return Err(ApiError::method_not_allowed(
            "watch is not supported: the stand-in serves a fixed snapshot; list instead",
        ));
    }
    q.flag("allowWatchBookmarks")?;
    q.flag("sendInitialEvents")?;
    q.int("timeoutSeconds")?;
    let revision = state.revision();
    check_resource_version(q, revision)?;
    let labels = LabelSelector::parse(q.get("labelSelector").unwrap_or_default())
        .map_err(ApiError::bad_request)?;
    let fields = FieldSelector::parse(q.get("fieldSelector").unwrap_or_default())
        .map_err(ApiError::bad_request)?;
    let list_req = ListRequest {
        namespace: at.namespace,
        labels,
        fields,
        limit: q.int("limit")?.and_then(|l| usize::try_from(l).ok()),
        continue_token: q.get("continue").filter(|c| !c.is_empty()),
        revision,
    };
    let page = state.store.list(at.resource, &list_req)?;
    let items: Vec<Value> = page
        .items
        .into_iter()
        .map(|o| as_list_item(at.resource, o))
        .collect();
    let mut metadata = json!({"resourceVersion": revision.to_string()});
    if let Some(token) = page.continue_token {
        metadata["continue"] = json!(token);
    }
    if let Some(n) = page.remaining {
        metadata["remainingItemCount"] = json!(n);
    }
    let body = json!({
        "kind": format!("{}List", at.resource.kind),
        "apiVersion": at.resource.api_version(),
        "metadata": metadata,
        "items": items,
    });
    Ok(Answer::json(&body, q.flag("pretty")?))
}

/// Typed lists carry no apiVersion/kind per item; custom resources do, in the version asked.
fn as_list_item(r: &Resource, mut obj: Value) -> Value {
    if let Some(map) = obj.as_object_mut() {
        if r.builtin {
            map.remove("apiVersion");
            map.remove("kind");
        } else {
            map.insert("apiVersion".into(), json!(r.api_version()));
        }
    }
    obj
}

/// The list-time `resourceVersion` rules; the store keeps no history, so only the current
/// revision can be read exactly.
fn check_resource_version(q: &Query, current: u64) -> Result<(), ApiError> {
    let rv = q.get("resourceVersion").filter(|v| !v.is_empty());
    let rv_match = q.get("resourceVersionMatch").filter(|v| !v.is_empty());
    let continuing = q.get("continue").is_some_and(|c| !c.is_empty());
    if continuing && rv.is_some_and(|v| v != "0") {
        return Err(ApiError::bad_request(
            "specifying resource version is not allowed when using continue",
        ));
    }
    if continuing && rv_match.is_some() {
        return Err(ApiError::bad_request(
            "resourceVersionMatch is forbidden when continue is provided",
        ));
    }
    let Some(rv) = rv else {
        return match rv_match {
            Some(_) => Err(ApiError::bad_request(
                "resourceVersionMatch is forbidden unless resourceVersion is provided",
            )),
            None => Ok(()),
        };
    };
    let requested: u64 = rv.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "resourceVersion: Invalid value: \"{rv}\": must be a non-negative integer"
        ))
    })?;
    match rv_match {
        Some("Exact") if requested == 0 => Err(ApiError::bad_request(
            "resourceVersionMatch \"Exact\" is forbidden for resourceVersion \"0\"",
        )),
        Some("Exact") if requested < current => Err(ApiError::expired(format!(
            "too old resource version: {requested} ({current})"
        ))),
        Some("Exact" | "NotOlderThan") | None if requested > current => {
            Err(ApiError::too_large_resource_version(requested, current))
        }
        Some("Exact" | "NotOlderThan") | None => Ok(()),
        Some(other) => Err(ApiError::bad_request(format!(
            "resourceVersionMatch: Unsupported value: \"{other}\": supported values: \"Exact\", \"NotOlderThan\""
        ))),
    }
}

fn get(state: &State, req: &Request<'_>, at: &Located<'_>, name: &str) -> Result<Answer, ApiError> {
    authorize(state, at, "get", "", Some(name))?;
    req.query.check_known(query::GET, "get")?;
    let obj = state
        .store
        .get(at.resource, at.namespace, name)
        .ok_or_else(|| ApiError::not_found(target(at, Some(name))))?;
    let mut obj = obj.clone();
    if !at.resource.builtin {
        obj["apiVersion"] = json!(at.resource.api_version());
    }
    Ok(Answer::json(&obj, req.query.flag("pretty")?))
}

fn pod_log(
    state: &State,
    req: &Request<'_>,
    at: &Located<'_>,
    name: &str,
) -> Result<Answer, ApiError> {
    authorize(state, at, "get", "log", Some(name))?;
    req.query.check_known(query::LOG, "pods/log")?;
    let opts = logs::options(&req.query, state.now)?;
    req.query.flag("pretty")?;
    let pod = state
        .store
        .get(at.resource, at.namespace, name)
        .ok_or_else(|| ApiError::not_found(target(at, Some(name))))?;
    let container = logs::resolve_container(pod, name, req.query.get("container"))?;
    let body = logs::read(&state.logs, pod, &container, &opts, state.now)?;
    Ok(Answer {
        code: 200,
        content_type: "text/plain",
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rv_check(q: &str, current: u64) -> Result<(), u16> {
        check_resource_version(&Query::parse(Some(q)), current).map_err(|e| e.code)
    }

    #[test]
    fn resource_version_rules() {
        assert_eq!(rv_check("", 10), Ok(()));
        assert_eq!(rv_check("resourceVersion=0", 10), Ok(()));
        assert_eq!(
            rv_check("resourceVersion=10&resourceVersionMatch=Exact", 10),
            Ok(())
        );
        assert_eq!(
            rv_check("resourceVersion=9&resourceVersionMatch=Exact", 10),
            Err(410)
        );
        assert_eq!(rv_check("resourceVersion=11", 10), Err(504));
        assert_eq!(
            rv_check("resourceVersion=5&resourceVersionMatch=NotOlderThan", 10),
            Ok(())
        );
        assert_eq!(rv_check("resourceVersionMatch=Exact", 10), Err(400));
        assert_eq!(
            rv_check("resourceVersion=0&resourceVersionMatch=Exact", 10),
            Err(400)
        );
        assert_eq!(rv_check("resourceVersion=x", 10), Err(400));
        assert_eq!(
            rv_check("resourceVersion=1&resourceVersionMatch=Newest", 10),
            Err(400)
        );
        assert_eq!(rv_check("continue=abc&resourceVersion=3", 10), Err(400));
    }
}
